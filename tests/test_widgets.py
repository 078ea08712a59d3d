"""Dashboard filters, views and widgets, without a browser.

The figures a dashboard shows must be those of ``workbench indicators`` (the command
line is run here and its CSV compared); every value of a control or of a URL is checked
against the choices offered; with a partner audience nothing below k is shown or
downloadable, and no filter is offered.
"""

from __future__ import annotations

import base64
import html
import datetime as dt
import io
import json
import re
from dataclasses import replace

import polars as pl
from polars.testing import assert_frame_equal
import pytest
from click.testing import CliRunner

from workbench.dashboards import server as dashboard

from workbench.extract import demo

from workbench import disclosure

from workbench.present import exports

from workbench import extract
from workbench.periods import parse_period

from workbench import disclosure, selection as filters

from workbench import indicators

from workbench.dashboards import views

from workbench.dashboards import widgets
from workbench.cli.main import main as cli
from workbench.exceptions import ParameterError
from workbench.periods import parse_period

PERIOD = "2025-Q3"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return demo.write(tmp_path_factory.mktemp("dash") / "demo", persons=700)


@pytest.fixture(scope="module")
def ex(demo_dir):
    return extract.load(demo_dir)


@pytest.fixture(scope="module")
def session(ex):
    return views.Session(ex)


@pytest.fixture(scope="module")
def partner(ex):
    return views.Session(ex, audience="partner")


def cli_rows(demo_dir, indicator: str, by: str | None = None, audience: str = "internal") -> list[dict]:
    """``workbench indicators`` for one indicator, as rows of its CSV."""
    args = ["indicators", str(demo_dir), "-p", PERIOD, "-i", indicator, "-a", audience]
    if by:
        args += ["-b", by]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return pl.read_csv(io.StringIO(result.stdout), infer_schema=False).to_dicts()


def view_of(session, page="overview", **kw) -> views.View:
    return replace(session.default_view(views.page(page)), period=session.check_period(PERIOD), **kw)


def tile_values(table: disclosure.IndicatorTable) -> dict[str, float | None]:
    return {r["indicator"]: r["value"] for r in table.frame.iter_rows(named=True)}


# --------------------------------------------------------------------------- filters

def test_selection_is_normalised_and_checked(session):
    sel = filters.Selection(sites=("sfax", "ariana", "sfax"))
    assert sel.sites == ("ariana", "sfax") and filters.Selection(sites=["sfax", "ariana"]) == sel
    with pytest.raises(ParameterError, match="sites.*'../../etc'"):
        filters.validate(filters.Selection(sites=("../../etc",)), session.choices)
    with pytest.raises(ParameterError):
        filters.Selection(sex="female")  # a string is not a tuple of codes
    with pytest.raises(ParameterError) as err:  # every problem at once
        filters.validate(filters.Selection(sex=("x",), nationality=("pl.col('a')",)), session.choices)
    assert "sex" in str(err.value) and "nationality" in str(err.value)


def test_choices_come_from_the_extract(ex, session):
    known = session.choices
    assert {"tunis_centre", "la_marsa", "ariana", "sfax", "centre_jour"} <= set(known.sites)
    assert set(known.centres) == {"cra_guadeloupe", "cra_guyane", "cra_reunion"}
    assert set(known.nationality) <= set(ex.table("persons")["nationality"].cast(pl.String).fill_null("unknown"))
    assert known.age_group[-1] == "unknown"


def test_restricted_extract_keeps_every_reference(ex):
    sel = filters.Selection(sites=("sfax",), sex=("female",))
    f = filters.restrict(ex, sel)
    persons = f.table("persons")
    assert persons.height and set(persons["sex"].cast(pl.String)) == {"female"}
    assert set(persons["site"]) == {"sfax"}  # new persons of a site: those registered there
    assert set(f.table("contacts")["site"]) == {"sfax"} and set(f.table("cases")["site"]) <= {"sfax"}
    female = set(ex.table("persons").filter(pl.col("sex").cast(pl.String) == "female")["person_id"])
    for name, frame in f.tables.items():
        assert set(frame["person_id"]) <= female, name
    cases = set(f.table("cases")["case_id"])
    for name in ("referrals", "legal_actions"):
        linked = set(f.table(name)["case_id"].drop_nulls())
        assert linked <= cases, name
    assert f.attributes.equals(ex.table("persons"))  # attributes label records whatever the selection
    assert filters.restrict(ex, filters.Selection()) is ex  # nothing selected: the extract itself


def test_centre_filter_keeps_the_stays_there(ex):
    f = filters.restrict(ex, filters.Selection(centres=("cra_guyane",)))
    assert set(f.table("detention_stays")["centre"]) == {"cra_guyane"}
    assert set(f.table("persons")["person_id"]) == set(f.table("detention_stays")["person_id"])


# --------------------------------------------------------------------------- figures = the command line

def test_tiles_equal_the_command_line(demo_dir, session):
    ids = views.page("overview").tiles
    shown = tile_values(session.key_figures(view_of(session), ids))
    for ind in ids:
        total = cli_rows(demo_dir, ind)[0]
        assert shown[ind] == float(total["value"]), ind


@pytest.mark.parametrize(("field", "key", "code", "indicator"), [
    ("sites", "site", "sfax", "persons_received"),
    ("sites", "site", "sfax", "new_persons"),
    ("sites", "site", "la_marsa", "contacts"),
    ("sites", "site", "centre_jour", "cases_opened"),
    ("sex", "sex", "female", "persons_received"),
    ("age_group", "age_group", "12-17", "persons_received"),
    ("nationality", "nationality", "TUN", "contacts"),
    ("legal_status", "legal_status", "asylum_seeker", "new_persons"),
    ("centres", "centre", "cra_guyane", "detention_placements"),
])
def test_a_filtered_figure_is_the_breakdown_row_of_the_command_line(demo_dir, session, field, key, code,
                                                                    indicator):
    page = "detention" if field == "centres" else "overview"
    view = view_of(session, page, selection=filters.Selection(**{field: (code,)}))
    shown = tile_values(session.key_figures(view, (indicator,)))[indicator]
    row = next(r for r in cli_rows(demo_dir, indicator, key) if r[key] == code)
    assert shown == float(row["value"])


def test_trend_and_breakdown_are_the_engines(ex, session):
    view = view_of(session, indicator="contacts", breakdown="channel")
    assert_frame_equal(session.breakdown(view).frame, disclosure.compute(ex, PERIOD, ["contacts"],
                                                                        by=["channel"]).frame)
    trend = session.trend(view).frame
    assert trend["period"].to_list() == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2",
                                         "2025-Q3"]  # clipped to the periods that hold data


# --------------------------------------------------------------------------- query strings

def test_query_string_sets_the_view(session):
    page = views.page("overview")
    view, notices = views.from_query("token=abc&period=2025-q2&compare=last_year&site=sfax,ariana&sex=female"
                                     "&indicator=contacts&by=channel&lang=en", page, session)
    assert notices == []
    assert (view.period.code, view.compare, view.indicator, view.breakdown, view.lang) == \
        ("2025-Q2", "last_year", "contacts", "channel", "en")
    assert view.selection == filters.Selection(sites=("ariana", "sfax"), sex=("female",))
    again, _ = views.from_query(views.to_query(view), page, session)
    assert again == view


@pytest.mark.parametrize("query", [
    "period=2031-Q1", "period=2025-Q5", "period=__import__('os')", "compare=tomorrow", "site=../../etc/passwd",
    "sex=<script>alert(1)</script>", "indicator=detention_nonsense", "by=caseworker_id", "lang=de",
    "extract=/etc", "centre=cra_guyane",  # no centre filter on the overview
])
def test_invalid_query_values_fall_back_with_a_notice(session, query):
    page = views.page("overview")
    default = session.default_view(page)
    view, notices = views.from_query(query, page, session)
    assert view == default
    assert len(notices) == 1
    shown = notices[0].html("fr")
    assert "<script>" not in shown and "ignoré" in shown


def test_a_mixed_address_names_what_was_applied_and_what_was_not(session):
    page = views.page("overview")
    view, notices = views.from_query("site=tunsi&site=sfax", page, session)
    assert view.selection.sites == ("sfax",)
    assert [(n.key, n.value, n.applied) for n in notices] == [("site", "tunsi", "site=sfax")]
    shown = notices[0].html("en")
    assert "site=tunsi" in shown and "applied: <code>site=sfax</code>" in shown and "default" not in shown
    _, notices = views.from_query("site=tunsi", page, session)
    assert "no filter applied (all)" in notices[0].html("en")


def test_each_page_opens_on_its_declared_scope(session, partner):
    import yaml

    from workbench import resources

    report = yaml.safe_load(resources.packaged("parameters", "case_management_report.yaml").read_text())
    page = views.page("case_management")
    assert page.scope["sites"] == tuple(report["sites"])  # the dashboard covers what the report covers
    for s in (session, partner):
        view = s.default_view(page)
        assert view.selection == filters.Selection(sites=tuple(report["sites"]))
        assert s.check(view, page) == view  # the page's scope is no viewer's filter, partners included
        board = widgets.Dashboard(s, page)
        assert "centre de jour" in board.header.value.lower() and "wb-about" in board.header.value
    for name in ("overview", "detention", "explore"):
        assert session.default_view(views.page(name)).selection.is_empty


def test_a_team_that_registers_without_contacts_is_explained(session):
    page = views.page("overview")
    view = session.default_view(page)
    frame = session.summary(view, page).frame
    odd = views.registering_without_contacts(frame, "site")
    assert odd == ("cra_team",)
    rows = {(r["indicator"], r["site"]): r["value"] for r in frame.iter_rows(named=True)}
    assert rows[("new_persons", "cra_team")] > 0 and rows.get(("contacts", "cra_team"), 0) == 0
    board = widgets.Dashboard(session, page, view)
    assert "wb-note" in board.summary.value and "Équipe juridique en rétention" in board.summary.value


def test_code_chooser_needs_clicks_only():
    chooser = widgets.CodeChooser([("Ariana", "ariana"), ("Sfax", "sfax"), ("Tunis", "tunis")], "Sites", "en")
    assert chooser.value == () and all(b.value for b in chooser.boxes.values())  # all ticked: no filter
    seen = []
    chooser.observe(lambda c: seen.append(c["new"]), names="value")
    chooser.none.click()
    assert chooser.value == () and seen == [] and "at least one" in chooser.state.value
    chooser.boxes["sfax"].value = True
    chooser.boxes["ariana"].value = True
    assert seen == [("sfax",), ("ariana", "sfax")]
    chooser.all.click()
    assert chooser.value == () and "All (3)" in chooser.state.value
    chooser.value = ("tunis",)  # from a view: the boxes follow
    assert [c for c, b in chooser.boxes.items() if b.value] == ["tunis"]
    long = widgets.CodeChooser([(f"Country {i}", f"c{i}") for i in range(12)], "Nationality", "en")
    long.search.value = "country 1"
    assert [c for c, b in long.boxes.items() if b.layout.display != "none"] == ["c1", "c10", "c11"]
    long.none.click()  # acts on the boxes shown
    assert long.value == tuple(f"c{i}" for i in (0, *range(2, 10)))


def test_controls_are_checked(session):
    page = views.page("case_management")
    view = session.default_view(page)
    assert (view.indicator, view.breakdown) == ("assessment_on_time_rate", "risk_level")
    for bad in (replace(view, indicator="persons_received"), replace(view, breakdown="sex"),
                replace(view, compare="x"), replace(view, selection=filters.Selection(centres=("cra_guyane",))),
                replace(view, period=parse_period("2019-Q1"))):
        with pytest.raises(ParameterError):
            session.check(bad, page)


# --------------------------------------------------------------------------- partner audience

def test_partner_offers_no_filter_and_suppresses_everything(demo_dir, partner):
    page = views.page("overview")
    view, notices = views.from_query(f"period={PERIOD}&site=sfax&sex=female", page, partner)
    assert view.selection.is_empty and {n.key for n in notices} == {"site", "sex"}
    board = widgets.Dashboard(partner, page, view)
    assert board.filters.selects == {}
    # The tiles are the command line's totals for a partner audience.
    for ind in page.tiles:
        total = cli_rows(demo_dir, ind, audience="partner")[0]
        tile = re.search(rf"data-indicator='{ind}'[^>]*>.*?wb-tile-value'>([^<]*)<", board.tiles.value).group(1)
        expected = "&lt; 5" if total["flag"] == "suppressed" else total["value"]
        assert tile.replace("\u202f", "").replace(" ", "") == expected.replace(" ", ""), ind
    # Nationality has small cells: they are grouped into "Autres" in the table, chart and downloads, which hold
    # no small figure and claim no range (docs/disclosure.md).
    board.set_view(replace(board.view, indicator="persons_received", breakdown="nationality"))
    assert "Autres" in board.table.value and "&lt; 5" not in board.table.value
    csv = downloaded(board, "csv").decode()
    numbers = {"value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64}
    table = pl.read_csv(io.StringIO(csv), schema_overrides=numbers)
    assert "other" in table["nationality"].to_list() and "suppressed" not in table["flag"].to_list()
    disclosure.check(table, 5)
    book = pl.read_excel(io.BytesIO(downloaded(board, "xlsx")))
    assert book.height == table.height and "other" in book["nationality"].to_list()
    disclosure.check(book.cast({c: t for c, t in numbers.items()}, strict=False), 5)
    labels = mark_labels(board.charts.breakdown.value)
    assert "< 5" not in labels
    shown = [float(v.replace("\u202f", "").replace(",", ".")) for v in labels
             if re.fullmatch(r"[0-9\u202f]+(,[0-9]+)?", v)]
    assert shown and all(n == 0 or n >= 5 for n in shown)


def mark_labels(svg: str) -> list[str]:
    """The texts drawn as marks (bar labels), not the axes'."""
    groups = re.findall(r'<g class="mark-text role-mark[^"]*"[^>]*>(.*?)</g>', svg, flags=re.S)
    return [html.unescape(t) for g in groups for t in re.findall(r"<text[^>]*>([^<]*)</text>", g)]


def downloaded(board, kind: str) -> bytes:
    link = re.search(rf"class='wb-download-{kind}' download='[^']+' href='data:[^,]+,([^']+)'",
                     board.downloads.value)
    return base64.b64decode(link.group(1))


# --------------------------------------------------------------------------- widgets

def test_changing_a_filter_updates_figures_chart_and_download(session):
    page = views.page("overview")
    board = widgets.Dashboard(session, page, view_of(session))
    before = (board.tiles.value, board.charts.breakdown.value, board.downloads.value)
    board.filters.selects["sites"].value = ("sfax",)
    assert board.view.selection.sites == ("sfax",)
    after = (board.tiles.value, board.charts.breakdown.value, board.downloads.value)
    assert all(a != b for a, b in zip(before, after))
    assert "filters" in downloaded(board, "csv").decode().splitlines()[0]
    assert "period=2025-Q3" in board.link_box.value or board.link_box.value == ""


def test_period_controls(session):
    board = widgets.Dashboard(session, views.page("overview"), view_of(session))
    board.filters.kind.value = "year"
    assert board.view.period.code == "2025"
    board.filters.kind.value = "range"
    assert board.view.period.code == "2025-01-01..2025-12-31"
    board.filters.end.value = dt.date(2025, 3, 31)
    assert board.view.period.code == "2025-01-01..2025-03-31"
    shown = board.view
    board.filters.start.value = dt.date(2025, 6, 1)  # after the end: refused, the view stays
    assert board.view == shown and "wb-error" in board.status.value
    board.filters.start.value = dt.date(2025, 2, 1)
    assert board.view.period.code == "2025-02-01..2025-03-31" and board.status.value == ""


def test_indicator_picker_keeps_an_allowed_breakdown(session):
    board = widgets.Dashboard(session, views.page("overview"), view_of(session))
    board.picker.dropdown.value = "referrals_made"
    assert board.view.breakdown in views.breakdowns_of("referrals_made")
    assert "Orientations" in board.picker.definition.value or "referr" in board.picker.definition.value.lower()
    board.breakdown_picker.value = "partner"
    assert board.view.breakdown == "partner" and board.table.value


@pytest.mark.parametrize("name", ["overview", "detention", "case_management", "explore"])
def test_every_page_renders_without_error(session, name):
    board = widgets.Dashboard(session, views.page(name))
    assert board.status.value == "" and "<svg" in board.charts.trend.value and "<svg" in board.charts.breakdown.value
    assert board.tiles.value.count("wb-tile'") + board.tiles.value.count("wb-tile wb-tile-na'") == 6


# --------------------------------------------------------------------------- serving

def test_server_command_and_environment(tmp_path):
    server = dashboard.Server(tmp_path, port=dashboard.free_port(), audience="partner", pool_size=0)
    cmd = server.command(tmp_path)
    assert "--Voila.ip=127.0.0.1" in cmd and "--VoilaConfiguration.preheat_kernel=False" in cmd
    assert server.token not in " ".join(cmd)  # the token goes in a private config file, not the process list
    env = server.environment()
    assert env[dashboard.ENV_EXTRACT] == str(tmp_path.resolve()) and env[dashboard.ENV_AUDIENCE] == "partner"
    assert env["JUPYTER_PATH"].split(":")[0] == str(dashboard.template_root())
    assert server.url("overview").startswith(f"http://127.0.0.1:{server.port}/voila/render/overview.ipynb?token=")


def test_committed_config_and_thin_notebooks():
    committed = json.loads(dashboard.config_file().read_text())
    policy = committed["Voila"]["tornado_settings"]["headers"]["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "http" not in policy
    config = committed["VoilaConfiguration"]
    assert config["strip_sources"] and not config["show_tracebacks"] and config["template"] == "workbench"
    assert config["allow_template_override"] == "NO" and config["file_allowlist"] == []
    assert "nbdime-jupyterlab" in config["extension_denylist"]
    template = (dashboard.template_root() / "voila/templates/workbench/index.html.j2").read_text()
    assert "https://" not in template
    import nbformat

    for name in dashboard.PAGES:
        nb = nbformat.read(dashboard.notebooks_dir() / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert len(code) == 1 and f'dashboard.show("{name}")' in code[0].source
        assert all(not c.get("outputs") for c in code)


def test_kernel_side_reads_the_extract_from_the_server(monkeypatch, demo_dir):
    monkeypatch.setenv(dashboard.ENV_EXTRACT, str(demo_dir))
    monkeypatch.setenv(dashboard.ENV_AUDIENCE, "partner")
    monkeypatch.setenv("QUERY_STRING", f"token=x&period={PERIOD}&extract=/etc&site=sfax")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    dashboard.kernel_session.cache_clear()
    try:
        board = dashboard.show("overview")
        assert board.session.extract.source == demo_dir and board.session.audience.k == 5
        assert board.view.period.code == PERIOD and board.view.selection.is_empty
        assert "extract=/etc" in board.notices.value and "site=sfax" in board.notices.value
    finally:
        dashboard.kernel_session.cache_clear()


def test_exports_check_the_threshold_of_what_is_downloaded(ex):
    table = disclosure.compute(ex, PERIOD, ["persons_received"], by=["nationality"]).frame  # internal: small cells
    with pytest.raises(Exception):
        exports.to_csv(widgets.download_rows(table, views.View(period=parse_period(PERIOD),
                                                               breakdown="nationality")), k=5)


def test_the_language_of_the_address_changes_every_word(session):
    board = widgets.Dashboard(session, views.page("detention"))
    board.set_view(replace(board.view, lang="en"))
    assert board.filters.kind.description == "Period type" and "Detention" in board.header.value
    assert all("Rétention" not in label for label, _ in board.picker.dropdown.options)
    assert board.tiles.value.count("vs Q") == 6 and "Detention placements" in board.summary.value


def test_kernels_read_the_snapshot_taken_at_start(monkeypatch, ex, tmp_path):
    import pickle

    snapshot = tmp_path / "extract.pickle"
    snapshot.write_bytes(pickle.dumps(ex))
    monkeypatch.setenv(dashboard.ENV_EXTRACT, str(tmp_path / "gone"))  # the files may change or go: not read
    monkeypatch.setenv(dashboard.ENV_SNAPSHOT, str(snapshot))
    monkeypatch.delenv(dashboard.ENV_AUDIENCE, raising=False)
    dashboard.kernel_session.cache_clear()
    try:
        session = dashboard.kernel_session()
        assert session.extract.table("contacts").height == ex.table("contacts").height
        assert session.audience.name == "internal"
    finally:
        dashboard.kernel_session.cache_clear()


def test_a_port_in_use_is_refused_before_starting(tmp_path):
    import socket

    from workbench.exceptions import WorkbenchError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = dashboard.Server(tmp_path, port=taken.getsockname()[1])
        with pytest.raises(WorkbenchError, match="in use"), dashboard.running(server):
            pass


def test_only_what_changes_is_drawn_again(session):
    board = widgets.Dashboard(session, views.page("overview"), view_of(session))
    tiles, summary, trend = board.tiles.value, board.summary.value, board.charts.trend.value
    board.tiles.value = board.summary.value = board.charts.trend.value = "stale"
    board.breakdown_picker.value = "sex"  # the same records and period: tiles, summary and trend stay
    assert (board.tiles.value, board.summary.value, board.charts.trend.value) == ("stale",) * 3
    assert "Sexe" in board.charts.breakdown.value or "sex" in board.charts.breakdown.value
    board.filters.compare.value = "last_year"  # the tiles change, the rest does not
    assert board.tiles.value != "stale" and board.summary.value == "stale"
    assert tiles and summary and trend


def test_a_chart_of_the_same_shape_reuses_its_spec_with_the_new_rows(ex, session):
    from workbench.present import charts

    area = widgets.ChartArea()
    first = view_of(session, indicator="contacts", breakdown="channel")
    area.show_breakdown(session.breakdown(first).frame, first, ex.meta, None)
    later = replace(first, selection=filters.Selection(sites=("sfax",)))
    table = session.breakdown(later).frame
    area.show_breakdown(table, later, ex.meta, None)  # same shape: the cached spec, with sfax's rows
    fresh = widgets.screen_spec(charts.breakdown_chart(table, "contacts", "channel", "fr", ex.meta))
    assert area.breakdown.value == area._html(fresh, "fr", "contacts/channel")
