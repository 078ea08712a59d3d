"""The public functions: :func:`generate`, :func:`metadata`, :func:`write`, :func:`write_frames`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from workbench.contract import schema
from workbench.exceptions import ParameterError
from workbench.extract.demo.setting import (
    CENTRES, CHILD_PROTECTION_SITES, DEFAULT_PERSONS, DEFAULT_SEED, DETENTION_SITES, EXTRACTED_ON, FORMATS,
    LEGAL_AID_SITES, NA, ORGANISATIONS, PARTNERS, PROFILES, PROFILE_SHARES, PROFILE_TABLES, _OPEN_CODES,
    ALL_PARTS, BEYOND_TABLES)
from workbench.extract.demo import beyond
from workbench.extract.demo.events import _PARTNER_CATS
from workbench.extract.demo.legal_aid import _LA_REFERRAL_SERVICE, _LA_REFERRAL_SERVICE_MINORS, _legal_aid
from workbench.extract.demo.detention import _DET_PARTNERS, _DET_REFERRAL_SERVICE, _detention
from workbench.extract.demo.child_protection import _CP_REFERRAL_SERVICE, _child_protection
from workbench.extract.demo.frames import _assemble


_PROFILE_REFERRALS = {
    "legal_aid": ((_LA_REFERRAL_SERVICE, _LA_REFERRAL_SERVICE_MINORS), {}),
    "detention": ((_DET_REFERRAL_SERVICE,), _DET_PARTNERS),
    "child_protection": ((_CP_REFERRAL_SERVICE,), {}),
}


def _profile_partners(profile: str) -> set[str]:
    cats, overrides = _PROFILE_REFERRALS[profile]
    services = {"anti_trafficking"}
    services |= {schema.vocabulary("referral_service")[v] for cat in cats for v in cat.values}
    partners = set()
    for service in services:
        cat = overrides.get(service, _PARTNER_CATS[service])
        partners |= {_OPEN_CODES[v] for v in cat.values if v != NA}
    return partners


_GENERATORS = {"legal_aid": _legal_aid, "detention": _detention, "child_protection": _child_protection}
_STREAMS = {"legal_aid": 1, "detention": 2, "child_protection": 3}

# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------

def _check(persons: int, seed: int, profile: str) -> None:
    if profile not in PROFILES:
        raise ParameterError(f"unknown demo profile {profile!r}: use one of {', '.join(PROFILES)}")
    if isinstance(persons, bool) or not isinstance(persons, (int, np.integer)) or persons < 0:
        raise ParameterError(f"persons must be a whole number ≥ 0, not {persons!r}")
    if persons >= 2**31:
        raise ParameterError(f"persons must be below 2**31, not {persons}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a whole number ≥ 0, not {seed!r}")


def _split(persons: int, profile: str) -> dict[str, int]:
    if profile != "all":
        return {profile: persons}
    detention = round(persons * PROFILE_SHARES["detention"])
    child_protection = round(persons * PROFILE_SHARES["child_protection"])
    return {"legal_aid": persons - detention - child_protection, "detention": detention,
            "child_protection": child_protection}


def generate(persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED,
             profile: str = "all") -> dict[str, pl.DataFrame]:
    """A synthetic case extract: contract tables by name, typed as the contract says.

    ``profile`` is ``all`` (default: the three organisations together), ``legal_aid``,
    ``detention``, ``child_protection`` or ``network`` (a network's activities and strategic
    litigation, no persons: ``persons`` is not used); each profile gives the tables it fills
    (``all`` gives every table). The same arguments give the same tables.
    """
    _check(persons, seed, profile)
    if profile == "network":
        return beyond.network(int(seed))
    split = _split(int(persons), profile)
    parts = []
    for name, count in split.items():
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _STREAMS[name]]))
        parts.append(_GENERATORS[name](rng, count))
    later = {t for name in split for t in BEYOND_TABLES.get(name, ())}
    used = {t for name in split for t in PROFILE_TABLES[name]} - later
    tables = [t for t in schema.TABLE_ORDER if t in used]
    frames = _assemble(parts, tables, int(seed))
    if "appointments" in later:
        frames["appointments"] = beyond.appointments(frames["persons"], int(seed))
    if "activities" in later:
        frames["activities"] = beyond.case_conferences(int(seed))
        cases = frames["cases"].filter(pl.col("site").is_in(list(CHILD_PROTECTION_SITES))).select("case_id")
        frames["services"] = beyond.services(frames["referrals"].join(cases, on="case_id", how="semi"), int(seed))
    return {t: frames[t] for t in schema.TABLE_ORDER if t in frames}


def metadata(profile: str = "all") -> dict:
    """The content of ``extract.yaml`` for a demo extract of ``profile``."""
    _check(0, 0, profile)
    if profile == "network":
        return {"organisation": ORGANISATIONS[profile], "extracted_on": EXTRACTED_ON, "level": "network",
                "sites": dict(beyond.NETWORK_SITES), "schema_version": schema.SCHEMA_VERSION}
    names = ALL_PARTS if profile == "all" else (profile,)
    sites: dict[str, str] = {}
    partners: set[str] = set()
    if "legal_aid" in names:
        sites |= LEGAL_AID_SITES
    if "detention" in names:
        sites |= DETENTION_SITES | CENTRES  # contacts in detention are recorded at the centre
    if "child_protection" in names:
        sites |= CHILD_PROTECTION_SITES
    for name in names:
        partners |= _profile_partners(name)
    # The parts published to outside audiences besides the whole extract (docs/disclosure.md).
    scopes = {}
    if "legal_aid" in names:
        scopes["legal_aid"] = {"sites": sorted(LEGAL_AID_SITES)}
    if "detention" in names:
        scopes["detention"] = {"centres": sorted(CENTRES)}
        # each centre on its own too: the ministry's quarterly return is per centre
        scopes.update({code: {"centres": [code]} for code in sorted(CENTRES)})
    if "child_protection" in names:
        scopes["child_protection"] = {"sites": sorted(CHILD_PROTECTION_SITES)}
    return {
        "organisation": ORGANISATIONS[profile],
        "extracted_on": EXTRACTED_ON,
        "sites": sites,
        "centres": dict(CENTRES) if "detention" in names else {},
        "partners": {code: label for code, label in PARTNERS.items() if code in partners},
        "schema_version": schema.SCHEMA_VERSION,
        "scopes": scopes,
    }


_XLSX_MAX_ROWS = 1_048_575  # a sheet holds 1,048,576 rows, the header included


def write(output: str | Path, persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED,
          profile: str = "all", format: str = "parquet") -> Path:
    """Generate a demo extract and write it under ``output``, with ``extract.yaml``.

    ``format`` is ``parquet`` or ``csv`` (one file per table; returns the folder) or
    ``xlsx`` (``extract.xlsx`` with one sheet per table; returns the workbook's path).
    """
    _check_format(format)
    return write_frames(generate(persons, seed, profile), output, profile=profile, format=format, seed=seed)


#: The sub-folder of a demo extract that holds the network's extract (``--profile network``).
NETWORK_FOLDER = "network"


def network_beside(extract_dir: str | Path, seed: int = DEFAULT_SEED) -> Path:
    """The network demo extract kept beside the person-level one (``<extract_dir>/network/``),
    written there (``profile="network"``) when it is not yet. The extract reader ignores
    sub-folders, so the person-level extract reads the same."""
    base = Path(extract_dir)
    folder = (base.parent if base.is_file() else base) / NETWORK_FOLDER  # an .xlsx extract: beside the workbook
    if not (folder / "extract.yaml").is_file():
        write(folder, seed=seed, profile="network")
    return folder


def write_frames(frames: Mapping[str, pl.DataFrame], output: str | Path, profile: str = "all",
                 format: str = "parquet", seed: int = DEFAULT_SEED) -> Path:
    """Write generated (or altered) demo tables as :func:`write` does: Parquet and CSV files also
    hold the extra columns of the example organisation catalogue (:mod:`.own_columns`)."""
    from workbench.extract.demo.own_columns import add_own_columns

    _check_format(format)
    if format != "xlsx":  # the contract's columns are unchanged
        frames = add_own_columns(dict(frames), int(seed))
    if format == "xlsx":
        too_long = [n for n, f in frames.items() if f.height > _XLSX_MAX_ROWS]
        if too_long:
            raise ParameterError(f"too many rows for an Excel sheet in {', '.join(too_long)}: "
                                 "write parquet or csv, or fewer persons")
    meta = metadata(profile)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "extract.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(meta, f, sort_keys=False, allow_unicode=True)
    if format == "parquet":
        for name, frame in frames.items():
            frame.write_parquet(folder / f"{name}.parquet", compression="zstd", statistics=True)
        return folder
    if format == "csv":
        for name, frame in frames.items():
            frame.write_csv(folder / f"{name}.csv", separator=",", include_header=True,
                            date_format="%Y-%m-%d", null_value="")
        return folder
    import xlsxwriter

    path = folder / "extract.xlsx"
    with xlsxwriter.Workbook(str(path)) as workbook:
        workbook.set_properties({"title": meta["organisation"],
                                 "created": dt.datetime.combine(EXTRACTED_ON, dt.time())})
        for name, frame in frames.items():
            frame.write_excel(workbook, worksheet=name, autofit=False,
                              dtype_formats={pl.Date: "yyyy-mm-dd"})
    return path


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ParameterError(f"unknown demo format {format!r}: use one of {', '.join(FORMATS)}")
