"""Row rules of the case-extract contract, as polars expressions evaluated in one query per table.

Each table is first *typed* (text cells parsed into dates, booleans, years; codes
normalised), then checked by rules built from :mod:`workbench.contract.schema`: column
nullability and ranges (dataframely's column rules, :func:`_column_rules`), and one named rule per contract rule.
Typing and every rule are one lazy query over the table; cells that repeat (codes, dates,
yes/no) are parsed and scanned once per distinct value. A row that breaks
rules is quarantined once, under the first rule it broke, in this order: for each column
in contract order, its format (date, boolean, year), its presence (required), its code,
its range, its date against ``extracted_on``; then the date-order rules, the "required
when" rules, and duplicate ids. References between tables are checked afterwards
(:func:`workbench.extract.references.check_references`), parents before children.

Dates are ``YYYY-MM-DD`` (optionally with a time), ``DD/MM/YYYY``, ``DD.MM.YYYY`` or
``DD-MM-YYYY``, always with a four-digit year. Booleans and years read ``unknown`` (and its
French forms) as not known, an empty value.

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
import functools
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from workbench.extract import guard
from workbench.extract.files import code_expr
from workbench.contract.schema import VOCABULARIES, Column, Table, dtype_of, vocabulary

QUARANTINE_SCHEMA = {
    "table": pl.String, "file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
    "rule": pl.String, "reason": pl.String,
}
ROW = "wb_row"
QUARANTINE_ID = "wb_id"

_TRUE = ("true", "t", "yes", "y", "oui", "o", "vrai", "v", "1")
_FALSE = ("false", "f", "no", "n", "non", "faux", "0")
_NOT_KNOWN = ("unknown", "inconnu", "nsp", "ne_sait_pas", "na", "n/a")
BOOLEAN_WORDS = {**{w: True for w in _TRUE}, **{w: False for w in _FALSE}}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
MIN_BIRTH_YEAR = 1900


def _bad(column: str) -> str:
    return f"wb_bad_{column}"


def _ident(column: str) -> str:
    return f"wb_ident_{column}"


def _unlisted(column: str) -> str:
    return f"wb_unlisted_{column}"


def masked(expr: pl.Expr) -> pl.Expr:
    """The shape of a value of any type, never the value (:func:`guard.mask_expr`)."""
    return guard.mask_expr(expr.cast(pl.String))


def _parse(column: Column, expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The typed value of a raw column (null where it cannot be parsed)."""
    if column.kind == "date":
        if dtype == pl.Date:
            return expr
        if isinstance(dtype, pl.Datetime):
            return expr.dt.date()
        text = expr.cast(pl.String)
        # ISO date-times ('2024-03-01 00:00:00', '2024-03-01T10:00') keep their date.
        iso_prefix = pl.when(text.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d")).then(
            text.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})"))
        # Years have four digits: '01/03/24' would otherwise read as the year 24.
        four_digit_year = text.str.contains(r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4})$")
        return pl.coalesce(
            *[pl.when(four_digit_year).then(text.str.to_date(f, strict=False)) for f in DATE_FORMATS],
            iso_prefix.str.to_date("%Y-%m-%d", strict=False),
        )
    if column.kind == "bool":
        if dtype == pl.Boolean:
            return expr
        text = code_expr(expr.cast(pl.String))
        return text.replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)
    if column.kind == "year":
        return _whole_number(expr, dtype, r"^\d{1,4}(\.0+)?$", pl.Int32)
    if column.kind == "count":
        return _whole_number(expr, dtype, r"^-?\d{1,9}(\.0+)?$", pl.Int64)
    if column.kind == "codes":
        # Open codes separated by ';' (or ','): each normalised, empty parts dropped, order kept.
        items = expr.cast(pl.String).str.replace_all(",", ";").str.split(";").list.eval(
            code_expr(pl.element()).str.strip_chars("_")).list.eval(pl.element().filter(pl.element() != ""))
        return pl.when(items.list.len() > 0).then(items.list.join(";"))
    if column.kind == "vocab" and column.vocab == "nationality":
        text = expr.cast(pl.String).str.strip_chars()
        return pl.when(text.str.to_lowercase() == "unknown").then(pl.lit("unknown")).otherwise(
            text.str.to_uppercase())
    if column.kind in ("vocab", "code"):
        return code_expr(expr.cast(pl.String))
    return expr.cast(pl.String).str.strip_chars()


def _codes_as_typed(column: Column) -> bool:
    """Whether typing leaves each code of the column's vocabulary as it is (then a cell written as a
    code is that code)."""
    return _vocabularies()[column.vocab][0]


def _own_enum_as_is(column: Column) -> bool:
    """Whether a vocabulary column already of its vocabulary's Enum is typed as it is: its codes are
    their own typed form and none looks like an identifier (then no cell is flagged either way)."""
    return all(_vocabularies()[column.vocab])


@functools.cache
def _vocabularies() -> dict[str, tuple[bool, bool]]:
    """Per vocabulary: whether typing leaves each of its codes as it is, and whether none of them looks
    like an identifier. Found once per process, for every vocabulary's codes at once (the patterns
    compiled once: one query per vocabulary cost 20 ms)."""
    names = [*VOCABULARIES, "nationality"]
    codes = pl.DataFrame({"vocab": [n for n in names for _ in vocabulary(n)],
                          "code": [c for n in names for c in vocabulary(n)]})
    nationality, other = (_parse(Column("u", "vocab", vocab=v), pl.col("code"), pl.String)
                          for v in ("nationality", names[0]))  # every other vocabulary is typed alike
    typed = pl.when(pl.col("vocab") == "nationality").then(nationality).otherwise(other)
    found = codes.group_by("vocab").agg(typed.eq_missing(pl.col("code")).all().alias("typed"),
                                        guard.cell_kind_expr(pl.col("code"), names=False).is_null().all()
                                        .alias("plain"))
    return {v: (typed, typed and plain) for v, typed, plain in found.iter_rows()}


def code_casts(spec: Table) -> dict[str, pl.Enum]:
    """The vocabulary columns of ``spec`` (column → its Enum) that a text column holding only codes
    as written may be cast to on reading (:func:`workbench.extract.files.read_parquet`): typed by
    that cast exactly as :func:`typing_exprs` would type it."""
    return {c.name: dtype_of(c) for c in spec.columns if c.kind == "vocab" and _codes_as_typed(c)}


def _whole_numbers(column: Column, dtype: pl.DataType) -> bool:
    """A year or count column read as integers: typed by a cast (an integer is never 'unknown')."""
    return column.kind in ("year", "count") and dtype.is_integer()


def _whole_number(expr: pl.Expr, dtype: pl.DataType, pattern: str, out: pl.DataType) -> pl.Expr:
    """A whole number: an integer column as it is; text matching ``pattern`` (``12`` or ``12.0``), else null."""
    if dtype.is_integer():
        return expr.cast(out, strict=False)
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text.str.contains(pattern)).then(text.str.extract(r"^(-?\d+)").cast(out, strict=False))


def _not_known(raw: pl.Expr) -> pl.Expr:
    return code_expr(raw.cast(pl.String)).is_in(_NOT_KNOWN)


def _parse_failed(column: Column, raw: pl.Expr, typed: pl.Expr) -> pl.Expr:
    """True where a cell holds something that is not a value of the column's type."""
    if column.kind in ("bool", "year", "count"):
        # 'unknown' in a boolean, year or count column reads as not known (empty), not as an error.
        return raw.is_not_null() & typed.is_null() & ~_not_known(raw)
    return raw.is_not_null() & typed.is_null()


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
    list (``wb_unlisted_<column>``) and, for the duplicate-id rule, ``wb_first_distinct``. ``extras`` are the table's other columns (checked for
    identifiers), ``codes`` the lists open code columns are restricted to."""
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
                                     f"({', '.join(listed)})", value), ~pl.col(_unlisted(c))))
        if column.kind in ("date", "bool", "year", "count"):
            what = {"date": "a date (use YYYY-MM-DD or DD/MM/YYYY)",
                    "bool": "a yes/no value (true/false, oui/non, yes/no, 1/0)",
                    "year": "a year such as 1990", "count": "a whole number such as 12"}[column.kind]
            code = {"bool": "boolean", "count": "number"}.get(column.kind, column.kind)
            checks.append(Check(f"{c}__format", f"invalid_{code}", c, _fmt(f"{c} '{{}}' is not {what}", value),
                                ~pl.col(_bad(c))))
        if column.kind == "vocab":
            # Codes are cast to the vocabulary's Enum; a code outside it is flagged, and checked
            # before presence so that a required 'M' reads as an unknown code, not as empty.
            checks.append(Check(f"{c}__code", "unknown_code", c,
                                _fmt(f"{c} '{{}}' is not a known code (expected {_vocab_hint(column)})", value),
                                ~pl.col(_bad(c))))
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
                 guard.cell_reason(column, pl.col(_ident(column))), pl.col(_ident(column)).is_null())


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
DISTINCT_LIMIT = 10_000
_TEXT_LIKE = (pl.String, pl.Categorical)


def _text_like(dtype: pl.DataType) -> bool:
    return dtype in _TEXT_LIKE or isinstance(dtype, (pl.Categorical, pl.Enum))


def _distinct_values(frame: pl.DataFrame, columns: list[str],
                     known: dict[str, pl.Series] | None = None) -> dict[str, pl.Series]:
    """The distinct non-null values of each column, all computed in one parallel pass.

    Codes, dates and yes/no cells repeat: parsing and scanning their distinct values, then
    looking each cell up, is much faster than working on every cell. An Enum column's categories
    stand for its distinct values (a cell is looked up the same way); ``known`` are distinct values
    found already (while reading: :attr:`workbench.extract.files.RawTable.distinct`). Columns with more than
    :data:`DISTINCT_LIMIT` distinct values are left out (their cells are worked on one by one)."""
    if not columns or frame.height == 0:
        return {}
    out = {}
    for c in columns:  # an Enum's categories stand for its values: each cell is looked up the same way
        dtype = frame.schema[c]
        if isinstance(dtype, pl.Enum) and len(dtype.categories) <= DISTINCT_LIMIT:
            out[c] = pl.Series(c, dtype.categories, dtype=pl.String).cast(dtype)
    known = {c: v for c, v in (known or {}).items() if c in columns and c not in out}
    columns = [c for c in columns if c not in out and c not in known]
    lists = frame.select(pl.col(c).drop_nulls().unique().implode() for c in columns) if columns else None
    for c in [*known, *columns]:
        values = known[c] if c in known else lists[c][0]
        if values.len() <= DISTINCT_LIMIT:
            out[c] = values.sort()  # sorted: the lookup tables are the same from run to run
    return out


def _through(name: str, distinct: pl.Series | None, make, *, dtype: pl.DataType,
             default: object = None) -> pl.Expr:
    """``make(pl.col(name))``, computed once per distinct value and looked up for each cell.

    ``default`` is the value of an empty cell. Without distinct values (too many, or an empty
    table), ``make`` is applied to the column itself."""
    if distinct is None or distinct.len() == 0:
        return make(pl.col(name)).cast(dtype)
    mapped = distinct.to_frame("u").select(make(pl.col("u")).cast(dtype).alias("m")).to_series()
    if mapped.dtype == distinct.dtype and mapped.equals(distinct, null_equal=True):
        return pl.col(name)
    if mapped.null_count() == mapped.len() and default is None:
        return pl.lit(None, dtype=dtype)
    return pl.col(name).replace_strict(distinct, mapped, default=default, return_dtype=dtype)


_NO_KIND = pl.lit(None, dtype=pl.String)


def _kinds_expr(name: str, distinct: pl.Series | None) -> pl.Expr:
    """Per cell, the kind of direct identifier it looks like (:func:`guard.cell_kind_expr` without
    names), through the distinct values; null where none."""
    make = lambda e: guard.cell_kind_expr(e.cast(pl.String), names=False)  # noqa: E731
    if distinct is None or distinct.len() == 0:
        return make(pl.col(name))
    kinds = distinct.to_frame("u").select(make(pl.col("u")).alias("k")).to_series()
    found = kinds.is_not_null()
    if not found.any():
        return _NO_KIND  # the usual case: no cell looks like an identifier
    return pl.col(name).replace_strict(distinct.filter(found), kinds.filter(found), default=None,
                                       return_dtype=pl.String)


def _unknown_codes(column: Column, name: str, normal: pl.Expr, typed: pl.Expr, distinct: pl.Series | None,
                   dtype: pl.DataType) -> pl.Expr:
    """True where a vocabulary cell holds a code outside the vocabulary; found on the distinct
    values when they are known (usually none: then no cell is looked at)."""
    flag = normal.is_not_null() & typed.is_null()
    if distinct is None or distinct.len() == 0:
        return flag
    per_value = distinct.to_frame(name).select(
        _parse(column, pl.col(name).cast(pl.String), pl.String).cast(dtype_of(column), strict=False)
        .is_null().alias(name)).to_series()
    return flag if per_value.any() else pl.lit(False)


def _unlisted_codes(column: Column, name: str, typed: pl.Expr, listed: list[str],
                    distinct: pl.Series | None) -> pl.Expr:
    """True where an open code cell holds a code outside the codes ``listed`` for it; found on the
    distinct values when they are known (usually none: then no cell is looked at)."""
    flag = typed.is_not_null() & ~typed.is_in(listed)
    if distinct is None or distinct.len() == 0:
        return flag
    per_value = distinct.to_frame(name).select(_parse(column, pl.col(name).cast(pl.String), pl.String)).to_series()
    return flag if (per_value.is_not_null() & ~per_value.is_in(listed)).any() else pl.lit(False)


def _clean_categories(column: Column, dtype: pl.DataType) -> bool:
    """An Enum whose categories are already codes: cast the categories, not the cells."""
    if not isinstance(dtype, pl.Enum):
        return False
    categories = pl.Series(list(dtype.categories), dtype=pl.String)
    clean = categories.to_frame("u").select(_parse(column, pl.col("u"), pl.String).alias("u")).to_series()
    return categories.equals(clean, null_equal=True)


def typing_exprs(spec: Table, schema: pl.Schema, extras: list[str], distinct: dict[str, pl.Series],
                 codes: dict[str, frozenset[str]]) -> list[pl.Expr]:
    """The typed table as expressions over the raw one: each contract column typed, its
    parse-failure flag (``wb_bad_<column>``), the identifier kind of code and extra cells
    (``wb_ident_<column>``), the open codes outside the list given for their column
    (``wb_unlisted_<column>``), and the extra columns as they are.

    A code or extra cell looks like an identifier only by its shape: phones, e-mails and
    authority file numbers (:func:`guard.cell_kind_expr` without names). A label such as "Paris
    Nord" in an extra column, or an unlisted site typed as "Nouveau Site", is not a person's
    name: names are the guard's whole-column test (:func:`guard.check_columns`), which refuses
    the extract. A valid code of a vocabulary, or a listed open code, is never an identifier."""
    out: list[pl.Expr] = [pl.col(ROW)]
    for column in spec.columns:
        c, dtype = column.name, schema[column.name]
        raw = pl.col(c)
        values = distinct.get(c)
        if column.kind == "vocab" and dtype == dtype_of(column) and _own_enum_as_is(column):
            # Its cells are codes of the vocabulary (a Parquet Enum, or a column cast while read): typed as
            # they are, none unknown, none an identifier (what the distinct values would show, known once).
            out += [raw.alias(c), pl.lit(False).alias(_bad(c)), _NO_KIND.alias(_ident(c))]
            continue
        if column.kind in ("vocab", "code"):
            if _clean_categories(column, dtype):
                normal = raw
            else:
                normal = _through(c, values, lambda e: _parse(column, e.cast(pl.String), pl.String),
                                  dtype=pl.String)
            typed = normal.cast(pl.String) if column.kind == "code" else normal.cast(dtype_of(column), strict=False)
            out.append(typed.alias(c))
            if column.kind == "vocab":
                out.append(_unknown_codes(column, c, normal, typed, values, dtype).alias(_bad(c)))
                known = typed.is_not_null()
            elif codes.get(c):
                known = typed.is_in(sorted(codes[c])).fill_null(False)
                out.append(_unlisted_codes(column, c, typed, sorted(codes[c]), values).alias(_unlisted(c)))
            else:
                known = pl.lit(False)
            kinds = _kinds_expr(c, values)
            # Where no cell looks like an identifier (seen on the distinct values), no cell is looked at.
            out.append((kinds if kinds is _NO_KIND else pl.when(~known).then(kinds)).alias(_ident(c)))
        elif column.kind in ("id", "key"):
            out.append(raw.cast(pl.String).alias(c))
        elif column.kind == "codes":
            out.append(_through(c, values, lambda e: _parse(column, e, dtype), dtype=pl.String).alias(c))
            out.append(_kinds_expr(c, values).alias(_ident(c)))
        else:
            target = dtype_of(column)
            if dtype == target:  # typed input (a Parquet date, boolean or integer): nothing to parse
                out += [raw.alias(c), pl.lit(False).alias(_bad(c))]
                continue
            if _whole_numbers(column, dtype):  # another integer type: a cast, failing only out of range
                typed = raw.cast(target, strict=False)
                out += [typed.alias(c), (raw.is_not_null() & typed.is_null()).alias(_bad(c))]
                continue
            out.append(_through(c, values, lambda e: _parse(column, e, dtype), dtype=target).alias(c))
            failed = _through(c, values, lambda e: _parse_failed(column, e, _parse(column, e, dtype).cast(target)),
                              dtype=pl.Boolean, default=False)
            out.append(failed.fill_null(False).alias(_bad(c)))
    for extra in extras:
        out.append(pl.col(extra))
        scanned = _text_like(schema[extra]) or schema[extra].is_integer()  # a date or a decimal is no identifier
        kinds = _kinds_expr(extra, distinct.get(extra)) if scanned else pl.lit(None, dtype=pl.String)
        out.append(kinds.alias(_ident(extra)))
    return out


def _distinct_columns(spec: Table, schema: pl.Schema, extras: list[str]) -> list[str]:
    """The columns worth working on through their distinct values: text to parse or to scan."""
    wanted = []
    for column in spec.columns:
        dtype = schema[column.name]
        if column.kind in ("id", "key") or dtype == dtype_of(column) and column.kind not in ("vocab", "code", "codes"):
            continue
        if _whole_numbers(column, dtype):
            continue
        wanted.append(column.name)
    wanted += [e for e in extras if _text_like(schema[e]) or schema[e].is_integer()]
    return wanted


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
    distinct = _distinct_values(frame, _distinct_columns(spec, frame.schema, extras), distinct)
    typed = frame.lazy().select(typing_exprs(spec, frame.schema, extras, distinct, codes))
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
    """Each row's id hashed as the references join it (:func:`workbench.extract.references.hashed`); null without one."""
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
