"""Which part of an extract a figure is about: sites, centres and person attributes.

:class:`Selection` names what to keep, :func:`choices` and :func:`validate` check it
against the extract, and :func:`restrict` is the one place an extract is narrowed
(meanings table by table: :mod:`workbench.selection.restriction`, ``docs/selection.md``).
"""

from workbench.selection.choices import ATTRIBUTES, FIELDS, Choices, Selection, choices, validate
from workbench.selection.restriction import age_group_expr, restrict

__all__ = ["ATTRIBUTES", "FIELDS", "Choices", "Selection", "age_group_expr", "choices", "restrict", "validate"]
