"""Disclosure control: what each audience may see of the indicators.

:func:`compute`, :func:`series` and :func:`change` give the figures of a selection for an
audience (:mod:`.figures`). Audiences are declared in ``audiences.yaml`` (:mod:`.audiences`);
outside audiences receive calendar periods (:mod:`.calendar`) of the whole extract or a
declared scope (:mod:`.scopes`), protected by grouping over the calendar year
(:mod:`.grouping`, :mod:`.family`); ``internal`` with a threshold is suppressed per table
(:mod:`.suppression`). :func:`check` verifies a table before it is shown;
:func:`protection_summary` counts what the protection changed.
"""

from workbench.disclosure.accounting import protection_summary
from workbench.disclosure.audiences import Audience, load_audiences, resolve_audience
from workbench.disclosure.calendar import publication_end, require_published
from workbench.disclosure.flags import FLAGS, HIDDEN
from workbench.disclosure.suppression import AUDIENCES, check, suppress
from workbench.disclosure.figures import IndicatorTable, change, compute, frame_and_k, series

__all__ = ["AUDIENCES", "Audience", "FLAGS", "HIDDEN", "IndicatorTable", "change", "check", "compute", "frame_and_k",
           "load_audiences", "protection_summary", "publication_end", "require_published", "resolve_audience",
           "series", "suppress"]
