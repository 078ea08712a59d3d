"""Session fixtures of the report tests: a small demo extract, and the demo reports rendered once.

The extract is the demo's (500 persons, default seed) with three cases whose closing date
comes before their opening date, so the data-quality report has something small to hide
under a shared audience. Every example parameter file of ``parameters/`` is rendered once
on it, with ``audience=partner`` (k = 5), through :func:`workbench.reports.render_demo` —
the function ``workbench demo`` calls.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

REPORT_PERSONS = 500
BAD_CASES = 3


def write_report_extract(folder: Path, persons: int = REPORT_PERSONS) -> Path:
    from workbench.extract import demo

    frames = demo.generate(persons=persons)
    cases = frames["cases"]
    closed = cases.filter(pl.col("closed_on").is_not_null()).head(BAD_CASES)["case_id"]
    frames["cases"] = cases.with_columns(
        pl.when(pl.col("case_id").is_in(closed.implode()))
        .then(pl.col("opened_on") - dt.timedelta(days=3)).otherwise(pl.col("closed_on")).alias("closed_on"))
    return demo.write_frames(frames, folder)


@pytest.fixture(scope="session")
def report_extract(tmp_path_factory) -> Path:
    """A small demo extract (500 persons, 3 cases quarantined for dates out of order)."""
    return write_report_extract(tmp_path_factory.mktemp("report-extract") / "demo")


@pytest.fixture(scope="session")
def demo_runs(report_extract, tmp_path_factory) -> dict[str, Path]:
    """Every example report rendered once with audience=partner: report name -> run folder."""
    from workbench import reports

    out = tmp_path_factory.mktemp("reports")
    html = reports.render_demo(report_extract, out, jobs=2, overrides=["audience=partner"])
    return {p.relative_to(out).parts[0]: p.parent for p in html}
