"""Each synthetic raw export goes raw → extract → indicators.

For every fixture (a French Excel register, a KoboToolbox CSV with codes and with labels, a
Primero-like case workbook): rows read = quarantined at the mapping stage + quarantined at the load +
accepted, with the rows and rules the generator broke on purpose; the figures equal those computed
from the generator's own truth; and no name, phone number, e-mail or raw identifier of the export
appears in any file made from it (extract, quarantine, reports, indicator exports, combined extract).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import rawdata

from workbench.prepare import combine

from workbench import extract

from workbench import disclosure, indicators
from workbench.prepare import pseudonymise as ps
from workbench.cli.main import main

CASES = {
    "register_fr": ("register_fr", {}),
    "kobo_codes": ("kobo", {"values": "code"}),
    "kobo_labels": ("kobo", {"values": "label"}),
    "primero": ("primero", {}),
}
#: For each source, the table with one row per mapped raw row.
ONE_TO_ONE = {"registre": "contacts", "visites": "contacts", "cases": "cases", "followups": "contacts"}


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "asso.key"
    ps.init_key(path)
    return path


@pytest.fixture(scope="module", params=list(CASES))
def made(request, key, tmp_path_factory):
    """(fixture, pseudonymise result, folder of indicator exports) for one raw export."""
    kind, kwargs = CASES[request.param]
    base = tmp_path_factory.mktemp(request.param)
    fx = rawdata.make(kind, base / "raw", **kwargs)
    result = ps.pseudonymise(fx.path, fx.mapping, key, base / "extract")
    exports = base / "exports"
    runner = CliRunner()
    for fmt in ("csv", "json", "xlsx"):
        args = ["indicators", str(result.output), "-p", "2024", "-b", "sex", "-b", "nationality", "-b", "site",
                "-f", fmt, "-o", str(exports / f"indicators.{fmt}")]
        out = runner.invoke(main, args)
        assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["validate", str(result.output), "--quarantine", str(exports / "validate.csv"),
                               "--json"])
    assert out.exit_code in (0, 1), out.output
    (exports / "validate.json").write_text(out.output, encoding="utf-8")
    return fx, result, exports


def test_rows_read_are_accepted_or_quarantined(made):
    fx, result, _ = made
    want = fx.expected
    report = result.report
    by_source = {s["source"]: s for s in report["sources"]}
    assert {s: r["read"] for s, r in by_source.items()} == want.read
    q = result.quarantine
    for source, rules in want.mapping_quarantine.items():
        mine = q.filter((pl.col("stage") == "mapping") & (pl.col("table") == source))
        assert dict(sorted(mine.group_by("rule").len().iter_rows())) == rules
        assert sorted(mine.select("row", "rule").iter_rows()) == list(want.quarantined_rows[source])
        assert by_source[source]["read"] == by_source[source]["mapped"] + by_source[source]["quarantined"]
    load_q = q.filter(pl.col("stage") == "load")
    got_load = {t: dict(sorted(f.group_by("rule").len().iter_rows())) for (t,), f in load_q.group_by("table")}
    assert got_load == want.load_quarantine
    ex = result.extract
    assert {t: f.height for t, f in ex.tables.items() if t in want.accepted} == want.accepted
    for table, rep in ex.reports.items():
        assert rep.read == rep.accepted + rep.quarantined
    # raw rows: every row of a source is quarantined by the mapping, or by the load, or accepted
    for source, table in ONE_TO_ONE.items():
        if source not in want.read:
            continue
        rep = ex.reports[table]
        assert want.read[source] == by_source[source]["quarantined"] + rep.quarantined + rep.accepted
    # the quarantine file holds the same rows, each traced to its raw row
    written = pl.read_csv(result.output / "mapping" / "quarantine.csv", schema=ps.REPORT_QUARANTINE_SCHEMA)
    assert written.height == q.height == report["quarantined"]["total"]
    assert written["source_row"].null_count() == 0 and written["source_file"].null_count() == 0


def test_figures_match_the_generator(made):
    fx, result, _ = made
    want = fx.expected.figures
    ids = sorted(set(want["indicator"]))
    for period in sorted(set(want["period"])):
        expected = want.filter(pl.col("period") == period)
        dims = sorted(set(expected["dimension"].drop_nulls()))
        table = disclosure.compute(result.extract, period, indicators=ids, by=dims).frame
        for row in expected.iter_rows(named=True):
            match = table.filter(pl.col("indicator") == row["indicator"])
            for d in dims:
                match = match.filter(pl.col(d) == row["category"] if d == row["dimension"] else pl.col(d).is_null())
            assert match.height == 1, (row, match)
            got = match.row(0, named=True)
            if row["value"] is not None:
                assert got["value"] == row["value"], (row, got)
            if row["denominator"] is not None:
                assert (got["numerator"], got["denominator"]) == (row["numerator"], row["denominator"]), (row, got)
        for (indicator, dimension), part in expected.filter(pl.col("dimension").is_not_null()).group_by(
                ["indicator", "dimension"]):
            got = table.filter((pl.col("indicator") == indicator) & pl.col(dimension).is_not_null())
            assert sorted(got[dimension]) == sorted(part["category"]), (indicator, dimension)


def test_no_identifier_of_the_export_appears_in_any_output(made, key, tmp_path):
    fx, result, exports = made
    combined = combine.combine([f"one={result.output}"], tmp_path / "combined")
    files = [p for folder in (result.output, exports, combined.output) for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"persons.parquet", "contacts.parquet", "extract.yaml", "mapping-report.json",
                                       "quarantine.csv", "indicators.csv", "indicators.json", "indicators.xlsx",
                                       "validate.csv", "validate.json", "combine-report.json"}
    assert len(fx.secrets()) > 50
    assert fx.leaks(result.output, exports, combined.output) == []
    # the scan itself finds what it looks for: the raw export is full of them
    assert len(fx.leaks(fx.path)) > 20
    key_hex = key.read_text().strip()
    for path in files:
        text = rawdata.file_text(path)
        assert key_hex not in text and "@example.org" not in text, path.name


def test_the_extract_passes_the_identifier_guard_and_rules(made):
    _, result, _ = made
    again = extract.load(result.output)   # raises if the guard finds identifiers
    assert again.summary()["tables"] == result.extract.summary()["tables"]
    report = json.loads((result.output / "mapping" / "mapping-report.json").read_text(encoding="utf-8"))
    assert report == json.loads(json.dumps(result.report, default=str))
