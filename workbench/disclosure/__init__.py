"""Disclosure control: what each audience may see of the indicators.

:func:`compute`, :func:`series` and :func:`change` give the figures of a selection for an
audience (:mod:`.figures`); :func:`suppress` and :func:`check` are the suppression rules
(:mod:`.suppression`).
"""

from workbench.disclosure.suppression import AUDIENCES, Audience, check, resolve_audience, suppress
from workbench.disclosure.figures import IndicatorTable, change, compute, frame_and_k, series

__all__ = ["AUDIENCES", "Audience", "IndicatorTable", "change", "check", "compute", "frame_and_k", "resolve_audience", "series",
           "suppress"]
