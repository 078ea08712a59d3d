"""Reporting periods: years, half-years, quarters, months, ISO weeks and date ranges.

Both days of a period are included. Periods are written as text in parameters
and on the command line (``2024``, ``2024-H1``, ``2024-Q3``, ``2024-07``,
``2025-W44``, ``2024-01-15..2024-03-31``) and parsed with :func:`parse_period`. Everything here
is pure: no I/O and no wall clock (``as_of`` is always given).

>>> p = parse_period("2024-q3")
>>> p.code, p.days, p.previous().code, p.label("fr")
('2024-Q3', 92, '2024-Q2', 'T3 2024')
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

import polars as pl
from babel.dates import format_date

from workbench.exceptions import ParameterError, PeriodError

#: Months in one period of each calendar kind.
_MONTHS = {"year": 12, "half": 6, "quarter": 3, "month": 1}
KINDS = ("year", "half", "quarter", "month", "week", "range")
#: The languages a reader can choose (reports, dashboards, exports, forms, e-mails). French and English
#: are complete in every catalogue; Arabic and Dutch are merged from ``*.ar.yaml``/``*.nl.yaml`` and fall
#: back to :data:`FALLBACK` where a text is missing (see docs/languages.md).
LANGUAGES = ("fr", "en", "ar", "nl")
#: The language shown where a translation is missing.
FALLBACK = "fr"
#: Languages written right to left.
RTL = ("ar",)
#: The babel locale of each language: Tunisian Arabic (Latin digits, ``ar_TN``'s default numbering
#: system) and Belgian Dutch.
LOCALES: Mapping[str, str] = MappingProxyType({"fr": "fr_FR", "en": "en_GB", "ar": "ar_TN", "nl": "nl_BE"})
#: Short names of the kinds of period, by language: half-year, quarter, week.
_KIND_WORDS = {"fr": ("S", "T", "semaine"), "en": ("H", "Q", "week"), "ar": ("السداسي ", "الثلاثي ", "الأسبوع"),
               "nl": ("S", "K", "week")}
#: Cadence name (as written in parameters) -> kind of period.
CADENCES: Mapping[str, str] = MappingProxyType(
    {"weekly": "week", "monthly": "month", "quarterly": "quarter", "half-yearly": "half", "yearly": "year"})

_FORMS = ("year '2024', half-year '2024-H1' or '2024-H2', quarter '2024-Q1' to '2024-Q4', "
          "month '2024-07', ISO week '2025-W44' (Monday to Sunday), date range '2024-01-15..2024-03-31' (ISO dates, start <= end)")
_PATTERNS = (
    ("year", re.compile(r"(\d{4})")),
    ("half", re.compile(r"(\d{4})-H(\d)")),
    ("quarter", re.compile(r"(\d{4})-Q(\d)")),
    ("month", re.compile(r"(\d{4})-(\d{2})")),
    ("week", re.compile(r"(\d{4})-W(\d{1,2})")),
    ("range", re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")),
)


def _error(text: object, reason: str = "") -> PeriodError:
    why = f" ({reason})" if reason else ""
    return PeriodError(f"Cannot read the period {text!r}{why}. Accepted forms: {_FORMS}.")


def _calendar_end(kind: str, year: int, month: int) -> date:
    """Last day of the calendar period of ``kind`` whose first month is ``year``-``month``."""
    y, m = divmod(year * 12 + month - 2 + _MONTHS[kind], 12)  # the period's last month
    return date(y, m + 1, monthrange(y, m + 1)[1])


def _week(year: int, week: int) -> Period:
    """ISO week ``week`` of ISO year ``year``: Monday to Sunday."""
    start = date.fromisocalendar(year, week, 1)
    return Period(start, start + timedelta(days=6), "week")


def _weeks_in(year: int) -> int:
    """Number of ISO weeks of an ISO year (52 or 53)."""
    return date(year, 12, 28).isocalendar()[1]


def _calendar(kind: str, year: int, month: int) -> Period:
    """The period of a calendar ``kind`` whose first month is ``year``-``month``."""
    return Period(date(year, month, 1), _calendar_end(kind, year, month), kind)


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period from ``start`` to ``end``, both days included.

    Periods sort by (start, end); ``kind`` only breaks ties.

    >>> Period(date(2024, 7, 1), date(2024, 9, 30), "quarter").code
    '2024-Q3'
    """

    start: date
    end: date
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PeriodError(f"Unknown kind of period {self.kind!r}; expected one of {', '.join(KINDS)}.")
        for d in (self.start, self.end):
            if not isinstance(d, date) or isinstance(d, datetime):
                raise PeriodError(f"A period starts and ends on dates, not {d!r}.")
        if self.start > self.end:
            raise PeriodError(f"A period cannot start ({self.start}) after it ends ({self.end}).")
        if self.kind == "week":
            if self.start.isoweekday() != 1 or (self.end - self.start).days != 6:
                raise PeriodError(f"{self.start}..{self.end} is not an ISO week (Monday to Sunday).")
        elif self.kind != "range" and (self.start.day != 1 or (self.start.month - 1) % _MONTHS[self.kind]
                                     or _calendar_end(self.kind, self.start.year, self.start.month) != self.end):
            raise PeriodError(f"{self.start}..{self.end} is not a calendar {self.kind}.")

    @property
    def code(self) -> str:
        """Canonical text, which :func:`parse_period` reads back.

        >>> parse_period("2024 - h2").code
        '2024-H2'
        """
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"{iso[0]:04d}-W{iso[1]:02d}"
        y, m = self.start.year, self.start.month
        return {"year": f"{y:04d}", "half": f"{y:04d}-H{(m + 5) // 6}", "quarter": f"{y:04d}-Q{(m + 2) // 3}",
                "month": f"{y:04d}-{m:02d}", "range": f"{self.start}..{self.end}"}[self.kind]

    def __str__(self) -> str:
        return self.code

    @property
    def days(self) -> int:
        """Number of days, both ends included.

        >>> parse_period("2024-02").days
        29
        """
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        """Whether day ``d`` (a date or datetime) falls within the period."""
        if isinstance(d, datetime):
            d = d.date()
        return self.start <= d <= self.end

    def expr_contains(self, col: pl.Expr) -> pl.Expr:
        """Polars expression: ``start <= col <= end`` (datetimes compared by their day)."""
        return col.cast(pl.Date).is_between(pl.lit(self.start), pl.lit(self.end), closed="both")

    def shift(self, n: int) -> Period:
        """The period ``n`` periods later (earlier if negative), of the same kind and length.

        >>> parse_period("2024-11").shift(3).code
        '2025-02'
        >>> parse_period("2024-01-01..2024-01-10").shift(-1).code
        '2023-12-22..2023-12-31'
        """
        try:
            if self.kind == "week":
                step = timedelta(days=7 * n)
                return Period(self.start + step, self.end + step, "week")
            if self.kind == "range":
                step = timedelta(days=n * self.days)
                return Period(self.start + step, self.end + step, "range")
            y, m = divmod(self.start.year * 12 + self.start.month - 1 + n * _MONTHS[self.kind], 12)
            return _calendar(self.kind, y, m + 1)
        except (ValueError, OverflowError):
            raise PeriodError(f"Shifting {self.code} by {n} leaves the calendar (years 1 to 9999).") from None

    def previous(self) -> Period:
        """The period just before, of the same length (``shift(-1)``).

        >>> parse_period("2024-H1").previous().code
        '2023-H2'
        """
        return self.shift(-1)

    def same_period_last_year(self) -> Period:
        """The same period one year earlier (for a range, 29 February becomes the 28th).

        >>> parse_period("2024-02-29..2024-03-31").same_period_last_year().code
        '2023-02-28..2023-03-31'
        """
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            try:
                return _week(year - 1, min(week, _weeks_in(year - 1)))
            except ValueError:
                raise PeriodError(f"{self.code} has no same period the year before.") from None
        if self.kind != "range":
            return self.shift(-12 // _MONTHS[self.kind])

        def back(d: date) -> date:
            return d.replace(year=d.year - 1, day=28 if (d.month, d.day) == (2, 29) else d.day)

        if self.start.year == 1:
            raise PeriodError(f"{self.code} has no same period the year before.")
        return Period(back(self.start), back(self.end), "range")

    def label(self, lang: str = "fr") -> str:
        """Human label in one of :data:`LANGUAGES`.

        >>> parse_period("2024-Q3").label("fr"), parse_period("2024-07").label("en")
        ('T3 2024', 'July 2024')
        """
        if lang not in LANGUAGES:
            raise ParameterError(f"Unknown language {lang!r} for a period label; expected one of "
                                 f"{', '.join(LANGUAGES)}.")
        y, m = self.start.year, self.start.month
        if self.kind == "year":
            return str(y)
        if self.kind == "half":
            return f"{_KIND_WORDS[lang][0]}{(m + 5) // 6} {y}"
        if self.kind == "quarter":
            return f"{_KIND_WORDS[lang][1]}{(m + 2) // 3} {y}"
        locale = lang if lang in ("fr", "en") else LOCALES[lang]  # as before for fr/en ("Sep", not "Sept")
        if self.kind == "month":
            return format_date(self.start, "LLLL y", locale=locale)
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{_KIND_WORDS[lang][2]} {week} {year}"
        return f"{format_date(self.start, 'd MMM y', locale=locale)} – {format_date(self.end, 'd MMM y', locale=locale)}"


def parse_period(text: str | Period) -> Period:
    """Read a period from text (spaces and case do not matter); a Period passes through.

    >>> parse_period(" 2024-q1 ")
    Period(start=datetime.date(2024, 1, 1), end=datetime.date(2024, 3, 31), kind='quarter')
    """
    if isinstance(text, Period):
        return text
    if not isinstance(text, str):
        raise _error(text, "not text")
    clean = re.sub(r"\s+", "", text).upper()
    if not clean:
        raise _error(text, "empty")
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(clean)
        if not match:
            continue
        a, b = match.group(1), match.group(match.lastindex or 1)
        if kind == "range":
            for iso in (a, b):
                try:
                    date.fromisoformat(iso)
                except ValueError:
                    raise _error(text, f"{iso} is not a date of the calendar") from None
            start, end = date.fromisoformat(a), date.fromisoformat(b)
            if start > end:
                raise _error(text, "the range starts after it ends")
            return Period(start, end, "range")
        year, part = int(a), int(b)
        if year < 1:
            raise _error(text, "year 0000 does not exist")
        if kind == "week":
            if not 1 <= part <= _weeks_in(year):
                raise _error(text, f"ISO year {year} has weeks 1 to {_weeks_in(year)}")
            return _week(year, part)
        if kind == "year":
            return _calendar("year", year, 1)
        count = 12 // _MONTHS[kind]
        if not 1 <= part <= count:
            name = {"half": "half-year", "quarter": "quarter", "month": "month"}[kind]
            raise _error(text, f"{name} {part} does not exist: they go from 1 to {count}")
        return _calendar(kind, year, (part - 1) * _MONTHS[kind] + 1)
    raise _error(text)


def period_run(last: str | Period, n: int) -> list[Period]:
    """The ``n`` consecutive periods of the same kind ending with ``last``, oldest first.

    >>> [p.code for p in period_run("2024-Q1", 3)]
    ['2023-Q3', '2023-Q4', '2024-Q1']
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise PeriodError(f"A run of periods needs at least one period, not {n!r}.")
    last = parse_period(last)
    return [last.shift(k) for k in range(1 - n, 1)]


def period_containing(d: date, kind: str) -> Period:
    """The calendar period of ``kind`` (year, half, quarter, month, week) that contains day ``d``.

    >>> period_containing(date(2024, 8, 15), "half").code
    '2024-H2'
    >>> period_containing(date(2025, 10, 30), "week").code
    '2025-W44'
    """
    if isinstance(d, datetime):
        d = d.date()
    if kind == "week":
        year, week, _ = d.isocalendar()
        return _week(year, week)
    if kind not in _MONTHS:
        raise ParameterError(f"Unknown kind of calendar period {kind!r}; expected one of {', '.join(_MONTHS)}, week.")
    size = _MONTHS[kind]
    return _calendar(kind, d.year, (d.month - 1) // size * size + 1)


def closed_periods(cadence: str, as_of: date, lag_days: int = 0,
                   since: date | str | Period | None = None) -> list[Period]:
    """Periods of a cadence that are closed on ``as_of``, oldest first.

    A period is closed once ``end + lag_days < as_of``. Without ``since`` only the
    latest closed period is returned; otherwise every period from the one containing
    ``since`` (a date, or the start of a period) up to the latest closed one.

    >>> [p.code for p in closed_periods("quarterly", date(2024, 10, 1))]
    ['2024-Q3']
    >>> [p.code for p in closed_periods("monthly", date(2024, 3, 5), lag_days=5, since="2023-12")]
    ['2023-12', '2024-01']
    """
    if cadence not in CADENCES:
        raise ParameterError(f"Unknown cadence {cadence!r}; expected one of {', '.join(CADENCES)}.")
    if isinstance(lag_days, bool) or not isinstance(lag_days, int) or lag_days < 0:
        raise ParameterError(f"lag_days must be a whole number of days >= 0, not {lag_days!r}.")
    kind = CADENCES[cadence]
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    cutoff = as_of - timedelta(days=lag_days + 1)  # the last day a closed period may end on
    latest = period_containing(cutoff, kind)
    if latest.end > cutoff:
        latest = latest.previous()
    if since is None:
        return [latest]
    first_day = since.date() if isinstance(since, datetime) else since
    if not isinstance(first_day, date):
        first_day = parse_period(first_day).start
    first = period_containing(first_day, kind)
    run = []
    while first.start <= latest.start:
        run.append(first)
        first = first.shift(1)
    return run
