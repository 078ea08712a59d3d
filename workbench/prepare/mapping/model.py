"""The mapping model: a checked mapping file as frozen dataclasses (fields, their types, sources,
tables), and the order in which sources are mapped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from workbench.contract.schema import TABLES, Column
from workbench.prepare.mapping.parse import match_key

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
    if column.kind in ("code", "codes", "key"):
        return FType("code")  # a shared key is written as agreed in the network, never pseudonymised
    if column.kind == "count":
        return FType("year")  # a whole number
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
    unmapped: str | None = None         # quarantine, unknown, or not given (quarantine, except open codes)
    date_formats: tuple[str, ...] = ()
    pseudonym: str | None = None
    keep: str | None = None
    optional: bool = False
    split: str | None = None
    countries: bool = True
    explicit_type: str | None = None
    explicit_vocab: str | None = None
    key: str = ""                       # the match key of the header (set when parsed)
    option: str | None = None           # a 0/1 column of one option of a multiple choice: the code it stands for
    timezone: str | None = None         # date-times are converted to this zone before the date is taken

    @property
    def multi(self) -> bool:
        """Whether the field holds several values per row (``split`` or ``option`` columns)."""
        return self.split is not None or self.option is not None

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
    sheet: str | int | None             # a name, or a position (1: the first sheet, whatever its name)
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


def _lookup_items(d: Derived) -> list[Derived]:
    return [item for item in ([d] if d.op != "first_of" else d.args["first_of"]) if item.op == "lookup"]


def _defined_at(source: Source, fname: str) -> int | None:
    """The step of ``source`` after which the field holds its final values: 0 its columns,
    1 + i its i-th derived field, ``len(derive) + 1`` its defaults; None when it is no field."""
    if fname in {k for k, _ in source.defaults}:
        return len(source.derive) + 1
    for i, d in enumerate(source.derive):
        if d.field == fname:
            return i + 1
    if fname in {r.field for r in source.columns if r.field}:
        return 0
    return None


def _schedule(sources: dict[str, Source]) -> tuple[list[tuple[str, int]], list[str]]:
    """The order of the steps of every source (0 its columns, 1 + i its i-th derived field,
    ``len(derive) + 1`` its defaults and checks), so that a lookup runs once the fields it reads
    in the other source are final. Lookups may go both ways between two sources (the person of a
    repeat row from its submission, a count from the repeat back in the submission) as long as no
    field waits for itself. Returns the steps and, when some cannot run, what each one waits for."""
    done = {name: -1 for name in sources}
    steps: list[tuple[str, int]] = []

    def waits(name: str, step: int) -> list[str]:
        source = sources[name]
        if step == 0 or step > len(source.derive):
            return []
        out = []
        for item in _lookup_items(source.derive[step - 1]):
            other = sources.get(item.args["lookup"])
            if other is None or other.name == name:
                continue
            for fname in (item.args["field"], item.args["on"]):
                at = _defined_at(other, fname)
                if at is not None and done[other.name] < at:
                    out.append(f"sources.{name}.derive.{source.derive[step - 1].field} waits for the field "
                               f"'{fname}' of source '{other.name}'")
        return out

    progress = True
    while progress:
        progress = False
        for name, source in sources.items():
            while done[name] <= len(source.derive) and not waits(name, done[name] + 1):
                done[name] += 1
                steps.append((name, done[name]))
                progress = True
    blocked = [w for name, source in sources.items() if done[name] <= len(source.derive)
               for w in waits(name, done[name] + 1)]
    return steps, blocked
