"""References between the tables of a case extract: a row naming a missing or quarantined parent.

Checked after every table's own rules (:mod:`workbench.extract.rules`), parents first: a contact
of a person who is not in ``persons`` (or whose row was quarantined) is quarantined in turn, with
the rule ``missing_reference`` or ``quarantined_parent``.
"""

from __future__ import annotations

import polars as pl

from workbench.contract.schema import TABLE_ORDER, TABLES, Column, Table
from workbench.extract.rules import QUARANTINE_ID, QUARANTINE_SCHEMA, ROW, masked

_PARENT_WORD = {"persons": "person", "cases": "case", "detention_stays": "stay"}


def check_references(accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                     files: dict[str, str]) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Quarantine rows that refer to a missing or quarantined person, case or stay.

    Tables are taken parents first, so a row whose parent was quarantined for its own
    parent is quarantined in turn. A row with several broken references is quarantined
    under the first, in the contract's column order. The references of the tables whose
    parents are settled are checked together, one join each (on 64-bit hashes of the ids,
    confirmed on the ids). Returns accepted tables without the row number, and quarantine
    frames in the contract's columns.
    """
    accepted = dict(accepted)
    quarantined = dict(quarantined)
    parents: dict[str, pl.DataFrame | None] = {}
    pending = [name for name in TABLE_ORDER if name in accepted and _references(name)]
    while pending:
        # A wave: the tables whose parents are settled, their joins all run in one parallel pass.
        wave = [name for name in pending if not any(c.references in pending for c in _references(name))]
        wave = wave or pending[:1]  # (a table naming itself: checked against its own rows)
        queries = {name: _missing_queries(name, accepted, parents) for name in wave}
        flat = pl.collect_all([q for name in wave for q in queries[name]])
        for name in wave:
            found, flat = [f.sort(ROW) for f in flat[:len(queries[name])]], flat[len(queries[name]):]
            if any(f.height for f in found):
                _set_aside(name, found, accepted, quarantined, files)
                parents.pop(name, None)  # its ids as a parent: the rows kept now
        pending = [name for name in pending if name not in wave]
    return (
        {n: f.drop(ROW) for n, f in accepted.items()},
        {n: f.select(list(QUARANTINE_SCHEMA)) for n, f in quarantined.items()},
    )


def _references(name: str) -> list[Column]:
    return [column for column in TABLES[name].columns if column.references]


def _missing_queries(name: str, accepted: dict[str, pl.DataFrame],
                     parents: dict[str, pl.DataFrame | None]) -> list[pl.LazyFrame]:
    """Per reference of table ``name``, its rows naming no accepted parent."""
    spec, frame = TABLES[name], accepted[name]
    queries = []
    for column in _references(name):
        keep = dict.fromkeys([ROW, *([spec.id_column] if spec.id_column else []), column.name])
        rows = frame.lazy().select(*keep).filter(pl.col(column.name).is_not_null())
        queries.append(_unmatched(rows, column.name, _parent_keys(column.references, accepted, parents)))
    return queries


def _set_aside(name: str, found: list[pl.DataFrame], accepted: dict[str, pl.DataFrame],
               quarantined: dict[str, pl.DataFrame], files: dict[str, str]) -> None:
    """Move the rows ``found`` (per reference) from ``accepted`` to ``quarantined``, each row under
    its first broken reference."""
    spec, frame = TABLES[name], accepted[name]
    bads, taken = [quarantined[name]], pl.Series(ROW, [], dtype=pl.Int64)
    for column, missing in zip(_references(name), found):
        missing = missing.filter(~pl.col(ROW).is_in(taken.implode()))
        if missing.height:
            bads.append(_reference_rows(name, spec, column, missing, accepted, quarantined, files))
            taken = pl.concat([taken, missing[ROW]])
    accepted[name] = frame.filter(~pl.col(ROW).is_in(taken.implode()))
    quarantined[name] = pl.concat(bads).sort("row")


_HASH, _PARENT = "wb_hash", "wb_parent"


def _parent_keys(parent: str, accepted: dict[str, pl.DataFrame],
                 cache: dict[str, pl.DataFrame | None]) -> pl.DataFrame | None:
    """The accepted ids of a parent table with their 64-bit hashes (``wb_hash``, ``wb_parent``).

    Children are joined to their parent on the hash (much faster than on the text), then the
    ids are compared as written, so the answer is exact. ``None`` when the parent table is
    absent, or when two of its ids share a hash (then the ids themselves are joined)."""
    if parent not in cache:
        keys = None
        if parent in accepted:
            ids = accepted[parent].select(pl.col(TABLES[parent].id_column).cast(pl.String).alias(_PARENT))
            keys = hashed(ids.drop_nulls().with_columns(pl.col(_PARENT).hash().alias(_HASH)))
        cache[parent] = keys
    return cache[parent]


def hashed(keys: pl.DataFrame) -> pl.DataFrame:
    """``keys`` (ids and their hashes) as they are when no two ids share a hash; else the ids alone,
    to be joined as written."""
    ordered = keys[_HASH].sort(multithreaded=False)  # a parallel sort costs twice the CPU
    return keys.drop(_HASH) if (ordered == ordered.shift(1)).any() else keys


def _unmatched(rows: pl.LazyFrame, column: str, keys: pl.DataFrame | None) -> pl.LazyFrame:
    """The rows whose ``column`` is none of the parent ids ``keys`` (no parent table: every row)."""
    if keys is None:
        return rows
    if _HASH not in keys.columns:  # two parent ids share a hash: join on the ids
        return rows.join(keys.lazy().select(pl.col(_PARENT).alias(column)), on=column, how="anti")
    found = rows.with_columns(pl.col(column).hash().alias(_HASH)).join(keys.lazy(), on=_HASH, how="left")
    return (found.filter(pl.col(_PARENT).is_null() | (pl.col(_PARENT) != pl.col(column)))
            .drop(_HASH, _PARENT))


def _reference_rows(name: str, spec: Table, column: Column, missing: pl.DataFrame,
                    accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                    files: dict[str, str]) -> pl.DataFrame:
    """The quarantine rows of ``missing``, rows whose ``column`` names no accepted parent."""
    parent = column.references
    word = _PARENT_WORD[parent]
    if parent in accepted:
        refused = (quarantined[parent].filter(pl.col(QUARANTINE_ID).is_not_null())
                   .sort("row").unique(QUARANTINE_ID, keep="first", maintain_order=True)
                   .select(pl.col(QUARANTINE_ID).alias(column.name), pl.col("reason").alias("wb_parent_reason"),
                           pl.col("row").alias("wb_parent_row")))
    else:
        refused = pl.DataFrame(schema={column.name: pl.String, "wb_parent_reason": pl.String,
                                       "wb_parent_row": pl.Int64})
    missing = missing.join(refused, on=column.name, how="left")
    no_table = f"the extract has no {parent} table" if parent not in accepted else f"not in {parent}"
    return missing.select(
        pl.lit(name).alias("table"),
        pl.lit(files[name]).alias("file"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(column.name).alias("column"),
        masked(pl.col(column.name)).alias("value"),
        pl.when(pl.col("wb_parent_reason").is_null()).then(pl.lit("missing_reference"))
        .otherwise(pl.lit("quarantined_parent")).alias("rule"),
        pl.when(pl.col("wb_parent_reason").is_null())
        .then(pl.format(f"{word} {{}} not found: {no_table}", masked(pl.col(column.name))))
        .otherwise(pl.format(f"{word} {{}} ({files.get(parent, parent)} row {{}}) was quarantined: {{}}",
                             masked(pl.col(column.name)), pl.col("wb_parent_row"),
                             pl.col("wb_parent_reason"))).alias("reason"),
        (pl.col(spec.id_column) if spec.id_column else pl.lit(None, dtype=pl.String)).alias(QUARANTINE_ID),
    )
