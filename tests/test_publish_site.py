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


def _links(page: str) -> list[str]:
    from html.parser import HTMLParser

    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(v for k, v in attrs if k in ("href", "src") and v)

    Links().feed(page)
    return found


def test_the_demo_builds_its_publication_folder_without_chromium(tmp_path, monkeypatch):
    """``workbench demo`` as README's first command runs it (no Chromium): reports, then the public site."""
    import json

    from workbench.distribute import load_contacts
    from workbench.reports.outputs import check_offline

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--persons", "400"],
                                env={"WORKBENCH_CHROMIUM": str(tmp_path / "no-such-chromium")})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    said = [line for line in result.output.splitlines() if line.startswith("Publication folder")]
    assert len(said) == 1 and str(tmp_path / "site") in said[0], result.output
    site = tmp_path / "site"
    assert (site / ".workbench-site").is_file()

    index = (site / "index.html").read_text(encoding="utf-8")
    links = _links(index)
    assert "dashboard-fr.html" in links and "dashboard-en.html" in links
    for link in links:  # every link of the index resolves to a file of the folder
        assert (site / link).resolve().is_file() and (site / link).resolve().is_relative_to(site), link
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert files == set(links) | {"index.html", ".workbench-site"}  # and nothing in it is unlisted
    assert not any(f.endswith(".pdf") for f in files)  # no Chromium: built from the HTML and the annex

    # the reports published are exactly the demo's public runs (audience read from their manifests)
    public = set()
    for manifest in (tmp_path / "reports").rglob("manifest.json"):
        data = json.loads(manifest.read_text())
        if data["parameters"]["audience"] == "public":
            public |= {f"reports/{(manifest.parent / n).relative_to(tmp_path / 'reports').as_posix()}"
                       for n in data["outputs"] if n.endswith((".html", ".xlsx"))}
    assert public and {f for f in files if f.startswith("reports/")} == public
    for name in files:
        if name.endswith(".html"):
            check_offline((site / name).read_text(encoding="utf-8"))
    for lang in ("fr", "en"):
        page = (site / f"dashboard-{lang}.html").read_text(encoding="utf-8")
        assert f'<html lang="{lang}"' in page and 'id="wb-data"' in page and "vegaEmbed" in page
        data = json.loads(page.split('<script type="application/json" id="wb-data">', 1)[1].split("</script>")[0])
        assert data["audience"] == "public" and data["k"] == 10 and data["periods"] and data["indicators"]

    # the same folder as `workbench publish` builds from the same reports and extract, byte for byte
    again = CliRunner().invoke(main, ["publish", "--output-dir", "reports", "--extract", "demo", "--site", "again"])
    assert again.exit_code == 0, again.output
    assert _tree(site) == _tree(tmp_path / "again")

    # the demo's contact list: shipped, named in one line, valid, and usable on the demo's reports
    said = [line for line in result.output.splitlines() if line.startswith("Demo contact list")]
    assert len(said) == 1, result.output
    contacts = said[0].split("--contacts ", 1)[1].split(" ", 1)[0]
    assert load_contacts(contacts).contacts
    dry = CliRunner().invoke(main, ["send", "--dry-run", "--contacts", contacts, "--output-dir", "reports"])
    assert "would send detention_report 2025-Q4 (public, fr)" in dry.output, dry.output
    assert "Traceback" not in dry.output


def test_the_pages_of_every_language_share_one_computation_and_keep_their_bytes(report_extract):
    from workbench.distribute.static_dashboards import calendar_figures, dashboard_data, dashboard_html
    from workbench.exceptions import DistributionError
    from workbench.extract.loading import load

    ex = load(report_extract)
    computed = calendar_figures(ex, "public")
    assert len(computed.tables) == len(computed.periods) and all(t.audience == "public" for t in computed.tables)
    assert dashboard_html(ex, "public", "en", computed=computed) == dashboard_html(ex, "public", "en")
    with pytest.raises(DistributionError, match="cannot fill a page for the partner audience"):
        dashboard_data(ex, "partner", "fr", computed=computed)
