"""Pseudonymisation: a raw export and its mapping → a canonical, pseudonymised case extract.

A *key file* holds 32 random bytes, hex-encoded, readable by its owner only
(:func:`init_key`). Every identifier a mapping marks (``pseudonym: person``…) is replaced
by a keyed pseudonym: the first 16 hex digits of HMAC-SHA256(key, kind + identifier)
behind a one-letter prefix per kind (``P`` person, ``C`` contact, ``K`` case…). The same
identifier with the same key gives the same pseudonym, export after export; another key
gives pseudonyms that cannot be linked to the first ones. The key itself never appears
in an output, a message or a manifest: only its :func:`fingerprint` does.

:func:`pseudonymise` runs the whole pipeline: read the key (refusing a missing, short or
group/world-readable file), apply the mapping (:mod:`workbench.prepare.mapping`), replace the
identifiers, write the extract folder (``<table>.parquet`` or ``.csv``, ``extract.yaml``)
and its reports (``mapping/mapping-report.json``, ``mapping/quarantine.csv``), then load
it with :func:`workbench.extract.load` to prove that the contract and the identifier guard
accept it. The folder is written aside and moved into place only once accepted, so a
refused run leaves nothing behind. The same export, mapping and key give byte-identical
files.

>>> from workbench import pseudonymise as ps                                    # doctest: +SKIP
>>> ps.init_key("secrets/asso.key")                                            # doctest: +SKIP
'3f1c0e9a2b7d'
>>> result = ps.pseudonymise("raw/registre.xlsx", "parameters/mappings/register_fr.yaml",
...                          "secrets/asso.key", "extracts/2024-Q4")           # doctest: +SKIP
>>> result.extract.summary()["quarantined"]                                     # doctest: +SKIP
3
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from workbench import extract as extract_mod
from workbench.extract.files import METADATA_FILE
from workbench.exceptions import KeyFileError, ParameterError, WorkbenchError
from workbench.publish import publishing
from workbench.publish import write_csv as safe_csv
from workbench.prepare.mapping import ID_PREFIXES, SRC_FILE, SRC_ROW, Mapped, Mapping, apply, load_mapping
from workbench.contract.schema import SCHEMA_VERSION, TABLE_ORDER, TABLES
from workbench.extract.rules import QUARANTINE_SCHEMA

__all__ = ["KEY_BYTES", "PSEUDONYM_HEX", "init_key", "read_key", "fingerprint", "pseudonyms", "pseudonymise_tables",
           "pseudonymise", "Result", "REPORT_FOLDER", "write_tables", "write_reports", "moved"]

KEY_BYTES = 32
PSEUDONYM_HEX = 16
FORMATS = ("parquet", "csv")
REPORT_FOLDER = "mapping"
#: The quarantine written by ``pseudonymise``: the contract's columns, then where each row came from.
REPORT_QUARANTINE_SCHEMA = {**QUARANTINE_SCHEMA, "stage": pl.String, "source_file": pl.String,
                            "source_row": pl.Int64}


def write_reports(staged: Path, report_file: str, report: dict, quarantine: pl.DataFrame,
                  folder: str = REPORT_FOLDER) -> None:
    """Write the run's report and quarantine (spreadsheet-safe CSV) into the staged extract folder."""
    (staged / folder).mkdir()
    _write_json(staged / folder / report_file, report)
    safe_csv(quarantine, staged / folder / "quarantine.csv")


def moved(ex: extract_mod.Extract, output: Path) -> extract_mod.Extract:
    """The extract loaded from the staging folder, re-pointed at ``output`` once published."""
    return replace(ex, source=output, files={t: output / p.name for t, p in ex.files.items()})


# --------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------

def fingerprint(key: bytes) -> str:
    """The first 12 hex digits of SHA-256 of the key: tells keys apart, reveals nothing of them.

    >>> fingerprint(bytes(32))
    '66687aadf862'
    """
    return hashlib.sha256(key).hexdigest()[:12]


def init_key(path: str | Path) -> str:
    """Create a key file: 32 random bytes, hex-encoded, readable and writable by its owner only.

    Refuses to overwrite an existing file (a new key makes new pseudonyms that cannot be
    linked to the old ones). Returns the key's fingerprint.
    """
    path = Path(path)
    if path.exists():
        raise KeyFileError(f"{path}: a file is already there; a new key would make pseudonyms that cannot be "
                           "linked to those made with the old one. Keep the existing key, or remove it on purpose "
                           "first (see docs/pseudonymisation.md, rotation).")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create the key file ({exc.strerror}).") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        os.write(fd, key.hex().encode("ascii") + b"\n")
    finally:
        os.close(fd)
    return fingerprint(key)


def read_key(path: str | Path) -> bytes:
    """Read a key file, refusing what would make weak or exposed pseudonyms.

    Raises
    ------
    KeyFileError
        When the file is missing, readable or writable by other users (group or world),
        not hexadecimal, or shorter than 32 bytes. The message never shows the key.
    """
    path = Path(path)
    if not path.exists():
        raise KeyFileError(f"{path}: no key file there. Create one once with `workbench init-key {path}` and keep "
                           "it safe: the same key gives the same pseudonyms quarter after quarter, and a lost key "
                           "cannot be recovered (docs/pseudonymisation.md).")
    if not path.is_file():
        raise KeyFileError(f"{path}: not a file; give the key file made by `workbench init-key`.")
    mode = path.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        raise KeyFileError(f"{path}: the key file can be read or changed by other users (permissions "
                           f"{mode & 0o777:o}); only its owner may. Run `chmod 600 {path}`, and consider the key "
                           "exposed if others could read it (see rotation in docs/pseudonymisation.md).")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot be read ({exc.strerror}).") from None
    text = data.decode("ascii", errors="replace").strip()
    if not text:
        raise KeyFileError(f"{path}: the key file is empty. Make a key with `workbench init-key`.")
    if not re.fullmatch(r"[0-9a-fA-F]+", text) or len(text) % 2:
        raise KeyFileError(f"{path}: not a key file (expected hexadecimal digits, as written by "
                           "`workbench init-key`).")
    key = bytes.fromhex(text)
    if len(key) < KEY_BYTES:
        raise KeyFileError(f"{path}: the key is too short ({len(key)} bytes; at least {KEY_BYTES} are needed, "
                           f"{2 * KEY_BYTES} hexadecimal digits). Make a new key with `workbench init-key`.")
    return key


# --------------------------------------------------------------------------------------------------
# Pseudonyms
# --------------------------------------------------------------------------------------------------

def pseudonyms(identities: pl.Series, kind: str, key: bytes) -> pl.DataFrame:
    """The pseudonym of every distinct identity: ``identity, pseudonym`` (one row each).

    HMAC-SHA256 is computed once per distinct value (a copy of the keyed state per value,
    so the key is absorbed once); the table is then joined back on whole columns.

    >>> pseudonyms(pl.Series(["a", "b", "a", None]), "person", bytes(32))["pseudonym"].str.len_chars().to_list()
    [17, 17]
    """
    prefix = ID_PREFIXES[kind]
    distinct = identities.drop_nulls().unique().sort()
    base = hmac.new(key, digestmod=hashlib.sha256)
    tag = f"{kind}\x1f".encode()

    def one(value: str) -> str:
        h = base.copy()
        h.update(tag + value.encode("utf-8"))
        return prefix + h.hexdigest()[:PSEUDONYM_HEX]

    values = distinct.to_list()
    out = pl.DataFrame({"identity": values, "pseudonym": [one(v) for v in values]},
                       schema={"identity": pl.String, "pseudonym": pl.String})
    if out["pseudonym"].n_unique() != out.height:  # pragma: no cover - 64 bits: about 1 in 10^8 for 10^6 ids
        raise WorkbenchError(f"two {kind} identifiers got the same pseudonym; this is astronomically rare. Report "
                             "it, and use a new key.")
    return out


def pseudonymise_tables(mapped: Mapped, key: bytes) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Replace every identity in the mapped tables by its pseudonym.

    Returns the tables (sorted by their id, so the row order says nothing of the raw file)
    and, per kind, the identity → pseudonym table (kept in memory only).
    """
    by_kind: dict[str, list[pl.Series]] = {}
    for table, columns in mapped.id_columns.items():
        for column, kind in columns.items():
            by_kind.setdefault(kind, []).append(mapped.tables[table][column])
    if mapped.quarantined_ids.height:
        for kind, part in mapped.quarantined_ids.group_by("kind"):
            by_kind.setdefault(kind[0], []).append(part["identity"])
    lookups = {kind: pseudonyms(pl.concat(series), kind, key) for kind, series in by_kind.items()}
    tables = {}
    for table, frame in mapped.tables.items():
        order = frame.columns
        for column, kind in mapped.id_columns[table].items():
            lk = lookups[kind].rename({"identity": column, "pseudonym": "wb_pseudonym"})
            frame = (frame.join(lk, on=column, how="left", maintain_order="left")
                     .with_columns(pl.col("wb_pseudonym").alias(column)).drop("wb_pseudonym"))
        tables[table] = frame.select(order).sort(_sort_columns(table), nulls_last=True, maintain_order=True)
    return tables, lookups


def _sort_columns(table: str) -> list[str]:
    spec = TABLES[table]
    if spec.id_column:
        return [spec.id_column]
    return [c.name for c in spec.columns]


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------

def write_tables(tables: dict[str, pl.DataFrame], folder: Path, fmt: str) -> None:
    """Write tables as ``<table>.parquet`` (zstd) or ``<table>.csv`` (UTF-8, ISO dates, empty = null)."""
    for name in TABLE_ORDER:
        if name not in tables:
            continue
        frame = tables[name]
        if fmt == "parquet":
            frame.write_parquet(folder / f"{name}.parquet", compression="zstd", statistics=True)
        else:
            frame.write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d", null_value="")


def _write_yaml(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def check_output(output: Path, overwrite: bool) -> None:
    """Refuse to write over a folder that holds something, unless asked to replace an extract."""
    if output.exists() and not output.is_dir():
        raise ParameterError(f"{output}: a file is there; give a folder for the extract.")
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise ParameterError(f"{output}: the folder is not empty; choose a new folder (one per export is "
                                 "best), or pass --overwrite to replace the extract in it.")
        if not (output / METADATA_FILE).exists():
            raise ParameterError(f"{output}: the folder does not hold an extract (no extract.yaml); --overwrite only "
                                 "replaces an extract. Choose another folder.")


# --------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    """What :func:`pseudonymise` made: the accepted extract as loaded, the report and the quarantine."""

    output: Path
    extract: extract_mod.Extract
    report: dict
    quarantine: pl.DataFrame
    fingerprint: str

    @property
    def quarantined(self) -> int:
        return self.quarantine.height

    @property
    def exit_code(self) -> int:
        """0 when every raw row reached the extract accepted, 1 when some were quarantined."""
        return 1 if self.quarantined else 0


def pseudonymise(raw: str | Path, mapping: str | Path | Mapping, key_file: str | Path, output: str | Path, *,
                 format: str = "parquet", extracted_on: dt.date | None = None, overwrite: bool = False) -> Result:
    """Turn a raw export into a pseudonymised case extract in ``output``.

    Parameters
    ----------
    raw
        The export: a file (workbook or CSV) or a folder of files.
    mapping
        The mapping file (or a loaded :class:`~workbench.prepare.mapping.Mapping`).
    key_file
        The key file made by :func:`init_key`.
    output
        The extract folder to create (must not exist or be empty, unless ``overwrite``).
    format
        ``parquet`` (default) or ``csv``.
    extracted_on
        The extraction date; default: the mapping's ``extracted_on`` (else none is written).
    overwrite
        Replace an existing extract in ``output`` (only once the new one is accepted).

    Raises
    ------
    KeyFileError, MappingError, ExtractError, ParameterError
        With a message saying what, where and what to do; nothing is written.
    """
    if format not in FORMATS:
        raise ParameterError(f"unknown extract format {format!r}: use {' or '.join(FORMATS)}.")
    output = Path(output)
    key = read_key(key_file)
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    check_output(output, overwrite)
    mapped = apply(m, raw)
    tables, lookups = pseudonymise_tables(mapped, key)
    fp = fingerprint(key)
    meta = m.metadata()
    when = extracted_on or m.extracted_on
    if when is not None:
        meta["extracted_on"] = when
    else:
        meta.pop("extracted_on", None)
    meta["schema_version"] = SCHEMA_VERSION
    meta["key_fingerprint"] = fp
    meta["mapping"] = {"file": m.name, "sha256": m.sha256}
    with publishing(output, METADATA_FILE) as staged:
        write_tables({t: f.drop(SRC_FILE, SRC_ROW) for t, f in tables.items()}, staged, format)
        _write_yaml(staged / METADATA_FILE, meta)
        try:
            ex = extract_mod.load(staged)
        except WorkbenchError as exc:
            raise type(exc)(f"the extract made from {Path(raw).name} with {m.name} was refused, nothing was "
                            f"written: {exc}") from None
        quarantine = _quarantine(mapped, tables, ex, lookups)
        report = _report(mapped, ex, quarantine, raw=Path(raw), fp=fp, fmt=format, extracted_on=when)
        write_reports(staged, "mapping-report.json", report, quarantine)
    ex = moved(ex, output)
    return Result(output=output, extract=ex, report=report, quarantine=quarantine, fingerprint=fp)


def _quarantine(mapped: Mapped, tables: dict[str, pl.DataFrame], ex: extract_mod.Extract,
                lookups: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Mapping-stage and load-stage quarantine in one frame, each load row traced to its raw row.

    A load row refused because the person (case, stay) it refers to is missing is told why
    when that person's raw row was refused at the mapping stage.
    """
    stage1 = mapped.quarantine.with_columns(
        pl.lit("mapping").alias("stage"), pl.col("file").alias("source_file"), pl.col("row").alias("source_row"))
    refs = pl.concat([
        frame.select(pl.lit(name).alias("table"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row"),
                     pl.col(SRC_FILE).alias("source_file"), pl.col(SRC_ROW).alias("source_row"))
        for name, frame in tables.items()
    ])
    stage2 = ex.quarantine.join(refs, on=["table", "row"], how="left").with_columns(pl.lit("load").alias("stage"))
    if mapped.quarantined_ids.height and stage2.height:
        # The quarantine shows references masked: take the pseudonym referred to from the written table.
        id_refs = pl.concat([
            frame.select(pl.lit(name).alias("table"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row"),
                         *[pl.col(c) for c in mapped.id_columns[name]])
            .unpivot(index=["table", "row"], variable_name="column", value_name="wb_ref")
            for name, frame in tables.items() if mapped.id_columns[name]
        ])
        stage2 = stage2.join(id_refs, on=["table", "row", "column"], how="left", maintain_order="left")
        refused = pl.concat([
            mapped.quarantined_ids.filter(pl.col("kind") == kind)
            .join(lk, on="identity", how="inner")
            .select(pl.col("pseudonym").alias("wb_ref"), pl.lit(kind).alias("wb_kind"),
                    pl.format("{} row {}: {}", pl.col("file"), pl.col("row"), pl.col("reason")).alias("wb_why"))
            for kind, lk in lookups.items()
        ]).unique("wb_ref", keep="first", maintain_order=True)
        stage2 = stage2.join(refused, on="wb_ref", how="left", maintain_order="left").with_columns(
            pl.when((pl.col("rule") == "missing_reference") & pl.col("wb_why").is_not_null())
            .then(pl.lit("quarantined_parent")).otherwise(pl.col("rule")).alias("rule"),
            pl.when((pl.col("rule") == "missing_reference") & pl.col("wb_why").is_not_null())
            .then(pl.format("{} {} was quarantined at the mapping stage ({})", pl.col("wb_kind"), pl.col("value"),
                            pl.col("wb_why")))
            .otherwise(pl.col("reason")).alias("reason"),
        ).drop("wb_kind", "wb_why", "wb_ref")
    columns = list(REPORT_QUARANTINE_SCHEMA)
    return pl.concat([stage1.select(columns).cast(REPORT_QUARANTINE_SCHEMA),
                      stage2.select(columns).cast(REPORT_QUARANTINE_SCHEMA)])


def _report(mapped: Mapped, ex: extract_mod.Extract, quarantine: pl.DataFrame, *, raw: Path, fp: str, fmt: str,
            extracted_on: dt.date | None) -> dict:
    m = mapped.mapping
    load_q = quarantine.filter(pl.col("stage") == "load")
    tables = []
    for name in TABLE_ORDER:
        if name not in ex.reports:
            continue
        rep = ex.reports[name]
        q = load_q.filter(pl.col("table") == name)
        by_rule = dict(sorted(q.group_by("rule").len().iter_rows())) if q.height else {}
        tables.append({"table": name, "source": m.tables[name].source, "file": rep.file, "rows": rep.read,
                       "accepted": rep.accepted, "quarantined": rep.quarantined, "by_rule": by_rule})
    return {
        "made_by": "workbench pseudonymise",
        "raw": raw.name,
        "mapping": {"file": m.name, "sha256": m.sha256},
        "organisation": m.organisation,
        "extracted_on": extracted_on.isoformat() if extracted_on else None,
        "key_fingerprint": fp,
        "format": fmt,
        "sources": [r.to_dict() for r in mapped.sources.values()],
        "tables": tables,
        "raw_rows": {"read": mapped.read, "quarantined": mapped.quarantined},
        "quarantined": {"mapping": mapped.quarantined, "load": load_q.height, "total": quarantine.height},
        "warnings": [*mapped.warnings, *ex.warnings],
    }
