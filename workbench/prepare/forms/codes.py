"""The codes a form offers for a column: the contract's vocabulary, or the organisation's own list
(its sites, partners, centres). Every form and mapping reads codes through :func:`codes`, so an
organisation catalogue with its own dimensions and codes extends this one function."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.contract.schema import Column, vocabulary

if TYPE_CHECKING:
    from workbench.prepare.forms.spec import FormSpec

#: Open code columns and the organisation's list that gives their codes.
OWN_LISTS = {"site": "sites", "partner": "partners", "centre": "centres"}


def codes(column: Column, spec: FormSpec) -> tuple[str, ...]:
    """The codes of ``column``: its vocabulary (``unknown`` last), or the organisation's codes for an
    open code column (empty when the organisation declares none)."""
    if column.kind == "vocab":
        return vocabulary(column.vocab)
    if column.kind == "code":
        return tuple(getattr(spec, OWN_LISTS[column.name], {}) or ())
    return ()


def own_label(column: Column, code: str, spec: FormSpec) -> str | None:
    """The organisation's label of one of its own codes (a site's name), if it gave one."""
    listed = getattr(spec, OWN_LISTS.get(column.name, ""), None) or {}
    return listed.get(code)
