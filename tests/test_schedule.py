"""Scheduled reports: cadence, lag, since, idempotent `workbench due`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.reports import schedule
from workbench.cli.main import main


def _file(folder: Path, name: str, **keys) -> Path:
    data = {"report": "data_quality_report", "extract": "demo", "period": "2025-Q1", "formats": ["xlsx"], **keys}
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in data.items()) + "\n")
    return path


@pytest.mark.parametrize("cadence, lag, as_of, expected", [
    ("quarterly", 15, dt.date(2026, 1, 15), ["2025-Q3"]),     # Q4 closes on 2025-12-31 + 15 days
    ("quarterly", 15, dt.date(2026, 1, 16), ["2025-Q4"]),
    ("monthly", 0, dt.date(2026, 2, 1), ["2026-01"]),
    ("half-yearly", 10, dt.date(2026, 1, 20), ["2025-H2"]),
    ("yearly", 30, dt.date(2026, 1, 20), ["2024"]),
])
def test_the_latest_closed_period_is_due(tmp_path, cadence, lag, as_of, expected):
    path = _file(tmp_path, "r", cadence=cadence, lag_days=lag)
    assert [d.period for d in schedule.due([path], as_of, tmp_path / "out")] == expected


def test_since_catches_up_and_outputs_make_it_idempotent(tmp_path):
    path = _file(tmp_path, "r", cadence="quarterly", lag_days=10, since="2025-Q2")
    entries = schedule.due([path], dt.date(2026, 1, 20), tmp_path / "out")
    assert [(d.period, d.done) for d in entries] == [("2025-Q2", False), ("2025-Q3", False), ("2025-Q4", False)]
    assert entries[1].folder == tmp_path / "out" / "data_quality_report" / "2025-Q3" / "r"
    entries[1].folder.mkdir(parents=True)
    (entries[1].folder / "manifest.json").write_text("{}")
    again = schedule.due([path], dt.date(2026, 1, 20), tmp_path / "out")
    assert [(d.period, d.done) for d in again] == [("2025-Q2", False), ("2025-Q3", True), ("2025-Q4", False)]


def test_files_without_cadence_are_skipped_and_bad_files_reported(tmp_path):
    plain = _file(tmp_path, "plain")
    bad = _file(tmp_path, "bad", cadence="fortnightly")
    assert schedule.scheduled_files(tmp_path) == [bad]
    entries = schedule.due([plain, bad], dt.date(2026, 1, 20))
    assert len(entries) == 1 and "'cadence' must be one of" in entries[0].error


def test_due_run_renders_once(report_extract, tmp_path):
    (tmp_path / "p").mkdir()
    path = _file(tmp_path / "p", "quality", extract=str(report_extract), cadence="monthly", lag_days=5)
    out = tmp_path / "out"
    runner = CliRunner()
    listed = runner.invoke(main, ["due", str(path), "--as-of", "2026-01-10", "-o", str(out)])
    assert listed.exit_code == 0 and "1 report(s) due" in listed.stdout and "2025-12" in listed.stdout
    ran = runner.invoke(main, ["due", str(path), "--as-of", "2026-01-10", "-o", str(out), "--run"])
    assert ran.exit_code == 0, ran.output
    assert (out / "data_quality_report" / "2025-12" / "quality" / "manifest.json").exists()
    again = runner.invoke(main, ["due", str(path), "--as-of", "2026-01-10", "-o", str(out), "--run"])
    assert again.exit_code == 0 and "0 report(s) due, 1 already rendered" in again.stdout
