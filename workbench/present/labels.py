"""French and English labels: codes, countries, indicators, numbers and dates.

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

from workbench.indicators.catalogue import load_catalogue
from workbench.present.cells import LOCALES as _LOCALES
from workbench.present.cells import number
from workbench.present.texts import LANGUAGES, check_language, section, text

__all__ = ["LANGUAGES", "check_language", "country_name", "code_label", "indicator_label", "dimension_label",
           "format_value", "format_count", "format_date"]


def _labels() -> dict:
    return section("codes")


@cache
def _country_names(lang: str) -> dict[str, str]:
    import pycountry

    if lang == "fr":
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True).gettext
    else:
        def tr(s: str) -> str:
            return s
    names = {}
    for c in pycountry.countries:
        base = getattr(c, "common_name", None) or c.name
        names[c.alpha_3] = tr(c.name) if lang == "fr" else base
    names["XXA"] = "Apatride" if lang == "fr" else "Stateless"
    names["XKX"] = "Kosovo"
    return names


def country_name(code: str | None, lang: str = "fr") -> str:
    if code is None or code == "unknown":
        return text("codes.common.unknown", lang)
    return _country_names(lang).get(code, code)


def code_label(dimension: str, code: str | None, lang: str = "fr", meta=None) -> str:
    """The label of a breakdown category (``None`` is the total)."""
    check_language(lang)
    labels = _labels()
    if code is None:
        return text("ui.total", lang)
    if dimension == "nationality":
        return country_name(code, lang)
    if code in labels["common"] and (dimension not in labels or code not in labels[dimension]):
        return labels["common"][code][lang]
    if dimension in ("site", "centre", "partner", "organisation"):
        if meta is not None:
            return meta.label(dimension, code) or code
        return code
    entry = labels.get(dimension, {}).get(code)
    return entry[lang] if entry else code


def indicator_label(indicator_id: str, lang: str = "fr") -> str:
    return load_catalogue()[indicator_id].label[check_language(lang)]


def dimension_label(dimension: str, lang: str = "fr") -> str:
    dims = load_catalogue().dimensions
    return dims.get(dimension, {}).get(check_language(lang), dimension)


def format_value(value: float | None, unit: str, lang: str = "fr") -> str:
    """A figure as text in the language's number format (see :func:`workbench.present.cells.number`)."""
    return number(value, unit, lang)


def format_count(value: int | None, lang: str = "fr") -> str:
    return format_value(value, "count", lang)


def format_date(d: dt.date | None, lang: str = "fr") -> str:
    from babel.dates import format_date as fmt

    if d is None:
        return ""
    return fmt(d, "d MMMM y", locale=_LOCALES[check_language(lang)])
