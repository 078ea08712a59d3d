"""The static dashboard in a real browser, from ``file://`` with the network blocked.

The page is built for the partner audience on the small report extract; Debian's
Chromium (playwright, ``/usr/bin/chromium``) opens it with name resolution off and a dead
proxy, every request that is not a local file is blocked and recorded, every request the
page makes at all is listed, the pickers are changed and the table's figures are
compared with those of ``workbench indicators … --audience partner``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import main

CHROMIUM = "/usr/bin/chromium"
# The network is blocked in the browser itself (no name resolves, no proxy is reachable), besides the route guard.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")]

VIEWS = [("persons_received", "sex", "2025-Q3"), ("contacts", "site", "2025-H1"), ("cases_opened", "", "2024"),
         ("persons_received", "nationality", "2025-Q4")]


@pytest.fixture(scope="module")
def page_file(report_extract, tmp_path_factory) -> Path:
    from workbench.distribute.static_dashboards import dashboard_html
    from workbench.extract.loading import load

    path = tmp_path_factory.mktemp("static-dashboard") / "dashboard-en.html"
    path.write_text(dashboard_html(load(report_extract), "partner", "en"), encoding="utf-8")
    return path


def _cli_figures(extract: Path, indicator: str, dimension: str, period: str) -> list[tuple[str, str, str]]:
    args = ["indicators", str(extract), "-p", period, "-i", indicator, "-a", "partner"]
    if dimension:
        args += ["-b", dimension]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return [(r[dimension] if dimension else "", r["value"], r["flag"]) for r in rows
            if not dimension or r[dimension]]  # with a breakdown, the page lists its categories


def _as_number(text: str) -> float | None:
    return float(text) if text else None


def test_static_dashboard_offline_shows_the_figures_of_workbench_indicators(page_file, report_extract):
    from playwright.sync_api import sync_playwright

    from workbench.distribute.static_dashboards import publication_periods
    from workbench.extract.loading import load

    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", guard)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_selector("body[data-ready=yes]", timeout=30000)
            offered = page.eval_on_selector_all("#period option", "os => os.map(o => o.value)")
            assert offered == [p.code for p in publication_periods(load(report_extract))]
            assert all(("-Q" in c or "-H" in c or c.isdigit()) for c in offered)  # calendar periods only
            for indicator, dimension, period in VIEWS:
                page.select_option("#indicator", indicator)
                page.select_option("#breakdown", dimension)
                page.select_option("#period", period)
                page.wait_for_selector("body[data-ready=yes]", timeout=30000)
                shown = page.eval_on_selector_all(
                    "#figures tbody tr", "rs => rs.map(r => [r.dataset.code, r.dataset.value, r.dataset.flag,"
                                         " r.cells[1].textContent])")
                expected = _cli_figures(report_extract, indicator, dimension, period)
                assert [(c, _as_number(v), f) for c, v, f, _ in shown] == \
                    [(c, _as_number(v), f) for c, v, f in expected], (indicator, dimension, period)
                for _, value, flag, text in shown:
                    if flag == "suppressed":
                        assert text == "< 5" and value == ""
                assert page.locator("#chart svg").count() == 1
            assert errors == []
            assert requested == [page_file.as_uri()]  # the page alone: every script and figure is inside it
        finally:
            browser.close()
    assert outside == []


def test_the_page_states_the_audiences_method_and_claims_no_range(page_file):
    """The note under the figures is the audience's method, as the reports state it, and the legends of
    the marks the page can show: no "< k" range, no "[p]"."""
    page = page_file.read_text(encoding="utf-8")
    note = page[page.index('<p class="note">'):]
    note = note[:note.index("</p>")]
    assert "grouped into &quot;Other&quot;" in note and "withheld for confidentiality (any value)" in note
    assert "&lt; 5" not in note and "[p]" not in note
