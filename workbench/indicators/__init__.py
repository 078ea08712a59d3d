"""The indicator catalogue (:mod:`.catalogue`, declared in ``catalogue.yaml``), its
conditions (:mod:`.conditions`) and the engine that evaluates it (:mod:`.engine`).

Audience-aware figures (suppressed for partners and the public, on a selection) are
:func:`workbench.disclosure.compute`, ``series`` and ``change``.
"""

from workbench.indicators.catalogue import Catalogue, Indicator, load_catalogue
from workbench.indicators.engine import (TABLE_COLUMNS, Context, Evaluation, evaluate, format_values,
                                         parse_breakdowns)

__all__ = ["TABLE_COLUMNS", "Catalogue", "Context", "Evaluation", "Indicator", "evaluate", "format_values",
           "load_catalogue", "parse_breakdowns"]
