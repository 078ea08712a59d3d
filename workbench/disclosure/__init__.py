"""Disclosure control: what each audience may see of an indicator table."""

from workbench.disclosure.suppression import AUDIENCES, Audience, check, resolve_audience, suppress

__all__ = ["AUDIENCES", "Audience", "check", "resolve_audience", "suppress"]
