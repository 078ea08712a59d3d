"""``workbench publish``: a static, offline publication folder, rebuilt byte for byte.

Two reports are rendered (HTML only, to keep it quick) — one for partners, one for the
public; the public folder holds only the public one, the partner folder both, and two
builds from the same inputs are identical file for file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from workbench.cli.main import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports_dir(report_extract, tmp_path_factory) -> Path:
    from workbench import reports

    folder = tmp_path_factory.mktemp("publish")
    files = []
    for name, report, audience in (("activity_report", "activity_report", "partner"),
                                   ("detention_report", "detention_report", "public")):
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"report": report, "name": name, "extract": str(report_extract),
                                        "period": "2025-Q4", "audience": audience, "language": "fr",
                                        "formats": ["html"]}))
        files.append(path)
    outcomes = reports.batch(files, output_dir=folder / "reports", jobs=2)
    assert all(o.ok for o in outcomes), outcomes
    return folder / "reports"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_public_site_holds_public_reports_only_and_is_reproducible(reports_dir, report_extract, tmp_path):
    args = ["publish", "--output-dir", str(reports_dir), "--extract", str(report_extract), "--lang", "fr"]
    first = CliRunner().invoke(main, [*args, "--site", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, [*args, "--site", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    assert sorted(a) == [".workbench-site", "dashboard-fr.html", "index.html",
                         "reports/detention_report/2025-Q4/detention_report/detention_report_2025-Q4.html"]
    index = a["index.html"].decode()
    assert 'href="reports/detention_report/2025-Q4/detention_report/detention_report_2025-Q4.html"' in index
    assert 'href="dashboard-fr.html"' in index and "activity_report" not in index
    from workbench.reports.outputs import check_offline

    for name, data in a.items():
        if name.endswith(".html"):
            check_offline(data.decode())
    # rebuilding in place replaces the folder as a whole, with the same bytes
    again = CliRunner().invoke(main, [*args, "--site", str(tmp_path / "a")])
    assert again.exit_code == 0 and _tree(tmp_path / "a") == b
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_partner_site_adds_partner_reports(reports_dir, tmp_path):
    result = CliRunner().invoke(main, ["publish", "--output-dir", str(reports_dir), "--audience", "partner",
                                       "--site", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "site").rglob("*.html"))
    assert names == ["activity_report_2025-Q4.html", "detention_report_2025-Q4.html", "index.html"]


def test_internal_sites_and_missing_folders_are_refused(tmp_path):
    result = CliRunner().invoke(main, ["publish", "--output-dir", str(tmp_path / "none"), "--site",
                                       str(tmp_path / "site")])
    assert result.exit_code == 2 and "no reports folder" in result.output and "Traceback" not in result.output
    from workbench.distribute.static_dashboards import dashboard_data
    from workbench.exceptions import DistributionError

    with pytest.raises(DistributionError, match="outside audiences"):
        dashboard_data(None, "internal", "fr")
