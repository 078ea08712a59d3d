"""Whether an extract covers a reporting period: the guard against reports of a future the data has not seen.

An extract knows what happened up to its ``extracted_on`` date (``extract.yaml``). A period that
starts after that day has no data at all: a report of it would be all zeros with the open cases
carried forward, so :func:`check` refuses it (:class:`~workbench.exceptions.PeriodError`, exit 2).
A period that ends after that day is only partly covered: the report says so in its title block
(:func:`coverage` gives ``"partial"``), and ``workbench due`` does not schedule it.

>>> import datetime as dt
>>> from workbench.periods import parse_period
>>> [coverage(parse_period(p), dt.date(2026, 1, 15)) for p in ("2025-Q4", "2026-Q1", "2026-Q3")]
['full', 'partial', 'after']
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from workbench.exceptions import PeriodError


def coverage(period, extracted_on: dt.date | None) -> str:
    """``"full"``, ``"partial"`` (the period ends after the extraction day) or ``"after"`` (it starts after it).

    An extract without ``extracted_on`` is taken to cover every period (``"full"``)."""
    if extracted_on is None or period.end <= extracted_on:
        return "full"
    return "partial" if period.start <= extracted_on else "after"


def extraction_day(extract: str | Path) -> dt.date | None:
    """``extracted_on`` of the extract folder's ``extract.yaml`` (``None`` when it has none)."""
    from workbench.extract.files import discover
    from workbench.extract.loading import read_metadata

    found = discover(Path(extract))
    if not found.metadata_file or not Path(found.metadata_file).exists():
        return None
    return read_metadata(found.metadata_file).extracted_on


def check(period, extracted_on: dt.date | None, where: str = "") -> str:
    """:func:`coverage`, refusing a period that starts after the extraction day."""
    found = coverage(period, extracted_on)
    if found == "after":
        raise PeriodError(
            f"The period {period.code} starts on {period.start.isoformat()}, after the extract was taken "
            f"(extracted_on {extracted_on.isoformat()} in extract.yaml){where}: it holds no data for it. "
            "Choose an earlier period or render from a newer extract.")
    return found
