"""Consolidation: several organisations' extracts → one extract with ``organisation`` as a dimension.

A network of associations wants one picture from all its members. :func:`combine` loads
each member's extract (with :func:`workbench.extract.load`: only accepted rows are
combined; each member's quarantine is carried into the combined report), and writes one
extract in which

* every id and every reference is prefixed with the member's organisation code
  (``nord:P3fa85f6457174562``), so that ids stay apart: two members' persons are never
  merged, even when their pseudonyms happen to be equal;
* every table has an ``organisation`` column, so every indicator can be broken down by
  organisation (:func:`workbench.disclosure.compute` offers the ``organisation``
  breakdown whenever persons carry that column);
* shared keys (``activity_key``, ``action_key``: the same activity or action in several
  members' extracts) are kept as they are, so that an activity co-organised by several members,
  or an action they bring together, is counted once (the indicators count ``activity_key``, else
  the member's own id), while the ``organisation`` breakdown shows it in each member's row;
* network-level members (``level: network``, no persons) give a network-level extract;
* site, centre and partner codes are kept when only one member uses them or when every
  member that uses them gives the same label (a shared partner); otherwise they are
  prefixed with the organisation code (``nord_accueil``), so that two members' "accueil"
  are not counted as one place;
* ``extract.yaml`` lists the members (code, name, extraction date, key fingerprint) and the
  merged labels; ``extracted_on`` is the latest of the members' dates.

Persons cannot be linked across organisations unless their extracts were made with the
same key from the same kind of identifier (see ``docs/pseudonymisation.md``); combining
never links them.

>>> from workbench import combine                                                     # doctest: +SKIP
>>> combine.combine(["nord=extracts/nord", "sud=extracts/sud"], "extracts/reseau")   # doctest: +SKIP
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from workbench import safeyaml

from workbench import extract as extract_mod
from workbench.extract.files import METADATA_FILE
from workbench.exceptions import WorkbenchError
from workbench.prepare.pseudonymise import _write_yaml, check_output, moved, write_reports, write_tables
from workbench.publish import publishing
from workbench.contract.schema import NETWORK, SCHEMA_VERSION, TABLE_ORDER, TABLES
from workbench.extract.rules import QUARANTINE_SCHEMA

__all__ = ["CombineError", "Member", "CombineResult", "combine", "organisation_code", "REPORT_FOLDER"]

REPORT_FOLDER = "combine"
ID_SEPARATOR = ":"
_CODE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
#: Open-code columns and the extract.yaml key holding their labels.
_LABELLED = {"site": "sites", "centre": "centres", "partner": "partners"}


class CombineError(WorkbenchError):
    """Extracts cannot be combined (clashing organisation codes, an already combined extract…)."""


@dataclass(frozen=True)
class Member:
    """One extract to combine, under its organisation code."""

    code: str
    path: Path
    extract: extract_mod.Extract
    key_fingerprint: str | None


@dataclass(frozen=True)
class CombineResult:
    output: Path
    extract: extract_mod.Extract
    report: dict
    quarantine: pl.DataFrame

    @property
    def exit_code(self) -> int:
        """0 when every member's rows were all accepted, 1 when some members had quarantined rows."""
        return 1 if self.quarantine.height else 0


def organisation_code(text: str) -> str:
    """A code from an organisation's name: ``"Asso Nord — Calais"`` → ``asso_nord_calais``.

    >>> organisation_code("Asso Nord — Calais"), organisation_code("permanence_tunis")
    ('asso_nord_calais', 'permanence_tunis')
    """
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "_".join(re.findall(r"[a-z0-9]+", text))


def _parse_input(item: str | Path | tuple[str, str | Path]) -> tuple[str | None, Path]:
    if isinstance(item, tuple):
        return item[0], Path(item[1])
    text = str(item)
    if "=" in text and not Path(text).exists():
        code, path = text.split("=", 1)
        return code.strip(), Path(path)
    return None, Path(text)


def _key_fingerprint(path: Path) -> str | None:
    meta = path / METADATA_FILE if path.is_dir() else path.parent / "extract.yaml"
    try:
        data = safeyaml.load(meta.read_text(encoding="utf-8")) if meta.exists() else None
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None
    value = data.get("key_fingerprint") if isinstance(data, dict) else None
    return str(value) if value else None


def load_members(inputs: Sequence[str | Path | tuple[str, str | Path]]) -> list[Member]:
    """Load the extracts to combine and give each its organisation code; refuse clashes."""
    if not inputs:
        raise CombineError("give at least one extract to combine (CODE=FOLDER or FOLDER).")
    members = []
    for item in inputs:
        code, path = _parse_input(item)
        try:
            ex = extract_mod.load(path)
        except WorkbenchError as exc:
            raise type(exc)(f"cannot combine {path}: {exc}") from None
        if any("organisation" in frame.columns for frame in ex.tables.values()):
            raise CombineError(f"{path} is already a combined extract (its tables have an organisation column); "
                               "combine the members' own extracts instead.")
        if code is None:
            code = organisation_code(ex.meta.organisation or path.name)
        if not _CODE.match(code or ""):
            raise CombineError(f"{path}: '{code}' cannot be an organisation code (lower-case letters, digits and _); "
                               f"give one as CODE={path}.")
        members.append(Member(code, path, ex, _key_fingerprint(path)))
    seen: dict[str, Path] = {}
    for m in members:
        if m.code in seen:
            raise CombineError(f"{seen[m.code]} and {m.path} both have the organisation code '{m.code}'; ids would "
                               f"clash. Name them apart: CODE1={seen[m.code]} CODE2={m.path}.")
        seen[m.code] = m.path
    return sorted(members, key=lambda m: m.code)


def _id_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns if c.kind == "id"]


def _code_columns(table: str) -> dict[str, str]:
    """Open-code columns of a table → the label dimension (site, centre, partner)."""
    return {c.name: c.name for c in TABLES[table].columns if c.kind == "code" and c.name in _LABELLED}


def _labels(members: list[Member]) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], list[str]]:
    """Merged labels per dimension, the renames per member and dimension, and warnings."""
    used: dict[str, dict[str, dict[str, str | None]]] = {d: {} for d in _LABELLED}  # dim → code → member → label
    for m in members:
        for dim, key in _LABELLED.items():
            labels = getattr(m.extract.meta, key)
            codes = set(labels)
            for table, frame in m.extract.tables.items():
                for column, d in _code_columns(table).items():
                    if d == dim and column in frame.columns:
                        codes |= set(frame[column].drop_nulls().cast(pl.String).unique().to_list())
            for code in codes:
                used[dim].setdefault(code, {})[m.code] = labels.get(code)
    merged: dict[str, dict[str, str]] = {d: {} for d in _LABELLED}
    renames: dict[str, dict[str, str]] = {f"{m.code}/{d}": {} for m in members for d in _LABELLED}
    warnings = []
    for dim, codes in used.items():
        for code in sorted(codes):
            by_member = codes[code]
            labels = set(by_member.values())
            if len(by_member) == 1 or (len(labels) == 1 and None not in labels):
                label = next(iter(labels))
                if label is not None:
                    merged[dim][code] = label
                continue
            for member, label in sorted(by_member.items()):
                new = f"{member}_{code}"
                renames[f"{member}/{dim}"][code] = new
                merged[dim][new] = f"{label or code} ({member})"
            warnings.append(f"{dim} '{code}' is used by {', '.join(sorted(by_member))} with different or no labels: "
                            f"kept apart as {', '.join(f'{mm}_{code}' for mm in sorted(by_member))}.")
    return merged, renames, warnings


def _member_tables(m: Member, renames: dict[str, dict[str, str]]) -> dict[str, pl.DataFrame]:
    out = {}
    for table, frame in m.extract.tables.items():
        exprs = [pl.when(pl.col(c).is_not_null()).then(pl.concat_str([pl.lit(m.code + ID_SEPARATOR), pl.col(c)]))
                 .alias(c) for c in _id_columns(table) if c in frame.columns]
        for column, dim in _code_columns(table).items():
            mapping = renames[f"{m.code}/{dim}"]
            if column in frame.columns and mapping:
                exprs.append(pl.col(column).cast(pl.String).replace(mapping).alias(column))
        out[table] = frame.with_columns(exprs).with_columns(pl.lit(m.code).alias("organisation"))
    return out


def combine(inputs: Sequence[str | Path | tuple[str, str | Path]], output: str | Path, *, name: str | None = None,
            format: str = "parquet", overwrite: bool = False) -> CombineResult:
    """Combine members' extracts into one extract in ``output``.

    Parameters
    ----------
    inputs
        Extract folders (or workbooks), each as ``PATH`` (its code comes from the
        ``organisation`` of its extract.yaml, else the folder name) or ``CODE=PATH``.
    output
        The folder to create (must not exist or be empty, unless ``overwrite``).
    name
        The combined extract's organisation name (default: "Combined: a, b…").
    format
        ``parquet`` (default) or ``csv``.

    Raises
    ------
    CombineError, ExtractError, ParameterError
        Clashing codes, an already combined input, an unreadable member, a busy output.
    """
    output = Path(output)
    if format not in ("parquet", "csv"):
        raise CombineError(f"unknown extract format {format!r}: use parquet or csv.")
    check_output(output, overwrite)
    members = load_members(inputs)
    merged, renames, warnings = _labels(members)
    parts: dict[str, list[pl.DataFrame]] = {}
    for m in members:
        for table, frame in _member_tables(m, renames).items():
            parts.setdefault(table, []).append(frame)
    tables = {t: pl.concat(parts[t], how="diagonal_relaxed") for t in TABLE_ORDER if t in parts}
    dates = [m.extract.meta.extracted_on for m in members if m.extract.meta.extracted_on]
    if len(set(dates)) > 1:
        warnings.append("the members were extracted on different dates ("
                        + ", ".join(f"{m.code}: {m.extract.meta.extracted_on}" for m in members) + "); figures for "
                        "periods after the earliest date are incomplete for the members extracted earlier.")
    missing = {t: [m.code for m in members if t not in m.extract.tables] for t in tables}
    for table, codes in missing.items():
        if codes:
            warnings.append(f"{table}: not in the extracts of {', '.join(codes)}; its indicators cover the other "
                            "members only.")
    meta = {"organisation": name or "Combined: " + ", ".join(m.code for m in members)}
    if all(m.extract.meta.level == NETWORK for m in members):
        meta["level"] = NETWORK
    if dates:
        meta["extracted_on"] = max(dates)
    meta["schema_version"] = SCHEMA_VERSION
    for dim, key in _LABELLED.items():
        if merged[dim]:
            meta[key] = dict(sorted(merged[dim].items()))
    meta["organisations"] = {
        m.code: {k: v for k, v in (("name", m.extract.meta.organisation),
                                   ("extracted_on", m.extract.meta.extracted_on),
                                   ("key_fingerprint", m.key_fingerprint)) if v is not None}
        for m in members}
    quarantine = pl.concat([
        m.extract.quarantine.with_columns(pl.format("{}/{}", pl.lit(m.code), pl.col("file")).alias("file"))
        for m in members] or [pl.DataFrame(schema=QUARANTINE_SCHEMA)]).select(list(QUARANTINE_SCHEMA))
    shared = _shared_keys(members)
    with publishing(output, METADATA_FILE) as staged:
        write_tables(tables, staged, format)
        _write_yaml(staged / METADATA_FILE, meta)
        try:
            ex = extract_mod.load(staged)
        except WorkbenchError as exc:  # pragma: no cover - members were accepted on their own
            raise type(exc)(f"the combined extract was refused, nothing was written: {exc}") from None
        report = {
            "made_by": "workbench combine",
            "members": [{"organisation": m.code, "source": m.path.name, "name": m.extract.meta.organisation,
                         "extracted_on": m.extract.meta.extracted_on.isoformat() if m.extract.meta.extracted_on
                         else None, "key_fingerprint": m.key_fingerprint, "read": m.extract.read,
                         "accepted": m.extract.read - m.extract.quarantined, "quarantined": m.extract.quarantined,
                         "tables": [r.to_dict() for r in m.extract.reports.values()]} for m in members],
            "tables": [r.to_dict() for r in ex.reports.values()],
            "shared_keys": shared,
            "warnings": warnings,
        }
        write_reports(staged, "combine-report.json", report, quarantine, folder=REPORT_FOLDER)
    ex = moved(ex, output)
    return CombineResult(output=output, extract=ex, report=report, quarantine=quarantine)


def _shared_keys(members: list[Member]) -> list[list[str]]:
    """Groups of members whose extracts were made with the same key (their pseudonyms can be linked)."""
    by_key: dict[str, list[str]] = {}
    for m in members:
        if m.key_fingerprint:
            by_key.setdefault(m.key_fingerprint, []).append(m.code)
    return [codes for codes in by_key.values() if len(codes) > 1]
