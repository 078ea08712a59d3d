"""Row rules of the case-extract contract, checked with dataframely.

Each table is first *typed* (text cells parsed into dates, booleans, years; codes
normalised), then checked by a dataframely schema built from :mod:`workbench.contract.schema`:
column nullability and ranges, and one named rule per contract rule. A row that breaks
rules is quarantined once, under the first rule it broke, in this order: for each column
in contract order, its format (date, boolean, year), its presence (required), its code,
its range, its date against ``extracted_on``; then the date-order rules, the "required
when" rules, and duplicate ids. References between tables are checked afterwards
(:func:`check_references`), parents before children.

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
from dataclasses import dataclass

import dataframely as dy
import polars as pl

from workbench.extract import guard
from workbench.extract.files import code_expr
from workbench.contract.schema import TABLE_ORDER, TABLES, Column, Table, dtype_of, vocabulary

QUARANTINE_SCHEMA = {
    "table": pl.String, "file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
    "rule": pl.String, "reason": pl.String,
}
ROW = "wb_row"
_ID = "wb_id"

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


def _masked(expr: pl.Expr) -> pl.Expr:
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
    """One rule, in quarantine order: the dataframely rule name, our code, and the column."""

    name: str
    rule: str
    column: str
    reason: pl.Expr  # built from the raw value (column 'value') and typed columns


def _fmt(template: str, *exprs: pl.Expr) -> pl.Expr:
    return pl.format(template, *[e.cast(pl.String).fill_null("") for e in exprs])


def _vocab_hint(column: Column) -> str:
    if column.vocab == "nationality":
        return "an ISO 3166-1 alpha-3 code such as TUN or CIV, XXA for stateless, or unknown"
    codes = vocabulary(column.vocab)
    return "one of " + ", ".join(codes)


def build_checks(spec: Table, extracted_on: dt.date | None, *, extras: tuple[str, ...] = (),
                 codes: dict[str, frozenset[str]] | None = None) -> tuple[type[dy.Schema], list[Check]]:
    """The dataframely schema of a table and its checks in quarantine order.

    ``extras`` are the table's other columns (checked for identifiers), ``codes`` the lists
    open code columns are restricted to."""
    codes = codes or {}
    max_year = (extracted_on or dt.date.today()).year
    attrs: dict[str, object] = {ROW: dy.Int64(nullable=False)}
    checks: list[Check] = []
    rules: dict[str, pl.Expr] = {}
    value = pl.col("value")
    for column in spec.columns:
        c = column.name
        col = pl.col(c)
        nullable = not column.required
        if column.kind in ("vocab", "code", "codes"):
            _identifier_check(c, attrs, rules, checks)
        if column.kind == "code" and codes.get(c):
            listed = sorted(codes[c])
            rules[f"{c}__listed"] = col.is_null() | col.is_in(listed)
            checks.append(Check(f"{c}__listed", "unknown_code", c,
                                _fmt(f"{c} '{{}}' is not one of the codes listed in extract.yaml "
                                     f"({', '.join(listed)})", value)))
        if column.kind == "date":
            attrs[c] = dy.Date(nullable=nullable)
        elif column.kind == "bool":
            attrs[c] = dy.Bool(nullable=nullable)
        elif column.kind == "year":
            attrs[c] = dy.Int32(nullable=nullable, min=MIN_BIRTH_YEAR, max=max_year)
        elif column.kind == "count":
            attrs[c] = dy.Int64(nullable=nullable, min=0)
        elif column.kind == "vocab":
            attrs[c] = dy.Enum(list(vocabulary(column.vocab)), nullable=nullable)
        else:
            attrs[c] = dy.String(nullable=nullable)
        if column.kind in ("date", "bool", "year", "count"):
            attrs[_bad(c)] = dy.Bool(nullable=False)
            rules[f"{c}__format"] = ~pl.col(_bad(c))
            what = {"date": "a date (use YYYY-MM-DD or DD/MM/YYYY)",
                    "bool": "a yes/no value (true/false, oui/non, yes/no, 1/0)",
                    "year": "a year such as 1990", "count": "a whole number such as 12"}[column.kind]
            code = {"bool": "boolean", "count": "number"}.get(column.kind, column.kind)
            checks.append(Check(f"{c}__format", f"invalid_{code}",
                                c, _fmt(f"{c} '{{}}' is not {what}", value)))
        if column.kind == "vocab":
            # Codes are cast to the vocabulary's Enum; a code outside it is flagged, and checked
            # before presence so that a required 'M' reads as an unknown code, not as empty.
            attrs[_bad(c)] = dy.Bool(nullable=False)
            rules[f"{c}__code"] = ~pl.col(_bad(c))
            checks.append(Check(f"{c}__code", "unknown_code", c,
                                _fmt(f"{c} '{{}}' is not a known code (expected {_vocab_hint(column)})", value)))
        if column.required:
            checks.append(Check(f"{c}|nullability", "required", c,
                                pl.when(value.is_null()).then(pl.lit(f"{c} is required but empty"))
                                .otherwise(_fmt(f"{c} is required but '{{}}' was given", value))))
        if column.kind == "year":
            for bound in ("min", "max"):
                checks.append(Check(f"{c}|{bound}", "out_of_range", c,
                                    _fmt(f"{c} {{}} is outside {MIN_BIRTH_YEAR}–{max_year}", value)))
        if column.kind == "count":
            checks.append(Check(f"{c}|min", "out_of_range", c, _fmt(f"{c} {{}} is negative", value)))
        if column.kind == "date" and extracted_on is not None and not column.future_ok:
            rules[f"{c}__future"] = col.is_null() | (col <= pl.lit(extracted_on))
            checks.append(Check(f"{c}__future", "after_extraction", c,
                                _fmt(f"{c} {{}} is after the extraction date {extracted_on.isoformat()}", col)))
    for extra in extras:
        _identifier_check(extra, attrs, rules, checks)
    for order in spec.date_order:
        name = f"{order.later}__order"
        later, earlier = pl.col(order.later), pl.col(order.earlier)
        rules[name] = later.is_null() | earlier.is_null() | (later >= earlier)
        checks.append(Check(name, "date_order", order.later,
                            _fmt(f"{order.later} {{}} is before {order.earlier} {{}}", later, earlier)))
    for within in spec.parts_within:
        name = f"{'_'.join(within.parts)}__within"
        parts = pl.sum_horizontal(*[pl.col(p).fill_null(0) for p in within.parts])
        total = pl.col(within.total)
        rules[name] = total.is_null() | (parts <= total)
        checks.append(Check(name, "parts_exceed_total", within.parts[0],
                            _fmt(f"{' + '.join(within.parts)} = {{}} is more than {within.total} {{}}", parts, total)))
    for req in spec.required_when:
        name = f"{req.column}__required_when"
        condition = pl.col(req.when).is_not_null()
        if req.values:
            condition = condition & pl.col(req.when).is_in(list(req.values))
            text = f"{req.column} is required when {req.when} is {{}}"
            reason = _fmt(text, pl.col(req.when))
        else:
            reason = pl.lit(f"{req.column} is required when {req.when} is set")
        rules[name] = pl.col(req.column).is_not_null() | ~condition
        checks.append(Check(name, "required_when", req.column, reason))
    if spec.id_column:
        idc = spec.id_column
        name = f"{idc}__duplicate"
        rules[name] = pl.col(idc).is_null() | pl.col(idc).is_first_distinct()
        first_row = pl.col(ROW).min().over(idc)
        checks.append(Check(name, "duplicate_id", idc,
                            _fmt(f"{idc} '{{}}' already appears in row {{}}", _masked(pl.col(idc)), first_row)))
    for name, expr in rules.items():
        attrs[name] = dy.rule()(lambda cls, _e=expr: _e)
    schema = type(f"{spec.name.title().replace('_', '')}Schema", (dy.Schema,), attrs)
    return schema, checks


def _identifier_check(column: str, attrs: dict, rules: dict, checks: list[Check]) -> None:
    attrs[_ident(column)] = dy.String(nullable=True)
    rules[f"{column}__identifier"] = pl.col(_ident(column)).is_null()
    checks.append(Check(f"{column}__identifier", guard.IDENTIFIER_RULE, column,
                        guard.cell_reason(column, pl.col(_ident(column)))))


def _identifier_kinds(spec: Table, frame: pl.DataFrame, typed: pl.DataFrame, extras: list[str],
                      codes: dict[str, frozenset[str]]) -> list[pl.Series]:
    """Per code or extra column, the kind of direct identifier each cell looks like (null: none).

    Phones, e-mails and authority file numbers only (:func:`guard.cell_kind_expr` without
    names): a label such as "Paris Nord" in an extra column, or an unlisted site typed as
    "Nouveau Site", is not a person's name. Names are the guard's whole-column test
    (:func:`guard.check_columns`), which refuses the extract. A valid code of a vocabulary, or a
    listed open code, is never an identifier."""
    out = []
    for column in spec.columns:
        if column.kind not in ("vocab", "code", "codes"):
            continue
        c = column.name
        if column.kind == "vocab":
            known = typed[c].is_not_null()
        elif codes.get(c):
            known = typed[c].is_in(sorted(codes[c])).fill_null(False)
        else:
            known = pl.Series([False] * frame.height, dtype=pl.Boolean)  # typed even for a header-only table
        out.append(_kinds_of(frame[c].cast(pl.String))
                   .zip_with(~known, pl.Series([None] * frame.height, dtype=pl.String)).alias(_ident(c)))
    for extra in extras:
        dtype = frame[extra].dtype
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype.is_integer():
            out.append(_kinds_of(frame[extra].cast(pl.String)).alias(_ident(extra)))
        else:
            out.append(pl.Series(_ident(extra), [None] * frame.height, dtype=pl.String))
    return out


def _kinds_of(raw: pl.Series) -> pl.Series:
    """:func:`guard.cell_kind_expr` (no names) through the distinct values (codes repeat)."""
    return _by_uniques(raw.alias("u"), guard.cell_kind_expr(pl.col("u"), names=False))


def numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its row number (1-based, header excluded) in ``wb_row``.

    A frame that already has ``wb_row`` keeps it: the loader numbers the rows before it sets
    blank rows aside, so that row numbers stay those of the file.
    """
    if ROW in frame.columns:
        return frame.with_columns(pl.col(ROW).cast(pl.Int64))
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _by_uniques(series: pl.Series, expr: pl.Expr, limit: int = 10_000) -> pl.Series:
    """Apply a normalising expression (on column ``u``) through the column's distinct values.

    Codes have few distinct values, so this is much faster than applying it to every cell;
    above ``limit`` distinct values the expression is applied to the whole column.
    """
    uniques = series.unique(maintain_order=True)
    if uniques.len() > limit:
        return series.to_frame("u").select(expr.alias("u")).to_series().alias(series.name)
    mapped = uniques.to_frame("u").select(expr.alias("u")).to_series()
    if uniques.equals(mapped, null_equal=True):
        return series
    return series.replace_strict(uniques, mapped, return_dtype=mapped.dtype)


def _typed_column(column: Column, raw: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """The typed column and, for parsed kinds, where parsing failed."""
    name = column.name
    if column.kind in ("vocab", "code"):
        if isinstance(raw.dtype, pl.Enum):
            categories = pl.Series(list(raw.dtype.categories), dtype=pl.String)
            clean = categories.to_frame("u").select(_parse(column, pl.col("u"), pl.String).alias("u")).to_series()
            # Typed input whose categories are already codes: cast the categories, not the cells.
            normal = raw if categories.equals(clean, null_equal=True) else raw.cast(pl.String)
        else:
            normal = raw.cast(pl.String)
        if normal.dtype == pl.String:
            normal = _by_uniques(normal, _parse(column, pl.col("u"), pl.String))
        if column.kind == "code":
            return normal.cast(pl.String).alias(name), None
        typed = normal.cast(dtype_of(column), strict=False)
        return typed.alias(name), (normal.is_not_null() & typed.is_null()).alias(_bad(name))
    if column.kind in ("id", "key"):
        return raw.cast(pl.String).alias(name), None
    if column.kind == "codes":
        frame = raw.to_frame(name)
        return frame.select(_parse(column, pl.col(name), raw.dtype).alias(name)).to_series(), None
    frame = raw.to_frame(name)
    parsed = frame.select(_parse(column, pl.col(name), raw.dtype).cast(dtype_of(column)).alias(name)).to_series()
    failed = frame.with_columns(parsed.alias("wb_parsed")).select(
        _parse_failed(column, pl.col(name), pl.col("wb_parsed"))).to_series()
    return parsed, failed.alias(_bad(name))


def type_table(spec: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Parse the contract columns of a raw table; adds the row number and parse-failure flags."""
    frame = numbered(frame)
    columns = [frame[ROW]]
    for column in spec.columns:
        typed, failed = _typed_column(column, frame[column.name])
        columns.append(typed)
        if failed is not None:
            columns.append(failed)
    return pl.DataFrame(columns)


def validate_table(spec: Table, frame: pl.DataFrame, file: str, extracted_on: dt.date | None,
                   codes: dict[str, frozenset[str]] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a raw table into typed accepted rows (with ``wb_row``) and quarantine rows (with ``wb_id``).

    ``codes``: the codes open code columns are restricted to (``sites`` of extract.yaml for site…)."""
    codes = {c: frozenset(v) for c, v in (codes or {}).items() if v}
    frame = numbered(frame)
    extras = [c for c in frame.columns if c not in spec.column_names and c != ROW]
    schema, checks = build_checks(spec, extracted_on, extras=tuple(extras), codes=codes)
    typed = type_table(spec, frame)
    typed = typed.with_columns(_identifier_kinds(spec, frame, typed, extras, codes))
    good, failure = schema.filter(typed)
    good = good.select(ROW, *spec.column_names)
    if extras:
        good = good.join(frame.select(ROW, *extras), on=ROW, how="left")
    bad = _quarantine_rows(spec, frame, failure.details(), checks, file, typed)
    return good, bad


def _quarantine_rows(spec: Table, raw: pl.DataFrame, details: pl.DataFrame, checks: list[Check], file: str,
                     typed: pl.DataFrame) -> pl.DataFrame:
    if details.height == 0:
        return pl.DataFrame(schema={**QUARANTINE_SCHEMA, _ID: pl.String})
    first = pl.coalesce(*[
        pl.when(pl.col(ch.name) == "invalid").then(pl.lit(i)) for i, ch in enumerate(checks)
    ])
    idx = details.select(pl.col(ROW), first.alias("wb_check"))
    # Duplicate-id reasons need every row of the id, not only the invalid ones.
    rows = typed.join(idx, on=ROW, how="inner") if spec.id_column is None else (
        typed.with_columns(pl.col(ROW).min().over(spec.id_column).alias("wb_first"))
        .join(idx, on=ROW, how="inner"))
    columns = list(dict.fromkeys(ch.column for ch in checks))
    raw_text = raw.select(ROW, *[pl.col(c).cast(pl.String).alias(f"wb_raw_{c}") for c in columns])
    rows = rows.join(raw_text, on=ROW, how="left")
    value = _masked(pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.col(f"wb_raw_{ch.column}"))
                                  for i, ch in enumerate(checks)]))
    rows = rows.with_columns(value.alias("value"))
    reason_parts = []
    for i, ch in enumerate(checks):
        reason = ch.reason
        if ch.rule == "duplicate_id":
            reason = _fmt(f"{ch.column} '{{}}' already appears in row {{}}", _masked(pl.col(ch.column)),
                          pl.col("wb_first"))
        reason_parts.append(pl.when(pl.col("wb_check") == i).then(reason))
    out = rows.select(
        pl.lit(spec.name).alias("table"),
        pl.lit(file).alias("file"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.lit(ch.column)) for i, ch in enumerate(checks)])
        .alias("column"),
        pl.col("value"),
        pl.coalesce(*[pl.when(pl.col("wb_check") == i).then(pl.lit(ch.rule)) for i, ch in enumerate(checks)])
        .alias("rule"),
        pl.coalesce(*reason_parts).alias("reason"),
        (pl.col(spec.id_column) if spec.id_column else pl.lit(None, dtype=pl.String)).alias(_ID),
    )
    return out.sort("row")


_PARENT_WORD = {"persons": "person", "cases": "case", "detention_stays": "stay"}


def check_references(accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                     files: dict[str, str]) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Quarantine rows that refer to a missing or quarantined person, case or stay.

    Tables are taken parents first, so a row whose parent was quarantined for its own
    parent is quarantined in turn. Returns accepted tables without the row number, and
    quarantine frames in the contract's columns.
    """
    accepted = dict(accepted)
    quarantined = dict(quarantined)
    for name in TABLE_ORDER:
        if name not in accepted:
            continue
        spec = TABLES[name]
        for column in spec.columns:
            if not column.references:
                continue
            parent = column.references
            parent_id = TABLES[parent].id_column
            word = _PARENT_WORD[parent]
            frame = accepted[name]
            if parent in accepted:
                # Accepted ids are unique already (duplicates were quarantined).
                ok_ids = accepted[parent].select(pl.col(parent_id).alias(column.name))
                refused = (quarantined[parent].filter(pl.col(_ID).is_not_null())
                           .sort("row").unique(_ID, keep="first", maintain_order=True)
                           .select(pl.col(_ID).alias(column.name), pl.col("reason").alias("wb_parent_reason"),
                                   pl.col("row").alias("wb_parent_row")))
            else:
                ok_ids = pl.DataFrame(schema={column.name: pl.String})
                refused = pl.DataFrame(schema={column.name: pl.String, "wb_parent_reason": pl.String,
                                               "wb_parent_row": pl.Int64})
            missing = (frame.filter(pl.col(column.name).is_not_null())
                       .join(ok_ids, on=column.name, how="anti"))
            if missing.height == 0:
                continue
            missing = missing.join(refused, on=column.name, how="left")
            no_table = f"the extract has no {parent} table" if parent not in accepted else f"not in {parent}"
            bad = missing.select(
                pl.lit(name).alias("table"),
                pl.lit(files[name]).alias("file"),
                pl.col(ROW).cast(pl.Int64).alias("row"),
                pl.lit(column.name).alias("column"),
                _masked(pl.col(column.name)).alias("value"),
                pl.when(pl.col("wb_parent_reason").is_null()).then(pl.lit("missing_reference"))
                .otherwise(pl.lit("quarantined_parent")).alias("rule"),
                pl.when(pl.col("wb_parent_reason").is_null())
                .then(pl.format(f"{word} {{}} not found: {no_table}", _masked(pl.col(column.name))))
                .otherwise(pl.format(f"{word} {{}} ({files.get(parent, parent)} row {{}}) was quarantined: {{}}",
                                     _masked(pl.col(column.name)), pl.col("wb_parent_row"),
                                     pl.col("wb_parent_reason"))).alias("reason"),
                (pl.col(spec.id_column) if spec.id_column else pl.lit(None, dtype=pl.String)).alias(_ID),
            )
            accepted[name] = frame.join(missing.select(ROW), on=ROW, how="anti")
            quarantined[name] = pl.concat([quarantined[name], bad]).sort("row")
    return (
        {n: f.drop(ROW) for n, f in accepted.items()},
        {n: f.select(list(QUARANTINE_SCHEMA)) for n, f in quarantined.items()},
    )
