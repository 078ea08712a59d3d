"""Dashboard and exploration widgets (ipywidgets), for Voilà and JupyterLab.

The widgets are a thin shell over :mod:`workbench.dashboards.views`: a control changes the
:class:`~workbench.dashboards.views.View`, the :class:`~workbench.dashboards.views.Session` computes its
figures with the indicator engine (the functions reports and the command line use),
and the widgets show them:

- :class:`FilterPanel`: period (type, calendar period or date range), comparison
  period, sites or centres, and the persons' sex, age group, nationality and legal
  status (internal audience only);
- :class:`IndicatorPicker` (with the indicator's definition) and :class:`BreakdownPicker`;
- :class:`KeyFigureTiles`: key figures with their change against the comparison period;
- :class:`ChartArea`: the indicator's trend and its breakdown, as SVG rendered by
  :func:`workbench.present.charts.to_svg` (no JavaScript, no network);
- every figure, mark ("< k", "[c]", "[p]", "–") and change is written by
  :mod:`workbench.present.cells`, as in reports;
- :class:`TableView` and :class:`Downloads`: the table shown, and the same table as CSV
  and Excel (:mod:`workbench.present.exports`, checked against the threshold).

:class:`Dashboard` puts them together for a page of ``dashboards.yaml``; in JupyterLab::

    from workbench import extract

    from workbench.dashboards import widgets
    widgets.explorer(extract.load("demo"))

Every figure shown comes from a table computed with the session's audience, so with a
partner or public audience every tile, table, chart and download is suppressed.
"""

from __future__ import annotations

from workbench.dashboards import views
from workbench.dashboards.widgets.choosers import CodeChooser
from workbench.dashboards.widgets.dashboard import Dashboard
from workbench.dashboards.widgets.downloads import Downloads, download_rows
from workbench.dashboards.widgets.figures import ChartArea, TableView, screen_spec
from workbench.dashboards.widgets.filters import FilterPanel
from workbench.dashboards.widgets.pickers import BreakdownPicker, CrossPicker, IndicatorPicker
from workbench.dashboards.widgets.tiles import KeyFigureTiles


def explorer(extract, audience: str = "internal", threshold: int | None = None, lang: str = "fr",
             page: str = "explore") -> Dashboard:
    """The exploration widgets for JupyterLab, on a loaded extract.

    >>> from workbench import extract, widgets          # doctest: +SKIP
    >>> widgets.explorer(extract.load("demo"))           # doctest: +SKIP
    """
    session = views.Session(extract, audience=audience, threshold=threshold, lang=lang)
    return Dashboard(session, views.page(page))


__all__ = ["BreakdownPicker", "ChartArea", "CrossPicker", "Dashboard", "Downloads", "FilterPanel", "IndicatorPicker",
           "KeyFigureTiles", "TableView", "download_rows", "explorer"]
