"""Labels in every language of the workbench (fr, en, ar, nl): codes, countries, indicators, numbers and dates.

Code labels are read from ``texts.yaml`` (section ``codes``); numbers are formatted by
:func:`workbench.present.cells.number`.

>>> from workbench.present.labels import code_label, format_value
>>> code_label("sex", "female", "fr"), code_label("nationality", "CIV", "fr")
('Femme', "Côte d'Ivoire")
>>> format_value(1234.5, "mean", "fr"), format_value(1234.5, "mean", "en")
('1\\u202f234,5', '1,234.5')
"""

from __future__ import annotations

import datetime as dt
import gettext
from functools import cache

from workbench.indicators.catalogue import Catalogue, resolve
from workbench.periods import LOCALES as _LOCALES
from workbench.present.cells import number
from workbench.present.texts import LANGUAGES, check_language, pick, section, text

__all__ = ["LANGUAGES", "check_language", "country_name", "code_label", "indicator_label", "dimension_label",
           "format_value", "format_count", "format_date", "catalogue_of"]


def catalogue_of(table=None, catalogue: Catalogue | None = None) -> Catalogue:
    """The catalogue a figure is shown with: the one given, else the one its indicator table was
    computed with (an organisation's indicators and dimensions included), else the built-in one."""
    if catalogue is not None:
        return catalogue
    return resolve(getattr(table, "catalogue", None))


def _labels() -> dict:
    return section("codes")


@cache
def _country_names(lang: str) -> dict[str, str]:
    import pycountry

    if lang != "en":
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True).gettext
    else:
        def tr(s: str) -> str:
            return s
    names = {}
    for c in pycountry.countries:
        base = getattr(c, "common_name", None) or c.name
        names[c.alpha_3] = base if lang == "en" else tr(c.name)
    names["XXA"] = text("codes.legal_status.stateless", lang)
    names["XKX"] = "Kosovo"
    names.update({code: short[lang] for code, short in _short_names().items() if lang in short})
    return names


@cache
def _short_names() -> dict[str, dict[str, str]]:
    """Short, common names where ISO's are inverted or official (``countries.yaml``)."""
    from pathlib import Path

    import yaml

    return yaml.safe_load((Path(__file__).with_name("countries.yaml")).read_text(encoding="utf-8"))


#: Categories that close a list whatever their label.
_LAST = ("other", "unknown")


def collation_key(label: str) -> tuple:
    """Sort key of a label in reading order: accents and case matter only to break ties
    (« Bénin » before « Burkina Faso », « Côte d'Ivoire » after « Congo »)."""
    import unicodedata

    base = "".join(ch for ch in unicodedata.normalize("NFKD", label) if not unicodedata.combining(ch))
    return (base.casefold().replace("'", " ").replace("’", " "), label)


def sort_codes(dimension: str, codes, lang: str = "fr", meta=None, catalogue: Catalogue | None = None) -> list:
    """Categories of a breakdown in the report's order: a declared order (age groups, risk levels,
    an organisation's code list or bands…), open codes (nationalities, sites, centres) by their
    label in the report's language; ``other`` and ``unknown`` last."""
    from workbench.indicators.engine import dimension_order

    codes = list(codes)
    order = dimension_order(dimension, catalogue)
    if order is not None:
        rank = {c: i for i, c in enumerate(order)}
        return sorted(codes, key=lambda c: (rank.get(c, len(order)), str(c)))
    return sorted(codes, key=lambda c: (c in _LAST, _LAST.index(c) if c in _LAST else 0,
                                        collation_key(code_label(dimension, c, lang, meta, catalogue))))


def country_name(code: str | None, lang: str = "fr") -> str:
    if code is None or code in ("unknown", "other"):
        return text(f"codes.common.{code or 'unknown'}", lang)
    return _country_names(lang).get(code, code)


def code_label(dimension: str, code: str | None, lang: str = "fr", meta=None,
               catalogue: Catalogue | None = None) -> str:
    """The label of a breakdown category (``None`` is the total); an organisation's code list
    gives its own codes' labels."""
    check_language(lang)
    labels = _labels()
    if code is None:
        return text("ui.total", lang)
    declared = ((catalogue.dimensions.get(dimension) or {}).get("codes") if catalogue is not None else None)
    if isinstance(declared, dict) and code in declared:
        return declared[code][lang]
    if dimension == "nationality":
        return country_name(code, lang)
    if code == "other":  # "Others": a category coded other is also where outside audiences' small ones are grouped
        return text("codes.common.other", lang)
    if code in labels["common"] and (dimension not in labels or code not in labels[dimension]):
        return pick(labels["common"][code], lang, f"codes.common.{code}")
    if dimension in ("site", "centre", "partner", "organisation"):
        if meta is not None:
            return meta.label(dimension, code) or code
        return code
    section_name = dimension if dimension in labels else _VOCABULARY_LABELS.get(dimension, dimension)
    entry = labels.get(section_name, {}).get(code)
    return pick(entry, lang, f"codes.{section_name}.{code}") if entry else code


#: Dimensions labelled with another dimension's codes (the same vocabulary): a network's legal theme.
_VOCABULARY_LABELS = {"theme": "topic"}


def indicator_label(indicator_id: str, lang: str = "fr", catalogue: Catalogue | None = None) -> str:
    return resolve(catalogue)[indicator_id].label[check_language(lang)]


def dimension_label(dimension: str, lang: str = "fr", catalogue: Catalogue | None = None) -> str:
    spec = resolve(catalogue).dimensions.get(dimension, {})
    return spec.get(check_language(lang)) or spec.get("fr", dimension)


def format_value(value: float | None, unit: str, lang: str = "fr") -> str:
    """A figure as text in the language's number format (see :func:`workbench.present.cells.number`)."""
    return number(value, unit, lang)


def format_count(value: int | None, lang: str = "fr") -> str:
    return format_value(value, "count", lang)


def format_date(d: dt.date | None, lang: str = "fr") -> str:
    from babel.dates import format_date as fmt

    if d is None:
        return ""
    shown = fmt(d, "d MMMM y", locale=_LOCALES[check_language(lang)])
    if lang == "fr" and d.day == 1:  # « 1er octobre 2025 »
        shown = "1er" + shown[1:]
    return shown
