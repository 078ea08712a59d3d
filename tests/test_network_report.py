"""The network report: rendered by papermill on a network-level extract that has no persons, its
litigation tracker agreeing with DuckDB, nothing person-level or pseudonymous in its outputs."""

from __future__ import annotations

import re

import datetime as dt

import duckdb
import polars as pl
import pytest

from workbench import extract, reports, resources
from workbench.extract import demo
from workbench.periods import parse_period, period_run
from workbench.reports import network as rn
from workbench.reports import sections as rs


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory):
    return demo.write(tmp_path_factory.mktemp("net") / "network", profile="network")


def _quarter_sql(folder, column: str, period) -> int:
    con = duckdb.connect()
    return con.execute(
        f"SELECT count(DISTINCT coalesce(action_key, action_id)) FROM read_parquet('{folder}/legal_actions.parquet') "
        f"WHERE strategic AND {column} BETWEEN ? AND ?", [period.start, period.end]).fetchone()[0]


def _pending_sql(folder, period) -> int:
    con = duckdb.connect()
    return con.execute(
        f"SELECT count(DISTINCT coalesce(action_key, action_id)) FROM read_parquet('{folder}/legal_actions.parquet') "
        "WHERE strategic AND filed_on <= ? AND (decided_on IS NULL OR decided_on > ?)",
        [period.end, period.end]).fetchone()[0]


def test_the_extract_has_no_persons(network_dir):
    ex = extract.load(network_dir)
    assert not ex.has("persons") and ex.has("legal_actions") and ex.has("activities")


def test_tracker_rows_agree_with_duckdb(network_dir):
    report = rs.open_report("network_report", {"extract": str(network_dir), "period": "2025-Q4",
                                               "audience": "internal", "trend_periods": 8})
    ids = ["strategic_actions_filed", "strategic_actions_pending", "strategic_actions_decided"]
    rows = rn.tracker_rows(report.series(ids), ids, "en", None)
    periods = [p for p in period_run(parse_period("2025-Q4"), 8)]
    shown = {r["period"]: r for r in rows.iter_rows(named=True)}
    checked = 0
    for p in periods:
        label = p.label("en")
        if label not in shown:  # before the extract's first data (from_first_data)
            continue
        assert shown[label]["c0"] == str(_quarter_sql(network_dir, "filed_on", p)), label
        assert shown[label]["c1"] == str(_pending_sql(network_dir, p)), label
        assert shown[label]["c2"] == str(_quarter_sql(network_dir, "decided_on", p)), label
        checked += 1
    assert checked >= 6


def test_network_report_renders_without_persons(network_dir, tmp_path):
    params = resources.packaged("parameters") / "network_report.yaml"
    run = reports.render(params, [f"extract={network_dir}", "formats=[html, xlsx]"], output_dir=tmp_path / "out")
    (html,) = run.folder.glob("*.html")
    page = html.read_text(encoding="utf-8")
    assert "Suivi du contentieux stratégique par période" in page
    assert "Membres impliqués" in page and "Par juridiction" in page
    assert "[c]" in page and "&lt; 5" not in page  # the partner audience's protection applies, claiming no range
    # a trend whose every period is withheld says so in words, not with an empty axis
    assert re.search(r'<figure class="wb-chart"><figcaption><strong>[^<]+</strong></figcaption><p class="wb-na">'
                     r'« \[c\] » : masqué', page)
    frames = {t: pl.read_parquet(network_dir / f"{t}.parquet") for t in ("activities", "legal_actions")}
    for column in ("activity_id",):
        assert not any(v in page for v in frames["activities"][column].to_list())
    assert not any(v in page for v in frames["legal_actions"]["action_id"].to_list())
    assert list(run.folder.glob("*.xlsx"))


def test_demo_writes_the_network_extract_beside_once(tmp_path):
    folder = demo.network_beside(tmp_path)
    assert folder == tmp_path / demo.NETWORK_FOLDER
    stamp = (folder / "extract.yaml").stat().st_mtime_ns
    assert demo.network_beside(tmp_path) == folder
    assert (folder / "extract.yaml").stat().st_mtime_ns == stamp
    assert extract.load(folder).meta.extracted_on == dt.date(2026, 1, 15)
