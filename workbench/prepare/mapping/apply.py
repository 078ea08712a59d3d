"""Applying a mapping: raw sources → fields → the canonical tables, with the mapping-stage
quarantine and a report per source (rows read = mapped + quarantined)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench.contract.schema import TABLE_ORDER, TABLES
from workbench.exceptions import IdentifierColumnError, MappingError
from workbench.extract import guard
from workbench.extract.rules import QUARANTINE_SCHEMA
from workbench.prepare.mapping.model import (ROW, SEP, SRC_FILE, SRC_ROW, ColumnRule, Derived, Mapping, Source,
                                             TableMap, _schedule, canonical_type)
from workbench.prepare.mapping.parse import _convert, _dtype, _identity_expr, _lit, _safe, _as_text, match_keys
from workbench.prepare.mapping.columns import combine_parts, option_columns, resolve_headers, split_column
from workbench.prepare.mapping.read import RawSource, read_sources

MAX_UNMAPPED_VALUES = 20
MIN_IDENTIFIER_LENGTH = 3  # identifier values shorter than this are not looked for inside kept text


@dataclass
class SourceReport:
    """What happened to one source: rows read = mapped + quarantined, and its columns."""

    source: str
    file: str
    header_row: int
    read: int
    mapped: int
    quarantined: int
    by_rule: dict[str, int]
    columns: dict[str, str]              # raw header → what it became
    dropped: list[str]                   # dropped on purpose (listed as drop, or identifiers not kept)
    unmapped: list[str]                  # in the file, not in the mapping: dropped and listed
    absent: list[str]                    # optional columns of the mapping not in the file
    blank_rows: int = 0
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "file": self.file, "header_row": self.header_row, "read": self.read,
                "mapped": self.mapped, "quarantined": self.quarantined, "by_rule": dict(self.by_rule),
                "blank_rows": self.blank_rows, "columns": dict(self.columns), "dropped": list(self.dropped),
                "unmapped": list(self.unmapped), "absent": list(self.absent),
                "unmapped_values": {k: dict(v) for k, v in self.unmapped_values.items()}}


@dataclass
class Mapped:
    """The canonical tables made from a raw export, before pseudonymisation.

    ``tables`` hold the contract's columns (identifier columns hold *identity strings*,
    never written anywhere), kept extra columns, and the raw file and row each row came
    from (``wb_src_file``, ``wb_src_row``). ``quarantine`` has the contract's quarantine
    columns, one line per raw row refused at the mapping stage. ``quarantined_ids`` are the
    identities found in refused rows (kind, identity, file, row, reason), so that a later
    reference to them can say why they are missing.
    """

    mapping: Mapping
    tables: dict[str, pl.DataFrame]
    id_columns: dict[str, dict[str, str]]
    quarantine: pl.DataFrame
    quarantined_ids: pl.DataFrame
    sources: dict[str, SourceReport]
    warnings: list[str]

    @property
    def read(self) -> int:
        return sum(r.read for r in self.sources.values())

    @property
    def quarantined(self) -> int:
        return self.quarantine.height


@dataclass(frozen=True)
class _Check:
    index: float          # the mapping's column order (identifier check i, then the column's rule i + 0.5)
    column: str           # raw header (or field) named in the quarantine
    fail: pl.Expr
    rule: str
    reason: pl.Expr
    value: pl.Expr


def _derive(d: Derived, source: Source) -> pl.Expr:
    """The expression of a derived field (lookups are joins: see :func:`_lookup`)."""
    if d.op == "year_of":
        return pl.col(d.args["year_of"]).dt.year().cast(pl.Int32)
    if d.op == "year_from_age":
        return (pl.col(d.args["at"]).dt.year() - pl.col(d.args["year_from_age"])).cast(pl.Int32)
    if d.op == "value":
        return _lit(d.args["value"], d.ftype)
    if d.op == "pseudonym":
        # identifiers are already identity strings; codes, dates and numbers are exact; text is normalised
        parts = [_as_text(n, source.type_of(n)) if source.type_of(n).kind != "text"
                 else _identity_expr(pl.col(n)) for n in d.args["of"]]
        base = pl.concat_str([p.fill_null("") for p in parts], separator=SEP)
        return pl.when(pl.any_horizontal([p.is_not_null() for p in parts])).then(base)
    raise AssertionError(d.op)  # pragma: no cover


def _number_repeats(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Tell apart rows with the same identity by their order in the file (``…#1``, ``…#2``)."""
    occurrence = (pl.int_range(1, pl.len() + 1).over(column)).cast(pl.String)
    return frame.with_columns(
        pl.when(pl.col(column).is_not_null()).then(pl.concat_str([pl.col(column), pl.lit(SEP + "#"), occurrence]))
        .alias(column))


def _lookup(frame: pl.DataFrame, d: Derived, alias: str, done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    other = done[d.args["lookup"]]
    on, take = d.args["on"], d.args["field"]
    table = (other.filter(pl.col(on).is_not_null()).unique(on, keep="first", maintain_order=True)
             .select(pl.col(on), pl.col(take).alias(alias)))
    return frame.join(table, on=on, how="left", maintain_order="left")


@dataclass
class _Stage:
    """A source being mapped: its fields so far, the checks of its columns, and where its
    columns were found (see :func:`_read_columns`)."""

    frame: pl.DataFrame
    checks: list
    unmapped_flags: dict[str, str]
    present: dict[str, str]
    header_keys: list[str]


def _read_columns(source: Source, raw: RawSource, mapping: Mapping) -> _Stage:
    """Step 0 of a source: every mapped column read into its field, with the checks of each cell."""
    present, header_keys = resolve_headers(source, raw, mapping)
    written = mapping.written_fields(source.name)
    frame = raw.frame
    exprs: list[pl.Expr] = []
    checks: list[_Check] = []
    split_rules: list[tuple[ColumnRule, str]] = []
    options: dict[str, list[tuple[int, ColumnRule, str]]] = {}
    unmapped_flags: dict[str, str] = {}
    lists = _code_lists(mapping, source)
    for i, rule in enumerate(source.columns):
        if rule.field is None:
            continue
        internal = present.get(rule.raw)
        if rule.option is not None:
            if internal is not None:
                options.setdefault(rule.field, []).append((i, rule, internal))
            continue
        if internal is None:
            exprs.append(pl.lit(None, dtype=_dtype(rule.ftype)).alias(rule.field))
            continue
        if rule.split:
            split_rules.append((rule, internal))
            continue
        conv = _convert(rule, pl.col(internal), lists.get(rule.field))
        converted = [conv.value.alias(rule.field)]
        hidden = rule.field not in written or rule.ftype.kind == "id"
        if _guarded(rule, written):
            converted.append(pl.when(~conv.known).then(guard.cell_kind_expr(pl.col(internal))).alias(f"wb_idk_{i}"))
            checks.append(_identifier_check(i, rule, pl.col(f"wb_idk_{i}"), pl.col(internal)))
        if conv.rule:
            converted += [conv.fail.alias(f"wb_fail_{i}"), conv.unmapped.alias(f"wb_unm_{i}")]
            unmapped_flags[rule.raw] = f"wb_unm_{i}"
            checks.append(_check(i, rule, internal, conv.rule, conv.reason, hidden))
        frame = _through_distinct(frame, internal, converted)
    frame = frame.with_columns(exprs) if exprs else frame
    for group in options.values():
        frame, added = option_columns(frame, group)
        for i, rule, internal in added:
            checks.append(_identifier_check(i, rule, pl.col(f"wb_idk_{i}"), pl.col(internal)))
            checks.append(_Check(i + 0.5, rule.raw, pl.col(f"wb_fail_{i}"), "invalid_boolean",
                                 _reason(f"{_safe(rule.raw)} '{{}}' is not 0 or 1 (the option "
                                         f"{_safe(rule.option)} chosen or not)", pl.col(internal), False, rule.raw),
                                 guard.mask_expr(pl.col(internal))))
            unmapped_flags[rule.raw] = f"wb_unm_{i}"
    for rule, internal in split_rules:
        i = source.columns.index(rule)
        frame = split_column(frame, rule, internal, i)
        conv = _convert(rule, pl.col(f"wb_item_{i}"))
        hidden = rule.field not in written
        checks.append(_identifier_check(i, rule, pl.col(f"wb_idk_{i}"), pl.col(f"wb_idv_{i}")))
        checks.append(_Check(i + 0.5, rule.raw, pl.col(f"wb_fail_{i}"), conv.rule,
                             _reason(conv.reason, pl.col(f"wb_bad_{i}"), hidden, rule.raw),
                             guard.mask_expr(pl.col(f"wb_bad_{i}")) if not hidden else pl.lit(None, dtype=pl.String)))
        unmapped_flags[rule.raw] = f"wb_unm_{i}"
    frame = combine_parts(frame, sorted({r.field for r in source.columns if r.field and r.multi}))
    return _Stage(frame, checks, unmapped_flags, present, header_keys)


def _finish(source: Source, raw: RawSource, mapping: Mapping, stage: _Stage
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, SourceReport, dict]:
    """The last step of a source: defaults, then each row accepted or quarantined for the first
    rule it breaks. Returns (all rows with fields, accepted rows, quarantine, quarantined ids, report,
    identifier values)."""
    frame, checks = stage.frame, list(stage.checks)
    written = mapping.written_fields(source.name)
    for fname, value in source.defaults:
        ftype = source.type_of(fname)
        default = _lit(value, ftype)
        frame = frame.with_columns((pl.coalesce(pl.col(fname), default) if fname in frame.columns else default)
                                   .alias(fname))
    checks.sort(key=lambda c: c.index)  # the first rule broken, in the order of the mapping's columns
    # An empty identifier that a table needs (a person, a contact…) cannot be mapped.
    checked: set[str] = set()
    for tm in mapping.tables.values():
        if tm.source != source.name:
            continue
        for column, (op, arg) in tm.columns:
            if op == "value" or column not in TABLES[tm.name].required_columns or arg in checked:
                continue
            ftype = source.type_of(str(arg))
            if ftype is None or ftype.kind != "id":
                continue
            checked.add(arg)
            rule = next((r for r in source.columns if r.field == arg), None)
            label = _safe(rule.raw if rule else str(arg))
            checks.append(_Check(len(source.columns) + len(checks), label, pl.col(str(arg)).is_null(), "required",
                                 pl.lit(f"{label} is empty: the row cannot be given a {column} "
                                        f"({tm.name} needs one)"), pl.lit(None, dtype=pl.String)))
    index = pl.coalesce(*[pl.when(c.fail).then(pl.lit(n)) for n, c in enumerate(checks)]) if checks else \
        pl.lit(None, dtype=pl.Int32)
    frame = frame.with_columns(index.alias("wb_check"))
    failed = pl.col("wb_check").is_not_null()
    bad = frame.filter(failed)
    ok = frame.filter(~failed)
    quarantine = bad.select(
        pl.lit(source.name).alias("table"),
        pl.lit(raw.file).alias("file"),
        pl.col(ROW).alias("row"),
        _pick(checks, lambda c: pl.lit(c.column)).alias("column"),
        _pick(checks, lambda c: c.value).cast(pl.String).alias("value"),
        _pick(checks, lambda c: pl.lit(c.rule)).alias("rule"),
        _pick(checks, lambda c: c.reason).alias("reason"),
    ) if checks else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    quarantine = quarantine.cast(QUARANTINE_SCHEMA)
    id_fields = [(n, t.vocab) for n, t in source.types if t.kind == "id" and n in bad.columns]
    parts = [bad.filter(pl.col(n).is_not_null()).select(pl.lit(kind).alias("kind"), pl.col(n).alias("identity"),
                                                        pl.col(ROW).alias("row"))
             for n, kind in id_fields]
    qids = pl.concat(parts) if parts else pl.DataFrame(schema={"kind": pl.String, "identity": pl.String,
                                                                 "row": pl.Int64})
    qids = qids.join(quarantine.select("row", "file", "reason"), on="row", how="left")
    report = _report(source, raw, stage.present, ok, bad, quarantine, frame,
                     stage.unmapped_flags, written)
    keeps = any(tm.extras for tm in mapping.tables.values())
    return frame, ok, quarantine, qids, report, _identifier_values(source, raw, stage.present) if keeps else {}


def _identifier_values(source: Source, raw: RawSource, present: dict[str, str]) -> dict[str, list[str]]:
    """The values of the columns that hold identifiers (pseudonymised, or named like names, phones,
    e-mails, addresses, authority numbers), by raw header: kept text must not contain them."""
    pseudonymised = {present[r.raw] for r in source.columns if r.pseudonym and r.raw in present}
    out = {}
    for position, header in enumerate(raw.headers):
        internal = f"wb_c{position}"
        if not header or not (guard.kind_by_name(header) or internal in pseudonymised):
            continue
        values = (raw.frame.select(pl.col(internal).drop_nulls().str.strip_chars().unique().alias("v"))
                  .filter(pl.col("v").str.len_chars() >= MIN_IDENTIFIER_LENGTH)["v"].sort())
        if values.len():
            out[f"{raw.file}: {header}"] = values.to_list()
    return out


def _check_kept(tables: dict[str, pl.DataFrame], mapping: Mapping, identifiers: dict[str, list[str]]) -> None:
    """Refuse a kept column that holds a value of an identifier column of the export (a name in free text)."""
    for name, frame in tables.items():
        tm = mapping.tables[name]
        for column in tm.extras:
            text = frame.get_column(column).cast(pl.String)
            for where, values in identifiers.items():
                hits = text.str.contains_any(values, ascii_case_insensitive=True).fill_null(False)
                if hits.any():
                    row = int(frame.filter(hits)[SRC_ROW][0])
                    file = frame[SRC_FILE][0]
                    raise IdentifierColumnError(
                        f"{file}: the column kept as '{column}' in {name} holds values of the column "
                        f"{where.split(': ', 1)[1]!r} (first at row {row}): free text with names, phone numbers or "
                        f"identifiers cannot be kept. Drop it in {mapping.name}.",
                        file=file, table=name, column=column, row=row)


def _through_distinct(frame: pl.DataFrame, column: str, exprs: list[pl.Expr]) -> pl.DataFrame:
    """Add ``exprs`` (functions of ``column`` only) computed once per distinct value of the column.

    Codes, dates and yes/no cells repeat: normalising their few distinct values and joining
    back is much faster than normalising every cell.
    """
    distinct = frame.select(pl.col(column).unique()).with_columns(exprs)
    return frame.join(distinct, on=column, how="left", nulls_equal=True, maintain_order="left")


def _check(i: int, rule: ColumnRule, internal: str, rule_name: str, reason: str, hidden: bool) -> _Check:
    raw_value = pl.col(internal)
    return _Check(i + 0.5, rule.raw, pl.col(f"wb_fail_{i}"), rule_name, _reason(reason, raw_value, hidden, rule.raw),
                  guard.mask_expr(raw_value) if not hidden else pl.lit(None, dtype=pl.String))


def _guarded(rule: ColumnRule, written: set[str]) -> bool:
    """Whether the column's cells are checked for direct identifiers typed in the wrong column:
    every mapped column but pseudonymised ones, and text that is only used on the way."""
    kind = rule.ftype.kind
    return kind != "id" and (kind != "text" or rule.field in written)


def _identifier_check(i: int, rule: ColumnRule, kind: pl.Expr, raw_value: pl.Expr) -> _Check:
    """A cell shaped like a direct identifier: quarantined before any other rule of its column."""
    return _Check(i, rule.raw, kind.is_not_null(), guard.IDENTIFIER_RULE, guard.cell_reason(_safe(rule.raw), kind),
                  guard.mask_expr(raw_value))


def _code_lists(mapping: Mapping, source: Source) -> dict[str, frozenset[str]]:
    """Open code fields restricted to the mapping's list of sites, centres or partners."""
    lists = {"site": mapping.sites, "centre": mapping.centres, "partner": mapping.partners}
    out: dict[str, frozenset[str]] = {}
    for tm in mapping.tables.values():
        if tm.source != source.name:
            continue
        for column, (op, arg) in tm.columns:
            if op != "value" and lists.get(column):
                out[str(arg)] = frozenset(lists[column])
    return out


def _reason(template: str, value: pl.Expr, hidden: bool, raw: str) -> pl.Expr:
    raw = _safe(raw)
    if hidden:
        text = template.replace(f"{raw} '{{}}'", f"{raw} (value not shown: the column is not written to the "
                                                 "extract)")
        return pl.lit(text)
    return pl.format(template, guard.mask_expr(value).fill_null(""))


def _pick(checks: list[_Check], what) -> pl.Expr:
    return pl.coalesce(*[pl.when(pl.col("wb_check") == n).then(what(c)) for n, c in enumerate(checks)])


def _apply_derived(frame: pl.DataFrame, d: Derived, source: Source, done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    items = d.args["first_of"] if d.op == "first_of" else [d]
    exprs = []
    for n, item in enumerate(items):
        if item.op == "lookup":
            alias = f"wb_lookup_{d.field}_{n}"
            frame = _lookup(frame, item, alias, done)
            exprs.append(pl.col(alias))
        else:
            exprs.append(_derive(Derived(item.field, item.op, item.args, d.ftype), source))
    frame = frame.with_columns((pl.coalesce(*exprs) if len(exprs) > 1 else exprs[0]).alias(d.field))
    if d.op == "pseudonym" and d.args.get("per_row"):
        frame = _number_repeats(frame, d.field)
    return frame.drop([c for c in frame.columns if c.startswith(f"wb_lookup_{d.field}_")])


def _report(source: Source, raw: RawSource, present: dict[str, str], ok: pl.DataFrame,
            bad: pl.DataFrame,
            quarantine: pl.DataFrame, frame: pl.DataFrame, unmapped_flags: dict[str, str],
            written: set[str]) -> SourceReport:
    rules = {present[r.raw]: r for r in source.columns if r.raw in present and r.field is None}
    rules.update({present[r.raw]: r for r in source.columns if r.raw in present and r.field is not None})
    columns: dict[str, str] = {}
    dropped: list[str] = []
    unmapped: list[str] = []
    for position, header in enumerate(raw.headers, start=1):
        internal = f"wb_c{position - 1}"
        if not header:
            if frame.select(pl.col(internal).is_not_null().any()).item():
                unmapped.append(f"(column {position}, no header)")
            continue
        rule = rules.get(internal)
        if rule is None:
            unmapped.append(header)
        elif rule.field is None:
            dropped.append(header)
        elif rule.pseudonym:
            columns[header] = f"{rule.field} (pseudonym: {rule.pseudonym})"
        elif rule.option is not None:
            columns[header] = f"{rule.field} (option {rule.option})"
        else:
            columns[header] = rule.field + ("" if rule.field in written else " (used on the way, not written)")
    absent = [r.raw for r in source.columns if r.raw not in present]
    values: dict[str, dict[str, int]] = {}
    for rule in source.columns:
        flag = unmapped_flags.get(rule.raw)
        if flag is None or rule.field not in written or rule.raw not in present:
            continue
        if rule.split:
            i = source.columns.index(rule)
            shapes = frame.select(pl.col(f"wb_unmvals_{i}").alias("v")).explode("v").drop_nulls()
        else:
            shapes = frame.filter(pl.col(flag)).select(pl.col(present[rule.raw]).alias("v"))
        # Values are shown by their shape only (the export's rows say which ones they are).
        counts = shapes.select(guard.mask_expr(pl.col("v")).alias("v")).group_by("v").len()
        if counts.height:
            counts = counts.sort(["len", counts.columns[0]], descending=[True, False]).head(MAX_UNMAPPED_VALUES)
            values[rule.raw] = {str(v): int(n) for v, n in counts.iter_rows()}
    by_rule = dict(sorted(quarantine.group_by("rule").len().iter_rows())) if quarantine.height else {}
    return SourceReport(source=source.name, file=raw.file, header_row=raw.header_row,
                        read=ok.height + bad.height, mapped=ok.height, quarantined=bad.height, by_rule=by_rule,
                        columns=columns, dropped=dropped, unmapped=unmapped, absent=absent,
                        blank_rows=len(raw.blank_rows), unmapped_values=values)


def _build_table(tm: TableMap, source: Source, ok: pl.DataFrame, file: str) -> tuple[pl.DataFrame, list[str]]:
    """A canonical table from the accepted rows of its source (and warnings)."""
    spec = TABLES[tm.name]
    frame = ok
    if tm.explode:
        frame = frame.explode(tm.explode).filter(pl.col(tm.explode).is_not_null())
    warnings: list[str] = []

    def typed(column: str, expr: pl.Expr) -> pl.Expr:
        ctype = canonical_type(spec.column(column))
        return expr.cast(_dtype(ctype)).alias(column)

    if tm.one_row_per:
        order = ([pl.col(tm.first_by)] if tm.first_by else []) + [pl.col(ROW)]
        frame = frame.sort(order, nulls_last=True, maintain_order=True)
        aggs, consts, conflicts = [], [], []
        for column, (op, arg) in tm.columns:
            if op == "value":
                consts.append(typed(column, _lit(arg, canonical_type(spec.column(column)))))
            elif op in ("field", "first"):
                aggs.append(typed(column, pl.col(arg).drop_nulls().first()))
                if arg != tm.one_row_per:
                    conflicts.append((column, pl.col(arg).drop_nulls().n_unique().alias(f"wb_n_{column}")))
            else:
                aggs.append(typed(column, getattr(pl.col(arg), op)()))
        aggs += [pl.col(e).drop_nulls().first().alias(e) for e in tm.extras]
        grouped = (frame.filter(pl.col(tm.one_row_per).is_not_null())
                   .group_by(pl.col(tm.one_row_per).alias("wb_key"), maintain_order=True)
                   .agg(*aggs, *[e for _, e in conflicts], pl.col(ROW).first().alias(SRC_ROW)))
        for column, _ in conflicts:
            n = grouped.filter(pl.col(f"wb_n_{column}") > 1).height
            if n:
                warnings.append(f"{tm.name}: {n:,} {_plural(n, tm.one_row_per)} have more than one {column} across "
                                f"their rows in {file}; the first recorded was kept.")
        out = grouped.with_columns(consts) if consts else grouped
    else:
        exprs = []
        for column, (op, arg) in tm.columns:
            ctype = canonical_type(spec.column(column))
            exprs.append(typed(column, _lit(arg, ctype) if op == "value" else pl.col(arg)))
        out = frame.select(*exprs, *[pl.col(e) for e in tm.extras], pl.col(ROW).alias(SRC_ROW))
    columns = [c for c, _ in tm.columns]
    out = out.select(*[c for c in spec.column_names if c in columns], *tm.extras,
                     pl.lit(file).alias(SRC_FILE), pl.col(SRC_ROW))
    return out, warnings


def _plural(n: int, id_field: str) -> str:
    word = id_field.removesuffix("_id")
    return word + ("s" if n > 1 else "")


def apply(mapping: Mapping, raw: str | Path) -> Mapped:
    """Read a raw export (a file, or a folder of files) and map it to the canonical tables.

    Raises
    ------
    MappingError
        When a file, sheet or mapped column cannot be found or read (nothing is mapped).
    """
    return _apply(mapping, read_sources(mapping, raw))


def apply_frames(mapping: Mapping, frames: dict[str, pl.DataFrame]) -> Mapped:
    """Map raw tables given as data frames of text (one per source, headers as written)."""
    raws = {}
    for name, source in mapping.sources.items():
        frame = frames[name]
        headers = [str(c).strip() for c in frame.columns]
        internal = [f"wb_c{i}" for i in range(len(headers))]
        data = frame.rename(dict(zip(frame.columns, internal))).with_columns(
            pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in internal)
        data = data.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
        blank = pl.all_horizontal(pl.col(internal).is_null()) if internal else pl.lit(True)
        raws[name] = RawSource(name, name, data.filter(~blank), headers, 1, data.filter(blank)[ROW].to_list())
    return _apply(mapping, raws)


def _apply(mapping: Mapping, raws: dict[str, RawSource]) -> Mapped:
    try:
        return _apply_checked(mapping, raws)
    except pl.exceptions.PolarsError as exc:
        # A combination of keys the checks let through must still end in one clear line, not a traceback.
        # Its text is not shown: it may quote a raw value.
        raise MappingError(f"{mapping.name}: the mapping cannot be applied to this export ({type(exc).__name__}). "
                           "Check the keys of the mapping against docs/mappings.md; if they "
                           "look right, please report it with the mapping (not the export).") from None


def _apply_checked(mapping: Mapping, raws: dict[str, RawSource]) -> Mapped:
    done: dict[str, pl.DataFrame] = {}
    stages: dict[str, _Stage] = {}
    accepted: dict[str, pl.DataFrame] = {}
    quarantines, qids, reports, warnings = [], [], {}, []
    identifiers: dict[str, list[str]] = {}
    steps, blocked = _schedule(mapping.sources)
    if blocked:  # pragma: no cover - refused when the mapping is loaded
        raise MappingError(f"{mapping.name}: lookups go round in a circle ({'; '.join(blocked)}).")
    for name, step in steps:
        source = mapping.sources[name]
        raw = raws[name]
        if step == 0:
            if raw.blank_rows:
                warnings.append(f"{raw.file}: {len(raw.blank_rows):,} blank row"
                                f"{'s' if len(raw.blank_rows) > 1 else ''} ignored.")
            stages[name] = _read_columns(source, raw, mapping)
        elif step <= len(source.derive):
            stage = stages[name]
            stage.frame = _apply_derived(stage.frame, source.derive[step - 1], source, done)
        else:
            everything, ok, quarantine, ids, report, found = _finish(source, raw, mapping, stages[name])
            identifiers.update(found)
            stages[name].frame = everything
            accepted[name] = ok
            quarantines.append(quarantine)
            qids.append(ids)
            reports[name] = report
        done[name] = stages[name].frame
    reports = {n: reports[n] for n in mapping.sources}
    tables: dict[str, pl.DataFrame] = {}
    id_columns: dict[str, dict[str, str]] = {}
    for tname in TABLE_ORDER:
        tm = mapping.tables.get(tname)
        if tm is None:
            continue
        frame, notes = _build_table(tm, mapping.sources[tm.source], accepted[tm.source], raws[tm.source].file)
        tables[tname] = frame
        warnings.extend(notes)
        id_columns[tname] = {c.name: c.name.removesuffix("_id") for c in TABLES[tname].columns
                             if c.kind == "id" and c.name in frame.columns}
    _check_kept(tables, mapping, identifiers)
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return Mapped(mapping=mapping, tables=tables, id_columns=id_columns, quarantine=quarantine,
                  quarantined_ids=pl.concat(qids) if qids else pl.DataFrame(), sources=reports, warnings=warnings)
