"""Reading and validating a case extract.

>>> from workbench import demo, extract
>>> folder = demo.write(tmp_path / "demo", persons=200)          # doctest: +SKIP
>>> ex = extract.load(folder)                                     # doctest: +SKIP
>>> ex.table("persons").height == ex.reports["persons"].accepted  # doctest: +SKIP
True

:func:`load` reads a folder of Parquet/CSV tables or one ``.xlsx`` workbook (plus the
optional ``extract.yaml``), refuses it with :class:`~workbench.exceptions.ExtractError`
when it cannot be read as a case extract, and otherwise returns an :class:`Extract`:
the accepted rows as typed polars frames, and every refused row in ``quarantine``
(``table,file,row,column,value,rule,reason``), so that accepted + quarantined = read
for every table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import yaml

from workbench import safeyaml

from workbench.extract import cache, guard

from workbench.extract import files as readers
from workbench.exceptions import ExtractError, MissingColumnError, MissingTableError, UnreadableFileError
from workbench.contract.schema import LEVELS, PERSON_LEVEL, TABLE_ORDER, TABLES, Table, required_tables
from workbench.extract.references import (NUMBER, PARENTS, PERSONS, Early, Parent, check_references, on_parents,
                                         on_persons, person_numbers, person_reference)
from workbench.extract.parsing import code_casts
from workbench.extract.rules import QUARANTINE_SCHEMA, ROW, numbered, validate_table

ProgressCallback = Callable[[str, str], None]
RESERVED_PREFIX = "wb_"


@dataclass(frozen=True)
class ExtractMeta:
    """What ``extract.yaml`` says about the extract (all optional)."""

    organisation: str | None = None
    extracted_on: dt.date | None = None
    sites: dict[str, str] = field(default_factory=dict)
    centres: dict[str, str] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)
    schema_version: str | None = None
    organisations: dict[str, str] = field(default_factory=dict)
    #: ``catalogue:``: the organisation's own catalogue file, relative to the extract's folder.
    catalogue: str | None = None
    #: ``level:``: ``person`` (default: persons and contacts required) or ``network`` (a network's
    #: coordination: activities, strategic litigation, services; no table required, no person id).
    level: str = PERSON_LEVEL
    #: ``scopes:``: parts of the extract published to outside audiences (name -> {sites, centres}).
    scopes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def label(self, dimension: str, code: str | None) -> str | None:
        """The label of a site, centre, partner or organisation code (the code itself when none is given)."""
        table = {"site": self.sites, "centre": self.centres, "partner": self.partners,
                 "organisation": self.organisations}.get(dimension, {})
        return table.get(code, code) if code is not None else None


@dataclass(frozen=True)
class TableReport:
    """Counts for one table: read = accepted + quarantined."""

    table: str
    file: str
    read: int
    accepted: int
    quarantined: int
    by_rule: dict[str, int]

    def to_dict(self) -> dict:
        return {"table": self.table, "file": self.file, "read": self.read, "accepted": self.accepted,
                "quarantined": self.quarantined, "by_rule": dict(self.by_rule)}


@dataclass(frozen=True)
class Extract:
    """A loaded case extract: accepted tables, quarantine and counts."""

    source: Path
    meta: ExtractMeta
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame
    reports: dict[str, TableReport]
    files: dict[str, Path]
    warnings: tuple[str, ...] = ()
    #: The attributes (sex, birth year, nationality, legal status…) that label each record, one row
    #: per person: ``None`` means the persons table. A restricted extract
    #: (:func:`workbench.selection.restrict`) keeps every person's attributes here while its
    #: ``persons`` table holds only the selected persons.
    attributes: pl.DataFrame | None = field(default=None, repr=False)

    def has(self, name: str) -> bool:
        """Whether the extract holds table ``name`` (an empty table counts as held)."""
        return name in self.tables

    def table(self, name: str) -> pl.DataFrame:
        """The accepted rows of a table; :class:`MissingTableError` if the extract has none."""
        if name not in TABLES:
            raise MissingTableError(f"'{name}' is not a table of the case extract "
                                    f"(tables: {', '.join(TABLE_ORDER)}).", table=name)
        if name not in self.tables:
            raise MissingTableError(f"The extract at {self.source} has no '{name}' table.", table=name)
        return self.tables[name]

    def scan(self, name: str) -> pl.LazyFrame:
        """The accepted rows of a table, as a LazyFrame."""
        return self.table(name).lazy()

    @property
    def read(self) -> int:
        return sum(r.read for r in self.reports.values())

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.reports.values())

    def summary(self) -> dict:
        """A JSON-able summary: source, metadata, per-table counts, warnings."""
        return {
            "extract": str(self.source),
            "organisation": self.meta.organisation,
            "extracted_on": self.meta.extracted_on.isoformat() if self.meta.extracted_on else None,
            "tables": [self.reports[t].to_dict() for t in TABLE_ORDER if t in self.reports],
            "read": self.read,
            "accepted": self.read - self.quarantined,
            "quarantined": self.quarantined,
            "warnings": list(self.warnings),
        }

    def write_quarantine(self, path: str | Path) -> Path:
        """Write the quarantine as the contract's CSV (``table,file,row,column,value,rule,reason``).

        Text cells that a spreadsheet would run as a formula are neutralised (:mod:`workbench.publish`).
        """
        from workbench.publish import write_csv

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(self.quarantine, path)
        return path

    def to_json(self) -> str:
        return json.dumps(self.summary(), ensure_ascii=False, indent=2)


def read_metadata(path: Path) -> ExtractMeta:
    """Read ``extract.yaml``; a malformed file refuses the extract."""
    if not path.exists():
        return ExtractMeta()
    try:
        text, _encoding = readers.decode(path.read_bytes())  # UTF-8, else Windows-1252, like the tables
        data = safeyaml.load(text) or {}
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = (f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None and problem
                  else " ".join(str(exc).split()))
        raise ExtractError(f"{path.name}: not valid YAML ({detail}).", file=path.name) from None
    except (ValueError, TypeError) as exc:  # e.g. a timestamp such as 2024-02-30
        raise ExtractError(f"{path.name}: a value cannot be read ({exc}).", file=path.name) from None
    except OSError as exc:
        raise ExtractError(f"{path.name}: cannot be read ({exc.strerror}).", file=path.name) from None
    if not isinstance(data, dict):
        raise ExtractError(f"{path.name}: expected keys such as organisation, extracted_on, sites.",
                           file=path.name)
    extracted_on = data.get("extracted_on")
    if extracted_on is not None and not isinstance(extracted_on, dt.date):
        text = str(extracted_on).strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "iso"):
            try:
                extracted_on = (dt.datetime.fromisoformat(text) if fmt == "iso" else
                                dt.datetime.strptime(text, fmt)).date()
                break
            except ValueError:
                continue
        else:
            raise ExtractError(f"{path.name}: extracted_on '{text}' is not a date (use YYYY-MM-DD).",
                               file=path.name, column="extracted_on")
    if isinstance(extracted_on, dt.datetime):
        extracted_on = extracted_on.date()

    def codes(key: str) -> dict[str, str]:
        value = data.get(key) or {}
        if isinstance(value, list):
            value = {str(v): str(v) for v in value}
        if not isinstance(value, dict):
            raise ExtractError(f"{path.name}: '{key}' must map codes to labels.", file=path.name, column=key)
        return {readers.normalise_code(str(k)): str(v) for k, v in value.items()}

    version = data.get("schema_version")
    level = str(data.get("level") or PERSON_LEVEL).strip().lower()
    if level not in LEVELS:
        raise ExtractError(f"{path.name}: level '{level}' is not one of {', '.join(LEVELS)} (network: an extract "
                           "of a network's activities and strategic litigation, without persons).",
                           file=path.name, column="level")
    return ExtractMeta(
        organisation=str(data["organisation"]) if data.get("organisation") is not None else None,
        extracted_on=extracted_on,
        sites=codes("sites"), centres=codes("centres"), partners=codes("partners"),
        schema_version=str(version) if version is not None else None,
        organisations=_organisation_names(data.get("organisations")),
        catalogue=str(data["catalogue"]) if data.get("catalogue") else None,
        level=level,
        scopes=_scopes(data.get("scopes"), path.name),
    )


def _scopes(value, file: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """``scopes:`` name -> {sites: [...], centres: [...]} (codes normalised like the tables')."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ExtractError(f"{file}: 'scopes' must map a scope's name to its sites and/or centres.",
                           file=file, column="scopes")
    out = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or not spec or set(spec) - {"sites", "centres"} or not all(
                isinstance(v, list) and v for v in spec.values()):
            raise ExtractError(f"{file}: scope '{name}' must give a non-empty list of sites and/or centres "
                               "(e.g. {{sites: [tunis, sfax]}}).", file=file, column="scopes")
        out[str(name)] = {k: tuple(sorted({readers.normalise_code(str(c)) for c in v})) for k, v in spec.items()}
    return out


def _organisation_names(value) -> dict[str, str]:
    """``organisations`` of a combined extract: code → name (or code → {name: …})."""
    if not isinstance(value, dict):
        return {}
    return {str(code): str(v.get("name", code) if isinstance(v, dict) else v) for code, v in value.items()}


def _identifier_check(spec: Table, raw: readers.RawTable) -> None:
    known = set(spec.column_names)
    id_columns = [c.name for c in spec.columns if c.kind in ("id", "key")]
    code_columns = [c.name for c in spec.columns if c.kind in ("code", "codes")]
    extras = [c for c in raw.frame.columns if c not in known]
    guard.check_columns(spec.name, raw.file, raw.frame,
                        content_columns=id_columns + code_columns + extras,
                        name_content_columns=id_columns + extras, pseudonym_columns=id_columns,
                        distinct=raw.distinct)


def _check_columns(spec: Table, raw: readers.RawTable) -> pl.DataFrame:
    missing = [c for c in spec.required_columns if c not in raw.frame.columns]
    if missing:
        hint = ""
        if raw.frame.width == 1:
            seen = [sep for sep in ("|", ":", " ", ",", ";") if sep in raw.frame.columns[0]]
            found = f" and holds {seen[0]!r}" if seen else ""
            hint = (f" The header was read as a single column{found}: check the delimiter "
                    "(comma, semicolon or tab are accepted).")
        raise MissingColumnError(
            f"{raw.file}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} missing from table '{spec.name}' "
            f"(found: {', '.join(raw.frame.columns[:12]) or 'no columns'}).{hint}",
            file=raw.file, table=spec.name, column=missing[0])
    absent = [c for c in spec.column_names if c not in raw.frame.columns]
    if absent:
        return raw.frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
    return raw.frame


def load(path: str | Path, *, progress: ProgressCallback | None = None) -> Extract:
    """Read, check and type a case extract.

    Parameters
    ----------
    path
        A folder of ``<table>.parquet`` / ``<table>.csv`` files (with an optional
        ``extract.yaml``), or an ``.xlsx`` workbook with one sheet per table.
    progress
        Called as ``progress(table, step)`` while loading, for progress displays.

    Raises
    ------
    ExtractError
        When the extract as a whole cannot be read: missing table or column, empty or
        unreadable file, direct identifiers.

    An extract already validated (the same files, byte for byte) is read back from the
    validation cache (:mod:`workbench.extract.cache`) instead of being validated again. A newly
    validated extract is kept there by a thread that finishes before the process ends
    (:func:`workbench.extract.cache.wait` waits for it).
    """
    source = Path(path)
    note = progress or (lambda table, step: None)
    found = readers.discover(source)
    entry = cache.key(found) if cache.folder() is not None else None
    if entry is not None:
        note("extract", "cache")
        kept = cache.read(entry, source)
        if kept is not None:
            cache.remember(kept, entry)
            return kept
    extract = _validate(source, found, note)
    # Written by a thread while the caller goes on: the next load, a fork and the process's end wait for it.
    if entry is not None and cache.write(entry, extract, wait=False) is not None:
        cache.remember(extract, entry)
    return extract


@dataclass(frozen=True)
class _Checked:
    """One table read and checked against its own rules (references come after)."""

    file: str
    warnings: list[str]
    read: int
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    #: Checked against the persons, and its other parents, as soon as they were known
    #: (:func:`references.on_persons`, :func:`references.on_parents`).
    early: Early | None = None
    #: A table others name (:data:`references.PARENTS`), as they are checked against it once its own
    #: references are all checked.
    parent: Parent | None = None
    #: A column of the accepted rows not yet checked for trimming (:func:`_checked_later`).
    untrimmed: str | None = None
    #: No two of its ids share a hash (:attr:`workbench.extract.rules.Validated.ids_apart`).
    ids_apart: bool = False


def _checked_later(spec: Table) -> str | None:
    """The column of a table naming a person, when its cells' trimming can wait for the persons' ids.

    A cell that is a person's id as written (checked for trimming in the persons) needs no trimming:
    only the other cells are checked, once the table is checked against the persons. Not when the
    column is the table's own id or a rule reads it."""
    column = person_reference(spec.name)
    read_by_rules = ({r.when for r in spec.required_when} | {r.column for r in spec.required_when}
                     | {c for o in spec.date_order for c in (o.later, o.earlier)}
                     | {c for w in spec.parts_within for c in (*w.parts, w.total)})
    return None if column is None or column == spec.id_column or column in read_by_rules else column


def _check_table(name: str, found: readers.Found, meta: ExtractMeta, note: ProgressCallback,
                 later: bool = True) -> _Checked:
    """Read table ``name`` and check its rows: accepted rows (with ``wb_row``) and quarantine rows.

    With ``later``, the cells of its column naming a person are checked for trimming only where
    the caller says (:func:`_checked_later`; the refused rows' here): the table is read again
    and trimmed as a whole when one of them needs it."""
    spec = TABLES[name].at_level(meta.level)
    note(name, "read")
    untrimmed = _checked_later(spec) if later else None
    raw = found.read(name, code_casts(spec), untrimmed)
    if untrimmed is not None and raw.frame.schema.get(untrimmed) != pl.String:
        untrimmed = None  # only text is trimmed
    warnings = list(raw.warnings)
    reserved = [c for c in raw.frame.columns if c.startswith(RESERVED_PREFIX)]
    if reserved:  # the loader's own working columns start with 'wb_'
        raw.frame = raw.frame.drop(reserved)
        warnings.append(f"{raw.file}: column{'s' if len(reserved) > 1 else ''} "
                        f"{', '.join(repr(c) for c in reserved)} ignored (names starting with "
                        f"'{RESERVED_PREFIX}' are reserved for the workbench).")
    _identifier_check(spec, raw)
    frame = numbered(_check_columns(spec, raw))
    # Blank rows (empty lines, Excel's ';;;;' rows) are not records: set aside with a warning,
    # keeping the other rows' numbers those of the file.
    blank = pl.all_horizontal(pl.exclude(ROW).is_null())
    blank_rows = frame.filter(blank)[ROW].to_list()
    if blank_rows:
        frame = frame.filter(~blank)
        shown = ", ".join(str(r) for r in blank_rows[:5]) + (
            f" and {len(blank_rows) - 5:,} more" if len(blank_rows) > 5 else "")
        warnings.append(f"{raw.file}: {len(blank_rows):,} blank row{'s' if len(blank_rows) > 1 else ''} "
                        f"ignored (row{'s' if len(blank_rows) > 1 else ''} {shown}).")
    if frame.height == 0:
        if spec.required:
            raise UnreadableFileError(
                f"{raw.file}: the file has a header row but no data rows; the table '{name}' is required "
                "and cannot be empty.", file=raw.file, table=name)
        warnings.append(f"{raw.file}: header only, no rows (the table is empty).")
    note(name, "validate")
    good, bad, apart = validate_table(spec, frame, raw.file, meta.extracted_on,
                                      codes={"site": meta.sites, "centre": meta.centres, "partner": meta.partners},
                                      distinct=raw.distinct)
    if untrimmed is not None and bad.height and readers.needs_trimming(
            frame.filter(pl.col(ROW).is_in(bad["row"].implode()))[untrimmed]):
        return _check_table(name, found, meta, note, later=False)
    return _Checked(raw.file, warnings, frame.height, good, bad, untrimmed=untrimmed, ids_apart=apart)


def _check_against_parents(name: str, found: readers.Found, meta: ExtractMeta, note: ProgressCallback,
                           parent: Callable[[str], Parent | None]) -> _Checked:
    """Table ``name`` read and checked (:func:`_check_table`), then checked against the persons once
    they are known (:func:`references.on_persons`), then against the other tables it names once these
    are checked in turn (:func:`references.on_parents`). ``parent(table)`` waits for a table and gives
    it as a parent (None when it is absent, or its own references are left for the end)."""
    table = _check_table(name, found, meta, note)
    if name == PERSONS:
        return replace(table, parent=Parent.checked(PERSONS, table.accepted, table.quarantined, table.file,
                                                    table.ids_apart))
    known = parent(PERSONS)
    numbers = person_numbers(name, table.accepted, known) if known is not None else None
    if table.untrimmed is not None:  # its cells that are no person's id as written
        cells = table.accepted[table.untrimmed]
        if readers.needs_trimming(cells if numbers is None else cells.filter(numbers[NUMBER].is_null())):
            table = _check_table(name, found, meta, note, later=False)
            numbers = person_numbers(name, table.accepted, known) if known is not None else None
    if known is None:
        return table
    accepted, quarantined, early = on_persons(name, table.accepted, table.quarantined, table.file, known, numbers)
    if early is not None and not early.settled:
        others = {c.references: parent(c.references) for c in TABLES[name].columns
                  if c.references and c.references != PERSONS}
        if all(p is not None for p in others.values()):
            accepted, quarantined, early = on_parents(name, accepted, quarantined, table.file, early.numbers,
                                                      {PERSONS: known, **others})
    table = replace(table, accepted=accepted, quarantined=quarantined, early=early, untrimmed=None)
    if name in PARENTS and early is not None and early.settled:
        table = replace(table, parent=Parent.checked(name, accepted, quarantined, table.file, table.ids_apart))
    return table


def _depth(name: str) -> int:
    """How many tables stand above table ``name`` (the persons: 0; a table naming only them: 1; a table
    naming cases: 2): a table is read after the tables it names, which it waits for."""
    above = [c.references for c in TABLES[name].columns if c.references and c.references != name]
    return 1 + max(map(_depth, above)) if above else int(name != PERSONS)


#: Tables read and checked at the same time: one is read while others are checked, and the steps that
#: run on one thread in one table (sorting ids, Python) leave the cores to the others. Three kept two
#: cores busier than two did (0.69 against 0.74 s at 1M persons; four gave no more).
TABLES_AT_ONCE = 3


def _checked_tables(found: readers.Found, meta: ExtractMeta,
                    note: ProgressCallback) -> Iterator[tuple[str, _Checked]]:
    """Every table of ``found`` read and checked (:func:`_check_against_parents`), in the contract's order.

    :data:`TABLES_AT_ONCE` tables at a time: the persons first, then the tables naming only them,
    largest files first, then the tables naming cases or stays (each waits for the tables it names once
    checked). A table that cannot be read raises as it would alone: the first such table in the
    contract's order, the others' work abandoned. A workbook's sheets are read one after the other
    (one reader), in the contract's order (the tables named first)."""
    names = [name for name in TABLE_ORDER if name in found.tables]
    done: dict[str, _Checked | Future] = {}

    def parent(name: str) -> Parent | None:
        table = done.get(name)
        if isinstance(table, Future):
            table = table.result()
        return table.parent if table is not None else None

    if found.workbook is not None or len(names) < 2:
        for name in names:  # the contract's order: the tables named first
            done[name] = _check_against_parents(name, found, meta, note, parent)
            yield name, done[name]
        return
    first = sorted(names, key=lambda name: (_depth(name), -found.tables[name].stat().st_size))
    with ThreadPoolExecutor(max_workers=TABLES_AT_ONCE, thread_name_prefix="workbench-table") as pool:
        for name in first:
            done[name] = pool.submit(_check_against_parents, name, found, meta, note, parent)
        try:
            for name in names:
                yield name, done[name].result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _validate(source: Path, found: readers.Found, note: ProgressCallback) -> Extract:
    """Read and check every table of an extract found on disk."""
    meta = read_metadata(found.metadata_file)
    for table in required_tables(meta.level):
        if table not in found.tables:
            hint = (" A network's extract without persons (activities, strategic litigation) says "
                    "'level: network' in extract.yaml." if table == "persons" else "")
            raise MissingTableError(
                f"{source}: the required table '{table}' is missing (expected {table}.parquet or {table}.csv "
                f"in the folder, or a sheet '{table}' in the workbook).{hint}", table=table)
    if not any(t in found.tables for t in TABLE_ORDER):
        raise MissingTableError(f"{source}: no table of the case extract was found (tables: "
                                f"{', '.join(TABLE_ORDER)}).", table=TABLE_ORDER[0])
    warnings = list(found.warnings)
    accepted: dict[str, pl.DataFrame] = {}
    quarantined: dict[str, pl.DataFrame] = {}
    reads: dict[str, int] = {}
    files: dict[str, Path] = {}
    file_names: dict[str, str] = {}
    early: dict[str, Early] = {}
    parents: dict[str, Parent] = {}
    for name, table in _checked_tables(found, meta, note):
        files[name] = found.tables[name]
        file_names[name] = table.file
        warnings.extend(table.warnings)
        reads[name], accepted[name], quarantined[name] = table.read, table.accepted, table.quarantined
        if table.parent is not None:
            parents[name] = table.parent
        if table.early is not None:
            early[name] = table.early
    note("references", "check")
    accepted, quarantined, numbers = check_references(accepted, quarantined, file_names, early, parents)
    reports = {}
    for name in accepted:
        bad = quarantined[name]
        by_rule = dict(sorted(bad.group_by("rule").len().iter_rows())) if bad.height else {}
        reports[name] = TableReport(name, file_names[name], reads[name], accepted[name].height, bad.height,
                                    by_rule)
    quarantine = pl.concat([quarantined[n] for n in TABLE_ORDER if n in quarantined] or
                           [pl.DataFrame(schema=QUARANTINE_SCHEMA)])
    extract = Extract(source=source, meta=meta, tables=accepted, quarantine=quarantine, reports=reports,
                      files=files, warnings=tuple(warnings))
    cache.attach_numbers(extract, numbers)  # found while checking references: not joined again
    return extract


__all__ = ["Extract", "ExtractMeta", "TableReport", "load", "read_metadata"]
