"""Every text the workbench shows, from one catalogue (``texts.yaml``) with one lookup.

Keys are dotted paths into the catalogue: ``ui.*`` (words of tables, charts and exports),
``marks.*`` (legends of withheld cells), ``report.<group>.*`` (recurring reports),
``dashboard.*`` (the dashboards' controls) and ``codes.<dimension>.*`` (labels of codes;
:func:`workbench.present.labels.code_label` is the usual way to read them).

French and English stand in ``texts.yaml``; Arabic and Dutch in ``texts.ar.yaml`` and
``texts.nl.yaml`` (flat files keyed by the same dotted keys), merged at load time. A text missing
in a language is shown in French (:data:`workbench.periods.FALLBACK`), recorded in
:func:`fallbacks` so that a report can say so, and listed by :func:`missing`
(``workbench texts --check``).

>>> text("ui.total", "en"), text("dashboard.vs", "fr", period="T3 2025")
('Total', 'par rapport à T3 2025')
>>> text("ui.total", "nl"), text("ui.total", "ar")
('Totaal', 'المجموع')
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from workbench import safeyaml
from workbench.exceptions import ParameterError
from workbench.periods import FALLBACK, LANGUAGES, RTL

#: The languages complete in the main catalogues; the others are merged from ``*.<lang>.yaml``.
BASE = ("fr", "en")
#: U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE: a value (a code, a date, a period)
#: placed inside a right-to-left sentence keeps its own direction.
FSI, PDI = "\u2068", "\u2069"
_USED_FALLBACK: set[tuple[str, str]] = set()


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ParameterError(f"Unknown language '{lang}': use {', '.join(LANGUAGES)}.")
    return lang


def is_rtl(lang: str) -> bool:
    """Whether ``lang`` is written right to left (Arabic)."""
    return lang in RTL


def direction(lang: str) -> str:
    """The HTML ``dir`` of a page in ``lang``: ``rtl`` or ``ltr``."""
    return "rtl" if is_rtl(lang) else "ltr"


def isolate(value: object, lang: str) -> str:
    """``value`` as text, isolated from the surrounding direction in a right-to-left language."""
    shown = str(value)
    return f"{FSI}{shown}{PDI}" if is_rtl(lang) and shown else shown


def translations(package: str, name: str, lang: str) -> dict[str, str]:
    """The flat translation file ``<package>/<name>.<lang>.yaml`` (empty when there is none)."""
    source = resources.files("workbench").joinpath(package, f"{name}.{lang}.yaml")
    if not source.is_file():
        return {}
    data = safeyaml.load(source.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def _merge(tree: dict, flat: dict[str, str], lang: str) -> list[str]:
    """Put each ``dotted.key: text`` of ``flat`` into ``tree`` as ``{lang: text}``; unknown keys returned."""
    unknown = []
    for key, value in flat.items():
        node = tree
        parts = key.split(".")
        try:
            for part in parts:
                node = node[part]
        except (KeyError, TypeError):
            unknown.append(key)
            continue
        if isinstance(node, dict) and all(b in node for b in BASE):
            node[lang] = value
        else:
            unknown.append(key)
    return unknown


@cache
def catalogue() -> dict:
    """The whole catalogue as read from ``texts.yaml``, with the other languages merged in."""
    source = resources.files("workbench").joinpath("present", "texts.yaml").read_text(encoding="utf-8")
    tree = safeyaml.load(source)
    for lang in LANGUAGES:
        if lang not in BASE:
            _merge(tree, translations("present", "texts", lang), lang)
    return tree


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
    return isinstance(entry, dict) and all(b in entry for b in BASE)


def pick(entry: dict, lang: str, key: str) -> str:
    """``entry[lang]``, or the fallback language's text (recorded) when it has none."""
    if entry.get(lang):
        return entry[lang]
    _USED_FALLBACK.add((lang, key))
    return entry[FALLBACK]


def fallbacks(lang: str) -> list[str]:
    """The keys shown in the fallback language so far in this process, for ``lang``."""
    return sorted(k for la, k in _USED_FALLBACK if la == lang)


def text(key: str, lang: str = "fr", **values) -> str:
    """The text ``key`` (a dotted path) in ``lang``, with ``{name}`` placeholders filled from ``values``
    (isolated in a right-to-left language)."""
    check_language(lang)
    try:
        entry = section(key)
        if not isinstance(entry, dict) or FALLBACK not in entry:
            raise KeyError(key)
    except (KeyError, TypeError):
        raise ParameterError(f"No text '{key}' in workbench/present/texts.yaml.") from None
    shown = pick(entry, lang, key)
    if is_rtl(lang):
        values = {k: isolate(v, lang) for k, v in values.items()}
    return shown.format(**values)


def _keys(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and all(b in v for b in BASE) and all(isinstance(x, str) for x in v.values()):
            out.append(key)
        elif isinstance(v, dict):
            out += _keys(v, key + ".")
    return out


def missing(lang: str) -> list[str]:
    """Every text without a ``lang`` version: ``texts.yaml`` keys, then the indicator catalogue's
    (``catalogue:families.x``…), and translation keys that name nothing (``unknown:``)."""
    from workbench.indicators.catalogue import translation_problems

    check_language(lang)
    if lang in BASE:
        return []
    tree = catalogue()
    out = [k for k in _keys(tree) if not section(k).get(lang)]
    base = safeyaml.load(resources.files("workbench").joinpath("present", "texts.yaml").read_text(encoding="utf-8"))
    out += [f"unknown: {k}" for k in _merge(base, translations("present", "texts", lang), lang)]
    return out + translation_problems(lang)
