"""The publication calendar of outside audiences.

Outside audiences receive the calendar periods their declaration lists (``partner``:
years, half-years, quarters and months; ``public``: years, half-years and quarters), and
only those that ended on or before the extract's date (``extracted_on``, else its last
record date). A date range or a week would let a reader subtract two overlapping periods
and recover a few days, so it is refused (:class:`UnpublishedPeriodError`).

Figures are protected per calendar year: its *levels* (the year; its halves; quarters;
months) hold the published units, coarsest first (:func:`levels`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.exceptions import UnpublishedPeriodError
from workbench.periods import Period, parse_period

ORDER = ("year", "half", "quarter", "month")
_PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12}
_NAMES = {"year": "years", "half": "half-years", "quarter": "quarters", "month": "months"}
_EXAMPLE = {"year": "{y}", "half": "{y}-H1", "quarter": "{y}-Q1", "month": "{y}-01"}


def publication_end(extract) -> dt.date | None:
    """The last day an outside audience may see: ``extracted_on``, else the extract's last record date."""
    meta = getattr(extract, "meta", None)
    if meta is not None and meta.extracted_on is not None:
        return meta.extracted_on
    last = None
    for frame in getattr(extract, "tables", {}).values():
        for name, dtype in frame.schema.items():
            if dtype == pl.Date and frame.height:
                d = frame[name].max()
                if d is not None and (last is None or d > last):
                    last = d
    return last


def require_published(period: str | Period, audience, extract=None) -> Period:
    """The period if the audience's calendar publishes it, else :class:`UnpublishedPeriodError`.

    >>> from workbench.disclosure.audiences import resolve_audience
    >>> require_published("2025-Q3", resolve_audience("public")).code
    '2025-Q3'
    >>> require_published("2025-10-01..2025-12-30", resolve_audience("partner"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench.exceptions.UnpublishedPeriodError: The period 2025-10-01..2025-12-30 is not published ...
    """
    p = parse_period(period)
    if not getattr(audience, "outside", False):
        return p
    kinds = audience.calendar
    if p.kind not in kinds:
        forms = ", ".join(f"{_NAMES[k]} ({_EXAMPLE[k].format(y=p.end.year)})" for k in kinds)
        raise UnpublishedPeriodError(
            f"The period {p.code} is not published to the '{audience.name}' audience, which receives calendar "
            f"periods only: {forms}. A free range or a week would let a small figure be recovered by "
            f"subtracting two overlapping periods. Choose one of these periods, or the internal audience.")
    end = publication_end(extract) if extract is not None else None
    if end is not None and p.end > end:
        raise UnpublishedPeriodError(
            f"The period {p.code} is not published to the '{audience.name}' audience: it ends on {p.end}, after "
            f"the extract's date ({end}). Only periods that have ended are published; choose an earlier period.")
    return p


def levels(year: int, audience, end: dt.date | None) -> list[tuple[str, list[Period]]]:
    """The published units of a calendar year for ``audience``, level by level, coarsest first.

    >>> from workbench.disclosure.audiences import resolve_audience
    >>> [(k, len(u)) for k, u in levels(2025, resolve_audience("partner"), dt.date(2025, 11, 15))]
    [('half', 1), ('quarter', 3), ('month', 10)]
    """
    first = {"year": f"{year:04d}", "half": f"{year:04d}-H1", "quarter": f"{year:04d}-Q1", "month": f"{year:04d}-01"}
    out = []
    for kind in ORDER:
        if kind not in audience.calendar:
            continue
        start = parse_period(first[kind])
        units = [u for u in (start.shift(i) for i in range(_PER_YEAR[kind])) if end is None or u.end <= end]
        if units:
            out.append((kind, units))
    return out
