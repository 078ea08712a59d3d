"""References between the tables of a case extract: a row naming a missing or quarantined parent.

Checked after every table's own rules (:mod:`workbench.extract.rules`), parents first: a contact
of a person who is not in ``persons`` (or whose row was quarantined) is quarantined in turn, with
the rule ``missing_reference`` or ``quarantined_parent``. A table naming a person is checked against
the persons as soon as both are read (:func:`on_persons`, while the loader reads the other tables),
and a table naming cases or stays against them as soon as these are checked in turn
(:func:`on_parents`); what could not be checked so (a parent absent, or whose ids share a hash) is
checked once every table is read (:func:`check_references`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.contract.schema import TABLE_ORDER, TABLES, Column, Table
from workbench.extract.rules import QUARANTINE_ID, QUARANTINE_SCHEMA, ROW, masked

_PARENT_WORD = {"persons": "person", "cases": "case", "detention_stays": "stay"}


@dataclass(frozen=True)
class Parent:
    """A table other tables name (the persons, cases, stays) once checked, its own references
    included: what the tables naming it are checked against."""

    name: str
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    file: str
    #: Its ids, hashes and rows (:func:`_parent_keys`); without hashes when two ids share one.
    keys: pl.DataFrame | None

    @classmethod
    def checked(cls, name: str, accepted: pl.DataFrame, quarantined: pl.DataFrame, file: str,
                ids_apart: bool = False) -> Parent:
        """``ids_apart``: no two of its ids share a hash, as its duplicate check found
        (:attr:`workbench.extract.rules.Validated.ids_apart`)."""
        return cls(name, accepted, quarantined, file, _parent_keys(name, {name: accepted}, {}, ids_apart))


#: The tables other tables name, each as soon as it is known (:func:`on_persons`, :func:`on_parents`).
PARENTS = tuple(dict.fromkeys(c.references for t in TABLE_ORDER for c in TABLES[t].columns if c.references))


@dataclass(frozen=True)
class Early:
    """What checking a table against the persons, and its other parents, found as soon as they were
    known (:func:`on_persons`, :func:`on_parents`)."""

    #: Each row's person number (``number``): of the rows kept when ``settled``, else of the rows the
    #: table had before this check (its other references are checked with the other tables').
    numbers: pl.DataFrame
    #: Whether its references are all checked.
    settled: bool


def person_numbers(name: str, accepted: pl.DataFrame, persons: Parent) -> pl.DataFrame | None:
    """Each row's person number (``number``: null when it names no accepted person), by one join on the
    ids' hashes confirmed on the ids; None when table ``name`` names no person or the persons' ids
    cannot be joined on their hashes."""
    column = person_reference(name)
    if column is None or persons.keys is None or _HASH not in persons.keys.columns:
        return None
    return _numbered(accepted.select(pl.col(column).alias(_ID)), _ID, persons.keys).to_frame()


def on_persons(name: str, accepted: pl.DataFrame, quarantined: pl.DataFrame, file: str,
               persons: Parent, numbers: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame, Early | None]:
    """Table ``name`` checked against the persons while the other tables are still being read: each
    row's person number (:func:`person_numbers`, unless given) and, when the persons are the
    only table it names, its rows naming a missing or quarantined person set aside. Returns its
    accepted and quarantined rows and what was found; None when the table names no person or the
    persons' ids cannot be joined on their hashes (:func:`check_references` then checks it with the others)."""
    numbers = numbers if numbers is not None else person_numbers(name, accepted, persons)
    if numbers is None:
        return accepted, quarantined, None
    if any(c.references != PERSONS for c in _references(name)):
        return accepted, quarantined, Early(numbers, settled=False)
    return on_parents(name, accepted, quarantined, file, numbers, {PERSONS: persons})


def on_parents(name: str, accepted: pl.DataFrame, quarantined: pl.DataFrame, file: str, numbers: pl.DataFrame,
               parents: dict[str, Parent]) -> tuple[pl.DataFrame, pl.DataFrame, Early]:
    """Table ``name``, whose person numbers are known (:func:`on_persons`), checked against its other
    parents as soon as they are (``parents``: each table it names, the persons included, checked
    with its own references): its rows naming a missing or quarantined parent set aside, each under
    its first broken reference, as :func:`check_references` would."""
    tables = {p.name: p.accepted for p in parents.values()} | {name: accepted}
    refused = {p.name: p.quarantined for p in parents.values()} | {name: quarantined}
    files = {p.name: p.file for p in parents.values()} | {name: file}
    keys = {p.name: p.keys for p in parents.values()}
    kept = _checked_references(name, tables, refused, files, keys, {name: numbers})
    return tables[name], refused[name], Early(kept.to_frame(), settled=True)


def check_references(accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                     files: dict[str, str], early: dict[str, Early] | None = None,
                     parents: dict[str, Parent] | None = None) -> tuple[dict[str, pl.DataFrame],
                                                                      dict[str, pl.DataFrame], dict[str, pl.Series]]:
    """Quarantine rows that refer to a missing or quarantined person, case or stay.

    Tables are taken parents first, so a row whose parent was quarantined for its own
    parent is quarantined in turn. A row with several broken references is quarantined
    under the first, in the contract's column order. A table's references are checked once
    its parents are settled, one join each (on 64-bit hashes of the ids, confirmed on the ids),
    its queries run together (:func:`_checked_references`). Returns accepted tables without the row number, quarantine
    frames in the contract's columns, and for the tables whose rows name a person, each
    accepted row's person as a number (``number``: the person's row in the accepted persons
    table, null when none), found by the same join; a table is left out when the persons' ids
    could not be joined on their hashes (two share one).

    ``early``: what checking tables against the persons and their other parents found already
    (:func:`on_persons`, :func:`on_parents`: ``accepted`` and ``quarantined`` hold those tables as that
    check left them), ``parents`` the parents as they were checked against (their ids' hashes).
    """
    accepted = dict(accepted)
    quarantined = dict(quarantined)
    early = early or {}
    keys: dict[str, pl.DataFrame | None] = {p.name: p.keys for p in (parents or {}).values()}
    numbers: dict[str, pl.Series] = {}
    together: dict[str, pl.DataFrame] = {}
    for name, found in early.items():
        if found.settled:
            numbers[name] = found.numbers[NUMBER]
        else:
            together[name] = found.numbers
    pending = [name for name in TABLE_ORDER if name in accepted and _references(name)
               and not (name in early and early[name].settled)]
    while pending:
        # A wave: the tables whose parents are settled.
        wave = [name for name in pending if not any(c.references in pending for c in _references(name))]
        wave = wave or pending[:1]  # (a table naming itself: checked against its own rows)
        for name in wave:
            found = _checked_references(name, accepted, quarantined, files, keys, together)
            if found is not None:
                numbers[name] = found
        pending = [name for name in pending if name not in wave]
    return (
        {n: f.drop(ROW) for n, f in accepted.items()},
        {n: f.select(list(QUARANTINE_SCHEMA)) for n, f in quarantined.items()},
        numbers,
    )


def _checked_references(name: str, accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                        files: dict[str, str], keys: dict[str, pl.DataFrame | None],
                        together: dict[str, pl.DataFrame]) -> pl.Series | None:
    """Every reference of table ``name`` checked (its parents' ids: ``keys``, filled from ``accepted``
    as needed): its rows naming a missing or quarantined parent moved from ``accepted`` to
    ``quarantined``, each under its first broken reference. Returns its kept rows' person numbers,
    when they were found (``together``: :func:`person_numbers`)."""
    queries = _missing_queries(name, accepted, keys, together)
    numbers, found = None, []
    for (column, _), result in zip(queries, pl.collect_all([q for _, q in queries])):
        if NUMBER in result.columns:  # a person's number for every row: the missing ones have none
            numbers = result[NUMBER]
            result = _without_number(name, accepted[name], column, numbers)
        found.append(result.sort(ROW))
    if any(f.height for f in found):
        kept = _set_aside(name, found, accepted, quarantined, files)
        numbers = numbers.filter(kept) if numbers is not None else None
        keys.pop(name, None)  # its ids as a parent: the rows kept now
    return numbers


def _references(name: str) -> list[Column]:
    return [column for column in TABLES[name].columns if column.references]


def _missing_queries(name: str, accepted: dict[str, pl.DataFrame], parents: dict[str, pl.DataFrame | None],
                     together: dict[str, pl.DataFrame]) -> list[tuple[str, pl.LazyFrame]]:
    """Per reference of table ``name``, its rows naming no accepted parent; for the reference to
    the persons (when their ids are joined on hashes), every row's person number instead, found
    as the table was checked against the persons (``together``: :func:`on_persons`)."""
    frame = accepted[name]
    queries = []
    for column in _references(name):
        if column.references == PERSONS and name in together:
            queries.append((column.name, together[name].lazy()))
            continue
        keys = _parent_keys(column.references, accepted, parents)
        rows = frame.lazy().select(*_kept_columns(name, column.name)).filter(pl.col(column.name).is_not_null())
        queries.append((column.name, _unmatched(rows, column.name, keys)))
    return queries


def person_reference(name: str) -> str | None:
    """The column of table ``name`` that names a person, if any."""
    return next((c.name for c in _references(name) if c.references == PERSONS), None)


_ID = "wb_person_id"


def _without_number(name: str, frame: pl.DataFrame, column: str, numbers: pl.Series) -> pl.DataFrame:
    """The rows of table ``name`` whose ``column`` is set but names no parent (no number), as
    :func:`_unmatched` gives them."""
    return frame.select(*_kept_columns(name, column)).filter(pl.col(column).is_not_null() & numbers.is_null())


def _kept_columns(name: str, column: str) -> list[str]:
    """The columns a broken reference's quarantine row is made of: row, the table's id, the reference."""
    spec = TABLES[name]
    return list(dict.fromkeys([ROW, *([spec.id_column] if spec.id_column else []), column]))


def _set_aside(name: str, found: list[pl.DataFrame], accepted: dict[str, pl.DataFrame],
               quarantined: dict[str, pl.DataFrame], files: dict[str, str]) -> pl.Series:
    """Move the rows ``found`` (per reference) from ``accepted`` to ``quarantined``, each row under
    its first broken reference; returns which of the table's rows were kept."""
    spec, frame = TABLES[name], accepted[name]
    bads, taken = [quarantined[name]], pl.Series(ROW, [], dtype=pl.Int64)
    for column, missing in zip(_references(name), found):
        missing = missing.filter(~pl.col(ROW).is_in(taken.implode()))
        if missing.height:
            bads.append(_reference_rows(name, spec, column, missing, accepted, quarantined, files))
            taken = pl.concat([taken, missing[ROW]])
    kept = _all_but(frame[ROW], taken)
    accepted[name] = frame.filter(kept)
    quarantined[name] = pl.concat(bads).sort("row")
    return kept


def _all_but(rows: pl.Series, taken: pl.Series) -> pl.Series:
    """Per row of ``rows`` (row numbers, each once, ascending as read), whether it is none of ``taken``
    (a few of them): found by their places, each place checked, rather than by looking every row up."""
    at = rows.search_sorted(taken)
    if rows.len() and rows.gather(at.clip(upper_bound=rows.len() - 1)).equals(taken, check_names=False):
        return pl.repeat(True, rows.len(), eager=True).scatter(at, False).rename(ROW)
    return ~rows.is_in(taken.implode())


_HASH, _PARENT = "wb_hash", "wb_parent"
#: A parent's row in its accepted table (as ``with_row_index`` numbers it).
NUMBER = "number"
PERSONS = "persons"


def _parent_keys(parent: str, accepted: dict[str, pl.DataFrame],
                 cache: dict[str, pl.DataFrame | None], apart: bool = False) -> pl.DataFrame | None:
    """The accepted ids of a parent table with their 64-bit hashes (``wb_hash``, ``wb_parent``) and
    their row in the table (``number``).

    Children are joined to their parent on the hash (much faster than on the text), then the
    ids are compared as written, so the answer is exact. ``None`` when the parent table is
    absent, or when two of its ids share a hash (then the ids themselves are joined); ``apart``: they
    are known not to (:func:`hashed`)."""
    if parent not in cache:
        keys = None
        if parent in accepted:
            ids = (accepted[parent].select(pl.col(TABLES[parent].id_column).cast(pl.String).alias(_PARENT))
                   .with_row_index(NUMBER))
            keys = hashed(ids.drop_nulls().with_columns(pl.col(_PARENT).hash().alias(_HASH)).rechunk(), apart)
        cache[parent] = keys
    return cache[parent]


def hashed(keys: pl.DataFrame, apart: bool = False) -> pl.DataFrame:
    """``keys`` (ids and their hashes) as they are when no two ids share a hash (``apart``: known
    already); else the ids alone, to be joined as written."""
    if apart:
        return keys
    ordered = keys[_HASH].sort(multithreaded=False)  # a parallel sort costs twice the CPU
    return keys.drop(_HASH) if (ordered == ordered.shift(1)).any() else keys


def _numbered(frame: pl.DataFrame, column: str, keys: pl.DataFrame) -> pl.Series:
    """Per row of ``frame``, in order, the ``number`` of the parent its ``column`` names (null when
    none, or when the column is empty; :func:`_parents_of`). The persons' row (each record's person
    as a number) is what the engine joins on; the rows without a number are the rows whose person
    is missing."""
    return keys[NUMBER].gather(_parents_of(frame, column, keys)).rename(NUMBER)


def _parents_of(frame: pl.DataFrame, column: str, keys: pl.DataFrame) -> pl.Series:
    """Per row of ``frame``, in order, the row among ``keys`` of the parent its ``column`` names (null
    when none, or when the column is empty): joined on the hashes, confirmed on the ids. ``keys``
    must be hashed (:func:`hashed`: no two parent ids share a hash, so each row meets one parent at
    most).

    The rows are joined on their hashes alone, in any order, their parents put in place by row,
    then each row's id compared with its parent's (a join that keeps the rows' order, or carries
    the ids through, costs two to three times as much)."""
    found = (frame.lazy().select(pl.col(column).hash().alias(_HASH)).with_row_index(_AT)
             .join(keys.lazy().select(_HASH).with_row_index(_KEY), on=_HASH, how="inner").collect())
    at = (pl.Series(_KEY, [], dtype=found.schema[_KEY]).extend_constant(None, frame.height)
          .scatter(found[_AT], found[_KEY]))  # each row's parent among the keys
    same = frame[column] == keys[_PARENT].gather(at)  # a hash met by another id is no match
    return pl.select(pl.when(same).then(at)).to_series()


_AT, _KEY = "wb_at", "wb_key"


def _unmatched(rows: pl.LazyFrame, column: str, keys: pl.DataFrame | None) -> pl.LazyFrame:
    """The rows whose ``column`` is none of the parent ids ``keys`` (no parent table: every row)."""
    if keys is None:
        return rows
    if _HASH not in keys.columns:  # two parent ids share a hash: join on the ids
        return rows.join(keys.lazy().select(pl.col(_PARENT).alias(column)), on=column, how="anti")
    frame = rows.collect()  # (a join keeping every row and its parent's id costs half as much again)
    return frame.filter(_parents_of(frame, column, keys).is_null()).lazy()


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
    missing = missing.join(refused, on=column.name, how="left").with_columns(
        masked(pl.col(column.name)).alias("value"))  # once: the reason shows it too
    no_table = f"the extract has no {parent} table" if parent not in accepted else f"not in {parent}"
    return missing.select(
        pl.lit(name).alias("table"),
        pl.lit(files[name]).alias("file"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(column.name).alias("column"),
        pl.col("value"),
        pl.when(pl.col("wb_parent_reason").is_null()).then(pl.lit("missing_reference"))
        .otherwise(pl.lit("quarantined_parent")).alias("rule"),
        pl.when(pl.col("wb_parent_reason").is_null())
        .then(pl.format(f"{word} {{}} not found: {no_table}", pl.col("value")))
        .otherwise(pl.format(f"{word} {{}} ({files.get(parent, parent)} row {{}}) was quarantined: {{}}",
                             pl.col("value"), pl.col("wb_parent_row"),
                             pl.col("wb_parent_reason"))).alias("reason"),
        (pl.col(spec.id_column) if spec.id_column else pl.lit(None, dtype=pl.String)).alias(QUARANTINE_ID),
    )
