"""One call from an indicator table to a chart or a publication table (``wb.chart``, ``wb.table``).

They choose among :mod:`workbench.present.charts` and :mod:`workbench.present.tables`
by the shape of the table, so a researcher in a notebook need not know their names.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from workbench.exceptions import ParameterError
from workbench.present import charts, tables


def _unwrap(table, kwargs: dict) -> pl.DataFrame:
    """The frame of an indicator table (its k passed on unless given), or a plain frame as it is."""
    frame = getattr(table, "frame", None)
    if frame is None:
        return table
    kwargs.setdefault("k", table.k)
    return frame


def _indicators(table: pl.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["indicator"].to_list()))


def _one(table: pl.DataFrame, indicator: str | None) -> str:
    found = _indicators(table)
    if indicator is None:
        if len(found) != 1:
            raise ParameterError(f"The table holds {len(found)} indicators ({', '.join(found[:5])}…): "
                                 "name one with indicator=.")
        return found[0]
    if indicator not in found:
        raise ParameterError(f"Indicator {indicator!r} is not in the table; it holds {', '.join(found)}.")
    return indicator


def chart(table: pl.DataFrame, indicator: str | None = None, by: str | None = None, lang: str = "fr", **kwargs):
    """A chart of one indicator: its breakdown ``by`` a dimension, or its trend over periods.

    Parameters
    ----------
    table
        An indicator table from ``wb.compute`` (breakdown chart) or ``wb.series`` (trend chart).
    indicator
        The indicator to draw; may be left out when the table holds only one.
    by
        The breakdown dimension (``"sex"``, ``"site"``…). Left out, a table covering several
        periods gives the trend of the totals.
    lang
        ``"fr"`` or ``"en"``.
    **kwargs
        Passed on (``title``, ``width``, ``k``, ``meta``).

    Returns
    -------
    altair.LayerChart
        Suppressed cells show ``< k`` without a bar or point.

    Examples
    --------
    >>> import workbench as wb
    >>> ex = wb.load(demo_extract)
    >>> by_sex = wb.compute(ex, "2025-Q4", indicators="persons_received", by="sex", audience="public")
    >>> wb.chart(by_sex, by="sex").to_dict()["layer"][0]["mark"]["type"]
    'bar'
    >>> trend = wb.series(ex, ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"], indicators="persons_received")
    >>> wb.chart(trend).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    table = _unwrap(table, kwargs)
    name = _one(table, indicator)
    if by is not None:
        return charts.breakdown_chart(table, name, by, lang, **kwargs)
    if table["period"].n_unique() < 2:
        raise ParameterError("One period and no breakdown: nothing to draw. Give by=DIMENSION, or a table "
                             "from wb.series over several periods for a trend.")
    return charts.trend_chart(table, name, lang, **kwargs)


def table(table: pl.DataFrame, indicators: str | Sequence[str] | None = None, by: str | None = None,
          lang: str = "fr", **kwargs):
    """A publication table (great-tables): one indicator broken down ``by`` a dimension, or key figures.

    Parameters
    ----------
    table
        An indicator table from ``wb.compute``, or ``wb.change`` for key figures with the change.
    indicators
        With ``by``: the indicator (may be left out when the table holds one). Without: the
        indicators of the key-figures table (default: all of the table's, in order).
    by
        The breakdown dimension.
    lang
        ``"fr"`` or ``"en"``.
    **kwargs
        Passed on (``title``, ``k``…).

    Returns
    -------
    great_tables.GT
        Suppressed cells read ``< k``; notes give the definitions and the threshold.

    Examples
    --------
    >>> import workbench as wb
    >>> ex = wb.load(demo_extract)
    >>> figures = wb.compute(ex, "2025-Q4", indicators="persons_received", by="sex", audience="partner")
    >>> gt = wb.table(figures, by="sex", lang="en")
    >>> "<table" in gt.as_raw_html()
    True
    >>> key = wb.change(ex, "2025-Q4", indicators=["persons_received", "cases_opened"])
    >>> "<table" in wb.table(key, lang="en").as_raw_html()
    True
    """
    table = _unwrap(table, kwargs)
    if by is not None:
        name = _one(table, indicators if isinstance(indicators, str) or indicators is None else None)
        return tables.breakdown_table(table, name, by, lang, **kwargs)
    names = [indicators] if isinstance(indicators, str) else list(indicators or _indicators(table))
    return tables.key_figures_table(table, names, lang, **kwargs)


__all__ = ["chart", "table"]
