"""The indicator catalogue (:mod:`.catalogue`, declared in ``catalogue.yaml``), its
conditions (:mod:`.conditions`) and the engine that computes it (:mod:`.engine`).
"""

from workbench.indicators.catalogue import Catalogue, Indicator, load_catalogue
from workbench.indicators.engine import (TABLE_COLUMNS, Context, IndicatorTable, change, compute, format_values,
                                         parse_breakdowns, series)

__all__ = ["TABLE_COLUMNS", "Catalogue", "Context", "Indicator", "IndicatorTable", "change", "compute",
           "format_values", "load_catalogue", "parse_breakdowns", "series"]
