"""One selection, one figure: a report, a dashboard and ``workbench indicators`` agree.

The report's figure is computed in-process through :class:`workbench.reports.sections.Report`
(as its notebook would), the dashboard's through :class:`workbench.dashboards.views.Session`,
and the command line's through click's runner. The meanings themselves are checked against
an oracle that does not restrict anything: a restricted total equals the matching row of
the ``--by site`` / ``--by centre`` breakdown of the whole extract.
"""

from __future__ import annotations

import io
from dataclasses import replace

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import disclosure, extract
from workbench.cli.main import main as cli
from workbench.dashboards import views
from workbench.extract import demo
from workbench.indicators.catalogue import load_catalogue
from workbench.periods import parse_period
from workbench.reports import sections
from workbench.selection import Selection, choices, restrict

PERIODS = ("2025", "2025-Q4", "2025-Q1", "2024-H2", "2025-10")
IDS = ("persons_received", "new_persons", "contacts", "cases_opened", "referrals_made",
       "legal_action_success_rate", "detention_placements", "persons_with_protection_concerns")
CLI_OPTION = {"sites": "--site", "centres": "--centre", "sex": "--sex", "age_group": "--age-group",
              "nationality": "--nationality", "legal_status": "--legal-status"}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return demo.write(tmp_path_factory.mktemp("selection") / "demo")


@pytest.fixture(scope="module")
def ex(demo_dir):
    return extract.load(demo_dir)


def report_figures(demo_dir, ex, selection: Selection, period: str, ids) -> dict[str, float | None]:
    values = {"extract": str(demo_dir), "period": period, "sites": list(selection.sites) or None}
    report = sections.open_report("explore", {**values, "centres": list(selection.centres) or None})
    if not selection.is_empty and (selection.active().keys() - {"sites", "centres"}):
        report = replace(report, selection=selection)  # person filters: a report made on that selection
    return _values(report.table(list(ids)))


def dashboard_figures(ex, selection: Selection, period: str, ids) -> dict[str, float | None]:
    session = views.Session(ex)
    view = views.View(period=parse_period(period), compare="none", selection=selection)
    return _values(session.key_figures(view, tuple(ids)).frame)


def command_figures(demo_dir, selection: Selection, period: str, ids) -> dict[str, float | None]:
    args = ["indicators", str(demo_dir), "--period", period]
    args += [a for i in ids for a in ("-i", i)]
    for name, codes in selection.active().items():
        args += [a for c in codes for a in (CLI_OPTION[name], c)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(io.StringIO(result.stdout), schema_overrides={"value": pl.Float64, "period": pl.String})
    return _values(rows)


def _values(frame: pl.DataFrame) -> dict[str, float | None]:
    return {r["indicator"]: r["value"] for r in frame.iter_rows(named=True)}


@st.composite
def selections(draw, known):
    pick = lambda codes: tuple(draw(st.lists(st.sampled_from(codes), max_size=2, unique=True)))  # noqa: E731
    sites, centres = pick(known.sites), pick(known.centres)
    attributes = {}
    if draw(st.booleans()):
        name = draw(st.sampled_from(("sex", "age_group", "nationality", "legal_status")))
        attributes[name] = pick(getattr(known, name)[:6])
    return Selection(sites=sites, centres=centres, **attributes)


def test_report_dashboard_and_command_line_agree_on_any_selection(demo_dir, ex):
    known = choices(ex)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(selection=selections(known), period=st.sampled_from(PERIODS))
    def agree(selection, period):
        report = report_figures(demo_dir, ex, selection, period, IDS)
        dashboard = dashboard_figures(ex, selection, period, IDS)
        command = command_figures(demo_dir, selection, period, IDS)
        assert report == dashboard == command, (selection, period)

    agree()


def test_sfax_2025_new_persons_is_one_figure(demo_dir, ex):
    """Issue 10: a report scoped to sfax said 304 new persons, the dashboard and --by site 230."""
    sfax = Selection(sites=("sfax",))
    ids = ("new_persons", "legal_action_success_rate")
    by_site = disclosure.compute(ex, "2025", ["new_persons"], by="site").frame.filter(site="sfax")
    registered = ex.table("persons").filter(pl.col("site") == "sfax",
                                            pl.col("registered_on").dt.year() == 2025).height
    report = report_figures(demo_dir, ex, sfax, "2025", ids)
    assert report == dashboard_figures(ex, sfax, "2025", ids) == command_figures(demo_dir, sfax, "2025", ids)
    assert report["new_persons"] == by_site["value"].item() == registered


SITE_IDS = [i.id for i in load_catalogue() if "site" in i.breakdowns]
CENTRE_IDS = [i.id for i in load_catalogue() if "centre" in i.breakdowns]
UNITS = {i.id: i.unit for i in load_catalogue()}


@pytest.mark.parametrize("period", ["2025", "2025-Q2"])
def test_a_restricted_total_is_the_breakdown_row(ex, period):
    known = choices(ex)
    for dim, ids, field in (("site", SITE_IDS, "sites"), ("centre", CENTRE_IDS, "centres")):
        rows = disclosure.compute(ex, period, ids, by=dim).frame.filter(pl.col(dim).is_not_null())
        for code in getattr(known, field):
            total = disclosure.compute(ex, period, ids, selection=Selection(**{field: (code,)})).frame
            for r in total.iter_rows(named=True):
                row = rows.filter((pl.col("indicator") == r["indicator"]) & (pl.col(dim) == code))
                # No breakdown row: the category holds nothing in the period (an empty population).
                unit = UNITS[r["indicator"]]
                empty = (0.0, 0, None) if unit == "count" else (None, 0, 0) if unit in ("rate", "ratio") \
                    else (None, None, 0)
                want = (row["value"].item(), row["numerator"].item(), row["denominator"].item()) \
                    if row.height else empty
                assert (r["value"], r["numerator"], r["denominator"]) == want, (r["indicator"], code)


def test_restrict_changes_nothing_it_is_given(ex):
    before = {name: frame.clone() for name, frame in ex.tables.items()}
    restrict(ex, Selection(sites=("sfax",), sex=("female",)), 2025)
    disclosure.compute(ex, "2025", ["contacts"], selection=Selection(centres=("cra_guyane",)))
    assert ex.attributes is None and all(ex.tables[n].equals(f) for n, f in before.items())
    assert not hasattr(ex, "_cache")


def test_a_legal_action_of_another_sites_case_is_left_out(ex):
    sfax = restrict(ex, Selection(sites=("sfax",)))
    cases = ex.table("cases").filter(pl.col("site") != "sfax")["case_id"]
    assert not sfax.table("legal_actions")["case_id"].is_in(cases.implode()).any()
    assert not sfax.table("referrals")["case_id"].is_in(cases.implode()).any()


def test_an_unknown_code_is_refused_with_the_choices(ex):
    from workbench.exceptions import ParameterError

    with pytest.raises(ParameterError, match="did you mean 'sfax'"):
        disclosure.compute(ex, "2025", ["contacts"], selection=Selection(sites=("sfx",)))
