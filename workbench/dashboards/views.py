"""What a dashboard shows: pages, the state of its controls, and the figures for that state.

A :class:`Page` (declared in ``dashboards.yaml``) says which key figures, indicators,
breakdowns and summary a dashboard offers. A :class:`View` is the state of its controls
(period, comparison, selection, indicator, breakdown, language). A :class:`Session`
holds one extract for one audience and computes the figures of a view with the same
functions as reports and the command line (:func:`workbench.disclosure.compute`,
``series`` and ``change``, given the view's selection: the filters mean what a report's
``sites``/``centres`` and ``workbench indicators --site …`` mean, see
:mod:`workbench.selection.restriction`), caching results so that moving back and forth
between views is instant.

Views come from widgets or from a URL's query string (:func:`from_query`): every value
is checked against the choices the page and the extract offer; an invalid one falls
back to the default with a notice.

With an audience that suppresses small cells (partner, public, or a threshold), a page
offers no filters: two filtered views could be subtracted from one another (all persons
minus women) to recover a figure that suppression hides, so filtered views are for
internal use only. Everything shown is computed with the audience's suppression.

>>> from workbench import views                                       # doctest: +SKIP
>>> s = views.Session(extract.load("demo"), audience="partner")       # doctest: +SKIP
>>> v, notices = views.from_query("period=2025-Q3&compare=last_year", views.page("overview"), s)  # doctest: +SKIP
>>> s.key_figures(v)                                                  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from urllib.parse import parse_qs, urlencode

import polars as pl
import yaml

from workbench import disclosure, selection as filters
from workbench.indicators.engine import Context, unavailable_indicators
from workbench.indicators.catalogue import load_catalogue
from workbench.indicators.organisation import catalogue_for
from workbench.indicators.engine import unavailable_indicators
from workbench.present.texts import text
from workbench.disclosure.calendar import publication_end, require_published
from workbench.disclosure.suppression import Audience, resolve_audience
from workbench.exceptions import ParameterError, PeriodError
from workbench.periods import Period, closed_periods, parse_period, period_containing, period_run

COMPARISONS = ("previous", "last_year", "none")
KINDS = ("quarter", "month", "half", "year", "range")
from workbench.periods import LANGUAGES  # noqa: E402
TREND_LENGTH = 8
#: Query-string keys of the filters (one per Selection field).
FILTER_KEYS = {"site": "sites", "centre": "centres", "sex": "sex", "age_group": "age_group",
               "nationality": "nationality", "legal_status": "legal_status"}
#: Query-string keys that are not ours and pass silently (Voilà's own).
FOREIGN_KEYS = ("token", "template", "theme")


# --------------------------------------------------------------------------- pages

@cache
def _data() -> dict:
    return yaml.safe_load(resources.files("workbench").joinpath("dashboards", "dashboards.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Page:
    """One dashboard, as declared in ``dashboards.yaml``."""

    name: str
    title: dict[str, str]
    places: tuple[str, ...]
    families: tuple[str, ...]
    tiles: tuple[str, ...]
    indicator: str
    breakdown: str
    summary_dimension: str
    summary_indicators: tuple[str, ...]
    about: dict[str, str] = field(default_factory=dict)
    scope: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Whether the picker also offers the organisation's own indicators (``own_indicators: true``).
    own_indicators: bool = False

    @property
    def indicators(self) -> tuple[str, ...]:
        """The built-in indicators the page's picker offers, in catalogue order."""
        return self.indicators_in(load_catalogue())

    def indicators_in(self, cat) -> tuple[str, ...]:
        """The indicators of ``cat`` the page offers: its families', and an organisation's own
        (ids ``namespace.name``) on a page that takes them."""
        return tuple(i.id for i in cat if i.family in self.families or (self.own_indicators and "." in i.id))


PAGES = ("overview", "detention", "case_management", "explore")


def page(name: str) -> Page:
    """The page called ``name`` (overview, detention, case_management, explore)."""
    pages = _data()["pages"]
    if name not in pages:
        raise ParameterError(f"Unknown dashboard '{name}': use {', '.join(pages)}.")
    p = pages[name]
    return Page(name=name, title=dict(p["title"]), places=tuple(p["places"]), families=tuple(p["families"]),
                tiles=tuple(p["tiles"]), indicator=p["indicator"], breakdown=p["breakdown"],
                summary_dimension=p["summary"]["dimension"], summary_indicators=tuple(p["summary"]["indicators"]),
                about=dict(p.get("about") or {}),
                scope={name: tuple(codes) for name, codes in (p.get("scope") or {}).items()},
                own_indicators=bool(p.get("own_indicators", False)))


def breakdowns_of(indicator: str, cat=None) -> tuple[str, ...]:
    """The single-dimension breakdowns an indicator allows, in catalogue order."""
    return (cat or load_catalogue())[indicator].breakdowns


# --------------------------------------------------------------------------- the view

@dataclass(frozen=True)
class View:
    """The state of a dashboard's controls."""

    period: Period
    compare: str = "previous"
    selection: filters.Selection = field(default_factory=filters.Selection)
    indicator: str = "persons_received"
    breakdown: str = "site"
    lang: str = "fr"
    #: A second breakdown: the table becomes a cross-table breakdown × cross (``None``: none).
    cross: str | None = None

    @property
    def comparison(self) -> Period | None:
        if self.compare == "previous":
            return self.period.previous()
        if self.compare == "last_year":
            return self.period.same_period_last_year()
        return None

    @property
    def age_year(self) -> int | None:
        """The year ages are taken in when filtering on an age group (the year the period ends)."""
        return self.period.end.year if self.selection.age_group else None


def to_query(view: View) -> str:
    """The query string that gives this view back (for a bookmark or a link)."""
    items: list[tuple[str, str]] = [("period", view.period.code), ("compare", view.compare),
                                    ("indicator", view.indicator), ("by", view.breakdown), ("lang", view.lang)]
    if view.cross:
        items.append(("cross", view.cross))
    for key, name in FILTER_KEYS.items():
        items += [(key, code) for code in getattr(view.selection, name)]
    return urlencode(items)


# --------------------------------------------------------------------------- the session

class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class Session:
    """One extract for one audience: choices, defaults and cached figures.

    Parameters
    ----------
    extract
        A loaded :class:`~workbench.extract.Extract` (fixed for the session, never changed).
    audience, threshold
        As for :func:`workbench.disclosure.compute`.
    lang
        The default language of views.
    """

    def __init__(self, extract, audience: str | Audience = "internal", threshold: int | None = None,
                 lang: str = "fr") -> None:
        if lang not in LANGUAGES:
            raise ParameterError(f"Unknown language '{lang}': use {', '.join(LANGUAGES)}.")
        self.extract = extract
        self.audience = resolve_audience(audience, threshold)
        self.lang = lang
        self.choices = filters.choices(extract)
        self.first_day, self.last_day = _span(extract)
        #: The extract's catalogue (``catalogue:`` of its extract.yaml), an organisation's indicators included.
        self.catalogue = catalogue_for(extract)
        self.unavailable = unavailable_indicators(Context(extract), list(self.catalogue), self.catalogue)
        self._results = _LRU(256)

    # -- what the controls offer

    @property
    def filters_allowed(self) -> bool:
        """Filters are for internal use (see the module's note on differencing)."""
        return not self.audience.suppresses

    @property
    def k(self) -> int | None:
        return self.audience.k if self.audience.suppresses else None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of period offered: an outside audience's publication calendar, else every kind."""
        return self.audience.calendar if self.audience.outside else KINDS

    def periods(self, kind: str) -> list[Period]:
        """The calendar periods of ``kind`` that hold data (outside audiences: those published), most recent first."""
        if kind not in self.kinds or kind == "range":
            raise ParameterError(f"Unknown kind of period '{kind}'.")
        out = []
        p = period_containing(self.last_day, kind)
        end = publication_end(self.extract) if self.audience.outside else None
        while p.end >= self.first_day:
            if end is None or p.end <= end:
                out.append(p)
            p = p.previous()
        return out

    def default_period(self) -> Period:
        """The latest quarter closed by the last day with data (else the quarter holding it)."""
        closed = closed_periods("quarterly", self.last_day + dt.timedelta(days=1))[0]
        return closed if closed.end >= self.first_day else period_containing(self.last_day, "quarter")

    def check_period(self, period: str | Period) -> Period:
        """A period offered by the controls: a calendar period with data, or a range in the data's years."""
        p = require_published(period, self.audience, self.extract)
        if p.kind == "range":
            lo, hi = dt.date(self.first_day.year, 1, 1), dt.date(self.last_day.year, 12, 31)
            if p.start < lo or p.end > hi:
                raise ParameterError(f"The range {p.code} goes beyond the data ({lo} to {hi}).")
            return p
        if p not in self.periods(p.kind):
            raise ParameterError(f"{p.code} holds no data (data from {self.first_day} to {self.last_day}).")
        return p

    def indicator_choices(self, pg: Page) -> tuple[str, ...]:
        return tuple(i for i in pg.indicators_in(self.catalogue) if i not in self.unavailable)

    def breakdowns_of(self, indicator: str) -> tuple[str, ...]:
        return breakdowns_of(indicator, self.catalogue)

    def default_view(self, pg: Page) -> View:
        offered = self.indicator_choices(pg)
        if not offered:
            why = sorted(set(self.unavailable[i] for i in pg.indicators_in(self.catalogue) if i in self.unavailable))
            raise ParameterError(f"This extract has nothing for the {pg.name} dashboard ({'; '.join(why)}).")
        indicator = pg.indicator if pg.indicator in offered else offered[0]
        dims = self.breakdowns_of(indicator)
        return View(period=self.default_period(), indicator=indicator, selection=self.scope(pg),
                    breakdown=pg.breakdown if pg.breakdown in dims else dims[0], lang=self.lang)

    def scope(self, pg: Page) -> filters.Selection:
        """The places ``pg`` opens on: its declared codes the extract has (for sites, else the sites
        with cases); no filter when that is every place, or when the page declares none."""
        chosen = {}
        for name, declared in pg.scope.items():
            offered = getattr(self.choices, name)
            kept = tuple(c for c in declared if c in offered)
            if not kept and name == "sites" and "cases" in self.extract.tables:
                kept = tuple(c for c in self.extract.table("cases")["site"].unique().to_list() if c in offered)
            chosen[name] = () if set(kept) == set(offered) else kept
        return filters.Selection(**chosen)

    def check(self, view: View, pg: Page) -> View:
        """The view if every control holds an offered value; else ParameterError."""
        self.check_period(view.period)
        if view.compare not in COMPARISONS:
            raise ParameterError(f"Unknown comparison '{view.compare}': use {', '.join(COMPARISONS)}.")
        if view.indicator not in self.indicator_choices(pg):
            raise ParameterError(f"Indicator '{view.indicator}' is not offered on this page.")
        if view.breakdown not in self.breakdowns_of(view.indicator):
            raise ParameterError(f"'{view.indicator}' cannot be broken down by '{view.breakdown}'.")
        if view.cross is not None and (view.cross == view.breakdown
                                       or view.cross not in self.breakdowns_of(view.indicator)):
            raise ParameterError(f"'{view.indicator}' cannot be crossed by '{view.breakdown}' × '{view.cross}'.")
        if view.lang not in LANGUAGES:
            raise ParameterError(f"Unknown language '{view.lang}'.")
        if not view.selection.is_empty and view.selection != self.scope(pg):  # the page's own scope is no filter
            if not self.filters_allowed:
                raise ParameterError("Filters are not available for this audience.")
            offered = set(pg.places) | set(filters.ATTRIBUTES)
            extra = set(view.selection.active()) - offered
            if extra:
                raise ParameterError(f"This page has no filter on {', '.join(sorted(extra))}.")
            filters.validate(view.selection, self.choices)
        return view

    # -- figures

    def prepare(self) -> None:
        """Select the person attributes that label records now rather than at the first figure: for a
        preheated kernel, before anyone asks for the page (records are joined to them per period)."""
        Context(self.extract).attributes()

    def _compute(self, key, make):
        return self._results.get_or(key, make)

    def key_figures(self, view: View, ids: tuple[str, ...]) -> disclosure.IndicatorTable:
        """Totals of ``ids`` for the period, beside the comparison period's (``disclosure.change``)."""
        ids = tuple(i for i in ids if i not in self.unavailable)
        q = view.comparison
        key = ("tiles", view.selection, view.age_year, view.period, q, ids)

        def make():
            if q is None:
                return disclosure.compute(self.extract, view.period, list(ids), audience=self.audience,
                                          selection=view.selection, catalogue=self.catalogue)
            return disclosure.change(self.extract, view.period, compare_to=q, indicators=list(ids),
                                     audience=self.audience, selection=view.selection, catalogue=self.catalogue)

        return self._compute(key, make)

    def trend_periods(self, view: View) -> list[Period]:
        """Up to eight periods ending with the view's, from the first that holds data."""
        run = period_run(view.period, TREND_LENGTH)
        return [p for p in run if p.end >= self.first_day] or [view.period]

    def trend(self, view: View) -> disclosure.IndicatorTable:
        """The view's indicator over the trend periods (totals; with an age-group filter, each
        period's ages are taken in the year it ends, as a report of that period would)."""
        run = self.trend_periods(view)
        key = ("trend", view.selection, tuple(run), view.indicator)
        return self._compute(key, lambda: disclosure.series(self.extract, run, [view.indicator],
                                                            audience=self.audience, selection=view.selection,
                                                            catalogue=self.catalogue))

    def breakdown(self, view: View) -> disclosure.IndicatorTable:
        """The view's indicator for the period: total, then its breakdown (with a cross: the cross and
        both margins, each protected as its own breakdown)."""
        from workbench.present.crosses import cross_breakdowns

        by = cross_breakdowns(view.breakdown, view.cross) if view.cross else [view.breakdown]
        key = ("breakdown", view.selection, view.age_year, view.period, view.indicator, tuple(by))
        return self._compute(key, lambda: disclosure.compute(self.extract, view.period, [view.indicator],
                                                             by=by, audience=self.audience,
                                                             selection=view.selection, catalogue=self.catalogue))

    def summary(self, view: View, pg: Page) -> disclosure.IndicatorTable:
        """The page's summary indicators by its summary dimension."""
        ids = tuple(i for i in pg.summary_indicators if i not in self.unavailable)
        key = ("summary", view.selection, view.age_year, view.period, ids, pg.summary_dimension)
        return self._compute(key, lambda: disclosure.compute(self.extract, view.period, list(ids),
                                                             by=[pg.summary_dimension], audience=self.audience,
                                                             selection=view.selection, catalogue=self.catalogue))


def registering_without_contacts(frame: pl.DataFrame, dimension: str) -> tuple[str, ...]:
    """The categories of ``dimension`` (e.g. teams) where persons were registered in the period but no
    contact was recorded: their "persons received" and "contacts" read 0 beside new persons, which is
    right by definition and needs saying. Only figures shown (not suppressed) are read.

    ``frame``: an indicator table by ``dimension`` holding ``new_persons`` and ``contacts``.
    """
    if dimension not in frame.columns or not {"new_persons", "contacts"} <= set(frame["indicator"].to_list()):
        return ()
    rows = frame.filter(pl.col(dimension).is_not_null() & pl.col("indicator").is_in(["new_persons", "contacts"]))
    values = {(r["indicator"], r[dimension]): r["value"] for r in rows.iter_rows(named=True)}
    out = []
    for code in sorted({c for _, c in values}):
        new, contacts = values.get(("new_persons", code)), values.get(("contacts", code), 0)
        if new is not None and new > 0 and contacts == 0:
            out.append(code)
    return tuple(out)


def _span(ex) -> tuple[dt.date, dt.date]:
    """First and last day with activity (registrations, contacts), the last no later than the extract date."""
    days = []
    for table, column in (("persons", "registered_on"), ("contacts", "date")):
        col = ex.table(table)[column]
        days += [d for d in (col.min(), col.max()) if d is not None]
    if not days:
        today = ex.meta.extracted_on or dt.date(2000, 1, 1)
        return today, today
    first, last = min(days), max(days)
    if ex.meta.extracted_on:
        last = min(last, ex.meta.extracted_on)
    return first, max(first, last)


# --------------------------------------------------------------------------- query strings

@dataclass(frozen=True)
class Notice:
    """Query-string values that were not used, why, and what was applied instead (shown escaped).

    ``reason``: ``unknown`` (a key that is not ours), ``invalid`` (a value not offered) or
    ``not_offered`` (a filter this page or audience does not offer). ``applied``: what the
    page shows instead, as ``key=value`` (the other values of the same key, or the default);
    empty for a filter means every code (no filter).
    """

    key: str
    value: str
    reason: str
    applied: str = ""

    def html(self, lang: str) -> str:
        shown = html.escape(self.value[:40] + ("…" if len(self.value) > 40 else ""))
        colon = " : " if lang == "fr" else ": "
        what = text(f"dashboard.notice_{self.reason}", lang)
        out = f"{what}{colon}<code>{html.escape(self.key[:30])}={shown}</code>"
        if self.reason == "unknown":
            return out
        if self.applied:
            return f"{out} — {text('dashboard.notice_applied', lang)}{colon}<code>{html.escape(self.applied)}</code>"
        return f"{out} — {text('dashboard.notice_all', lang)}"


def _values(raw: list[str]) -> list[str]:
    out = []
    for item in raw:
        out += [v.strip() for v in item.split(",") if v.strip()]
    return out


def _match(value: str, allowed: tuple[str, ...]) -> str | None:
    if value in allowed:
        return value
    folded = {a.casefold(): a for a in allowed}
    return folded.get(value.casefold())


def from_query(query: str, pg: Page, session: Session) -> tuple[View, list[Notice]]:
    """The view a query string asks for, and a notice per value that could not be used.

    ``period`` (2025-Q3, 2025-07, 2025, 2025-H1, 2025-01-01..2025-03-31), ``compare``
    (previous, last_year, none), ``site`` / ``centre`` / ``sex`` / ``age_group`` /
    ``nationality`` / ``legal_status`` (repeated or comma-separated codes),
    ``indicator``, ``by`` and ``lang``. Anything else is reported and ignored.
    """
    view = session.default_view(pg)
    notices: list[Notice] = []
    try:
        params = parse_qs(query or "", keep_blank_values=True, max_num_fields=50)
    except ValueError:
        return view, [Notice("?", (query or "")[:40], "unknown")]

    def first(key: str) -> str | None:
        values = params.get(key)
        return values[-1] if values else None

    if (lang := first("lang")) is not None:
        if lang in LANGUAGES:
            view = replace(view, lang=lang)
        else:
            notices.append(Notice("lang", lang, "invalid", f"lang={view.lang}"))
    if (period := first("period")) is not None:
        try:
            view = replace(view, period=session.check_period(period))
        except (PeriodError, ParameterError):
            notices.append(Notice("period", period, "invalid", f"period={view.period.code}"))
    if (compare := first("compare")) is not None:
        if compare in COMPARISONS:
            view = replace(view, compare=compare)
        else:
            notices.append(Notice("compare", compare, "invalid", f"compare={view.compare}"))
    if (indicator := first("indicator")) is not None:
        if indicator in session.indicator_choices(pg):
            dims = session.breakdowns_of(indicator)
            view = replace(view, indicator=indicator,
                           breakdown=view.breakdown if view.breakdown in dims else dims[0])
        else:
            notices.append(Notice("indicator", indicator, "invalid", f"indicator={view.indicator}"))
    if (by := first("by")) is not None:
        if by in session.breakdowns_of(view.indicator):
            view = replace(view, breakdown=by)
        else:
            notices.append(Notice("by", by, "invalid", f"by={view.breakdown}"))
    if (cross := first("cross")) is not None:
        if cross in session.breakdowns_of(view.indicator) and cross != view.breakdown:
            view = replace(view, cross=cross)
        else:
            notices.append(Notice("cross", cross, "invalid"))
    chosen: dict[str, tuple[str, ...]] = {}
    for key, name in FILTER_KEYS.items():
        if key not in params:
            continue
        offered = (name in pg.places or name in filters.ATTRIBUTES) and session.filters_allowed
        allowed = getattr(session.choices, name)
        kept, refused = [], []
        for value in _values(params[key]):
            match = _match(value, allowed) if offered else None
            (refused if match is None else kept).append(value if match is None else match)
        if kept:
            chosen[name] = tuple(kept)
        if refused:
            instead = kept or getattr(view.selection, name)  # else the page's scope
            applied = f"{key}={','.join(instead)}" if instead else ""
            notices.append(Notice(key, ",".join(refused), "invalid" if offered else "not_offered", applied))
    if chosen:
        view = replace(view, selection=view.selection.replace(**chosen))
    for key in params:
        if key not in FILTER_KEYS and key not in FOREIGN_KEYS and \
                key not in ("lang", "period", "compare", "indicator", "by", "cross"):
            notices.append(Notice(key, ",".join(params[key]), "unknown"))
    return session.check(view, pg), notices


__all__ = ["COMPARISONS", "KINDS", "Notice", "PAGES", "Page", "Session", "View", "breakdowns_of", "from_query",
           "page", "registering_without_contacts", "to_query"]
