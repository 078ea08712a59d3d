"""Reading values: match keys (headers, value maps), country names, date formats, constants, and
the conversion of a raw text cell into its field's type (:func:`convert`)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.contract.schema import nationality_codes, vocabulary
from workbench.extract import files as readers
from workbench.extract.parsing import BOOLEAN_WORDS

if TYPE_CHECKING:
    from workbench.prepare.mapping.model import ColumnRule, FType

#: Words read as "not known" (empty) in code, yes/no and date columns, compared as match keys.
NOT_KNOWN = ("unknown", "inconnu", "inconnue", "nsp", "ne sait pas", "n a", "na", "nr", "non renseigne")
_ARTICLES = r"^(?:the|la|le|les|l) "


def match_key_expr(expr: pl.Expr) -> pl.Expr:
    """The form in which headers and values are compared: no accents, lower case, words only."""
    return (expr.str.normalize("NFKD").str.replace_all(r"\p{M}+", "").str.to_lowercase()
            .str.replace_all(r"[\W_]+", " ").str.strip_chars())


def match_keys(texts: list) -> list[str]:
    """:func:`match_key_expr` of many texts (the same code, so Python and polars never disagree)."""
    series = pl.Series("k", [str(t) for t in texts], dtype=pl.String)
    return series.to_frame().select(match_key_expr(pl.col("k")))["k"].to_list()


def match_key(text: object) -> str:
    """The match key of one text.

    >>> match_key("  Côte d'Ivoire "), match_key("cote_d_ivoire"), match_key("N° dossier")
    ('cote d ivoire', 'cote d ivoire', 'n dossier')
    """
    return match_keys([text])[0]


def _country_keys(texts: list[str]) -> list[str]:
    return [re.sub(_ARTICLES, "", k) for k in match_keys(texts)]


def _country_key(text: str) -> str:
    return _country_keys([text])[0]


@cache
def country_index() -> dict[str, str]:
    """Country names in English and French (pycountry and its ISO 3166-1 translations) → alpha-3.

    Keys are match keys without a leading article. Names are the official short names,
    common and official names and their French translations, first; then the inverted
    forms of names with a comma (``Congo, The Democratic Republic of the`` → ``The Democratic
    Republic of the Congo``); then the part before the comma (``Palestine``). A key that two
    countries share at the same level is left out (never guessed).
    """
    import gettext

    import pycountry

    try:
        french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"]).gettext
    except OSError:  # pragma: no cover - pycountry always ships its translations
        def french(text: str) -> str:
            return text
    entries: list[tuple[int, str, str]] = []  # (level, name, alpha-3)
    for country in pycountry.countries:
        names = [n for n in (country.name, getattr(country, "common_name", None),
                             getattr(country, "official_name", None)) if n]
        names += [french(n) for n in names]
        for name in names:
            entries.append((0, name, country.alpha_3))
            if ", " in name:
                head, tail = name.split(", ", 1)
                entries.append((1, f"{tail} {head}", country.alpha_3))
                entries.append((2, head, country.alpha_3))
    levels: list[dict[str, set[str]]] = [defaultdict(set) for _ in range(3)]
    for (level, _, code), key in zip(entries, _country_keys([name for _, name, _ in entries])):
        levels[level][key].add(code)
    levels[0].update({"kosovo": {"XKX"}, "stateless": {"XXA"}, "apatride": {"XXA"}})
    index: dict[str, str | None] = {}
    for level in levels:
        for key, codes in level.items():
            if key and key not in index:
                index[key] = next(iter(codes)) if len(codes) == 1 else None
    return {k: v for k, v in index.items() if v is not None}


def country_code(name: str) -> str | None:
    """The alpha-3 code of a country name in English or French, or ``None``.

    >>> country_code("Côte d'Ivoire"), country_code("Guinée"), country_code("soudan"), country_code("Syria")
    ('CIV', 'GIN', 'SDN', 'SYR')
    """
    return country_index().get(_country_key(name))


def _date_format(text: str) -> str | None:
    """A strftime format from ``%d/%m/%Y`` or a pattern such as ``JJ/MM/AAAA``, ``DD-MMM-YYYY``."""
    fmt = str(text)
    if "%" not in fmt:
        for token, code in (("AAAA", "%Y"), ("YYYY", "%Y"), ("MMM", "%b"), ("MM", "%m"), ("JJ", "%d"),
                            ("DD", "%d")):
            fmt = fmt.replace(token, code)
    if "%Y" not in fmt or "%d" not in fmt or not ("%m" in fmt or "%b" in fmt):
        return None
    try:
        dt.date(2024, 3, 15).strftime(fmt)
    except ValueError:  # pragma: no cover - strftime accepts nearly anything
        return None
    return fmt


def _constant(value: Any, ftype: FType) -> Any:
    """A default or constant value in its field's type (ValueError with the reason if it is not one)."""
    kind = ftype.kind
    if kind == "code":
        code = readers.normalise_code(str(value))
        if ftype.vocab and code not in vocabulary(ftype.vocab):
            raise ValueError(f"'{value}' is not a code of {ftype.vocab} ({', '.join(vocabulary(ftype.vocab))})")
        return code
    if kind == "country":
        text = str(value).strip()
        code = "unknown" if text.lower() == "unknown" else text.upper()
        if code not in nationality_codes():
            code = country_code(text) or code
        if code not in nationality_codes():
            raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-3 code (TUN, CIV…), XXA or unknown")
        return code
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = readers.normalise_code(str(value))
        if word not in BOOLEAN_WORDS:
            raise ValueError(f"'{value}' is not a yes/no value")
        return BOOLEAN_WORDS[word]
    if kind == "date":
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"'{value}' is not a date (use YYYY-MM-DD)") from None
    if kind in ("year", "integer"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"'{value}' is not a whole number")
        return value
    if kind == "id":
        raise ValueError("an identifier cannot be given a constant value")
    return str(value)


def _identity_expr(expr: pl.Expr) -> pl.Expr:
    """An identifier as compared: trimmed, inner spaces collapsed, lower case, no accents."""
    return (expr.cast(pl.String).str.normalize("NFKD").str.replace_all(r"\p{M}+", "").str.strip_chars()
            .str.replace_all(r"\s+", " ").str.to_lowercase().replace("", None))


def _values_exprs(rule: ColumnRule, key: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(hit, mapped) of the rule's value map on the match key of the raw cell."""
    pairs = list(rule.values)
    if not pairs:
        return pl.lit(False), pl.lit(None, dtype=dtype)
    targets = [None if t is None else _constant(t, rule.ftype) for _, t in pairs]
    keys = [k for k, _ in pairs]
    hit = key.is_in(keys)
    mapped = key.replace_strict(keys, pl.Series(targets, dtype=dtype), default=None, return_dtype=dtype)
    return hit, mapped


@dataclass(frozen=True)
class Conversion:
    """How a raw cell becomes its field's value: the value, whether the cell fails (and is
    quarantined under ``rule`` with ``reason``, ``{}`` standing for the masked value), whether it
    was not mapped, and whether it is *known* (a mapped value, a code, a date… that cannot be a
    direct identifier typed in the wrong column)."""

    value: pl.Expr
    fail: pl.Expr
    unmapped: pl.Expr
    rule: str
    reason: str
    known: pl.Expr


def _convert(rule: ColumnRule, col: pl.Expr, codes: frozenset[str] | None = None) -> Conversion:
    """The conversion of a raw cell; ``codes`` restricts an open code column (sites…) to a list."""
    ftype = rule.ftype
    kind = ftype.kind
    key = match_key_expr(col)
    not_known = key.is_in(list(NOT_KNOWN))
    present = col.is_not_null()
    false = pl.lit(False)
    raw = _safe(rule.raw)
    if kind == "id":
        return Conversion(pl.when(~not_known).then(_identity_expr(col)), false, false, "", "", pl.lit(True))
    if kind == "text":
        return Conversion(col, false, false, "", "", ~present)
    if kind == "code" and ftype.vocab is None:
        hit, mapped = _values_exprs(rule, key, pl.String)
        code = pl.when(hit).then(mapped).otherwise(readers.code_expr(col))
        if codes is None and rule.unmapped is None:
            return Conversion(code, false, false, "", "", ~present | hit)
        found = hit if codes is None else code.is_in(sorted(codes))
        if rule.unmapped == "unknown":
            value, fail = pl.when(found | ~present).then(code).otherwise(pl.lit("unknown")), false
        else:
            value, fail = pl.when(found).then(code), present & ~found
        listed = "listed under values:" if codes is None else f"one of the codes of the mapping ({', '.join(sorted(codes))})"
        reason = (f"{raw} '{{}}' is not {_safe(listed)}: add it under values: of '{raw}' in the mapping, or set "
                  "unmapped: unknown")
        return Conversion(value, fail, present & ~found, "unmapped_code", reason, ~present | found)
    if kind in ("code", "country"):
        hit, mapped = _values_exprs(rule, key, pl.String)
        if kind == "code":
            code = readers.code_expr(col)
            direct = code.is_in(list(vocabulary(ftype.vocab)))
            known = pl.when(hit).then(mapped).when(direct).then(code)
            found = hit | direct
            hint = f"a code of {ftype.vocab}"
        else:
            upper = col.str.strip_chars().str.to_uppercase()
            direct = upper.is_in([c for c in nationality_codes() if c != "unknown"])
            unknown_word = key == "unknown"
            known = pl.when(hit).then(mapped).when(direct).then(upper).when(unknown_word).then(pl.lit("unknown"))
            found = hit | direct | unknown_word
            if rule.countries:
                index = country_index()
                ckey = key.str.replace(_ARTICLES, "")
                country = ckey.replace_strict(list(index), list(index.values()), default=None,
                                              return_dtype=pl.String)
                known = known.when(country.is_not_null()).then(country)
                found = found | country.is_not_null()
            hint = "a country name (French or English) or ISO 3166-1 alpha-3 code"
        if rule.unmapped == "unknown":
            value = known.when(present).then(pl.lit("unknown"))
            fail = false
        else:
            value = known.otherwise(pl.lit(None, dtype=pl.String))
            fail = present & ~found
        unmapped = present & ~found
        reason = (f"{raw} '{{}}' is not mapped to {hint}: add it under values: of '{raw}' in the mapping, or "
                  "set unmapped: unknown")
        return Conversion(value, fail, unmapped, "unmapped_code", reason, ~present | found)
    if kind == "boolean":
        hit, mapped = _values_exprs(rule, key, pl.Boolean)
        word = readers.code_expr(col).replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)
        value = pl.when(hit).then(mapped).otherwise(word)
        fail = present & ~hit & word.is_null() & ~not_known
        return Conversion(value, fail, fail, "invalid_boolean",
                          f"{raw} '{{}}' is not a yes/no value (oui/non, yes/no, true/false, 1/0; others go under "
                          "values:)", ~fail)
    if kind == "date":
        hit, _ = _values_exprs(rule, key, pl.Date)
        formats = list(dict.fromkeys([*rule.date_formats, "%Y-%m-%d"]))
        is_time = col.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d")
        iso_time = pl.when(is_time).then(col.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})"))
        if rule.timezone:
            iso_time = pl.when(is_time).then(_local_date(col, rule.timezone).dt.strftime("%Y-%m-%d"))
        parsed = pl.coalesce(*[col.str.to_date(f, strict=False) for f in formats],
                             iso_time.str.to_date("%Y-%m-%d", strict=False))
        parsed = pl.when(parsed.dt.year() >= 1000).then(parsed)
        value = pl.when(hit | not_known).then(pl.lit(None, dtype=pl.Date)).otherwise(parsed)
        fail = present & ~hit & ~not_known & parsed.is_null()
        shown = " or ".join(_display_format(f) for f in formats)
        return Conversion(value, fail, fail, "invalid_date", f"{raw} '{{}}' is not a date ({shown})", ~fail)
    if kind in ("year", "integer"):
        hit, _ = _values_exprs(rule, key, pl.Int64)
        text = col.str.strip_chars()
        number = pl.when(text.str.contains(r"^\d{1,6}(\.0+)?$")).then(
            text.str.extract(r"^(\d+)").cast(pl.Int64, strict=False))
        value = pl.when(hit | not_known).then(pl.lit(None, dtype=pl.Int64)).otherwise(number)
        fail = present & ~hit & ~not_known & number.is_null()
        what = "a year such as 1990" if kind == "year" else "a whole number"
        return Conversion(value.cast(pl.Int32) if kind == "year" else value, fail, fail,
                          "invalid_year" if kind == "year" else "invalid_number", f"{raw} '{{}}' is not {what}", ~fail)
    raise AssertionError(kind)  # pragma: no cover


def _local_date(col: pl.Expr, zone: str) -> pl.Expr:
    """The date, in ``zone``, of an ISO date-time: with its offset (``+01:00``, ``Z``), or without one
    read as UTC (as KoboToolbox's ``_submission_time``)."""
    text = col.str.strip_chars().str.replace(" ", "T").str.replace(r"Z$", "+00:00")
    text = text.str.replace(r"([+-]\d\d)(\d\d)$", "$1:$2")
    text = pl.when(text.str.contains(r"[+-]\d\d:\d\d$")).then(text).otherwise(text + "+00:00")
    text = text.str.replace(r"T(\d\d:\d\d)([+-])", "T$1:00$2")
    moment = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_zone="UTC")
    return moment.dt.convert_time_zone(zone).dt.date()


def _display_format(fmt: str) -> str:
    return fmt.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY").replace("%b", "Mmm")


def _dtype(ftype: FType) -> pl.DataType:
    return {"date": pl.Date(), "boolean": pl.Boolean(), "year": pl.Int32(), "integer": pl.Int64()}.get(
        ftype.kind, pl.String())


def _lit(value: Any, ftype: FType) -> pl.Expr:
    if value is None:
        return pl.lit(None, dtype=_dtype(ftype))
    return pl.lit(_constant(value, ftype), dtype=_dtype(ftype))


def _as_text(name: str, ftype: FType) -> pl.Expr:
    col = pl.col(name)
    if ftype.kind == "date":
        return col.dt.strftime("%Y-%m-%d")
    if ftype.kind in ("id",):
        return col
    return col.cast(pl.String)


def _safe(text: str) -> str:
    """Text without braces, to sit in a ``pl.format`` template."""
    return text.replace("{", "(").replace("}", ")")
