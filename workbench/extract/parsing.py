"""Typing a raw table: its text cells parsed into the contract's types (dates, booleans, years,
counts, codes), as polars expressions, before the rules read them (:mod:`workbench.extract.rules`).

Codes are trimmed, lower-cased, their spaces and hyphens turned into ``_``; a vocabulary cell
outside the vocabulary is flagged (``wb_bad_<column>``), as is a cell that is not a date, a
yes/no value or a whole number. Cells that repeat (codes, dates, yes/no) are parsed and scanned
once per distinct value, each cell then looked up. Code and extra cells shaped like a direct
identifier are flagged (``wb_ident_<column>``), open codes outside the list ``extract.yaml`` gives
them too (``wb_unlisted_<column>``).

Dates are ``YYYY-MM-DD`` (optionally with a time), ``DD/MM/YYYY``, ``DD.MM.YYYY`` or
``DD-MM-YYYY``, always with a four-digit year. Booleans and years read ``unknown`` (and its
French forms) as not known, an empty value.
"""

from __future__ import annotations

import functools

import polars as pl

from workbench.contract.schema import VOCABULARIES, Column, Table, dtype_of, vocabulary
from workbench.extract import guard
from workbench.extract.files import code_expr

_TRUE = ("true", "t", "yes", "y", "oui", "o", "vrai", "v", "1")
_FALSE = ("false", "f", "no", "n", "non", "faux", "0")
_NOT_KNOWN = ("unknown", "inconnu", "nsp", "ne_sait_pas", "na", "n/a")
BOOLEAN_WORDS = {**{w: True for w in _TRUE}, **{w: False for w in _FALSE}}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def bad_flag(column: str) -> str:
    return f"wb_bad_{column}"


def identifier_flag(column: str) -> str:
    return f"wb_ident_{column}"


def unlisted_flag(column: str) -> str:
    return f"wb_unlisted_{column}"


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
    like an identifier. Found once per process, for every vocabulary's codes at once, each pattern
    compiled once (a query per vocabulary cost 20 ms in all, this one 10 ms)."""
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


DISTINCT_LIMIT = 10_000
_TEXT_LIKE = (pl.String, pl.Categorical)


def _text_like(dtype: pl.DataType) -> bool:
    return dtype in _TEXT_LIKE or isinstance(dtype, (pl.Categorical, pl.Enum))


def distinct_values(frame: pl.DataFrame, columns: list[str],
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
    """True where a vocabulary cell holds a code outside the vocabulary (:func:`_unless_no_value`)."""
    def outside(e: pl.Expr) -> pl.Expr:
        return _parse(column, e.cast(pl.String), pl.String).cast(dtype_of(column), strict=False).is_null()

    return _unless_no_value(normal.is_not_null() & typed.is_null(), name, distinct, outside)


def _unlisted_codes(column: Column, name: str, typed: pl.Expr, listed: list[str],
                    distinct: pl.Series | None) -> pl.Expr:
    """True where an open code cell holds a code outside the codes ``listed`` for it (:func:`_unless_no_value`)."""
    def outside(e: pl.Expr) -> pl.Expr:
        code = _parse(column, e.cast(pl.String), pl.String)
        return code.is_not_null() & ~code.is_in(listed)

    return _unless_no_value(typed.is_not_null() & ~typed.is_in(listed), name, distinct, outside)


def _unless_no_value(flag: pl.Expr, name: str, distinct: pl.Series | None, raised) -> pl.Expr:
    """``flag`` (per cell), or false for every cell when none of the column's ``distinct`` values is
    ``raised`` (the usual case: then no cell is looked at). Without distinct values, ``flag``."""
    if distinct is None or distinct.len() == 0:
        return flag
    return flag if distinct.to_frame(name).select(raised(pl.col(name)).any()).item() else pl.lit(False)


def _clean_categories(column: Column, dtype: pl.DataType) -> bool:
    """An Enum whose categories are already codes: cast the categories, not the cells."""
    if not isinstance(dtype, pl.Enum):
        return False
    categories = pl.Series(list(dtype.categories), dtype=pl.String)
    clean = categories.to_frame("u").select(_parse(column, pl.col("u"), pl.String).alias("u")).to_series()
    return categories.equals(clean, null_equal=True)


def typing_exprs(spec: Table, schema: pl.Schema, extras: list[str], distinct: dict[str, pl.Series],
                 codes: dict[str, frozenset[str]]) -> list[pl.Expr]:
    """The typed table as expressions over the raw one (its row numbers aside): each contract column typed, its
    parse-failure flag (``wb_bad_<column>``), the identifier kind of code and extra cells
    (``wb_ident_<column>``), the open codes outside the list given for their column
    (``wb_unlisted_<column>``), and the extra columns as they are.

    A code or extra cell looks like an identifier only by its shape: phones, e-mails and
    authority file numbers (:func:`guard.cell_kind_expr` without names). A label such as "Paris
    Nord" in an extra column, or an unlisted site typed as "Nouveau Site", is not a person's
    name: names are the guard's whole-column test (:func:`guard.check_columns`), which refuses
    the extract. A valid code of a vocabulary, or a listed open code, is never an identifier."""
    out: list[pl.Expr] = []
    for column in spec.columns:
        c, dtype = column.name, schema[column.name]
        raw = pl.col(c)
        values = distinct.get(c)
        if column.kind == "vocab" and dtype == dtype_of(column) and _own_enum_as_is(column):
            # Its cells are codes of the vocabulary (a Parquet Enum, or a column cast while read): typed as
            # they are, none unknown, none an identifier (what the distinct values would show, known once).
            out += [raw.alias(c), pl.lit(False).alias(bad_flag(c)), _NO_KIND.alias(identifier_flag(c))]
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
                out.append(_unknown_codes(column, c, normal, typed, values, dtype).alias(bad_flag(c)))
                known = typed.is_not_null()
            elif codes.get(c):
                known = typed.is_in(sorted(codes[c])).fill_null(False)
                out.append(_unlisted_codes(column, c, typed, sorted(codes[c]), values).alias(unlisted_flag(c)))
            else:
                known = pl.lit(False)
            kinds = _kinds_expr(c, values)
            # Where no cell looks like an identifier (seen on the distinct values), no cell is looked at.
            out.append((kinds if kinds is _NO_KIND else pl.when(~known).then(kinds)).alias(identifier_flag(c)))
        elif column.kind in ("id", "key"):
            out.append(raw.cast(pl.String).alias(c))
        elif column.kind == "codes":
            out.append(_through(c, values, lambda e: _parse(column, e, dtype), dtype=pl.String).alias(c))
            out.append(_kinds_expr(c, values).alias(identifier_flag(c)))
        else:
            target = dtype_of(column)
            if dtype == target:  # typed input (a Parquet date, boolean or integer): nothing to parse
                out += [raw.alias(c), pl.lit(False).alias(bad_flag(c))]
                continue
            if _whole_numbers(column, dtype):  # another integer type: a cast, failing only out of range
                typed = raw.cast(target, strict=False)
                out += [typed.alias(c), (raw.is_not_null() & typed.is_null()).alias(bad_flag(c))]
                continue
            out.append(_through(c, values, lambda e: _parse(column, e, dtype), dtype=target).alias(c))
            failed = _through(c, values, lambda e: _parse_failed(column, e, _parse(column, e, dtype).cast(target)),
                              dtype=pl.Boolean, default=False)
            out.append(failed.fill_null(False).alias(bad_flag(c)))
    for extra in extras:
        out.append(pl.col(extra))
        scanned = _text_like(schema[extra]) or schema[extra].is_integer()  # a date or a decimal is no identifier
        kinds = _kinds_expr(extra, distinct.get(extra)) if scanned else pl.lit(None, dtype=pl.String)
        out.append(kinds.alias(identifier_flag(extra)))
    return out


def distinct_columns(spec: Table, schema: pl.Schema, extras: list[str]) -> list[str]:
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
