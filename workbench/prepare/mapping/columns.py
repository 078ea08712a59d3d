"""Finding the mapped columns in a raw header, and reading the columns that hold several values
per row: a cell of several codes (``split``) and the 0/1 columns of a multiple choice (``option``),
as KoboToolbox and ODK export a ``select_multiple`` question."""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from workbench.exceptions import MappingError
from workbench.extract import guard
from workbench.prepare.mapping.model import ROW, ColumnRule, FType, Mapping, Source
from workbench.prepare.mapping.parse import _constant, _convert, match_keys
from workbench.prepare.mapping.read import RawSource


def resolve_headers(source: Source, raw: RawSource, mapping: Mapping) -> tuple[dict[str, str], list[str]]:
    """The internal column each mapped raw column reads (by the raw header as written in the
    mapping), and the match keys of the header.

    A header written exactly as in the export is found first; otherwise headers are compared
    by their match key (no case, accents, spaces or punctuation), among the export's columns
    that no other column of the mapping names exactly. So ``x.other`` (an option column) and
    ``x_other`` (a question) stay apart when both are in the export and in the mapping.
    """
    header_keys = match_keys(raw.headers)
    exact: dict[str, str] = {}
    by_key: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for position, (header, key) in enumerate(zip(raw.headers, header_keys)):
        if header:
            exact.setdefault(header, f"wb_c{position}")
            by_key[key].append((header, f"wb_c{position}"))
    claimed = {rule.raw.strip() for rule in source.columns if rule.raw.strip() in exact}
    present: dict[str, str] = {}
    for rule in source.columns:
        text = rule.raw.strip()
        if text in exact:
            present[rule.raw] = exact[text]
            continue
        candidates = [(h, c) for h, c in by_key.get(rule.key, []) if h not in claimed]
        if len(candidates) > 1:
            shown = ", ".join(repr(h) for h, _ in candidates)
            raise MappingError(f"{raw.file}: the columns {shown} all read as {rule.raw!r} of source '{source.name}' "
                               f"in {mapping.name} (headers are compared without case, accents or punctuation). "
                               "Write the header in the mapping exactly as in the export.")
        if candidates:
            present[rule.raw] = candidates[0][1]
    seen: dict[str, str] = {}
    for rule in source.columns:
        internal = present.get(rule.raw)
        if internal is None or rule.field is None:
            continue
        if internal in seen:
            raise MappingError(f"{raw.file}: the columns {seen[internal]!r} and {rule.raw!r} of source "
                               f"'{source.name}' in {mapping.name} both read the same column of the export. Write "
                               "each header exactly as in the export.")
        seen[internal] = rule.raw
    missing = [r for r in source.columns if r.field and not r.optional and r.raw not in present]
    if missing:
        found = ", ".join(f"'{h}'" for h in raw.headers if h) or "no named columns"
        raise MappingError(
            f"{raw.file}: column{'s' if len(missing) > 1 else ''} {', '.join(repr(r.raw) for r in missing)} of "
            f"source '{source.name}' in {mapping.name} {'are' if len(missing) > 1 else 'is'} not in the header "
            f"(row {raw.header_row}: {found}). Check the column names in the mapping, or mark a column that may be "
            "absent with optional: true.")
    return present, header_keys


def split_column(frame: pl.DataFrame, rule: ColumnRule, internal: str, i: int) -> pl.DataFrame:
    """A cell holding several codes (``unaccompanied, trafficked``): a list field, each item mapped."""
    separator = rule.split
    items = frame.select(ROW, pl.col(internal).str.split(separator).alias(f"wb_item_{i}"))
    items = (items.explode(f"wb_item_{i}")
             .with_columns(pl.col(f"wb_item_{i}").str.strip_chars().replace("", None))
             .filter(pl.col(f"wb_item_{i}").is_not_null()))
    conv = _convert(rule, pl.col(f"wb_item_{i}"))
    items = items.with_columns(conv.value.alias("wb_value"), conv.fail.alias("wb_f"), conv.unmapped.alias("wb_u"),
                               pl.when(~conv.known).then(guard.cell_kind_expr(pl.col(f"wb_item_{i}")))
                               .alias("wb_k"))
    per_row = items.group_by(ROW).agg(
        pl.col("wb_value").drop_nulls().unique(maintain_order=True).alias(f"wb_part_{i}_{rule.field}"),
        pl.col("wb_f").any().alias(f"wb_fail_{i}"),
        pl.col("wb_u").any().alias(f"wb_unm_{i}"),
        pl.col(f"wb_item_{i}").filter(pl.col("wb_f")).first().alias(f"wb_bad_{i}"),
        pl.col(f"wb_item_{i}").filter(pl.col("wb_u")).alias(f"wb_unmvals_{i}"),
        pl.col("wb_k").drop_nulls().first().alias(f"wb_idk_{i}"),
        pl.col(f"wb_item_{i}").filter(pl.col("wb_k").is_not_null()).first().alias(f"wb_idv_{i}"),
    )
    frame = frame.join(per_row, on=ROW, how="left", maintain_order="left")
    return frame.with_columns(
        pl.col(f"wb_part_{i}_{rule.field}").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col(f"wb_fail_{i}").fill_null(False), pl.col(f"wb_unm_{i}").fill_null(False),
    )


def option_columns(frame: pl.DataFrame, rules: list[tuple[int, ColumnRule, str]]) -> tuple[pl.DataFrame, list]:
    """The 0/1 columns of one multiple choice (``q/opt`` or ``q.opt``) as one list field: the
    options whose cell is yes (1, true, oui…), in the mapping's order. A cell that is not a yes/no
    value fails (``invalid_boolean``); a cell shaped like a direct identifier is one too.

    Returns the frame and, per column, ``(i, rule, internal)`` of the checks to add."""
    field = rules[0][1].field
    picks = []
    for i, rule, internal in rules:
        as_bool = ColumnRule(raw=rule.raw, field=f"wb_opt_{i}", ftype=FType("boolean"), key=rule.key)
        conv = _convert(as_bool, pl.col(internal))
        frame = frame.with_columns(conv.value.alias(f"wb_opt_{i}"), conv.fail.alias(f"wb_fail_{i}"),
                                   conv.unmapped.alias(f"wb_unm_{i}"),
                                   pl.when(~conv.known).then(guard.cell_kind_expr(pl.col(internal)))
                                   .alias(f"wb_idk_{i}"))
        picks.append(pl.when(pl.col(f"wb_opt_{i}")).then(pl.lit(str(_constant(rule.option, rule.ftype)))))
    listed = pl.concat_list(picks).list.drop_nulls()
    frame = frame.with_columns(listed.alias(f"wb_part_{rules[0][0]}_{field}"))
    return frame.drop([f"wb_opt_{i}" for i, _, _ in rules]), [(i, rule, internal) for i, rule, internal in rules]



def combine_parts(frame: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """Each multi-valued field as the union of its parts (a cell of codes and the 0/1 columns of the
    same multiple choice agree; either may be absent from the export), in the order first given."""
    for fname in fields:
        parts = [c for c in frame.columns if c.startswith("wb_part_") and c.endswith(f"_{fname}")]
        if not parts:
            frame = frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(fname))
            continue
        merged = pl.concat_list([pl.col(c) for c in parts]).list.unique(maintain_order=True)
        frame = frame.with_columns(merged.alias(fname)).drop(parts)
    return frame
