"""Helpers to write tiny hand-made case extracts for the indicator and disclosure tests.

Rows are given as lists of dicts holding only the columns a test cares about; every
other contract column is filled from :data:`DEFAULTS` (or left empty). Each table is
written as ``<table>.csv`` with all its contract columns, in contract order, beside an
``extract.yaml`` giving ``extracted_on``. A table given as ``[]`` is written with its
header only (an empty table, which the extract holds); a table not given is absent.

Everything is invented: person ids such as ``p1``, sites ``s_a``, centres ``c_a``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import yaml

from workbench import extract

from workbench import indicators
from workbench.contract.schema import TABLES

EXTRACTED_ON = "2025-12-31"

#: Values used for contract columns a row does not give ("" = not recorded).
DEFAULTS: dict[str, dict[str, str]] = {
    "persons": {"sex": "female", "birth_year": "1990", "nationality": "TUN", "legal_status": "asylum_seeker",
                "registered_on": "2024-01-10", "site": "s_a"},
    "contacts": {"site": "s_a", "service": "information", "channel": "in_person", "topic": "asylum",
                 "interpreter": ""},
    "cases": {"site": "s_a", "case_type": "legal", "risk_level": "high"},
    "referrals": {"service_type": "lawyer", "partner": "pa", "status": "pending"},
    "detention_stays": {"centre": "c_a"},
    "legal_actions": {"action_type": "asylum_claim"},
    "protection_flags": {},
}
ID_PREFIX = {"contacts": "c", "cases": "k", "referrals": "r", "detention_stays": "st", "legal_actions": "a"}


def csv_text(table: str, rows: Sequence[Mapping[str, object]]) -> str:
    columns = list(TABLES[table].column_names)
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"{table}: not contract columns: {sorted(unknown)}")
    counter = itertools.count(1)
    id_col = TABLES[table].id_column
    lines = [",".join(columns)]
    for row in rows:
        full = {c: "" for c in columns}
        full.update(DEFAULTS.get(table, {}))
        if id_col and table != "persons":
            full[id_col] = f"{ID_PREFIX[table]}{next(counter)}"
        full.update({k: "" if v is None else str(v) for k, v in row.items()})
        lines.append(",".join(full[c] for c in columns))
    return "\n".join(lines) + "\n"


def write_extract(folder: Path, *, persons: Sequence[Mapping[str, object]],
                  contacts: Sequence[Mapping[str, object]], extracted_on: str = EXTRACTED_ON,
                  meta: Mapping[str, object] | None = None,
                  **tables: Sequence[Mapping[str, object]] | None) -> Path:
    """Write the extract; ``tables`` are the optional tables (``None`` or not given: absent)."""
    folder.mkdir(parents=True, exist_ok=True)
    all_tables = {"persons": persons, "contacts": contacts, **tables}
    for table, rows in all_tables.items():
        if table not in TABLES:
            raise KeyError(f"not a table: {table}")
        if rows is None:
            continue
        (folder / f"{table}.csv").write_text(csv_text(table, rows), encoding="utf-8")
    (folder / "extract.yaml").write_text(yaml.safe_dump({"extracted_on": extracted_on, **(meta or {})}), encoding="utf-8")
    return folder


_serial = itertools.count()


def load(tmp_path: Path, *, persons, contacts=None, strict: bool = True, **tables):
    """Write an extract into a fresh folder under ``tmp_path`` and load it.

    ``contacts`` defaults to a single contact of the first person long before any test
    period (the table is required and cannot be empty). With ``strict``, a row sent to
    quarantine fails the test: hand-made extracts must be wholly accepted.
    """
    if contacts is None:
        contacts = [{"person_id": persons[0]["person_id"], "date": "2020-01-01"}]
    folder = write_extract(tmp_path / f"extract{next(_serial)}", persons=persons, contacts=contacts, **tables)
    ex = extract.load(folder)
    if strict:
        assert ex.quarantine.height == 0, ex.quarantine.to_dicts()
    return ex


def persons(*ids: str, **common: object) -> list[dict[str, object]]:
    """Persons with the given ids, all sharing ``common`` values."""
    return [{"person_id": pid, **common} for pid in ids]


def rows(table: pl.DataFrame, indicator: str | None = None) -> list[dict]:
    """The rows of an indicator table (of one indicator) as dicts."""
    if indicator is not None:
        table = table.filter(pl.col("indicator") == indicator)
    return table.to_dicts()


def total(table: pl.DataFrame, indicator: str) -> dict:
    """The total row of an indicator (every breakdown column empty)."""
    dims = [c for c in table.columns if c not in ("indicator", "period", *indicators.TABLE_COLUMNS)]
    sub = table.filter(pl.col("indicator") == indicator)
    if dims:
        sub = sub.filter(pl.all_horizontal(pl.col(d).is_null() for d in dims))
    assert sub.height == 1, sub
    return sub.row(0, named=True)


FIELDS = ("value", "numerator", "denominator", "flag")
#: The fields compared for a mean or median (the spec fixes its denominator, not its numerator).
STAT_FIELDS = ("value", "denominator", "flag")


def cells(table: pl.DataFrame, indicator: str, dim: str | Sequence[str], fields: Sequence[str] = FIELDS) -> dict:
    """Breakdown rows of one block: category (or tuple of categories) → (value, numerator, denominator, flag).

    The block is the rows where exactly the dimensions ``dim`` are set; ``fields`` picks the
    columns of the tuple.
    """
    dims_asked = [dim] if isinstance(dim, str) else list(dim)
    all_dims = [c for c in table.columns if c not in ("indicator", "period", *indicators.TABLE_COLUMNS)]
    sub = table.filter(pl.col("indicator") == indicator)
    for d in all_dims:
        sub = sub.filter(pl.col(d).is_not_null() if d in dims_asked else pl.col(d).is_null())
    out = {}
    for r in sub.iter_rows(named=True):
        key = r[dims_asked[0]] if len(dims_asked) == 1 else tuple(r[d] for d in dims_asked)
        out[key] = tuple(_clean(r, f) for f in fields)
    return out


def _clean(row: dict, field: str):
    """A field of a row; a value is rounded to 6 decimals, so that float noise such as
    33.300000000000004 compares equal to 33.3 (a rounding mistake is at least 0.01 off).
    ``test_indicators.test_values_are_exact_decimals`` checks the noise itself."""
    v = row[field]
    return round(v, 6) if field == "value" and isinstance(v, float) else v


def total_cell(table: pl.DataFrame, indicator: str, fields: Sequence[str] = FIELDS) -> tuple:
    """The total row of an indicator as a tuple of ``fields``."""
    r = total(table, indicator)
    return tuple(_clean(r, f) for f in fields)


def order(table: pl.DataFrame, indicator: str, dim: str | Sequence[str]) -> list:
    """The categories of a block, in row order."""
    return list(cells(table, indicator, dim))


def count(value: int) -> tuple:
    """The (value, numerator, denominator, flag) of a shown count."""
    return (float(value), value, None, None)


def rate(value: float | None, num: int, den: int) -> tuple:
    """The (value, numerator, denominator, flag) of a rate, ratio, mean or median cell."""
    return (value, num, den, None)


def stat(value: float | None, records: int) -> tuple:
    """The (value, denominator, flag) of a mean or median over ``records`` records."""
    return (value, records, None if value is not None else "no_data")


#: A rate or ratio over an empty population.
NO_DATA = (None, 0, 0, "no_data")
#: A mean or median over no records (compared on STAT_FIELDS).
NO_DATA_STAT = (None, 0, "no_data")
SUPPRESSED = (None, None, None, "suppressed")
