"""Mapping files: from an organisation's own export to the canonical tables.

No team keeps its data in the shape of the case extract. A *mapping file* (YAML,
documented with a worked example per kind of export in ``docs/mappings.md``) says how
one organisation's export becomes the contract's tables:

* **sources**: which file (a name or a pattern inside the raw folder) and which sheet
  is read, where its header row is (found automatically below a title row, or given);
* **columns**: what each raw column becomes, a *field*: renamed, its values mapped
  (``Homme`` → ``male``, country names in French or English → ISO 3166-1 alpha-3 with
  pycountry, ``oui``/``non`` → booleans), its dates read with the organisation's format
  (``JJ/MM/AAAA``), marked as an identifier to pseudonymise, or dropped;
* **derive** and **defaults**: fields computed from others (a birth year from a date of
  birth, which is then dropped; a pseudonym made of several columns; a value looked up
  in another source) and values for empty or absent fields;
* **tables**: which source fills which canonical table; one wide register can fill
  ``persons`` (one row per person: ``one_row_per``) and ``contacts`` (one row per row).

:func:`load_mapping` reads and checks a mapping file, collecting every problem before it
fails. :func:`apply` reads a raw export with it and returns the canonical tables (with
the raw identifiers still in them, as identity strings for :mod:`workbench.prepare.pseudonymise`
to replace) and the *mapping-stage quarantine*: every raw row that cannot be mapped (an
unmapped code, an unparseable date or yes/no value, an empty identifier) with its file,
sheet, row, column, value, rule and reason. Nothing is dropped silently: rows read =
rows mapped + rows quarantined, for every source; unmapped columns are listed.

>>> m = load_mapping("parameters/mappings/register_fr.yaml")      # doctest: +SKIP
>>> mapped = apply(m, "raw/registre.xlsx")                         # doctest: +SKIP
>>> mapped.sources["registre"].read == (mapped.sources["registre"].mapped
...                                     + mapped.sources["registre"].quarantined)  # doctest: +SKIP
True
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import fnmatch
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from workbench import safeyaml

from workbench.extract import guard

from workbench.extract import files as readers
from workbench.exceptions import IdentifierColumnError, MappingError
from workbench.contract.schema import TABLE_ORDER, TABLES, Column, nationality_codes, vocabulary
from workbench.extract.rules import BOOLEAN_WORDS, QUARANTINE_SCHEMA

__all__ = [
    "FType", "ColumnRule", "Derived", "Source", "TableMap", "Mapping", "RawSource", "SourceReport", "Mapped",
    "ID_PREFIXES", "load_mapping", "parse_mapping", "read_sources", "apply", "apply_frames", "match_key",
    "match_key_expr", "country_index", "country_code",
]

MAPPING_VERSION = 1
ROW = "wb_row"
SRC_FILE = "wb_src_file"
SRC_ROW = "wb_src_row"
SEP = "\x1f"  # joins the parts of a composite identity (never typed in a spreadsheet)

#: Kinds of pseudonym and their one-letter prefix (the same letters as the demo extract).
ID_PREFIXES = {"person": "P", "contact": "C", "case": "K", "referral": "R", "stay": "S", "action": "A",
               "caseworker": "W"}
#: Types a field may be given with ``type:`` (``id`` is given with ``pseudonym:``).
USER_TYPES = ("text", "date", "boolean", "year", "integer", "code", "country")
UNMAPPED_CHOICES = ("quarantine", "unknown")
#: Words read as "not known" (empty) in code, yes/no and date columns, compared as match keys.
NOT_KNOWN = ("unknown", "inconnu", "inconnue", "nsp", "ne sait pas", "n a", "na", "nr", "non renseigne")
HEADER_SEARCH_ROWS = 30
MAX_UNMAPPED_VALUES = 20
MIN_IDENTIFIER_LENGTH = 3  # identifier values shorter than this are not looked for inside kept text

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ORG_CODE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_ARTICLES = r"^(?:the|la|le|les|l) "


# --------------------------------------------------------------------------------------------------
# Matching text: headers, value maps, country names
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# The mapping model
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FType:
    """The type of a field: ``kind`` and, for ``code`` its vocabulary (None: an open code
    such as a site), for ``id`` its pseudonym kind."""

    kind: str
    vocab: str | None = None

    def describe(self) -> str:
        """``a code of sex``, ``an open code``, ``a person pseudonym``, ``a date``…"""
        if self.kind == "code":
            return f"a code of {self.vocab}" if self.vocab else "an open code"
        if self.kind == "id":
            return f"a {self.vocab} pseudonym"
        return f"an {self.kind}" if self.kind[0] in "aeiou" else f"a {self.kind}"


def canonical_type(column: Column) -> FType:
    """The field type a contract column needs."""
    if column.kind == "id":
        return FType("id", column.name.removesuffix("_id"))
    if column.kind == "vocab":
        return FType("country") if column.vocab == "nationality" else FType("code", column.vocab)
    if column.kind == "code":
        return FType("code")
    return FType({"date": "date", "bool": "boolean", "year": "year"}[column.kind])


@cache
def _canonical_names() -> dict[str, FType]:
    out: dict[str, FType] = {}
    for table in TABLES.values():
        for column in table.columns:
            out.setdefault(column.name, canonical_type(column))
    return out


@dataclass(frozen=True)
class ColumnRule:
    """What one raw column becomes (``field`` None: dropped on purpose)."""

    raw: str
    field: str | None
    ftype: FType | None = None          # resolved when the mapping is checked
    values: tuple[tuple[str, Any], ...] = ()  # (match key of the raw value, target)
    unmapped: str = "quarantine"
    date_formats: tuple[str, ...] = ()
    pseudonym: str | None = None
    keep: str | None = None
    optional: bool = False
    split: str | None = None
    countries: bool = True
    explicit_type: str | None = None
    explicit_vocab: str | None = None
    key: str = ""                       # the match key of the header (set when parsed)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", match_key(self.raw))


@dataclass(frozen=True)
class Derived:
    """A field computed from other fields: ``op`` is year_of, year_from_age, pseudonym, lookup,
    value or first_of."""

    field: str
    op: str
    args: dict[str, Any]
    ftype: FType | None = None


@dataclass(frozen=True)
class Source:
    """One raw table: a file (and sheet) of the export, and what its columns become."""

    name: str
    file: str | None
    sheet: str | None
    header_row: int | None              # None: found automatically
    delimiter: str | None
    columns: tuple[ColumnRule, ...]
    derive: tuple[Derived, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    types: tuple[tuple[str, FType], ...] = ()   # every field of the source and its type

    def type_of(self, name: str) -> FType | None:
        return dict(self.types).get(name)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.types)


@dataclass(frozen=True)
class TableMap:
    """How a canonical table is filled from a source.

    ``columns`` maps each canonical column given to ``(op, arg)``: ``("field", name)``,
    ``("first"|"min"|"max", name)`` (tables with ``one_row_per``) or ``("value", constant)``.
    """

    name: str
    source: str
    columns: tuple[tuple[str, tuple[str, Any]], ...]
    one_row_per: str | None = None
    first_by: str | None = None
    explode: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file."""

    name: str
    organisation: str
    label: str | None
    extracted_on: dt.date | None
    sites: dict[str, str]
    centres: dict[str, str]
    partners: dict[str, str]
    sources: dict[str, Source]
    tables: dict[str, TableMap]
    sha256: str = ""

    def written_fields(self, source: str) -> set[str]:
        """Fields of ``source`` whose values reach the extract (others are only used on the way)."""
        out: set[str] = set()
        for tm in self.tables.values():
            if tm.source == source:
                out |= {arg for _, (op, arg) in tm.columns if op != "value"}
                out |= set(tm.extras)
        return out

    def metadata(self) -> dict[str, Any]:
        """The mapping's part of ``extract.yaml``."""
        meta: dict[str, Any] = {"organisation": self.organisation}
        if self.label:
            meta["organisation_label"] = self.label
        if self.extracted_on:
            meta["extracted_on"] = self.extracted_on
        for key in ("sites", "centres", "partners"):
            if getattr(self, key):
                meta[key] = dict(getattr(self, key))
        return meta


# --------------------------------------------------------------------------------------------------
# Reading and checking a mapping file
# --------------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 booleans (``no``, ``on``, ``y``… stay text: ``NO`` is Norway) and
    refusing duplicate keys (a raw column mapped twice)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Problems(list):
    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


def _check_keys(where: str, data: MappingABC, allowed: tuple[str, ...], problems: _Problems) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (keys: {', '.join(allowed)})"
            problems.add(where, f"unknown key '{key}'{hint}")


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


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file.

    Raises
    ------
    MappingError
        When the file is missing or not valid YAML, or with the list of every problem found
        (unknown keys, codes that are not in a vocabulary, required columns without a field,
        identifiers that are not pseudonymised…), each with where it is and what to do.
    """
    path = Path(path)
    try:
        data_bytes = path.read_bytes()
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file.") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror}).") from None
    text, _ = readers.decode(data_bytes)
    try:
        data = safeyaml.load(text, loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{path.name}: not valid YAML{where}: {' '.join(str(problem).split())}. "
                           "See docs/mappings.md for the form of a mapping file.") from None
    return parse_mapping(data, name=path.name, sha256=hashlib.sha256(data_bytes).hexdigest())


def parse_mapping(data: Any, *, name: str = "mapping", sha256: str = "") -> Mapping:
    """Check a mapping given as data (what the YAML file holds); see :func:`load_mapping`."""
    problems = _Problems()
    if not isinstance(data, MappingABC):
        raise MappingError(f"{name}: expected a mapping with keys organisation, sources and tables "
                           "(see docs/mappings.md).")
    _check_keys(name, data, ("version", "organisation", "label", "extracted_on", "sites", "centres", "partners",
                             "sources", "tables"), problems)
    version = data.get("version", MAPPING_VERSION)
    if version != MAPPING_VERSION:
        problems.add(f"{name}: version", f"{version!r} is not a mapping version this workbench reads "
                                         f"(use {MAPPING_VERSION})")
    organisation = data.get("organisation")
    if not isinstance(organisation, str) or not _ORG_CODE.match(organisation):
        problems.add(f"{name}: organisation", "a short code in lower-case letters, digits and _ is required "
                                              "(e.g. permanence_nord); it tells organisations apart when "
                                              "extracts are combined")
        organisation = str(organisation or "")
    label = data.get("label")
    extracted_on = _parse_extracted_on(data.get("extracted_on"), name, problems)
    labels = {}
    for key in ("sites", "centres", "partners"):
        value = data.get(key) or {}
        if not isinstance(value, MappingABC):
            problems.add(f"{name}: {key}", "must map codes to labels")
            value = {}
        labels[key] = {readers.normalise_code(str(k)): str(v) for k, v in value.items()}
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, MappingABC) or not raw_sources:
        problems.add(f"{name}: sources", "at least one source is needed (a file or sheet of the export)")
        raw_sources = {}
    raw_tables = data.get("tables")
    if not isinstance(raw_tables, MappingABC) or not raw_tables:
        problems.add(f"{name}: tables", "at least the tables persons and contacts must be filled")
        raw_tables = {}
    tables_by_source: dict[str, list[str]] = defaultdict(list)
    for tname, tdata in raw_tables.items():
        if isinstance(tdata, MappingABC) and isinstance(tdata.get("from"), str):
            tables_by_source[tdata["from"]].append(str(tname))
    sources = {}
    for sname, sdata in raw_sources.items():
        source = _parse_source(str(sname), sdata, name, problems)
        if source is not None:
            sources[source.name] = source
    tables = {}
    for tname, tdata in raw_tables.items():
        tm = _parse_table(str(tname), tdata, sources, name, problems)
        if tm is not None:
            tables[tm.name] = tm
    for required in ("persons", "contacts"):
        if raw_tables and required not in raw_tables:
            problems.add(f"{name}: tables", f"the table '{required}' is required by the case extract")
    order = _source_order(sources)
    if order is None:
        problems.add(f"{name}: sources", "lookups go round in a circle; a source can only look up values in a "
                                         "source that does not look up in it")
        order = list(sources)
    resolved: dict[str, Source] = {}
    for sname in order:
        resolved[sname] = _resolve_types(sources[sname], tables, resolved, name, problems)
    sources = {n: resolved[n] for n in sources}
    for tm in tables.values():
        if tm.source in sources:
            _check_table(tm, sources[tm.source], name, problems)
    for source in sources.values():
        _check_source(source, sources, tables, name, problems)
    if problems:
        listed = "\n".join(f"  - {p.removeprefix(name + ': ')}" for p in problems)
        raise MappingError(f"{name}: {len(problems)} problem{'s' if len(problems) > 1 else ''} in the mapping "
                           f"(see docs/mappings.md):\n{listed}")
    return Mapping(name=name, organisation=organisation, label=str(label) if label else None,
                   extracted_on=extracted_on, sites=labels["sites"], centres=labels["centres"],
                   partners=labels["partners"], sources=sources, tables=tables, sha256=sha256)


def _parse_extracted_on(value: Any, name: str, problems: _Problems) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.add(f"{name}: extracted_on", f"'{value}' is not a date (use YYYY-MM-DD)")
        return None


_COLUMN_KEYS = ("to", "type", "vocabulary", "values", "unmapped", "date_format", "pseudonym", "keep",
                "optional", "split", "countries", "drop")
_DERIVE_OPS = ("year_of", "year_from_age", "pseudonym", "lookup", "value", "first_of")
_DERIVE_KEYS = _DERIVE_OPS + ("at", "of", "per_row", "on", "field")


def _parse_source(sname: str, sdata: Any, name: str, problems: _Problems) -> Source | None:
    where = f"{name}: sources.{sname}"
    if not isinstance(sdata, MappingABC):
        problems.add(where, "expected keys file, sheet, columns…")
        return None
    _check_keys(where, sdata, ("file", "sheet", "header_row", "delimiter", "columns", "derive", "defaults"),
                problems)
    header_row = sdata.get("header_row", "auto")
    if header_row == "auto" or header_row is None:
        header_row = None
    elif not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
        problems.add(f"{where}.header_row", f"{header_row!r} is not a row number (1, 2…) or auto")
        header_row = None
    delimiter = sdata.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter.replace("\\t", "\t")) != 1):
        problems.add(f"{where}.delimiter", f"{delimiter!r} is not one character (use ',', ';' or '\\t')")
        delimiter = None
    elif isinstance(delimiter, str):
        delimiter = delimiter.replace("\\t", "\t")
    raw_columns = sdata.get("columns")
    if not isinstance(raw_columns, MappingABC) or not raw_columns:
        problems.add(f"{where}.columns", "list the raw columns (headers as written) and what each becomes")
        raw_columns = {}
    columns = []
    keys_seen: dict[str, str] = {}
    for raw, rule in raw_columns.items():
        parsed = _parse_column(str(raw), rule, f"{where}.columns.{raw}", problems)
        if parsed is None:
            continue
        if parsed.key in keys_seen:
            problems.add(f"{where}.columns.{raw}", f"reads as the same header as '{keys_seen[parsed.key]}' "
                                                   "(headers are compared without case or accents)")
            continue
        keys_seen[parsed.key] = str(raw)
        columns.append(parsed)
    derive = []
    raw_derive = sdata.get("derive") or {}
    if not isinstance(raw_derive, MappingABC):
        problems.add(f"{where}.derive", "must map field names to rules such as {year_of: date_of_birth}")
        raw_derive = {}
    for fname, rule in raw_derive.items():
        d = _parse_derive(str(fname), rule, f"{where}.derive.{fname}", problems)
        if d is not None:
            derive.append(d)
    defaults = sdata.get("defaults") or {}
    if not isinstance(defaults, MappingABC):
        problems.add(f"{where}.defaults", "must map field names to values")
        defaults = {}
    for fname in defaults:
        if not _FIELD_NAME.match(str(fname)):
            problems.add(f"{where}.defaults.{fname}", "a field name is lower-case letters, digits and _")
    file = sdata.get("file")
    sheet = sdata.get("sheet")
    return Source(name=sname, file=str(file) if file is not None else None,
                  sheet=str(sheet) if sheet is not None else None, header_row=header_row, delimiter=delimiter,
                  columns=tuple(columns), derive=tuple(derive),
                  defaults=tuple((str(k), v) for k, v in defaults.items()))


def _parse_column(raw: str, rule: Any, where: str, problems: _Problems) -> ColumnRule | None:
    if rule == "drop" or rule is None or (isinstance(rule, MappingABC) and rule.get("drop") is True):
        if isinstance(rule, MappingABC) and set(rule) - {"drop", "optional"}:
            problems.add(where, "a dropped column takes no other keys")
        return ColumnRule(raw=raw, field=None, optional=True)
    if isinstance(rule, str):
        rule = {"to": rule}
    if not isinstance(rule, MappingABC):
        problems.add(where, "expected 'drop', a field name, or keys such as to, values, date_format")
        return None
    _check_keys(where, rule, _COLUMN_KEYS, problems)
    target = rule.get("to")
    if not isinstance(target, str) or not _FIELD_NAME.match(target):
        problems.add(where, "'to' must name the field the column becomes (lower-case letters, digits and _), "
                            "e.g. to: sex")
        return None
    explicit_type = rule.get("type")
    if explicit_type is not None and explicit_type not in USER_TYPES:
        problems.add(f"{where}.type", f"'{explicit_type}' is not a type (types: {', '.join(USER_TYPES)})")
        explicit_type = None
    vocab = rule.get("vocabulary")
    if vocab is not None and vocab not in _vocabulary_names():
        problems.add(f"{where}.vocabulary", f"'{vocab}' is not a vocabulary "
                                            f"({', '.join(sorted(_vocabulary_names()))})")
        vocab = None
    values = rule.get("values") or {}
    if not isinstance(values, MappingABC):
        problems.add(f"{where}.values", "must map raw values to codes, e.g. {Homme: male, Femme: female}")
        values = {}
    value_pairs: dict[str, Any] = {}
    for (k, v), key in zip(values.items(), match_keys(list(values))):
        if key in value_pairs and value_pairs[key] != v:
            problems.add(f"{where}.values", f"'{k}' reads as the same value as another key with a different "
                                            "target (values are compared without case or accents)")
        value_pairs[key] = v
    unmapped = rule.get("unmapped", "quarantine")
    if unmapped not in UNMAPPED_CHOICES:
        problems.add(f"{where}.unmapped", f"'{unmapped}' is not one of {', '.join(UNMAPPED_CHOICES)}")
        unmapped = "quarantine"
    formats = rule.get("date_format") or ()
    if isinstance(formats, str):
        formats = (formats,)
    parsed_formats = []
    for f in formats:
        fmt = _date_format(f)
        if fmt is None:
            problems.add(f"{where}.date_format", f"'{f}' is not a date format with a day, a month and a "
                                                 "four-digit year (e.g. JJ/MM/AAAA, %d/%m/%Y, DD-MMM-YYYY)")
        else:
            parsed_formats.append(fmt)
    pseudonym = rule.get("pseudonym")
    if pseudonym is not None and pseudonym not in ID_PREFIXES:
        problems.add(f"{where}.pseudonym", f"'{pseudonym}' is not a kind of pseudonym "
                                           f"({', '.join(ID_PREFIXES)})")
        pseudonym = None
    keep = rule.get("keep")
    if keep is not None and keep not in TABLES:
        problems.add(f"{where}.keep", f"'{keep}' is not a table; keep names the table the column is kept in")
        keep = None
    split = rule.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        problems.add(f"{where}.split", "the separator of the values in one cell, e.g. ','")
        split = None
    for key in ("optional", "countries"):
        if key in rule and not isinstance(rule[key], bool):
            problems.add(f"{where}.{key}", "true or false")
    return ColumnRule(raw=raw, field=target, values=tuple(value_pairs.items()), unmapped=unmapped,
                      date_formats=tuple(parsed_formats), pseudonym=pseudonym, keep=keep,
                      optional=rule.get("optional") is True, split=split, countries=rule.get("countries", True)
                      is not False, explicit_type=explicit_type, explicit_vocab=vocab)


def _parse_derive(fname: str, rule: Any, where: str, problems: _Problems) -> Derived | None:
    if not _FIELD_NAME.match(fname):
        problems.add(where, "a field name is lower-case letters, digits and _")
        return None
    if not isinstance(rule, MappingABC):
        problems.add(where, f"expected one of {', '.join(_DERIVE_OPS)} (e.g. {{year_of: date_of_birth}})")
        return None
    _check_keys(where, rule, _DERIVE_KEYS, problems)
    ops = [op for op in _DERIVE_OPS if op in rule]
    if len(ops) != 1:
        problems.add(where, f"give exactly one of {', '.join(_DERIVE_OPS)}")
        return None
    op = ops[0]
    args = dict(rule)
    if op == "year_from_age" and "at" not in rule:
        problems.add(where, "year_from_age needs 'at': the date field the age was recorded at")
        return None
    if op == "pseudonym":
        if rule["pseudonym"] not in ID_PREFIXES:
            problems.add(f"{where}.pseudonym", f"'{rule['pseudonym']}' is not a kind of pseudonym "
                                               f"({', '.join(ID_PREFIXES)})")
            return None
        of = rule.get("of")
        if isinstance(of, str):
            of = [of]
        if not isinstance(of, list) or not of or not all(isinstance(f, str) for f in of):
            problems.add(where, "a pseudonym needs 'of': the field or fields that identify the row")
            return None
        args["of"] = of
    if op == "lookup" and not (isinstance(rule.get("on"), str) and isinstance(rule.get("field"), str)):
        problems.add(where, "lookup needs 'on' (the field both sources share) and 'field' (the field to take)")
        return None
    if op == "first_of":
        items = rule["first_of"]
        if not isinstance(items, list) or not items:
            problems.add(where, "first_of takes a list of rules, e.g. [{year_of: date_of_birth}, "
                                "{year_from_age: age, at: registered_on}]")
            return None
        subs = []
        for i, item in enumerate(items):
            sub = _parse_derive(fname, item, f"{where}.first_of[{i}]", problems)
            if sub is None:
                return None
            if sub.op == "first_of":
                problems.add(f"{where}.first_of[{i}]", "first_of cannot be nested")
                return None
            subs.append(sub)
        args["first_of"] = subs
    return Derived(field=fname, op=op, args=args)


def _parse_table(tname: str, tdata: Any, sources: dict[str, Source], name: str,
                 problems: _Problems) -> TableMap | None:
    where = f"{name}: tables.{tname}"
    if tname not in TABLES:
        close = difflib.get_close_matches(tname, list(TABLES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.add(where, f"'{tname}' is not a table of the case extract{hint} "
                            f"(tables: {', '.join(TABLE_ORDER)})")
        return None
    if not isinstance(tdata, MappingABC):
        problems.add(where, "expected keys from, one_row_per, columns…")
        return None
    _check_keys(where, tdata, ("from", "one_row_per", "first_by", "explode", "columns"), problems)
    source = tdata.get("from")
    if source not in sources:
        problems.add(f"{where}.from", f"'{source}' is not a source of this mapping "
                                      f"(sources: {', '.join(sources) or 'none'})")
        return None
    spec = TABLES[tname]
    given = tdata.get("columns") or {}
    if not isinstance(given, MappingABC):
        problems.add(f"{where}.columns", "must map table columns to fields, e.g. {registered_on: {min: date}}")
        given = {}
    one_row_per = tdata.get("one_row_per")
    columns: dict[str, tuple[str, Any]] = {}
    for column, value in given.items():
        cwhere = f"{where}.columns.{column}"
        if column not in spec.column_names:
            close = difflib.get_close_matches(str(column), spec.column_names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.add(cwhere, f"'{column}' is not a column of {tname}{hint}; to keep another column, use "
                                 "keep: on the raw column")
            continue
        if isinstance(value, str):
            columns[column] = ("field", value)
        elif isinstance(value, MappingABC) and len(value) == 1:
            op, arg = next(iter(value.items()))
            if op not in ("field", "first", "min", "max", "value"):
                problems.add(cwhere, f"'{op}' is not one of field, first, min, max, value")
                continue
            if op in ("first", "min", "max") and not one_row_per:
                problems.add(cwhere, f"'{op}' needs one_row_per (it combines the rows of one person)")
                continue
            columns[column] = (op, arg)
        else:
            problems.add(cwhere, "expected a field name, or one of {field: F}, {first: F}, {min: F}, {max: F}, "
                                 "{value: CODE}")
    src = sources[source]
    field_names = {r.field for r in src.columns if r.field} | {d.field for d in src.derive} | {
        k for k, _ in src.defaults}
    for column in spec.column_names:
        if column not in columns and column in field_names:
            columns[column] = ("field", column)
    extras = tuple(r.field for r in src.columns if r.keep == tname and r.field)
    return TableMap(name=tname, source=source, columns=tuple((c, columns[c]) for c in spec.column_names
                                                             if c in columns),
                    one_row_per=one_row_per, first_by=tdata.get("first_by"), explode=tdata.get("explode"),
                    extras=extras)


@cache
def _vocabulary_names() -> set[str]:
    from workbench.contract.schema import VOCABULARIES

    return set(VOCABULARIES)


def _resolve_types(source: Source, tables: dict[str, TableMap], resolved: dict[str, Source], name: str,
                   problems: _Problems) -> Source:
    """Give every field of the source its type: explicit, by its name, or by the column it fills."""
    where = f"{name}: sources.{source.name}"
    fed: dict[str, set[FType]] = defaultdict(set)
    for tm in tables.values():
        if tm.source != source.name:
            continue
        for column, (op, arg) in tm.columns:
            if op != "value":
                fed[str(arg)].add(canonical_type(TABLES[tm.name].column(column)))

    def inferred(fname: str) -> FType:
        if fname in _canonical_names():
            return _canonical_names()[fname]
        if len(fed.get(fname, ())) == 1:
            return next(iter(fed[fname]))
        return FType("text")

    types: dict[str, FType] = {}
    rules = []
    for rule in source.columns:
        if rule.field is None:
            rules.append(rule)
            continue
        if rule.field in types:
            problems.add(f"{where}.columns.{rule.raw}", f"the field '{rule.field}' is already given by another "
                                                        "column (to combine two columns, use derive: first_of)")
            continue
        if rule.pseudonym:
            ftype = FType("id", rule.pseudonym)
        elif rule.explicit_type == "code":
            ftype = FType("code", rule.explicit_vocab)
        elif rule.explicit_type:
            ftype = FType(rule.explicit_type)
        else:
            ftype = inferred(rule.field)
            if ftype.kind == "id":
                problems.add(f"{where}.columns.{rule.raw}",
                             f"'{rule.field}' is an identifier: add pseudonym: {ftype.vocab} (it is replaced by a "
                             "keyed pseudonym), or map the column to another field")
                continue
        types[rule.field] = ftype
        rules.append(replace(rule, ftype=ftype))
    derived = []
    for d in source.derive:
        if d.field in types:
            problems.add(f"{where}.derive.{d.field}", "this field is already given by a column; use a new name "
                                                      "or first_of")
            continue
        ftype = _derived_type(d, types, inferred, resolved, where, problems)
        if ftype is None:
            continue
        types[d.field] = ftype
        derived.append(Derived(d.field, d.op, d.args, ftype))
    for fname, value in source.defaults:
        if fname not in types:
            types[fname] = inferred(fname)
        ftype = types[fname]
        _check_constant(value, ftype, f"{where}.defaults.{fname}", problems)
    return Source(name=source.name, file=source.file, sheet=source.sheet, header_row=source.header_row,
                  delimiter=source.delimiter, columns=tuple(rules), derive=tuple(derived),
                  defaults=source.defaults, types=tuple(types.items()))


def _derived_type(d: Derived, types: dict[str, FType], inferred, resolved: dict[str, Source], where: str,
                  problems: _Problems) -> FType | None:
    w = f"{where}.derive.{d.field}"

    def need(fname: Any, kinds: tuple[str, ...], role: str) -> bool:
        if fname not in types:
            problems.add(w, f"{role} '{fname}' is not a field of this source (fields are defined in order: "
                            "columns first, then derive)")
            return False
        if kinds and types[fname].kind not in kinds:
            problems.add(w, f"{role} '{fname}' is {types[fname].describe()}, not a {' or '.join(kinds)}"
                            + (" (add type: date to its column)" if "date" in kinds else ""))
            return False
        return True

    if d.op == "year_of":
        return FType("year") if need(d.args["year_of"], ("date",), "year_of") else None
    if d.op == "year_from_age":
        ok = need(d.args["year_from_age"], ("integer", "year"), "year_from_age")
        ok = need(d.args["at"], ("date",), "at") and ok
        return FType("year") if ok else None
    if d.op == "pseudonym":
        ok = all([need(f, (), "of") for f in d.args["of"]])
        return FType("id", d.args["pseudonym"]) if ok else None
    if d.op == "lookup":
        other = resolved.get(d.args["lookup"])
        ok = need(d.args["on"], (), "on")
        if other is None:
            problems.add(w, f"'{d.args['lookup']}' is not another source of this mapping")
            return None
        ftype = other.type_of(d.args["field"])
        if ftype is None or other.type_of(d.args["on"]) is None:
            problems.add(w, f"'{d.args['on']}' and '{d.args['field']}' must be fields of source '{other.name}'")
            return None
        return ftype if ok else None
    if d.op == "value":
        ftype = inferred(d.field)
        _check_constant(d.args["value"], ftype, w, problems)
        return ftype
    subs = []
    for sub in d.args["first_of"]:
        t = _derived_type(sub, types, inferred, resolved, where, problems)
        if t is None:
            return None
        subs.append(t)
    if len(set(subs)) > 1:
        problems.add(w, "the rules of first_of give fields of different types")
        return None
    return subs[0]


def _check_constant(value: Any, ftype: FType, where: str, problems: _Problems) -> None:
    if value is None:
        return
    try:
        _constant(value, ftype)
    except ValueError as exc:
        problems.add(where, str(exc))


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


def _check_value_targets(rule: ColumnRule, where: str, problems: _Problems) -> None:
    ftype = rule.ftype
    for key, target in rule.values:
        if target is None:
            continue
        if ftype.kind in ("date", "year", "integer", "text", "id"):
            problems.add(f"{where}.values", f"{ftype.describe().capitalize()} column can only map values to ~ (not "
                                            f"recorded); '{key}' maps to {target!r}")
            continue
        try:
            _constant(target, ftype)
        except ValueError as exc:
            problems.add(f"{where}.values", f"{key!r} → {exc}")


def _check_table(tm: TableMap, source: Source, name: str, problems: _Problems) -> None:
    where = f"{name}: tables.{tm.name}"
    spec = TABLES[tm.name]
    given = dict(tm.columns)
    for column in spec.required_columns:
        if column not in given:
            problems.add(where, f"the required column '{column}' has no field: map a raw column to it "
                                f"(to: {column}), give it a default, or set columns: {{{column}: {{value: …}}}}")
    for column, (op, arg) in tm.columns:
        ctype = canonical_type(spec.column(column))
        cwhere = f"{where}.columns.{column}"
        if op == "value":
            if ctype.kind == "id":
                problems.add(cwhere, "an identifier cannot be a constant")
            else:
                _check_constant(arg, ctype, cwhere, problems)
            continue
        ftype = source.type_of(str(arg))
        if ftype is None:
            problems.add(cwhere, f"'{arg}' is not a field of source '{source.name}' "
                                 f"(fields: {', '.join(source.fields) or 'none'})")
            continue
        if ctype.kind == "id":
            if ftype.kind != "id":
                problems.add(cwhere, f"{column} must be a pseudonym: give its raw column pseudonym: {ctype.vocab} "
                                     "(raw identifiers never reach the extract)")
            elif ftype.vocab != ctype.vocab:
                problems.add(cwhere, f"{column} needs a {ctype.vocab} pseudonym, not a {ftype.vocab} one (the same "
                                     "person must get the same pseudonym in every table)")
            continue
        if not _compatible(ftype, ctype):
            problems.add(cwhere, f"the field '{arg}' is {ftype.describe()} but {column} needs "
                                 f"{ctype.describe()}")
    if tm.one_row_per is not None:
        ftype = source.type_of(str(tm.one_row_per))
        if ftype is None or ftype.kind != "id":
            problems.add(f"{where}.one_row_per", f"'{tm.one_row_per}' must be a pseudonym field of source "
                                                 f"'{source.name}' (e.g. person_id)")
    if tm.first_by is not None:
        if tm.one_row_per is None:
            problems.add(f"{where}.first_by", "first_by only applies with one_row_per")
        elif source.type_of(str(tm.first_by)) is None:
            problems.add(f"{where}.first_by", f"'{tm.first_by}' is not a field of source '{source.name}'")
    if tm.explode is not None:
        rule = next((r for r in source.columns if r.field == tm.explode), None)
        if rule is None or rule.split is None:
            problems.add(f"{where}.explode", f"'{tm.explode}' must be a field whose column has split: (several "
                                             "values in one cell)")
    for rule in source.columns:
        if rule.field and rule.split and rule.field in {str(a) for _, (op, a) in tm.columns if op != "value"} \
                and tm.explode != rule.field:
            problems.add(where, f"the field '{rule.field}' holds several values per row (split): add "
                                f"explode: {rule.field}")


def _compatible(ftype: FType, ctype: FType) -> bool:
    if ctype.kind == "code" and ctype.vocab is None:
        return ftype.kind in ("code", "text")
    if ctype.kind == "year":
        return ftype.kind in ("year", "integer")
    if ctype.kind == "code":
        return ftype.kind == "code" and ftype.vocab == ctype.vocab
    return ftype.kind == ctype.kind


def _check_source(source: Source, sources: dict[str, Source], tables: dict[str, TableMap], name: str,
                  problems: _Problems) -> None:
    where = f"{name}: sources.{source.name}"
    table_names = {tm.name for tm in tables.values() if tm.source == source.name}
    for rule in source.columns:
        if rule.field is None:
            continue
        cwhere = f"{where}.columns.{rule.raw}"
        ftype = rule.ftype
        _check_value_targets(rule, cwhere, problems)
        if rule.date_formats and ftype.kind != "date":
            problems.add(f"{cwhere}.date_format", f"only for dates; '{rule.field}' is {ftype.describe()} "
                                                  "(add type: date)")
        if rule.split and ftype.kind not in ("code", "country"):
            problems.add(f"{cwhere}.split", "only for columns of codes (e.g. several protection concerns)")
        if rule.keep:
            if rule.keep not in table_names:
                problems.add(f"{cwhere}.keep", f"the table '{rule.keep}' is not filled from source '{source.name}'")
            if rule.field in TABLES[rule.keep].column_names:
                problems.add(f"{cwhere}.keep", f"'{rule.field}' is a column of {rule.keep} already; keep is for "
                                               "other columns")
            kind = guard.kind_by_name(rule.raw) or guard.kind_by_name(rule.field)
            if kind or rule.pseudonym:
                problems.add(f"{cwhere}.keep", "this column holds direct identifiers and cannot be kept: drop it, "
                                               "or pseudonymise it (pseudonym: KIND) and use it as an id")
    for d in source.derive:
        for item in ([d] if d.op != "first_of" else d.args["first_of"]):
            if item.op == "lookup" and item.args["lookup"] == source.name:
                problems.add(f"{where}.derive.{d.field}", "a source cannot look up values in itself")


def _lookup_deps(source: Source) -> set[str]:
    deps = set()
    for d in source.derive:
        for item in ([d] if d.op != "first_of" else d.args["first_of"]):
            if item.op == "lookup":
                deps.add(item.args["lookup"])
    return deps


def _source_order(sources: dict[str, Source]) -> list[str] | None:
    order: list[str] = []
    pending = dict(sources)
    while pending:
        ready = [n for n, s in pending.items() if (_lookup_deps(s) - {n}) & set(sources) <= set(order)]
        if not ready:
            return None
        for n in ready:
            order.append(n)
            del pending[n]
    return order


# --------------------------------------------------------------------------------------------------
# Reading the raw export
# --------------------------------------------------------------------------------------------------

@dataclass
class RawSource:
    """A raw table as read: text cells under internal column names, with the headers as written."""

    name: str
    file: str
    frame: pl.DataFrame          # columns wb_c0, wb_c1… (text) and wb_row (1-based data row)
    headers: list[str]           # header cell of each wb_c column, trimmed ('' when empty)
    header_row: int              # the row the header was found on (1-based, among the rows read)
    blank_rows: list[int] = field(default_factory=list)


def _resolve_file(source: Source, raw: Path, mapping: Mapping) -> Path:
    if not raw.exists():
        raise MappingError(f"{raw}: no such file or folder (the raw export).")
    if raw.is_file():
        return raw
    if source.file is None:
        raise MappingError(f"{raw} is a folder: source '{source.name}' in {mapping.name} needs file: (the file "
                           "name or a pattern such as *.xlsx).")
    files = sorted(p for p in raw.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    hits = [p for p in files if fnmatch.fnmatch(p.name.lower(), source.file.lower())]
    if not hits:
        raise MappingError(f"{raw}: no file matches '{source.file}' (source '{source.name}' in {mapping.name}). "
                           f"Files there: {', '.join(p.name for p in files[:12]) or 'none'}.")
    if len(hits) > 1:
        raise MappingError(f"{raw}: several files match '{source.file}' ({', '.join(p.name for p in hits)}); "
                           f"make file: of source '{source.name}' in {mapping.name} name one of them.")
    return hits[0]


def _workbook_grid(path: Path, source: Source, mapping: Mapping, books: dict) -> tuple[str, pl.DataFrame]:
    import fastexcel

    if path not in books:
        if path.stat().st_size == 0:
            raise MappingError(f"{path.name}: the file is empty.")
        try:
            books[path] = fastexcel.read_excel(str(path))
        except Exception as exc:  # fastexcel raises its own error types
            raise MappingError(f"{path.name}: cannot be opened as a workbook ({readers._first_line(exc)}). "
                               "Save it again as .xlsx, or export the sheet as CSV.") from None
    book = books[path]
    names = list(book.sheet_names)
    if source.sheet is None:
        if len(names) != 1:
            raise MappingError(f"{path.name} has {len(names)} sheets ({', '.join(names)}): say which one source "
                               f"'{source.name}' reads with sheet: in {mapping.name}.")
        sheet = names[0]
    else:
        by_key = {match_key(n): n for n in names}
        sheet = source.sheet if source.sheet in names else by_key.get(match_key(source.sheet))
        if sheet is None:
            raise MappingError(f"{path.name}: no sheet '{source.sheet}' (sheets: {', '.join(names)}). Fix sheet: of "
                               f"source '{source.name}' in {mapping.name}.")
    try:
        grid = book.load_sheet_by_name(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:
        raise MappingError(f"{path.name}[{sheet}]: the sheet cannot be read ({readers._first_line(exc)}).") from None
    return f"{path.name}[{sheet}]", grid.with_columns(pl.all().cast(pl.String))


def _csv_grid(path: Path, source: Source, mapping: Mapping) -> tuple[str, pl.DataFrame, int]:
    """The CSV as a text grid from its header row on, and the number of lines skipped above it."""
    text, _ = readers.decode(path.read_bytes())
    if not text.strip():
        raise MappingError(f"{path.name}: the file is empty.")
    lines = text.splitlines(keepends=True)
    keys = {r.key for r in source.columns}
    required = {r.key for r in source.columns if r.field and not r.optional}
    if source.header_row is not None:
        index = source.header_row - 1
    else:
        rows = []
        for line in lines[:HEADER_SEARCH_ROWS]:
            sep = source.delimiter or readers.sniff_delimiter(line)
            rows.append([c.strip() for c in next(csv.reader([line], delimiter=sep, quotechar='"'), [])])
        index = _find_header(rows, keys, required)
        if index is None:
            raise _no_header(path.name, source, mapping, rows)
    if index >= len(lines):
        raise MappingError(f"{path.name}: header_row {index + 1} is beyond the end of the file.")
    body = "".join(lines[index:])
    sep = source.delimiter or readers.sniff_delimiter(lines[index])
    counts = readers._field_counts(body, sep)
    width = counts[0]
    long_rows = [i for i, n in enumerate(counts) if n > width]
    if long_rows:
        row = long_rows[0]
        raise MappingError(f"{path.name}: row {row} has {counts[row]} fields but the header has {width} (delimiter "
                           f"{sep!r}). A cell probably holds the delimiter without quotes; fix that row, or set "
                           f"delimiter: of source '{source.name}' in {mapping.name}.")
    try:
        grid = pl.read_csv(body.encode("utf-8"), separator=sep, has_header=False, infer_schema=False,
                           quote_char='"', raise_if_empty=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        raise MappingError(f"{path.name}: cannot be read as CSV with delimiter {sep!r} "
                           f"({readers._first_line(exc)}). Check that quotes are closed.") from None
    return path.name, grid, index


def _find_header(rows: list[list[str | None]], keys: set[str], required: set[str]) -> int | None:
    """The first row holding every required column; else the row holding the most mapped columns."""
    best, best_score = None, 0
    cells = [c for row in rows for c in row if c is not None]
    key_of = dict(zip(cells, match_keys(cells)))
    for i, row in enumerate(rows):
        found = {key_of[c] for c in row if c is not None}
        if required and required <= found:
            return i
        score = len(keys & found)
        if score > best_score:
            best, best_score = i, score
    return best


def _no_header(file: str, source: Source, mapping: Mapping, rows) -> MappingError:
    shown = ", ".join(f"'{r.raw}'" for r in source.columns[:6])
    return MappingError(f"{file}: no header row found in the first {len(rows)} rows: none of the columns of source "
                        f"'{source.name}' in {mapping.name} ({shown}…) appear. Check the column names, or set "
                        "header_row:.")


def read_source(source: Source, raw: str | Path, mapping: Mapping, books: dict | None = None) -> RawSource:
    """Read one source of the raw export as text, from its header row on."""
    raw = Path(raw)
    path = _resolve_file(source, raw, mapping)
    suffix = path.suffix.lower()
    keys = {r.key for r in source.columns}
    required = {r.key for r in source.columns if r.field and not r.optional}
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        label, grid = _workbook_grid(path, source, mapping, {} if books is None else books)
        if grid.height == 0:
            raise MappingError(f"{label}: the sheet is empty.")
        if source.header_row is not None:
            index = source.header_row - 1
        else:
            head = grid.head(HEADER_SEARCH_ROWS).rows()
            index = _find_header([list(r) for r in head], keys, required)
            if index is None:
                raise _no_header(label, source, mapping, head)
        if index >= grid.height:
            raise MappingError(f"{label}: header_row {index + 1} is beyond the last row ({grid.height}).")
        headers = ["" if v is None else str(v).strip() for v in grid.row(index)]
        data = grid.slice(index + 1)
        header_row = index + 1
    elif suffix in (".csv", ".txt", ".tsv"):
        label, grid, skipped = _csv_grid(path, source, mapping)
        if grid.height == 0:
            raise MappingError(f"{label}: no header row could be read.")
        headers = ["" if v is None else str(v).strip() for v in grid.row(0)]
        data = grid.slice(1)
        header_row = skipped + 1
    else:
        raise MappingError(f"{path.name}: a raw export is read from .xlsx, .xls, .ods or .csv files, not "
                           f"'{path.suffix}'.")
    internal = [f"wb_c{i}" for i in range(len(headers))]
    data = data.rename(dict(zip(data.columns, internal)))
    data = data.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in internal)
    data = data.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    blank = pl.all_horizontal(pl.col(internal).is_null()) if internal else pl.lit(True)
    blank_rows = data.filter(blank)[ROW].to_list()
    data = data.filter(~blank)
    return RawSource(name=source.name, file=label, frame=data, headers=headers, header_row=header_row,
                     blank_rows=blank_rows)


def read_sources(mapping: Mapping, raw: str | Path) -> dict[str, RawSource]:
    """Read every source of the mapping from the raw export (a file or a folder)."""
    books: dict = {}
    return {name: read_source(source, raw, mapping, books) for name, source in mapping.sources.items()}


# --------------------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------------------

@dataclass
class SourceReport:
    """What happened to one source: rows read = mapped + quarantined, and its columns."""

    source: str
    file: str
    header_row: int
    read: int
    mapped: int
    quarantined: int
    by_rule: dict[str, int]
    columns: dict[str, str]              # raw header → what it became
    dropped: list[str]                   # dropped on purpose (listed as drop, or identifiers not kept)
    unmapped: list[str]                  # in the file, not in the mapping: dropped and listed
    absent: list[str]                    # optional columns of the mapping not in the file
    blank_rows: int = 0
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "file": self.file, "header_row": self.header_row, "read": self.read,
                "mapped": self.mapped, "quarantined": self.quarantined, "by_rule": dict(self.by_rule),
                "blank_rows": self.blank_rows, "columns": dict(self.columns), "dropped": list(self.dropped),
                "unmapped": list(self.unmapped), "absent": list(self.absent),
                "unmapped_values": {k: dict(v) for k, v in self.unmapped_values.items()}}


@dataclass
class Mapped:
    """The canonical tables made from a raw export, before pseudonymisation.

    ``tables`` hold the contract's columns (identifier columns hold *identity strings*,
    never written anywhere), kept extra columns, and the raw file and row each row came
    from (``wb_src_file``, ``wb_src_row``). ``quarantine`` has the contract's quarantine
    columns, one line per raw row refused at the mapping stage. ``quarantined_ids`` are the
    identities found in refused rows (kind, identity, file, row, reason), so that a later
    reference to them can say why they are missing.
    """

    mapping: Mapping
    tables: dict[str, pl.DataFrame]
    id_columns: dict[str, dict[str, str]]
    quarantine: pl.DataFrame
    quarantined_ids: pl.DataFrame
    sources: dict[str, SourceReport]
    warnings: list[str]

    @property
    def read(self) -> int:
        return sum(r.read for r in self.sources.values())

    @property
    def quarantined(self) -> int:
        return self.quarantine.height


@dataclass(frozen=True)
class _Check:
    index: int
    column: str           # raw header (or field) named in the quarantine
    fail: pl.Expr
    rule: str
    reason: pl.Expr
    value: pl.Expr


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


def _convert(rule: ColumnRule, col: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, str, str]:
    """The field value of a raw cell, whether it fails, whether it was not mapped, the rule and the
    reason template (``{}`` is the raw value)."""
    ftype = rule.ftype
    kind = ftype.kind
    key = match_key_expr(col)
    not_known = key.is_in(list(NOT_KNOWN))
    present = col.is_not_null()
    false = pl.lit(False)
    raw = _safe(rule.raw)
    if kind == "id":
        return pl.when(~not_known).then(_identity_expr(col)), false, false, "", ""
    if kind == "text":
        return col, false, false, "", ""
    if kind == "code" and ftype.vocab is None:
        hit, mapped = _values_exprs(rule, key, pl.String)
        return pl.when(hit).then(mapped).otherwise(readers.code_expr(col)), false, false, "", ""
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
        return value, fail, unmapped, "unmapped_code", reason
    if kind == "boolean":
        hit, mapped = _values_exprs(rule, key, pl.Boolean)
        word = readers.code_expr(col).replace_strict(BOOLEAN_WORDS, default=None, return_dtype=pl.Boolean)
        value = pl.when(hit).then(mapped).otherwise(word)
        fail = present & ~hit & word.is_null() & ~not_known
        return (value, fail, fail, "invalid_boolean",
                f"{raw} '{{}}' is not a yes/no value (oui/non, yes/no, true/false, 1/0; others go under values:)")
    if kind == "date":
        hit, _ = _values_exprs(rule, key, pl.Date)
        formats = list(dict.fromkeys([*rule.date_formats, "%Y-%m-%d"]))
        iso_time = pl.when(col.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d")).then(
            col.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})"))
        parsed = pl.coalesce(*[col.str.to_date(f, strict=False) for f in formats],
                             iso_time.str.to_date("%Y-%m-%d", strict=False))
        parsed = pl.when(parsed.dt.year() >= 1000).then(parsed)
        value = pl.when(hit | not_known).then(pl.lit(None, dtype=pl.Date)).otherwise(parsed)
        fail = present & ~hit & ~not_known & parsed.is_null()
        shown = " or ".join(_display_format(f) for f in formats)
        return value, fail, fail, "invalid_date", f"{raw} '{{}}' is not a date ({shown})"
    if kind in ("year", "integer"):
        hit, _ = _values_exprs(rule, key, pl.Int64)
        text = col.str.strip_chars()
        number = pl.when(text.str.contains(r"^\d{1,6}(\.0+)?$")).then(
            text.str.extract(r"^(\d+)").cast(pl.Int64, strict=False))
        value = pl.when(hit | not_known).then(pl.lit(None, dtype=pl.Int64)).otherwise(number)
        fail = present & ~hit & ~not_known & number.is_null()
        what = "a year such as 1990" if kind == "year" else "a whole number"
        return (value.cast(pl.Int32) if kind == "year" else value, fail, fail,
                "invalid_year" if kind == "year" else "invalid_number", f"{raw} '{{}}' is not {what}")
    raise AssertionError(kind)  # pragma: no cover


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


def _derive(d: Derived, source: Source) -> pl.Expr:
    """The expression of a derived field (lookups are joins: see :func:`_lookup`)."""
    if d.op == "year_of":
        return pl.col(d.args["year_of"]).dt.year().cast(pl.Int32)
    if d.op == "year_from_age":
        return (pl.col(d.args["at"]).dt.year() - pl.col(d.args["year_from_age"])).cast(pl.Int32)
    if d.op == "value":
        return _lit(d.args["value"], d.ftype)
    if d.op == "pseudonym":
        # identifiers are already identity strings; codes, dates and numbers are exact; text is normalised
        parts = [_as_text(n, source.type_of(n)) if source.type_of(n).kind != "text"
                 else _identity_expr(pl.col(n)) for n in d.args["of"]]
        base = pl.concat_str([p.fill_null("") for p in parts], separator=SEP)
        return pl.when(pl.any_horizontal([p.is_not_null() for p in parts])).then(base)
    raise AssertionError(d.op)  # pragma: no cover


def _number_repeats(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Tell apart rows with the same identity by their order in the file (``…#1``, ``…#2``)."""
    occurrence = (pl.int_range(1, pl.len() + 1).over(column)).cast(pl.String)
    return frame.with_columns(
        pl.when(pl.col(column).is_not_null()).then(pl.concat_str([pl.col(column), pl.lit(SEP + "#"), occurrence]))
        .alias(column))


def _lookup(frame: pl.DataFrame, d: Derived, alias: str, done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    other = done[d.args["lookup"]]
    on, take = d.args["on"], d.args["field"]
    table = (other.filter(pl.col(on).is_not_null()).unique(on, keep="first", maintain_order=True)
             .select(pl.col(on), pl.col(take).alias(alias)))
    return frame.join(table, on=on, how="left", maintain_order="left")


def _map_source(source: Source, raw: RawSource, mapping: Mapping, done: dict[str, pl.DataFrame]
                ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, SourceReport, dict]:
    """Map one source: (all rows with fields, accepted rows, quarantine, quarantined ids, report,
    identifier values)."""
    present: dict[str, str] = {}
    duplicates: set[str] = set()
    header_keys = match_keys(raw.headers)
    for header, key, internal in zip(raw.headers, header_keys, [f"wb_c{i}" for i in range(len(raw.headers))]):
        if not header:
            continue
        if key in present:
            duplicates.add(key)
        present.setdefault(key, internal)
    missing = [r for r in source.columns if r.field and not r.optional and r.key not in present]
    if missing:
        found = ", ".join(f"'{h}'" for h in raw.headers if h) or "no named columns"
        raise MappingError(
            f"{raw.file}: column{'s' if len(missing) > 1 else ''} {', '.join(repr(r.raw) for r in missing)} of "
            f"source '{source.name}' in {mapping.name} {'are' if len(missing) > 1 else 'is'} not in the header "
            f"(row {raw.header_row}: {found}). Check the column names in the mapping, or mark a column that may be "
            "absent with optional: true.")
    ambiguous = [r.raw for r in source.columns if r.field and r.key in duplicates]
    if ambiguous:
        raise MappingError(f"{raw.file}: the header has more than one column read as {', '.join(map(repr, ambiguous))}; "
                           "rename one of them in the export.")
    written = mapping.written_fields(source.name)
    frame = raw.frame
    exprs: list[pl.Expr] = []
    checks: list[_Check] = []
    split_rules: list[tuple[ColumnRule, str]] = []
    unmapped_flags: dict[str, str] = {}
    for i, rule in enumerate(source.columns):
        if rule.field is None:
            continue
        internal = present.get(rule.key)
        if internal is None:
            exprs.append(pl.lit(None, dtype=_dtype(rule.ftype)).alias(rule.field))
            continue
        if rule.split:
            split_rules.append((rule, internal))
            continue
        value, fail, unmapped, rule_name, reason = _convert(rule, pl.col(internal))
        converted = [value.alias(rule.field)]
        hidden = rule.field not in written or rule.ftype.kind == "id"
        if rule_name:
            converted += [fail.alias(f"wb_fail_{i}"), unmapped.alias(f"wb_unm_{i}")]
            unmapped_flags[rule.raw] = f"wb_unm_{i}"
            checks.append(_check(i, rule, internal, rule_name, reason, hidden))
        frame = _through_distinct(frame, internal, converted)
    frame = frame.with_columns(exprs) if exprs else frame
    for rule, internal in split_rules:
        i = source.columns.index(rule)
        frame = _split_column(frame, rule, internal, i)
        value, fail, unmapped, rule_name, reason = _convert(rule, pl.col(f"wb_item_{i}"))
        hidden = rule.field not in written
        checks.append(_Check(i, rule.raw, pl.col(f"wb_fail_{i}"), rule_name,
                             _reason(reason, pl.col(f"wb_bad_{i}"), hidden, rule.raw),
                             pl.col(f"wb_bad_{i}") if not hidden else pl.lit(None, dtype=pl.String)))
        unmapped_flags[rule.raw] = f"wb_unm_{i}"
    for d in source.derive:
        frame = _apply_derived(frame, d, source, done)
    for fname, value in source.defaults:
        ftype = source.type_of(fname)
        default = _lit(value, ftype)
        frame = frame.with_columns((pl.coalesce(pl.col(fname), default) if fname in frame.columns else default)
                                   .alias(fname))
    checks.sort(key=lambda c: c.index)  # the first rule broken, in the order of the mapping's columns
    # An empty identifier that a table needs (a person, a contact…) cannot be mapped.
    checked: set[str] = set()
    for tm in mapping.tables.values():
        if tm.source != source.name:
            continue
        for column, (op, arg) in tm.columns:
            if op == "value" or column not in TABLES[tm.name].required_columns or arg in checked:
                continue
            ftype = source.type_of(str(arg))
            if ftype is None or ftype.kind != "id":
                continue
            checked.add(arg)
            rule = next((r for r in source.columns if r.field == arg), None)
            label = _safe(rule.raw if rule else str(arg))
            checks.append(_Check(len(source.columns) + len(checks), label, pl.col(str(arg)).is_null(), "required",
                                 pl.lit(f"{label} is empty: the row cannot be given a {column} "
                                        f"({tm.name} needs one)"), pl.lit(None, dtype=pl.String)))
    index = pl.coalesce(*[pl.when(c.fail).then(pl.lit(n)) for n, c in enumerate(checks)]) if checks else \
        pl.lit(None, dtype=pl.Int32)
    frame = frame.with_columns(index.alias("wb_check"))
    failed = pl.col("wb_check").is_not_null()
    bad = frame.filter(failed)
    ok = frame.filter(~failed)
    quarantine = bad.select(
        pl.lit(source.name).alias("table"),
        pl.lit(raw.file).alias("file"),
        pl.col(ROW).alias("row"),
        _pick(checks, lambda c: pl.lit(c.column)).alias("column"),
        _pick(checks, lambda c: c.value).cast(pl.String).alias("value"),
        _pick(checks, lambda c: pl.lit(c.rule)).alias("rule"),
        _pick(checks, lambda c: c.reason).alias("reason"),
    ) if checks else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    quarantine = quarantine.cast(QUARANTINE_SCHEMA)
    id_fields = [(n, t.vocab) for n, t in source.types if t.kind == "id" and n in bad.columns]
    parts = [bad.filter(pl.col(n).is_not_null()).select(pl.lit(kind).alias("kind"), pl.col(n).alias("identity"),
                                                        pl.col(ROW).alias("row"))
             for n, kind in id_fields]
    qids = pl.concat(parts) if parts else pl.DataFrame(schema={"kind": pl.String, "identity": pl.String,
                                                                 "row": pl.Int64})
    qids = qids.join(quarantine.select("row", "file", "reason"), on="row", how="left")
    report = _report(source, raw, header_keys, present, ok, bad, quarantine, frame, unmapped_flags, written)
    keeps = any(tm.extras for tm in mapping.tables.values())
    return frame, ok, quarantine, qids, report, _identifier_values(source, raw, header_keys) if keeps else {}


def _identifier_values(source: Source, raw: RawSource, header_keys: list[str]) -> dict[str, list[str]]:
    """The values of the columns that hold identifiers (pseudonymised, or named like names, phones,
    e-mails, addresses, authority numbers), by raw header: kept text must not contain them."""
    rules = {r.key: r for r in source.columns}
    out = {}
    for position, (header, key) in enumerate(zip(raw.headers, header_keys)):
        rule = rules.get(key)
        if not header or not (guard.kind_by_name(header) or (rule is not None and rule.pseudonym)):
            continue
        values = (raw.frame.select(pl.col(f"wb_c{position}").drop_nulls().str.strip_chars().unique().alias("v"))
                  .filter(pl.col("v").str.len_chars() >= MIN_IDENTIFIER_LENGTH)["v"].sort())
        if values.len():
            out[f"{raw.file}: {header}"] = values.to_list()
    return out


def _check_kept(tables: dict[str, pl.DataFrame], mapping: Mapping, identifiers: dict[str, list[str]]) -> None:
    """Refuse a kept column that holds a value of an identifier column of the export (a name in free text)."""
    for name, frame in tables.items():
        tm = mapping.tables[name]
        for column in tm.extras:
            text = frame.get_column(column).cast(pl.String)
            for where, values in identifiers.items():
                hits = text.str.contains_any(values, ascii_case_insensitive=True).fill_null(False)
                if hits.any():
                    row = int(frame.filter(hits)[SRC_ROW][0])
                    file = frame[SRC_FILE][0]
                    raise IdentifierColumnError(
                        f"{file}: the column kept as '{column}' in {name} holds values of the column "
                        f"{where.split(': ', 1)[1]!r} (first at row {row}): free text with names, phone numbers or "
                        f"identifiers cannot be kept. Drop it in {mapping.name}.",
                        file=file, table=name, column=column, row=row)


def _through_distinct(frame: pl.DataFrame, column: str, exprs: list[pl.Expr]) -> pl.DataFrame:
    """Add ``exprs`` (functions of ``column`` only) computed once per distinct value of the column.

    Codes, dates and yes/no cells repeat: normalising their few distinct values and joining
    back is much faster than normalising every cell.
    """
    distinct = frame.select(pl.col(column).unique()).with_columns(exprs)
    return frame.join(distinct, on=column, how="left", nulls_equal=True, maintain_order="left")


def _check(i: int, rule: ColumnRule, internal: str, rule_name: str, reason: str, hidden: bool) -> _Check:
    raw_value = pl.col(internal)
    return _Check(i, rule.raw, pl.col(f"wb_fail_{i}"), rule_name, _reason(reason, raw_value, hidden, rule.raw),
                  raw_value if not hidden else pl.lit(None, dtype=pl.String))


def _safe(text: str) -> str:
    """Text without braces, to sit in a ``pl.format`` template."""
    return text.replace("{", "(").replace("}", ")")


def _reason(template: str, value: pl.Expr, hidden: bool, raw: str) -> pl.Expr:
    raw = _safe(raw)
    if hidden:
        text = template.replace(f"{raw} '{{}}'", f"{raw} (value not shown: the column is not written to the "
                                                 "extract)")
        return pl.lit(text)
    return pl.format(template, value.fill_null(""))


def _pick(checks: list[_Check], what) -> pl.Expr:
    return pl.coalesce(*[pl.when(pl.col("wb_check") == n).then(what(c)) for n, c in enumerate(checks)])


def _split_column(frame: pl.DataFrame, rule: ColumnRule, internal: str, i: int) -> pl.DataFrame:
    """A cell holding several codes (``unaccompanied, trafficked``): a list field, each item mapped."""
    items = (frame.select(ROW, pl.col(internal).str.split(rule.split).alias(f"wb_item_{i}"))
             .explode(f"wb_item_{i}")
             .with_columns(pl.col(f"wb_item_{i}").str.strip_chars().replace("", None))
             .filter(pl.col(f"wb_item_{i}").is_not_null()))
    value, fail, unmapped, _, _ = _convert(rule, pl.col(f"wb_item_{i}"))
    items = items.with_columns(value.alias("wb_value"), fail.alias("wb_f"), unmapped.alias("wb_u"))
    per_row = items.group_by(ROW).agg(
        pl.col("wb_value").drop_nulls().unique(maintain_order=True).alias(rule.field),
        pl.col("wb_f").any().alias(f"wb_fail_{i}"),
        pl.col("wb_u").any().alias(f"wb_unm_{i}"),
        pl.col(f"wb_item_{i}").filter(pl.col("wb_f")).first().alias(f"wb_bad_{i}"),
        pl.col(f"wb_item_{i}").filter(pl.col("wb_u")).alias(f"wb_unmvals_{i}"),
    )
    frame = frame.join(per_row, on=ROW, how="left", maintain_order="left")
    return frame.with_columns(
        pl.col(rule.field).fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col(f"wb_fail_{i}").fill_null(False), pl.col(f"wb_unm_{i}").fill_null(False),
    )


def _apply_derived(frame: pl.DataFrame, d: Derived, source: Source, done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    items = d.args["first_of"] if d.op == "first_of" else [d]
    exprs = []
    for n, item in enumerate(items):
        if item.op == "lookup":
            alias = f"wb_lookup_{d.field}_{n}"
            frame = _lookup(frame, item, alias, done)
            exprs.append(pl.col(alias))
        else:
            exprs.append(_derive(Derived(item.field, item.op, item.args, d.ftype), source))
    frame = frame.with_columns((pl.coalesce(*exprs) if len(exprs) > 1 else exprs[0]).alias(d.field))
    if d.op == "pseudonym" and d.args.get("per_row"):
        frame = _number_repeats(frame, d.field)
    return frame.drop([c for c in frame.columns if c.startswith(f"wb_lookup_{d.field}_")])


def _report(source: Source, raw: RawSource, header_keys: list[str], present: dict[str, str], ok: pl.DataFrame,
            bad: pl.DataFrame,
            quarantine: pl.DataFrame, frame: pl.DataFrame, unmapped_flags: dict[str, str],
            written: set[str]) -> SourceReport:
    rules = {r.key: r for r in source.columns}
    columns: dict[str, str] = {}
    dropped: list[str] = []
    unmapped: list[str] = []
    for position, (header, key) in enumerate(zip(raw.headers, header_keys), start=1):
        internal = f"wb_c{position - 1}"
        if not header:
            if frame.select(pl.col(internal).is_not_null().any()).item():
                unmapped.append(f"(column {position}, no header)")
            continue
        rule = rules.get(key)
        if rule is None:
            unmapped.append(header)
        elif rule.field is None:
            dropped.append(header)
        elif rule.pseudonym:
            columns[header] = f"{rule.field} (pseudonym: {rule.pseudonym})"
        else:
            columns[header] = rule.field + ("" if rule.field in written else " (used on the way, not written)")
    absent = [r.raw for r in source.columns if r.key not in present]
    values: dict[str, dict[str, int]] = {}
    for rule in source.columns:
        flag = unmapped_flags.get(rule.raw)
        if flag is None or rule.field not in written or rule.key not in present:
            continue
        if rule.split:
            i = source.columns.index(rule)
            counts = (frame.select(pl.col(f"wb_unmvals_{i}")).explode(f"wb_unmvals_{i}")
                      .drop_nulls().group_by(f"wb_unmvals_{i}").len())
        else:
            internal = present[rule.key]
            counts = frame.filter(pl.col(flag)).group_by(internal).len()
        if counts.height:
            counts = counts.sort(["len", counts.columns[0]], descending=[True, False]).head(MAX_UNMAPPED_VALUES)
            values[rule.raw] = {str(v): int(n) for v, n in counts.iter_rows()}
    by_rule = dict(sorted(quarantine.group_by("rule").len().iter_rows())) if quarantine.height else {}
    return SourceReport(source=source.name, file=raw.file, header_row=raw.header_row,
                        read=ok.height + bad.height, mapped=ok.height, quarantined=bad.height, by_rule=by_rule,
                        columns=columns, dropped=dropped, unmapped=unmapped, absent=absent,
                        blank_rows=len(raw.blank_rows), unmapped_values=values)


def _build_table(tm: TableMap, source: Source, ok: pl.DataFrame, file: str) -> tuple[pl.DataFrame, list[str]]:
    """A canonical table from the accepted rows of its source (and warnings)."""
    spec = TABLES[tm.name]
    frame = ok
    if tm.explode:
        frame = frame.explode(tm.explode).filter(pl.col(tm.explode).is_not_null())
    warnings: list[str] = []

    def typed(column: str, expr: pl.Expr) -> pl.Expr:
        ctype = canonical_type(spec.column(column))
        return expr.cast(_dtype(ctype)).alias(column)

    if tm.one_row_per:
        order = ([pl.col(tm.first_by)] if tm.first_by else []) + [pl.col(ROW)]
        frame = frame.sort(order, nulls_last=True, maintain_order=True)
        aggs, consts, conflicts = [], [], []
        for column, (op, arg) in tm.columns:
            if op == "value":
                consts.append(typed(column, _lit(arg, canonical_type(spec.column(column)))))
            elif op in ("field", "first"):
                aggs.append(typed(column, pl.col(arg).drop_nulls().first()))
                if arg != tm.one_row_per:
                    conflicts.append((column, pl.col(arg).drop_nulls().n_unique().alias(f"wb_n_{column}")))
            else:
                aggs.append(typed(column, getattr(pl.col(arg), op)()))
        aggs += [pl.col(e).drop_nulls().first().alias(e) for e in tm.extras]
        grouped = (frame.filter(pl.col(tm.one_row_per).is_not_null())
                   .group_by(pl.col(tm.one_row_per).alias("wb_key"), maintain_order=True)
                   .agg(*aggs, *[e for _, e in conflicts], pl.col(ROW).first().alias(SRC_ROW)))
        for column, _ in conflicts:
            n = grouped.filter(pl.col(f"wb_n_{column}") > 1).height
            if n:
                warnings.append(f"{tm.name}: {n:,} {_plural(n, tm.one_row_per)} have more than one {column} across "
                                f"their rows in {file}; the first recorded was kept.")
        out = grouped.with_columns(consts) if consts else grouped
    else:
        exprs = []
        for column, (op, arg) in tm.columns:
            ctype = canonical_type(spec.column(column))
            exprs.append(typed(column, _lit(arg, ctype) if op == "value" else pl.col(arg)))
        out = frame.select(*exprs, *[pl.col(e) for e in tm.extras], pl.col(ROW).alias(SRC_ROW))
    columns = [c for c, _ in tm.columns]
    out = out.select(*[c for c in spec.column_names if c in columns], *tm.extras,
                     pl.lit(file).alias(SRC_FILE), pl.col(SRC_ROW))
    return out, warnings


def _plural(n: int, id_field: str) -> str:
    word = id_field.removesuffix("_id")
    return word + ("s" if n > 1 else "")


def apply(mapping: Mapping, raw: str | Path) -> Mapped:
    """Read a raw export (a file, or a folder of files) and map it to the canonical tables.

    Raises
    ------
    MappingError
        When a file, sheet or mapped column cannot be found or read (nothing is mapped).
    """
    return _apply(mapping, read_sources(mapping, raw))


def apply_frames(mapping: Mapping, frames: dict[str, pl.DataFrame]) -> Mapped:
    """Map raw tables given as data frames of text (one per source, headers as written)."""
    raws = {}
    for name, source in mapping.sources.items():
        frame = frames[name]
        headers = [str(c).strip() for c in frame.columns]
        internal = [f"wb_c{i}" for i in range(len(headers))]
        data = frame.rename(dict(zip(frame.columns, internal))).with_columns(
            pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in internal)
        data = data.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
        blank = pl.all_horizontal(pl.col(internal).is_null()) if internal else pl.lit(True)
        raws[name] = RawSource(name, name, data.filter(~blank), headers, 1, data.filter(blank)[ROW].to_list())
    return _apply(mapping, raws)


def _apply(mapping: Mapping, raws: dict[str, RawSource]) -> Mapped:
    done: dict[str, pl.DataFrame] = {}
    accepted: dict[str, pl.DataFrame] = {}
    quarantines, qids, reports, warnings = [], [], {}, []
    identifiers: dict[str, list[str]] = {}
    for name in _source_order(mapping.sources) or list(mapping.sources):
        source = mapping.sources[name]
        raw = raws[name]
        if raw.blank_rows:
            warnings.append(f"{raw.file}: {len(raw.blank_rows):,} blank row{'s' if len(raw.blank_rows) > 1 else ''} "
                            "ignored.")
        everything, ok, quarantine, ids, report, found = _map_source(source, raw, mapping, done)
        identifiers.update(found)
        done[name] = everything
        accepted[name] = ok
        quarantines.append(quarantine)
        qids.append(ids)
        reports[name] = report
    tables: dict[str, pl.DataFrame] = {}
    id_columns: dict[str, dict[str, str]] = {}
    for tname in TABLE_ORDER:
        tm = mapping.tables.get(tname)
        if tm is None:
            continue
        frame, notes = _build_table(tm, mapping.sources[tm.source], accepted[tm.source], raws[tm.source].file)
        tables[tname] = frame
        warnings.extend(notes)
        id_columns[tname] = {c.name: c.name.removesuffix("_id") for c in TABLES[tname].columns
                             if c.kind == "id" and c.name in frame.columns}
    _check_kept(tables, mapping, identifiers)
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return Mapped(mapping=mapping, tables=tables, id_columns=id_columns, quarantine=quarantine,
                  quarantined_ids=pl.concat(qids) if qids else pl.DataFrame(), sources=reports, warnings=warnings)
