"""Row rules of the case-extract contract, as polars expressions evaluated in one query per table.

Each table is first *typed* (text cells parsed into dates, booleans, years; codes normalised:
:mod:`workbench.extract.parsing`), then checked by rules built from :mod:`workbench.contract.schema`:
column nullability and ranges (dataframely's column rules, :func:`_column_rules`), and one named rule per
contract rule.
Typing and every rule are one lazy query over the table; cells that repeat (codes, dates,
yes/no) are parsed and scanned once per distinct value. A row that breaks
rules is quarantined once, under the first rule it broke, in this order: for each column
in contract order, its format (date, boolean, year), its presence (required), its code,
its range, its date against ``extracted_on``; then the date-order rules, the "required
when" rules, and duplicate ids. References between tables are checked afterwards
(:func:`workbench.extract.references.check_references`), parents before children.

Quarantine rule codes: ``identifier``, ``invalid_date``, ``invalid_boolean``, ``invalid_year``,
``invalid_number``, ``required``, ``unknown_code``, ``out_of_range``, ``after_extraction``, ``date_order``,
``parts_exceed_total``, ``required_when``, ``duplicate_id``, ``missing_reference``, ``quarantined_parent``.

Counts (``participants``…) are whole numbers ≥ 0 (``invalid_number``, ``out_of_range``); parts of a
count (participants by sex, by age band) must not add up to more than it (``parts_exceed_total``).
Code lists (``partners``, ``claimants``, ``languages``) are codes separated by ``;``, each normalised.

A cell of a code column or of an extra column that looks like a direct identifier (a phone
number, an e-mail, an authority file number: :func:`workbench.extract.guard.cell_kind_expr`)
quarantines its row under ``identifier``, before any other rule of that column; a column
*full* of them (or of personal names) refuses the whole extract (:mod:`workbench.extract.guard`).
Open code columns (site, centre, partner) are restricted to the codes of ``extract.yaml``
when it lists them. The quarantine's ``value`` and ``reason`` never hold the value as written: only its
shape (:func:`workbench.extract.guard.mask_expr`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from workbench.contract.schema import Column, Table, vocabulary
from workbench.extract import guard
from workbench.extract.parsing import (bad_flag, distinct_columns, distinct_values, identifier_flag, typing_exprs,
                                       unlisted_flag)

QUARANTINE_SCHEMA = {
    "table": pl.String, "file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
    "rule": pl.String, "reason": pl.String,
}
ROW = "wb_row"
QUARANTINE_ID = "wb_id"

MIN_BIRTH_YEAR = 1900


def masked(expr: pl.Expr) -> pl.Expr:
    """The shape of a value of any type, never the value (:func:`guard.mask_expr`)."""
    return guard.mask_expr(expr.cast(pl.String))


@dataclass(frozen=True)
class Check:
    """One rule, in quarantine order: its name, our code, the column, and the rule itself."""

    name: str
    rule: str
    column: str
    reason: pl.Expr  # built from the raw value (column 'value') and typed columns
    valid: pl.Expr  # true (or null) where a row keeps the rule


def _fmt(template: str, *exprs: pl.Expr) -> pl.Expr:
    return pl.format(template, *[e.cast(pl.String).fill_null("") for e in exprs])


def _vocab_hint(column: Column) -> str:
    if column.vocab == "nationality":
        return "an ISO 3166-1 alpha-3 code such as TUN or CIV, XXA for stateless, or unknown"
    codes = vocabulary(column.vocab)
    return "one of " + ", ".join(codes)


def _column_rules(column: Column, max_year: int) -> dict[str, pl.Expr]:
    """The column's own rules (presence; the bounds of a year or a count), named ``column|rule`` as
    dataframely's column types name them (``nullability``, ``min``, ``max``).

    They are dataframely's ``Int32``/``Int64``/``String`` rules for the column (the test suite checks
    that they are the same expressions), written here: importing dataframely (and numpy, whose BLAS
    threads spin as they start) cost a validating process about 0.1 s of its 0.8 s."""
    col = pl.col(column.name)
    rules = {"nullability": col.is_not_null()} if column.required else {}
    if column.kind == "year":
        rules |= {"min": col >= MIN_BIRTH_YEAR, "max": col <= max_year}
    elif column.kind == "count":
        rules["min"] = col >= 0
    return {f"{column.name}|{rule}": expr for rule, expr in rules.items()}


def build_checks(spec: Table, extracted_on: dt.date | None, *, extras: tuple[str, ...] = (),
                 codes: dict[str, frozenset[str]] | None = None) -> list[Check]:
    """The checks of a table, in quarantine order, each with its rule as a polars expression.

    The rules read the typed table (:func:`typing_exprs`): typed columns, parse-failure flags
    (``wb_bad_<column>``), identifier kinds (``wb_ident_<column>``), open codes outside their
    list (``wb_unlisted_<column>``) and, for the duplicate-id rule, ``wb_first_distinct``. ``extras``
    are the table's other columns (checked for identifiers), ``codes`` the lists open code columns are
    restricted to."""
    codes = codes or {}
    max_year = (extracted_on or dt.date.today()).year
    checks: list[Check] = []
    value = pl.col("value")
    for column in spec.columns:
        c = column.name
        col = pl.col(c)
        declared = _column_rules(column, max_year)
        if column.kind in ("vocab", "code", "codes"):
            checks.append(_identifier_check(c))
        if column.kind == "code" and codes.get(c):
            listed = sorted(codes[c])
            checks.append(Check(f"{c}__listed", "unknown_code", c,
                                _fmt(f"{c} '{{}}' is not one of the codes listed in extract.yaml "
                                     f"({', '.join(listed)})", value), ~pl.col(unlisted_flag(c))))
        if column.kind in ("date", "bool", "year", "count"):
            what = {"date": "a date (use YYYY-MM-DD or DD/MM/YYYY)",
                    "bool": "a yes/no value (true/false, oui/non, yes/no, 1/0)",
                    "year": "a year such as 1990", "count": "a whole number such as 12"}[column.kind]
            code = {"bool": "boolean", "count": "number"}.get(column.kind, column.kind)
            checks.append(Check(f"{c}__format", f"invalid_{code}", c, _fmt(f"{c} '{{}}' is not {what}", value),
                                ~pl.col(bad_flag(c))))
        if column.kind == "vocab":
            # Codes are cast to the vocabulary's Enum; a code outside it is flagged, and checked
            # before presence so that a required 'M' reads as an unknown code, not as empty.
            checks.append(Check(f"{c}__code", "unknown_code", c,
                                _fmt(f"{c} '{{}}' is not a known code (expected {_vocab_hint(column)})", value),
                                ~pl.col(bad_flag(c))))
        if column.required:
            checks.append(Check(f"{c}|nullability", "required", c,
                                pl.when(value.is_null()).then(pl.lit(f"{c} is required but empty"))
                                .otherwise(_fmt(f"{c} is required but '{{}}' was given", value)),
                                declared[f"{c}|nullability"]))
        if column.kind == "year":
            for bound in ("min", "max"):
                checks.append(Check(f"{c}|{bound}", "out_of_range", c,
                                    _fmt(f"{c} {{}} is outside {MIN_BIRTH_YEAR}–{max_year}", value),
                                    declared[f"{c}|{bound}"]))
        if column.kind == "count":
            checks.append(Check(f"{c}|min", "out_of_range", c, _fmt(f"{c} {{}} is negative", value),
                                declared[f"{c}|min"]))
        if column.kind == "date" and extracted_on is not None and not column.future_ok:
            checks.append(Check(f"{c}__future", "after_extraction", c,
                                _fmt(f"{c} {{}} is after the extraction date {extracted_on.isoformat()}", col),
                                col.is_null() | (col <= pl.lit(extracted_on))))
    for extra in extras:
        checks.append(_identifier_check(extra))
    for order in spec.date_order:
        later, earlier = pl.col(order.later), pl.col(order.earlier)
        checks.append(Check(f"{order.later}__order", "date_order", order.later,
                            _fmt(f"{order.later} {{}} is before {order.earlier} {{}}", later, earlier),
                            later.is_null() | earlier.is_null() | (later >= earlier)))
    for within in spec.parts_within:
        parts = pl.sum_horizontal(*[pl.col(p).fill_null(0) for p in within.parts])
        total = pl.col(within.total)
        checks.append(Check(f"{'_'.join(within.parts)}__within", "parts_exceed_total", within.parts[0],
                            _fmt(f"{' + '.join(within.parts)} = {{}} is more than {within.total} {{}}", parts, total),
                            total.is_null() | (parts <= total)))
    for req in spec.required_when:
        condition = pl.col(req.when).is_not_null()
        if req.values:
            condition = condition & pl.col(req.when).is_in(list(req.values))
            reason = _fmt(f"{req.column} is required when {req.when} is {{}}", pl.col(req.when))
        else:
            reason = pl.lit(f"{req.column} is required when {req.when} is set")
        checks.append(Check(f"{req.column}__required_when", "required_when", req.column, reason,
                            pl.col(req.column).is_not_null() | ~condition))
    if spec.id_column:
        idc = spec.id_column
        # The first row of each id is computed once over the whole table (wb_first_distinct),
        # and the reason's first row only for the quarantined ids (_quarantine_rows).
        checks.append(Check(f"{idc}__duplicate", "duplicate_id", idc,
                            _fmt(f"{idc} '{{}}' already appears in row {{}}", masked(pl.col(idc)),
                                 pl.col("wb_first")),
                            pl.col(idc).is_null() | pl.col(_FIRST_DISTINCT)))
    return checks


_FIRST_DISTINCT = "wb_first_distinct"


def _identifier_check(column: str) -> Check:
    return Check(f"{column}__identifier", guard.IDENTIFIER_RULE, column,
                 guard.cell_reason(column, pl.col(identifier_flag(column))), pl.col(identifier_flag(column)).is_null())


def numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its row number (1-based, header excluded) in ``wb_row``.

    A frame that already has ``wb_row`` keeps it: the loader numbers the rows before it sets
    blank rows aside, so that row numbers stay those of the file.
    """
    if ROW in frame.columns:
        return frame.with_columns(pl.col(ROW).cast(pl.Int64))
    rows = pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(ROW)
    return frame.insert_column(0, _in_pieces_of(rows, frame))


def _in_pieces_of(values: pl.Series, frame: pl.DataFrame) -> pl.Series:
    """``values`` (one per row of ``frame``) in the same pieces as every column of ``frame`` when they
    are all in the same pieces (as a Parquet file's row groups are read): then the validation's query
    gives columns in pieces that line up, kept as they are (no copy)."""
    pieces = [[chunk.len() for chunk in frame[c].get_chunks()] for c in frame.columns]
    if not pieces or len(pieces[0]) < 2 or any(p != pieces[0] for p in pieces):
        return values
    starts = [0, *itertools.accumulate(pieces[0])]
    return pl.concat([values.slice(start, n) for start, n in zip(starts, pieces[0])], rechunk=False)


#: Above this many distinct values, a column's cells are parsed one by one rather than through
#: their distinct values.
class Validated(NamedTuple):
    """A table checked against its own rules (:func:`validate_table`)."""

    #: The typed accepted rows, with ``wb_row``.
    accepted: pl.DataFrame
    #: The quarantine rows, with ``wb_id``.
    quarantined: pl.DataFrame
    #: Whether no two of the table's different ids share a 64-bit hash (as its duplicate check found):
    #: then its accepted ids can be joined on their hashes without checking again.
    ids_apart: bool = False


def validate_table(spec: Table, frame: pl.DataFrame, file: str, extracted_on: dt.date | None,
                   codes: dict[str, frozenset[str]] | None = None,
                   distinct: dict[str, pl.Series] | None = None) -> Validated:
    """Split a raw table into typed accepted rows (with ``wb_row``) and quarantine rows (with ``wb_id``).

    ``codes``: the codes open code columns are restricted to (``sites`` of extract.yaml for site…);
    ``distinct``: the distinct non-null values of some columns, when the reader found them already.
    The table is typed and every rule evaluated in one lazy query; only the refused rows are
    looked at again, for their reasons."""
    codes = {c: frozenset(v) for c, v in (codes or {}).items() if v}
    frame = numbered(frame)
    extras = [c for c in frame.columns if c not in spec.column_names and c != ROW]
    checks = build_checks(spec, extracted_on, extras=tuple(extras), codes=codes)
    distinct = distinct_values(frame, distinct_columns(spec, frame.schema, extras), distinct)
    typed = frame.lazy().select(pl.col(ROW), *typing_exprs(spec, frame.schema, extras, distinct, codes))
    apart = False
    if spec.id_column:
        repeated, apart = _repeated_rows(frame, spec.id_column)
        first = ~pl.col(ROW).is_in(repeated.implode()) if repeated.len() else pl.lit(True)  # (usually no id repeats)
        typed = typed.with_columns(first.alias(_FIRST_DISTINCT))
    checked = typed.with_columns(
        pl.all_horizontal([ch.valid.fill_null(True) for ch in checks]).alias("wb_ok")).collect()
    keep = [ROW, *spec.column_names, *extras]
    ok = checked["wb_ok"]
    if ok.all():  # the usual case: no row to set aside, no copy of the table
        return Validated(checked.select(keep), pl.DataFrame(schema={**QUARANTINE_SCHEMA, QUARANTINE_ID: pl.String}),
                         apart)
    refused = checked.filter(~ok)
    good = checked.select(keep).filter(ok)
    return Validated(good, _quarantine_rows(spec, frame, refused, checks, file, checked), apart)


def _repeated_rows(frame: pl.DataFrame, id_column: str) -> tuple[pl.Series, bool]:
    """The rows (``wb_row``) whose id already appeared in an earlier row, and whether no two different
    ids share a hash (:attr:`Validated.ids_apart`).

    Ids are compared by a 64-bit hash first (sorted, neighbours compared: much faster than
    hashing strings into a table), and only the ids whose hashes meet are compared as written,
    so the answer is exact."""
    ids = pl.col(id_column).cast(pl.String)
    hashes = _id_hashes(frame, id_column)
    ordered = hashes.drop_nulls().sort(multithreaded=False)  # a parallel sort costs twice the CPU
    clashing = ordered.filter(ordered == ordered.shift(1)).unique()
    if clashing.len() == 0:
        return pl.Series(ROW, [], dtype=pl.Int64), True
    candidates = frame.filter(hashes.is_in(clashing.implode())).select(ROW, ids.alias("id"))
    apart = candidates["id"].n_unique() == clashing.len()  # each shared hash is one id, repeated
    return candidates.filter(~pl.col("id").is_first_distinct())[ROW], apart


def _id_hashes(frame: pl.DataFrame, id_column: str) -> pl.Series:
    """Each row's id hashed as the references join it (:func:`workbench.extract.references.hashed`); null
    without one."""
    ids = pl.col(id_column).cast(pl.String)
    return frame.select(pl.when(ids.is_not_null()).then(ids.hash()).alias("h")).to_series()


def _quarantine_rows(spec: Table, raw: pl.DataFrame, refused: pl.DataFrame, checks: list[Check], file: str,
                     checked: pl.DataFrame) -> pl.DataFrame:
    """The quarantine rows of the refused rows, each under the first rule it broke."""
    if refused.height == 0:
        return pl.DataFrame(schema={**QUARANTINE_SCHEMA, QUARANTINE_ID: pl.String})
    first = pl.coalesce(*[pl.when(~ch.valid.fill_null(True)).then(pl.lit(i)) for i, ch in enumerate(checks)])
    rows = refused.with_columns(first.alias("wb_check"))
    if spec.id_column:  # duplicate-id reasons name the id's first row
        idc = spec.id_column
        ids = rows.filter(pl.col(idc).is_not_null())[idc]
        first_rows = (checked.lazy().filter(pl.col(idc).is_in(ids.implode())).group_by(idc)
                      .agg(pl.col(ROW).min().alias("wb_first")).collect())
        rows = rows.join(first_rows, on=idc, how="left")
    columns = list(dict.fromkeys(ch.column for ch in checks))
    raw_text = raw.filter(pl.col(ROW).is_in(rows[ROW].implode())).select(
        ROW, *[pl.col(c).cast(pl.String).alias(f"wb_raw_{c}") for c in columns])
    rows = rows.join(raw_text, on=ROW, how="left")
    value = masked(pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.col(f"wb_raw_{ch.column}"))
                                  for i, ch in enumerate(checks)]))
    rows = rows.with_columns(value.alias("value"))
    out = rows.select(
        pl.lit(spec.name).alias("table"),
        pl.lit(file).alias("file"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.lit(ch.column)) for i, ch in enumerate(checks)])
        .alias("column"),
        pl.col("value"),
        pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.lit(ch.rule)) for i, ch in enumerate(checks)])
        .alias("rule"),
        pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(ch.reason) for i, ch in enumerate(checks)])
        .alias("reason"),
        (pl.col(spec.id_column) if spec.id_column else pl.lit(None, dtype=pl.String)).alias(QUARANTINE_ID),
    )
    return out.sort("row")
