"""Every text the workbench shows, from one catalogue (``texts.yaml``) with one lookup.

Keys are dotted paths into the catalogue: ``ui.*`` (words of tables, charts and exports),
``marks.*`` (legends of withheld cells), ``report.<group>.*`` (recurring reports),
``dashboard.*`` (the dashboards' controls) and ``codes.<dimension>.*`` (labels of codes;
:func:`workbench.present.labels.code_label` is the usual way to read them).

>>> text("ui.total", "en"), text("dashboard.vs", "fr", period="T3 2025")
('Total', 'par rapport à T3 2025')
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from workbench.exceptions import ParameterError

LANGUAGES = ("fr", "en")


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ParameterError(f"Unknown language '{lang}': use fr or en.")
    return lang


@cache
def catalogue() -> dict:
    """The whole catalogue as read from ``texts.yaml``."""
    source = resources.files("workbench").joinpath("present", "texts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(source)


def section(path: str) -> dict:
    """A part of the catalogue (``"report.rules"``, ``"codes"``…)."""
    node = catalogue()
    for part in path.split("."):
        node = node[part]
    return node


def has(key: str) -> bool:
    """Whether ``key`` names a text of the catalogue."""
    try:
        entry = section(key)
    except (KeyError, TypeError):
        return False
    return isinstance(entry, dict) and set(entry) == set(LANGUAGES)


def text(key: str, lang: str = "fr", **values) -> str:
    """The text ``key`` (a dotted path) in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    check_language(lang)
    try:
        entry = section(key)[lang]
    except (KeyError, TypeError):
        raise ParameterError(f"No text '{key}' in workbench/present/texts.yaml.") from None
    return entry.format(**values)
