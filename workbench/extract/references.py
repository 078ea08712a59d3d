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
    under the first, in the contract's column order. The references of a table are checked
    together, one anti join each. Returns accepted tables without the row number,
    and quarantine frames in the contract's columns.
    """
    accepted = dict(accepted)
    quarantined = dict(quarantined)
    for name in TABLE_ORDER:
        if name not in accepted:
            continue
        spec = TABLES[name]
        references = [column for column in spec.columns if column.references]
        if not references:
            continue
        frame = accepted[name]
        queries = []
        for column in references:  # rows naming no accepted parent: one anti join each, run together
            parent = column.references
            ids = (accepted[parent].lazy().select(pl.col(TABLES[parent].id_column).alias(column.name))
                   if parent in accepted else pl.LazyFrame(schema={column.name: pl.String}))
            keep = dict.fromkeys([ROW, *([spec.id_column] if spec.id_column else []), column.name])
            queries.append(frame.lazy().select(*keep).filter(pl.col(column.name).is_not_null())
                           .join(ids, on=column.name, how="anti"))
        found = pl.collect_all(queries)
        if not any(f.height for f in found):
            continue
        bads, taken = [quarantined[name]], pl.Series(ROW, [], dtype=pl.Int64)
        for column, missing in zip(references, found):
            missing = missing.filter(~pl.col(ROW).is_in(taken.implode()))  # under its first broken reference
            if missing.height:
                bads.append(_reference_rows(name, spec, column, missing, accepted, quarantined, files))
                taken = pl.concat([taken, missing[ROW]])
        accepted[name] = frame.filter(~pl.col(ROW).is_in(taken.implode()))
        quarantined[name] = pl.concat(bads).sort("row")
    return (
        {n: f.drop(ROW) for n, f in accepted.items()},
        {n: f.select(list(QUARANTINE_SCHEMA)) for n, f in quarantined.items()},
    )


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
