"""The identifier guard: refuse an extract that holds direct identifiers.

A case extract must be pseudonymised before the workbench reads it. A column whose
*name* says it holds names, phone numbers, e-mail addresses, street addresses or an
authority's file numbers (AGDREF, ECAS, UNHCR registration, passport…), in French or
English, or whose *content* looks like them, makes the whole load fail with the file
and column named. The value itself is never echoed.

Rules (also in ``docs/extract-contract.md``):

* names are split into words (``Nom_Prénom`` → ``nom``, ``prenom``; accents dropped);
  a column is refused when a word is in one of the lists below. Words that describe
  an organisation's own things (``site_name``, ``partner_name``, ``centre_nom``…) are
  not identifiers.
* content is read for every text column that is not a checked code, date or boolean
  (and for whole-number columns of Parquet files, where a file number may be stored as a
  number): up to the first 10,000 non-empty values. A column is refused when at least 30 %
  of the values look like e-mail addresses, phone numbers, street addresses or authority
  file numbers, or at least 50 % look like personal names (two to four capitalised words,
  no digits) among at least 5 different values. In a pseudonym column (``person_id``,
  ``caseworker_id``…) a single name or e-mail is enough: a pseudonym never looks like one,
  and a small team may have fewer than 5 caseworkers. In the other columns a single stray
  value is the row's problem, not the extract's: see below.

The same detectors work *per cell* (:func:`cell_kind_expr`): a value typed in the wrong
column (a phone number in "Site", an e-mail in "Sexe" or in a remark) quarantines its row
with the rule ``identifier`` (e-mails, phones, file numbers; personal names only when
preparing a raw export, where the mapping says which columns are kept). And no raw value is ever echoed: quarantine files, mapping reports and
messages show :func:`mask` of it, its shape (digits → ``#``, letters → ``a``/``A``, other
characters kept, cut after 24 characters).
"""

from __future__ import annotations

import re
import unicodedata

from collections.abc import Mapping

import polars as pl

from workbench.exceptions import IdentifierColumnError

SAMPLE = 10_000

_NAME_WORDS = {
    "name", "names", "nom", "noms", "prenom", "prenoms", "surname", "firstname", "lastname", "fullname",
    "givenname", "forename", "familyname", "nomprenom", "nomcomplet", "patronyme", "alias", "surnom",
    "nickname",
}
_NAME_PAIRS = {("first", "name"), ("last", "name"), ("given", "name"), ("family", "name"),
               ("full", "name"), ("maiden", "name"), ("nom", "famille"), ("nom", "jeune")}
_ORG_WORDS = {"site", "centre", "center", "partner", "partenaire", "organisation", "organization", "service",
              "file", "fichier", "sheet", "table", "country", "pays", "team", "equipe", "structure",
              "association", "city", "ville", "lieu", "place", "project", "projet", "programme", "program",
              "indicator", "indicateur", "column", "colonne", "code",
              # places and institutions: their names are not personal names
              "hotel", "foyer", "shelter", "hebergement", "camp", "prefecture", "tribunal", "court",
              "hospital", "hopital", "school", "ecole", "office", "bureau"}
_PHONE_WORDS = {"phone", "telephone", "tel", "tél", "mobile", "portable", "gsm", "whatsapp", "cellphone",
                "cell", "phonenumber", "telephonenumber", "numtel", "fixe"}
_EMAIL_WORDS = {"email", "mail", "courriel", "mel", "emailaddress"}
_ADDRESS_WORDS = {"address", "adresse", "street", "rue", "addr", "domicile", "postal", "postcode",
                  "zipcode", "zip", "streetaddress"}
_AUTHORITY_WORDS = {"agdref", "ecas", "passport", "passeport", "cin", "ofpra", "nir", "ssn", "idcard",
                    "nationalid", "titresejour"}
_AUTHORITY_PREFIX = {"unhcr", "hcr", "progres", "proges", "hcrid", "unhcrid"}
_AUTHORITY_SUFFIX = {"id", "number", "no", "num", "numero", "registration", "ref", "reference", "case",
                     "individual", "dossier"}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"^(?:(?:\+|00)\d{1,3}[\s.()-]*\d[\d\s.()-]{5,}\d"  # international
    r"|0[1-9](?:[\s.-]?\d{2}){4}"  # French 0X XX XX XX XX
    r"|\d{2}[\s.]\d{3}[\s.]\d{3})$"  # Tunisian 22 123 456 (with separators)
)
_ADDRESS = re.compile(
    # French order, number then street type: "12 rue des Lilas", "3 bis, avenue Foch"
    r"\b\d{1,4}\s*(?:bis|ter)?,?\s+(?:rue|avenue|av\.?|boulevard|bd|chemin|impasse|all[ée]e|place|route|"
    r"cit[ée]|quai|street|st\.?|road|rd\.?|lane|drive)\b"
    # English order, street type after the name: "10 Downing Street", "221B Baker St"
    r"|\b\d{1,4}[a-z]?,?\s+(?:[\w'’.-]+\s+){1,3}(?:street|st\.?|road|rd\.?|avenue|ave\.?|lane|drive|"
    r"boulevard)(?:\W|$)",
    re.IGNORECASE,
)
_AUTHORITY = re.compile(r"^(?:\d{10}|\d{3}-\d{2}[A-Z]\d{5}|\d{3}-\d{8}|[A-Z]{2}\d{7})$")
_PERSON_NAME = re.compile(r"^[A-ZÀ-Ý][A-Za-zÀ-ÿ'’-]+(?:\s+[A-ZÀ-Ý][A-Za-zÀ-ÿ'’-]+){1,3}$")

_KINDS = {
    "name": "personal names",
    "phone": "phone numbers",
    "email": "e-mail addresses",
    "address": "street addresses",
    "authority": "identity or case-file numbers from an authority (AGDREF, ECAS, UNHCR, passport…)",
}


#: A masked value keeps at most this many characters (then ``…``).
MASK_LENGTH = 24
#: The quarantine rule of a cell shaped like a direct identifier.
IDENTIFIER_RULE = "identifier"

# Per cell, searched anywhere in the text (a phone typed inside a sentence is still a phone).
_CELL_PHONE = (r"(?:^|[^\w+])(?:(?:\+|00)\d{1,3}[\s.()-]*\d(?:[\s.()-]*\d){5,}"
               r"|\d(?:[\s.-]?\d){7,14})(?:[^\w]|$)")
_CELL_DATE = (r"\b\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"
              r"|\b\d{1,2}[./-]\d{1,2}[./-]\d{4}\b")  # dates and times are not phone numbers
_CELL_AUTHORITY = r"(?:^|\W)(?:\d{10}|\d{3}-\d{2}[A-Z]\d{5}|\d{3}-\d{8}|[A-Z]{2}\d{7})(?:\W|$)"


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """The shape of a text value, never the value: digits → ``#``, letters → ``a`` (``A`` upper
    case), accents dropped, spaces and line breaks → one space, other characters kept, cut after
    :data:`MASK_LENGTH` characters with ``…``. Null stays null.

    >>> pl.select(mask_expr(pl.lit("+216 23 706 433"))).item(), mask("Amadou Diallo"), mask("ab@cd.org")
    ('+### ## ### ###', 'Aaaaaa Aaaaaa', 'aa@aa.aaa')
    """
    shape = (expr.cast(pl.String).str.normalize("NFKD").str.replace_all(r"\p{M}+", "")
             .str.replace_all(r"[\s\p{C}]+", " ").str.strip_chars()
             .str.replace_all(r"\p{N}", "#").str.replace_all(r"[\p{Lu}\p{Lt}]", "A")
             .str.replace_all(r"[\p{L}&&[^A]]", "a"))
    return (pl.when(shape.str.len_chars() > MASK_LENGTH)
            .then(pl.concat_str([shape.str.slice(0, MASK_LENGTH), pl.lit("…")])).otherwise(shape))


def mask(value: object) -> str | None:
    """:func:`mask_expr` of one value (the same code, so a message and a file never disagree)."""
    if value is None:
        return None
    return pl.select(mask_expr(pl.lit(str(value), dtype=pl.String))).item()


def cell_kind_expr(expr: pl.Expr, *, names: bool = True) -> pl.Expr:
    """Per cell, the kind of direct identifier the text looks like (``email``, ``phone``,
    ``authority``, ``name``), or null.

    E-mails, phone numbers (international, or 8 to 15 digits in groups) and authority file
    numbers are found anywhere in the text; a personal name (two to four capitalised words)
    only as the whole cell, and only when ``names``.

    >>> pl.select(cell_kind_expr(pl.lit("rappeler au 06 12 34 56 78"))).item()
    'phone'
    """
    text = expr.cast(pl.String).str.strip_chars()
    kind = (pl.when(text.str.contains(_EMAIL.pattern)).then(pl.lit("email"))
            .when(text.str.contains(_CELL_AUTHORITY)).then(pl.lit("authority"))
            .when(text.str.replace_all(_CELL_DATE, " ").str.contains(_CELL_PHONE)).then(pl.lit("phone")))
    if names:
        kind = kind.when(text.str.contains(_PERSON_NAME.pattern)).then(pl.lit("name"))
    return kind.otherwise(pl.lit(None, dtype=pl.String))


def cell_reason(column: str, kind: pl.Expr) -> pl.Expr:
    """The quarantine reason of a cell shaped like a direct identifier (the value is not shown)."""
    what = kind.replace_strict(
        list(_KINDS), [_KINDS[k] for k in _KINDS], default="direct identifiers", return_dtype=pl.String)
    return pl.format(f"{column}: the value looks like one of {{}}; it is not read (fix the cell in the export: "
                     "identifiers belong in a column that is pseudonymised or dropped)", what)


def _words(column: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", column)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


def kind_by_name(column: str) -> str | None:
    """What a column's name says it holds, if it is a direct identifier.

    >>> kind_by_name("Téléphone"), kind_by_name("site_name"), kind_by_name("nom_prenom")
    ('phone', None, 'name')
    """
    words = _words(column)
    joined = "".join(words)
    pairs = set(zip(words, words[1:]))
    ws = set(words)
    if ws & _EMAIL_WORDS or joined in _EMAIL_WORDS or ("e", "mail") in pairs:
        return "email"
    if ws & _PHONE_WORDS or joined in _PHONE_WORDS:
        return "phone"
    if ws & _AUTHORITY_WORDS or joined in _AUTHORITY_WORDS or (
            ws & _AUTHORITY_PREFIX and (ws & _AUTHORITY_SUFFIX or len(ws) == 1)):
        return "authority"
    if ws & _ADDRESS_WORDS:
        return "address"
    if ws & _ORG_WORDS:
        return None
    if ws & _NAME_WORDS or joined in _NAME_WORDS or pairs & _NAME_PAIRS:
        return "name"
    return None


def _sample(values: pl.Series) -> pl.DataFrame:
    """The first :data:`SAMPLE` non-empty values, trimmed, with their 1-based row (``row``, ``v``).

    Read in growing slices from the top, so that a long column is not converted and trimmed as
    a whole for the few values the sample needs."""
    parts, found, start, step = [], 0, 0, SAMPLE
    while start < values.len() and found < SAMPLE:
        part = (pl.LazyFrame({"v": values.slice(start, step)}).with_row_index("row", offset=start + 1)
                .filter(pl.col("v").is_not_null())
                .with_columns(pl.col("v").cast(pl.String).str.strip_chars())
                .filter(pl.col("v") != "").head(SAMPLE - found).collect())
        parts.append(part)
        found += part.height
        start, step = start + step, step * 4
    if not parts:
        return pl.DataFrame(schema={"row": pl.UInt32, "v": pl.String})
    return pl.concat(parts)


def _content_checks(names: bool, single_email: bool = True) -> list[tuple[str, pl.Expr, float]]:
    """What :func:`kind_by_content` looks for in the values ``v``: kind, test, share of the sample needed."""
    checks = [
        ("email", pl.col("v").str.contains(_EMAIL.pattern), 0.0 if single_email else 0.3),
        ("phone", pl.col("v").str.contains(_PHONE.pattern), 0.3),
        ("address", pl.col("v").str.contains("(?i)" + _ADDRESS.pattern), 0.3),
        ("authority", pl.col("v").str.contains(_AUTHORITY.pattern), 0.3),
    ]
    if names:
        checks.append(("name", pl.col("v").str.contains(_PERSON_NAME.pattern), 0.5))
    return checks


#: At most this many different values are looked at instead of a column's sample (:func:`_none_looks_like`).
_FEW_VALUES = 10_000


def _none_looks_like(values: pl.Series | None, names: bool) -> bool:
    """Whether none of ``values`` (every value a column may hold: its categories, or its distinct
    values) looks like anything :func:`kind_by_content` looks for; then no sample of it can."""
    if values is None or values.len() > _FEW_VALUES:
        return False
    frame = (values.cast(pl.String).to_frame("v").select(pl.col("v").str.strip_chars())
             .filter(pl.col("v").is_not_null() & (pl.col("v") != "")))
    return not frame.select(pl.any_horizontal(e for _, e, _ in _content_checks(names)).any()).item()


def kind_by_content(values: pl.Series, *, names: bool = True, min_distinct_names: int = 5,
                    single_email: bool = True) -> tuple[str, int] | None:
    """What a text column's content looks like, with the 1-based position of the first match.

    ``values`` are the column's values in row order (nulls allowed). Personal names are only
    looked for when ``names``, and need ``min_distinct_names`` different values (so that a
    repeated label such as "Paris Nord" is not taken for a name). One e-mail is enough when
    ``single_email``; otherwise e-mails need the share of phones and file numbers (the column's
    cells are checked one by one elsewhere, and a stray address quarantines its row only).
    """
    frame = _sample(values)
    n = frame.height
    if n == 0:
        return None
    checks = _content_checks(names, single_email)
    hits = frame.select(
        *[e.alias(k) for k, e, _ in checks]
    )
    for kind, _, share in checks:
        col = hits[kind]
        count = int(col.sum())
        if count == 0 or count < share * n:
            continue
        if kind == "name" and frame.filter(col)["v"].n_unique() < min_distinct_names:
            continue
        first = int(frame.filter(col)["row"][0])
        return kind, first
    return None


def check_columns(table: str, file: str, frame: pl.DataFrame, *, content_columns: list[str],
                  name_content_columns: list[str], pseudonym_columns: tuple[str, ...] | list[str] = (),
                  distinct: Mapping[str, pl.Series] | None = None) -> None:
    """Refuse ``frame`` if a column holds direct identifiers.

    Every column's name is checked; ``content_columns`` are scanned for e-mails, phones,
    addresses and authority numbers, ``name_content_columns`` also for personal names. In
    ``pseudonym_columns`` a single personal name or e-mail is enough. The other content
    columns (codes and extra columns) are also checked cell by cell when their rows are
    validated (:mod:`workbench.extract.rules`, rule ``identifier``): there a stray phone or
    e-mail quarantines its row, and only a column where they reach the share (30 %) refuses the
    extract.

    ``distinct``: every distinct value of some columns (read already): a column none of whose values,
    or of whose categories, looks like an identifier is not sampled.
    """
    distinct = distinct or {}
    for column in frame.columns:
        kind = kind_by_name(column)
        if kind:
            raise IdentifierColumnError(
                f"{file}: column '{column}' looks like it holds {_KINDS[kind]} (by its name). "
                "A case extract must not contain direct identifiers: drop the column or pseudonymise the "
                "export first (`workbench pseudonymise`, see docs/pseudonymisation.md).",
                file=file, table=table, column=column)
    for column in content_columns:
        if column not in frame.columns:
            continue
        dtype = frame[column].dtype
        if not (dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) or dtype.is_integer()):
            continue
        every = (pl.Series(dtype.categories, dtype=pl.String) if isinstance(dtype, pl.Enum)
                 else distinct.get(column))
        if _none_looks_like(every, names=column in name_content_columns):
            continue
        found = kind_by_content(frame[column], names=column in name_content_columns,
                                min_distinct_names=1 if column in pseudonym_columns else 5,
                                single_email=column in pseudonym_columns)
        if found:
            kind, row = found
            raise IdentifierColumnError(
                f"{file}: column '{column}' holds values that look like {_KINDS[kind]} "
                f"(first at row {row}). A case extract must not contain direct identifiers: drop the column "
                "or pseudonymise the export first (`workbench pseudonymise`, see docs/pseudonymisation.md).",
                file=file, table=table, column=column, row=row)
