"""The dashboards in a real browser: ``workbench dashboard`` served, Debian's Chromium driving.

A real ``workbench dashboard`` runs on a free port of 127.0.0.1 with the demo extract
(no ``--extract``: the command writes it); Chromium (playwright, ``/usr/bin/chromium``)
opens each dashboard and checks that it renders without an error, without code and
without a request leaving the machine; that a filter changes a key figure and the chart
to the figures of ``workbench indicators``; that the address's filters are applied and
bad ones reported; that the kernel websocket runs no code; and, with ``--audience
partner``, that everything shown and downloaded is suppressed. A failing test leaves a
screenshot in pytest's temporary folder (its path is printed).

Chromium comes from Debian (``make test`` runs ``.ci/system-deps``); never from
playwright's own browser download.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import polars as pl
import pytest

from workbench.extract import demo

from workbench import disclosure

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WORKBENCH = str(Path(sys.executable).with_name("workbench"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                                             "(make test installs it with .ci/system-deps)"),
]


# --------------------------------------------------------------------------- servers

class Served:
    """A running ``workbench dashboard``: its URLs, extract, and log."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen([WORKBENCH, "dashboard", "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=log.open("w"), text=True, start_new_session=True)
        self.urls: dict[str, str] = {}
        self.extract: Path | None = None
        deadline = time.monotonic() + 180
        for line in self.proc.stdout:
            if m := re.match(r"No --extract given: serving the demo extract, written to (.+)$", line.strip()):
                self.extract = Path(m.group(1))
            if m := re.match(r"\s+(\w+)\s+(http://127\.0\.0\.1:\d+/voila/render/\S+)", line):
                self.urls[m.group(1)] = m.group(2)
            if "Press Ctrl+C" in line or time.monotonic() > deadline:
                break
        if not self.urls:
            self.stop()
            raise RuntimeError(f"workbench dashboard did not start:\n{log.read_text()[-3000:]}")
        self.token = self.urls["overview"].split("token=")[1]
        self.base = self.urls["overview"].split("/voila/")[0]

    def url(self, page: str, query: str = "") -> str:
        return self.urls[page] + (f"&{query}" if query else "")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the command stops Voilà and its kernels
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(["--pool-size", "1"], tmp_path_factory.mktemp("voila") / "voila.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A browser tab that records console errors and warnings, and requests leaving the machine."""

    def __init__(self, browser, shots: Path, name: str, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 1800}, accept_downloads=True)
        self.tab = self.context.new_page()
        self.shots, self.name = shots, name
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.external: list[str] = []
        self.tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else
                    self.warnings.append(m.text) if m.type == "warning" else None)
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.tab.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:",
                                                                    "blob:")) else self.external.append(r.url))

    def open(self, url: str) -> None:
        self.tab.goto(url)
        self.tab.wait_for_selector(".wb-chart-breakdown svg", timeout=90_000)

    def tile(self, indicator: str) -> tuple[str, str | None]:
        tile = self.tab.locator(f".wb-tile[data-indicator='{indicator}']")
        return tile.locator(".wb-tile-value").inner_text(), tile.get_attribute("data-value")

    def period(self) -> str:
        return self.tab.locator("div.wb-scope").get_attribute("data-period")

    def chart(self) -> str:
        return self.tab.locator(".wb-chart-breakdown .wb-svg").inner_html()


@pytest.fixture
def page(browser, shots, request):
    tab = Page(browser, shots, request.node.name)
    yield tab
    tab.context.close()


@contextlib.contextmanager
def screenshot_on_failure(page: Page):
    try:
        yield
    except BaseException:
        path = page.shots / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', page.name)}.png"
        with contextlib.suppress(Exception):
            page.tab.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
        raise


def cli_value(extract: Path, period: str, indicator: str, by: str | None = None, code: str | None = None,
              audience: str = "internal", sites: tuple[str, ...] = ()) -> dict:
    args = [WORKBENCH, "indicators", str(extract), "-p", period, "-i", indicator, "-a", audience]
    for site in sites:
        args += ["--site", site]
    if by:
        args += ["-b", by]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = pl.read_csv(io.StringIO(out), infer_schema=False).to_dicts()
    return rows[0] if by is None else next(r for r in rows if r[by] == code)


# --------------------------------------------------------------------------- the dashboards

@pytest.mark.parametrize("name", ["overview", "detention", "case_management"])
def test_dashboard_renders_offline_without_error_or_code(served, page, name):
    with screenshot_on_failure(page):
        page.open(served.url(name))
        body = page.tab.inner_text("body")
        assert page.tab.locator(".wb-error").count() == 0
        assert page.tab.locator(".jp-OutputArea-output[data-mime-type*='stderr'], .jp-RenderedText[data-mime-"
                                "type*='error']").count() == 0
        assert "Traceback" not in body and "dashboard.show" not in body  # no error, sources stripped
        assert page.tab.locator(".jp-InputArea").count() == 0
        assert page.tab.locator(".wb-tile").count() == 6 and page.tab.locator(".wb-chart-trend svg").count() == 1
        assert page.tab.locator(".wb-summary table").count() == 1 and page.tab.locator(".wb-table-view table").count() == 1
        page.tab.wait_for_timeout(500)
        assert page.external == [], f"requests leaving the machine: {page.external}"
        assert page.errors == [], f"console errors: {page.errors}"
        assert [m for m in page.warnings if not VERSION_SKEW.search(m)] == [], f"console warnings: {page.warnings}"


#: Webpack's shared-scope warnings: Voilà 0.5.13 (the latest release) bundles JupyterLab 4.2.5's
#: packages, while the widget manager of jupyterlab_widgets 3.0.17 (which ipywidgets 8.1.9 requires)
#: asks for ^4.6.2. Leaving the manager out stops the widgets from rendering.
VERSION_SKEW = re.compile(r"(Unsatisfied|No satisfying) version .*@jupyterlab/")


@pytest.mark.xfail(strict=True, reason="Voilà 0.5.13 bundles JupyterLab 4.2.5; ipywidgets 8.1.9's widget manager "
                                       "asks for ^4.6.2 (see VERSION_SKEW)")
def test_no_console_warning_at_all(served, page):
    page.open(served.url("detention"))
    page.tab.wait_for_timeout(500)
    assert page.warnings == [] and page.errors == []


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def ticked(page: Page, name: str) -> list[str]:
    """The labels of the boxes ticked in a chooser."""
    return [label.replace("\u00a0", " ") for label in page.tab.locator(f".wb-filter-{name} .wb-choice").evaluate_all(
        "boxes => boxes.filter(b => b.querySelector('input').checked).map(b => b.innerText.trim())")]


def test_choosing_two_sites_with_clicks_only(served, page):
    with screenshot_on_failure(page):
        page.open(served.url("overview"))
        period = page.period()
        sites = page.tab.locator(".wb-filter-sites")
        assert sites.is_visible()  # nothing to unfold
        _, before = page.tile("contacts")
        sites.get_by_role("button", name="Aucun").click()
        expect(sites).to_contain_text("Cochez au moins une case")
        for code in ("sfax", "ariana"):
            sites.get_by_label(demo.LEGAL_AID_SITES[code]).click()
        expected = cli_value(served.extract, period, "contacts", sites=("sfax", "ariana"))["value"]
        page.tab.wait_for_function("want => document.querySelector(\".wb-tile[data-indicator='contacts']\")"
                                   ".getAttribute('data-value') == want", arg=str(float(expected)), timeout=30_000)
        assert sorted(ticked(page, "sites")) == sorted(demo.LEGAL_AID_SITES[c] for c in ("sfax", "ariana"))
        expect(sites).to_contain_text("2 sur 9")
        scope = page.tab.inner_text("div.wb-scope")
        assert "Sfax" in scope and "Ariana" in scope
        sites.get_by_role("button", name="Tous").click()
        page.tab.wait_for_function("want => document.querySelector(\".wb-tile[data-indicator='contacts']\")"
                                   ".getAttribute('data-value') == want", arg=before, timeout=30_000)


@pytest.mark.parametrize("name, scope", [("overview", None), ("detention", None),
                                         ("case_management", "centre_jour")])
def test_each_dashboard_opens_on_its_scope_and_says_what_it_shows(served, page, name, scope):
    with screenshot_on_failure(page):
        page.open(served.url(name))
        assert page.tab.locator(".wb-about").inner_text().strip()
        shown = page.tab.inner_text("div.wb-scope")
        if scope is None:
            assert "tous les lieux" in shown
        else:
            label = demo.CHILD_PROTECTION_SITES[scope]
            assert label in shown and label in page.tab.inner_text(".wb-about")
            assert ticked(page, "sites") == [label]
            _, value = page.tile("cases_opened")
            assert float(value) == float(cli_value(served.extract, page.period(), "cases_opened", sites=(scope,))["value"])


def test_a_mixed_address_says_what_was_applied(served, page):
    with screenshot_on_failure(page):
        page.open(served.url("overview", "site=tunsi&site=sfax"))
        notice = page.tab.inner_text(".wb-notice")
        assert "site=tunsi" in notice and "appliqué : site=sfax" in notice and "défaut" not in notice
        assert ticked(page, "sites") == [demo.LEGAL_AID_SITES["sfax"]]


def test_the_team_without_contacts_is_explained(served, page):
    with screenshot_on_failure(page):
        page.open(served.url("overview"))
        note = page.tab.inner_text(".wb-summary .wb-note")
        assert demo.DETENTION_SITES["cra_team"] in note and "aucun contact" in note


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (the script ships in a Python wheel)."""
    from importlib.resources import files

    page.tab.add_script_tag(content=files("axe_playwright_python").joinpath("axe.min.js").read_text())
    result = page.tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("name", ["overview", "detention", "case_management"])
def test_accessible_and_fits_the_screen(served, browser, shots, name, width):
    page = Page(browser, shots, f"{name}-{width}", width=width)
    try:
        with screenshot_on_failure(page):
            page.open(served.url(name))
            assert axe_violations(page) == []
            overflow = page.tab.evaluate("() => [...document.querySelectorAll('.wb-dashboard *')].filter("
                                         "e => e.getBoundingClientRect().right > window.innerWidth + 1 && "
                                         "!e.closest('.wb-summary, .wb-table-view')).length")
            assert overflow == 0  # wide tables scroll within their box; nothing else leaves the screen
            page.tab.screenshot(path=str(shots / f"{name}-{width}.png"))
    finally:
        page.context.close()


def test_html_report_is_accessible(browser, shots, tmp_path):
    out = tmp_path / "out"
    params = Path(__file__).parents[1] / "parameters" / "explore.yaml"
    demo.write(tmp_path / "demo", persons=800)
    subprocess.run([WORKBENCH, "render", str(params), "--output-dir", str(out), "--set", f"extract={tmp_path / 'demo'}"],
                   check=True, capture_output=True, text=True)
    (report,) = [p for p in out.rglob("*.html")]
    for width in (390, 1366):
        page = Page(browser, shots, f"report-{width}", width=width)
        try:
            page.tab.goto(report.as_uri())
            assert "shape: (" not in page.tab.content()  # no raw dataframe printout
            assert axe_violations(page) == []
            assert [u for u in page.external if not u.startswith("file://")] == [] and page.errors == []
        finally:
            page.context.close()


def test_a_filter_changes_the_key_figure_and_the_chart(served, page):
    with screenshot_on_failure(page):
        page.open(served.url("overview"))
        period = page.period()
        text_before, value_before = page.tile("persons_received")
        chart_before = page.chart()
        assert float(value_before) == float(cli_value(served.extract, period, "persons_received")["value"])
        sites = page.tab.locator(".wb-filter-sites")
        sites.get_by_role("button", name="Aucun").click()
        # the kernel's answer to "none" first, or the click unticks the box ticked before it arrives
        expect(sites).to_contain_text("Cochez au moins une case")
        sites.get_by_label(demo.LEGAL_AID_SITES["sfax"]).click()
        page.tab.wait_for_function(
            "before => document.querySelector(\".wb-tile[data-indicator='persons_received']\")"
            ".getAttribute('data-value') !== before", arg=value_before, timeout=30_000)
        page.tab.wait_for_function("before => document.querySelector('.wb-chart-breakdown .wb-svg').innerHTML "
                                   "!== before", arg=chart_before, timeout=30_000)
        _, value_after = page.tile("persons_received")
        expected = cli_value(served.extract, period, "persons_received", "site", "sfax")["value"]
        assert float(value_after) == float(expected)
        assert "Sfax" in page.tab.inner_text("div.wb-scope")


def test_the_address_sets_filters_and_reports_bad_values(served, page):
    with screenshot_on_failure(page):
        page.open(served.url("case_management", "period=2025-Q2&site=centre_jour&risk=high&sex=%3Cb%3Ex%3C/b%3E"
                                                 "&by=risk_level&indicator=reviews_overdue"))
        assert page.period() == "2025-Q2" and page.tab.locator(".wb-filter-period select").input_value() == "T2 2025"
        assert ticked(page, "sites") == [demo.CHILD_PROTECTION_SITES["centre_jour"]]
        notices = page.tab.inner_text(".wb-notice >> nth=0") + page.tab.inner_text(".wb-notice >> nth=1")
        assert "risk=high" in notices and "sex=<b>x</b>" in notices  # shown as text, not markup
        _, value = page.tile("reviews_overdue")
        expected = cli_value(served.extract, "2025-Q2", "reviews_overdue", "site", "centre_jour")["value"]
        assert float(value) == float(expected)


def test_no_token_no_dashboard(served):
    request = urllib.request.Request(f"{served.base}/voila/render/overview.ipynb")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(request, timeout=30)
    assert err.value.code in (302, 403) and "login" in (err.value.headers.get("Location") or "/login")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_kernel_websocket_runs_no_code(served, tmp_path):
    import websocket

    with urllib.request.urlopen(served.url("detention"), timeout=120) as response:
        page_html = response.read().decode()
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', page_html).group(1)
    marker = tmp_path / "executed"
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{served.base.rsplit(':', 1)[1]}/api/kernels/{kernel}/channels?token={served.token}",
        timeout=30)

    def message(msg_type: str, content: dict) -> dict:
        return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "viewer",
                           "session": uuid.uuid4().hex, "version": "5.3", "date": "2026-01-01T00:00:00Z"},
                "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}

    execute = message("execute_request", {"code": f"open({str(marker)!r}, 'w').write('ran')", "silent": False,
                                          "store_history": False, "user_expressions": {}, "allow_stdin": False,
                                          "stop_on_error": True})
    info = message("kernel_info_request", {})
    ws.send(json.dumps(execute))
    ws.send(json.dumps(info))  # allowed: its reply proves the kernel read the messages sent before it
    replies = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        replies.append((msg["msg_type"], msg["parent_header"].get("msg_id")))
        if msg["msg_type"] == "kernel_info_reply":
            break
    time.sleep(1)
    ws.close()
    assert ("kernel_info_reply", info["header"]["msg_id"]) in replies
    assert all(parent != execute["header"]["msg_id"] for _, parent in replies)
    assert not marker.exists()
    assert 'Received message of type "execute_request", which is not allowed' in served.log.read_text()


# --------------------------------------------------------------------------- partner audience

@pytest.fixture(scope="module")
def partner(tmp_path_factory):
    folder = demo.write(tmp_path_factory.mktemp("partner") / "demo", persons=800)
    server = Served(["--extract", str(folder), "--audience", "partner", "--pool-size", "0"],
                    tmp_path_factory.mktemp("voila-partner") / "voila.log")
    server.extract = folder
    yield server
    server.stop()


def test_partner_sees_only_suppressed_figures(partner, page, tmp_path):
    with screenshot_on_failure(page):
        page.open(partner.url("overview", "indicator=persons_received&by=nationality&site=sfax"))
        assert page.tab.locator(".wb-filter-sites").count() == 0  # no filter for a partner audience
        assert "site=sfax" in page.tab.inner_text(".wb-notice")
        assert page.tab.locator(".wb-badge").get_attribute("data-audience") == "partner"
        period = page.period()
        # Tiles: the command line's partner figures.
        for indicator in ("persons_received", "new_persons", "contacts"):
            text, value = page.tile(indicator)
            row = cli_value(partner.extract, period, indicator, audience="partner")
            assert (value is None) == (row["flag"] in ("suppressed", "withheld", "small_population"))
        # Table and chart: small nationalities grouped into "Autres" as on the command line (docs/disclosure.md);
        # no figure between 1 and 4 anywhere.
        table = page.tab.inner_text(".wb-table-view")
        assert "Autres" in table and "< 5" not in table
        cells = page.tab.locator(".gt_table td").all_inner_texts()
        assert not [c for c in cells if re.fullmatch(r"[1-4]", c.strip())]
        with page.tab.expect_download() as download:
            page.tab.locator(".wb-download-csv").click()
        path = tmp_path / "download.csv"
        download.value.save_as(path)
        rows = pl.read_csv(path, schema_overrides={"value": pl.Float64, "numerator": pl.Int64,
                                                   "denominator": pl.Int64})
        assert "other" in rows["nationality"].to_list()
        disclosure.check(rows, 5)
        assert page.external == [] and page.errors == []


# --------------------------------------------------------------------------- JupyterLab

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab 4 on a copy of notebooks/explore_widgets.ipynb, with a demo extract at ../demo."""
    import shutil

    from workbench import resources
    from workbench.dashboards.server import free_port, new_token

    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(resources.packaged("notebooks", "explore_widgets.ipynb"), root / "notebooks")
    demo.write(root / "demo", persons=500)
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), new_token()
    log = (root / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         "--LabApp.extension_manager=readonly",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / '.settings'}", f"--LabApp.workspaces_dir={root / '.workspaces'}"],
        stdout=log, stderr=log, start_new_session=True, cwd=root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
            break
        time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/lab/tree/notebooks/explore_widgets.ipynb?token={token}"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_explore_widgets_render_in_jupyterlab(lab, page):
    with screenshot_on_failure(page):
        tab = page.tab
        tab.goto(lab)
        tab.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        tab.wait_for_function("() => (document.querySelector('#jp-main-statusbar') || {innerText: ''})"
                              ".innerText.includes('Idle')", timeout=120_000)
        tab.get_by_role("menuitem", name="Run", exact=True).click()
        tab.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        tab.wait_for_selector(".jp-OutputArea .wb-chart-breakdown svg", timeout=180_000)
        assert tab.locator(".jp-OutputArea .wb-tile").count() == 6
        assert tab.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        before = tab.locator(".wb-tile[data-indicator='contacts']").get_attribute("data-value")
        tab.get_by_text("Filtres sur les personnes").click()  # the persons' filters are folded away
        tab.locator(".wb-filter-sex").get_by_role("button", name="Aucun").click()
        # the kernel's answer to "none" first, or it unticks the box ticked before it arrives
        expect(tab.locator(".wb-filter-sex")).to_contain_text("Cochez au moins une case")
        tab.locator(".wb-filter-sex .wb-choice input").first.click()
        tab.wait_for_function("before => document.querySelector(\".wb-tile[data-indicator='contacts']\")"
                              ".getAttribute('data-value') !== before", arg=before, timeout=60_000)
        tab.locator(".wb-dashboard").screenshot(path=str(page.shots / "explore_in_jupyterlab.png"))


def test_a_dashboard_in_arabic_reads_right_to_left(served, page):
    """``lang=ar`` in the address: the page reads right to left, in Arabic, with Latin digits."""
    from workbench.indicators.catalogue import load_catalogue
    from workbench.present.texts import text

    with screenshot_on_failure(page):
        page.open(served.url("overview", "lang=ar"))
        root = page.tab.locator(".wb-dashboard")
        assert "wb-rtl" in root.get_attribute("class")
        assert root.evaluate("e => getComputedStyle(e).direction") == "rtl"
        assert page.tab.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
        header = page.tab.locator(".wb-header h1")
        assert header.inner_text() == "نظرة عامة"
        # the title starts on the right: its right edge is the dashboard's
        box, frame = header.bounding_box(), root.bounding_box()
        assert box["x"] + box["width"] > frame["x"] + frame["width"] - 60 > box["x"]
        body = page.tab.inner_text("body")
        assert text("dashboard.indicator", "ar") in body and text("dashboard.period", "ar") in body
        label = load_catalogue()["persons_received"].label["ar"]
        assert page.tab.locator(".wb-tile[data-indicator='persons_received'] .wb-tile-label").inner_text() == label
        value = page.tile("persons_received")[0]
        assert re.fullmatch(r"[0-9.\s< ]+", value), value  # Latin digits (ar_TN)
        assert page.errors == []
