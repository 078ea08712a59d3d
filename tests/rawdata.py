"""Synthetic raw exports, as organisations keep them, for tests and demonstrations.

Nothing here is real data. Every name is made of syllables (``Kamo Ture``), every phone
number is a Tunisian-looking ``+216 2x xxx xxx`` drawn at random, every e-mail is
``userNNN@example.org``; they look like names, phones and e-mails to the identifier
guard, which is the point: the tests check that none of them survives pseudonymisation.

Three kinds of export, each with the mapping file that reads it in ``parameters/mappings``:

* :func:`register_fr` — a French Excel register of a reception desk: a title row above
  French headers (« N° dossier », « Nom », « Prénom », « Téléphone », « Date de naissance »,
  « Sexe », « Nationalité », « Date de passage »…), dates as date cells or typed
  ``JJ/MM/AAAA``, ``oui``/``non``, free-text « Observations »; one row per visit, to be
  split into persons and contacts;
* :func:`kobo_csv` — a KoboToolbox export: ``;``-separated, group-prefixed headers
  (``group_identite/nom``, ``group_visite/date``), choice values as codes (XML values) or
  labels, ``_uuid`` and ``_submission_time`` columns;
* :func:`primero_xlsx` — a Primero-like case export: a ``Cases`` sheet (case id, display id,
  name fields, sex, age and date of birth, nationality, risk level, registration,
  assessment, case plan and closure dates, workflow status, protection concerns, owner)
  and a ``Follow Up`` sheet (one row per follow-up).

Each generator is deterministic for a seed and returns a :class:`RawFixture`: where the
export was written, its mapping, the identifiers it holds (for leak scans) and an
:class:`Expected` computed from what was generated (rows read, rows the mapping must
quarantine and why, rows the load must quarantine, accepted rows, and indicator
figures). A few rows are broken on purpose, as in real exports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["START", "END", "EXTRACTED_ON", "MAPPINGS", "Expected", "RawFixture", "register_fr", "kobo_csv",
           "primero_xlsx", "KINDS", "make", "file_text"]

START = dt.date(2024, 1, 1)
END = dt.date(2024, 12, 31)
EXTRACTED_ON = dt.date(2025, 1, 15)
#: The example mapping files, shipped with the package's parameter examples.
MAPPINGS = Path(__file__).resolve().parent.parent / "workbench" / "assets" / "parameters" / "mappings"

_SYLLABLES = ("ka", "mo", "tu", "re", "zu", "bi", "yo", "ne", "ki", "sa", "lu", "do", "fe", "ri", "ga", "wo",
              "pa", "ti", "ve", "xo")
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Expected:
    """What the tests must find, computed from the generated truth (never from the output).

    ``read``: raw rows per source; ``mapping_quarantine``: source → rule → rows and
    ``quarantined_rows``: source → (row, rule) in the mapping-stage quarantine;
    ``load_quarantine``: table → rule → rows; ``accepted``: table → rows;
    ``figures``: indicator, period, dimension (empty for the total), category, value,
    numerator, denominator.
    """

    read: dict[str, int]
    mapping_quarantine: dict[str, dict[str, int]]
    quarantined_rows: dict[str, tuple[tuple[int, str], ...]]
    load_quarantine: dict[str, dict[str, int]]
    accepted: dict[str, int]
    figures: pl.DataFrame


@dataclass(frozen=True)
class RawFixture:
    """A generated raw export: pass ``path`` as RAW with ``mapping``."""

    kind: str
    path: Path
    mapping: Path
    identifiers: dict[str, tuple[str, ...]]   # names, phones, emails, raw_ids
    expected: Expected

    def secrets(self) -> list[str]:
        """Every generated identifier, as it would appear if it leaked (phones also as bare digits)."""
        out = set()
        for values in self.identifiers.values():
            out.update(values)
        for phone in self.identifiers.get("phones", ()):
            digits = re.sub(r"\D", "", phone)
            out |= {digits, digits[3:], phone.replace(" ", "")}
        return sorted(out)

    def leaks(self, *paths: str | Path) -> list[tuple[str, str]]:
        """``(file, identifier)`` for every generated identifier found in the files under ``paths``.

        Scans every file (recursively for folders) as text: Parquet files by their values and
        metadata, workbooks and other zip containers by every member. Use it on anything made
        from the fixture: extracts, quarantines, reports, dashboards' outputs.
        """
        files = []
        for path in map(Path, paths):
            files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        needles = self.secrets()
        found = []
        for file in files:
            text = _PSEUDONYM.sub(" ", file_text(file))
            found += [(str(file), n) for n in needles if n in text]
        return found


#: A pseudonym (its table's letter, then 16 hexadecimal digits: ``workbench.prepare.pseudonymise``). A
#: generated name can be one by chance ("Pafe" in "Pafe3c…", one person in 4,096): not a leak.
_PSEUDONYM = re.compile(r"\b[A-Z][0-9a-f]{16}\b")


def file_text(path: Path) -> str:
    """Everything a file holds, as text: its bytes, and Parquet values or zip members decoded."""
    data = path.read_bytes()
    parts = [data.decode("utf-8", errors="replace")]
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
        parts += [frame.write_csv(), " ".join(frame.columns)]
    elif data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(n).decode("utf-8", errors="replace") for n in archive.namelist()]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------------

def _names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """``n`` distinct (first name, last name) pairs made of syllables."""
    syl = np.array(_SYLLABLES)
    firsts: list[str] = []
    lasts: list[str] = []
    seen: set[tuple[str, str]] = set()
    while len(firsts) < n:
        k = n - len(firsts)
        f = np.char.add(syl[rng.integers(0, len(syl), k)], syl[rng.integers(0, len(syl), k)])
        l2 = np.char.add(syl[rng.integers(0, len(syl), k)], syl[rng.integers(0, len(syl), k)])
        l3 = np.where(rng.random(k) < 0.4, syl[rng.integers(0, len(syl), k)], "")
        last = np.char.add(l2, l3)
        for a, b in zip(f.tolist(), last.tolist()):
            pair = (a.capitalize(), b.capitalize())
            if pair not in seen and pair[0] != pair[1]:
                seen.add(pair)
                firsts.append(pair[0])
                lasts.append(pair[1])
    return firsts[:n], lasts[:n]


def _distinct(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    """``n`` distinct integers in [lo, hi), in drawing order (without building the whole range)."""
    out: list[int] = []
    seen: set[int] = set()
    while len(out) < n:
        for x in rng.integers(lo, hi, 2 * (n - len(out)) + 8).tolist():
            if x not in seen and len(out) < n:
                seen.add(x)
                out.append(x)
    return np.array(out, dtype=np.int64)


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    digits = _distinct(rng, 10_000_000, 30_000_000, n)
    return [f"+216 2{d % 10} {(d // 10) % 1000:03d} {(d // 10_000) % 1000:03d}" for d in digits.tolist()]


def _dates(rng: np.random.Generator, n: int, start: dt.date = START, end: dt.date = END) -> np.ndarray:
    lo, hi = (start - _EPOCH).days, (end - _EPOCH).days
    return rng.integers(lo, hi + 1, n)


def _to_date(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(days))


def _uuid(rng: np.random.Generator) -> str:
    h = "".join(f"{b:02x}" for b in rng.integers(0, 256, 16).tolist())
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _choice(rng: np.random.Generator, options: dict, n: int) -> list:
    keys = list(options)
    p = np.array(list(options.values()), dtype=float)
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum()).tolist()]


# --------------------------------------------------------------------------------------------------
# Expectations
# --------------------------------------------------------------------------------------------------

PERIODS = {"2024": (START, END), **{f"2024-Q{q}": (dt.date(2024, 3 * q - 2, 1),
                                                   (dt.date(2024, 3 * q + 1, 1) if q < 4 else dt.date(2025, 1, 1))
                                                   - dt.timedelta(days=1)) for q in range(1, 5)}}


def _figure(rows: list, indicator: str, period: str, dimension: str | None, frame: pl.DataFrame,
            value: pl.Expr | None = None, numerator: pl.Expr | None = None, denominator: pl.Expr | None = None) -> None:
    """Append expected rows: a total (dimension None) or one row per category of ``dimension``."""
    aggs = []
    if value is not None:
        aggs.append(value.alias("value"))
    if numerator is not None:
        aggs += [numerator.alias("numerator"), denominator.alias("denominator")]
    if dimension is None:
        out = frame.select(aggs).with_columns(pl.lit(None, dtype=pl.String).alias("category"))
    else:
        out = (frame.with_columns(pl.col(dimension).cast(pl.String).fill_null("unknown").alias("category"))
               .group_by("category").agg(aggs))
    for row in out.iter_rows(named=True):
        rows.append({"indicator": indicator, "period": period, "dimension": dimension,
                     "category": row["category"], "value": row.get("value"),
                     "numerator": row.get("numerator"), "denominator": row.get("denominator")})


def _reception_figures(persons: pl.DataFrame, contacts: pl.DataFrame) -> list[dict]:
    """persons_received, contacts, new_persons, interpreter_rate for 2024 and its quarters, and breakdowns.

    ``persons`` (accepted): person, sex, nationality, registered_on; ``contacts`` (accepted):
    person, date, service, interpreter.
    """
    rows: list[dict] = []
    contacts = contacts.join(persons.select("person", "sex", "nationality"), on="person", how="left")
    for period, (lo, hi) in PERIODS.items():
        c = contacts.filter(pl.col("date").is_between(lo, hi))
        p = persons.filter(pl.col("registered_on").is_between(lo, hi))
        _figure(rows, "persons_received", period, None, c, pl.col("person").n_unique())
        _figure(rows, "contacts", period, None, c, pl.len())
        _figure(rows, "new_persons", period, None, p, pl.len())
        recorded = c.filter(pl.col("interpreter").is_not_null())
        _figure(rows, "interpreter_rate", period, None, recorded, None, pl.col("interpreter").sum(), pl.len())
        if period == "2024":
            _figure(rows, "persons_received", period, "sex", c, pl.col("person").n_unique())
            _figure(rows, "contacts", period, "service", c, pl.len())
            _figure(rows, "new_persons", period, "nationality", p, pl.len())
    return rows


def _frame(rows: list[dict]) -> pl.DataFrame:
    schema = {"indicator": pl.String, "period": pl.String, "dimension": pl.String, "category": pl.String,
              "value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64}
    return pl.DataFrame(rows, schema=schema, strict=False)


def _counts(rules: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rules:
        out[r] = out.get(r, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# A French Excel register
# --------------------------------------------------------------------------------------------------

REGISTER_HEADERS = ("N° dossier", "Nom", "Prénom", "Téléphone", "Courriel", "Date de naissance", "Sexe",
                    "Nationalité", "Lieu", "Date de passage", "Service", "Interprète", "Observations")
_FR_COUNTRIES = {  # as a French register writes them → ISO 3166-1 alpha-3
    "Côte d'Ivoire": "CIV", "Guinée": "GIN", "Soudan": "SDN", "Tunisie": "TUN", "Érythrée": "ERI",
    "Afghanistan": "AFG", "Syrie": "SYR", "Cameroun": "CMR", "Mali": "MLI", "Sénégal": "SEN",
    "Maroc": "MAR", "RD Congo": "COD", "Apatride": "XXA",
}
_FR_COUNTRY_WEIGHTS = (14, 12, 10, 6, 8, 6, 5, 7, 6, 5, 4, 4, 2)
_FR_SERVICES = {  # label → canonical service
    "Information": "information", "Orientation": "orientation", "Consultation juridique": "legal_consultation",
    "Accompagnement": "accompaniment", "Soutien psychosocial": "psychosocial_support",
    "Aide sociale": "social_support", "Médiation": "mediation",
}
_FR_SITES = {"Tunis centre": "tunis_centre", "La Marsa": "la_marsa"}


def register_fr(folder: str | Path, *, persons: int = 60, seed: int = 1) -> RawFixture:
    """Write ``registre.xlsx``: a French reception register, one row per visit (see module doc).

    Broken on purpose (row numbers are data rows under the header): one visit dated
    ``31/02/2024`` (invalid_date), one nationality ``Atlantide`` (unmapped_code), one
    ``Interprète`` of ``peut-être`` (invalid_boolean), one row without a file number
    (required); one service ``Atelier collectif`` that the mapping sends to ``unknown``; one
    person born in 1890 (their person row is quarantined by the load, and their contacts
    with it); and two formatted but empty rows at the end (not read as rows).
    """
    rng = np.random.default_rng([seed, 101])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = persons
    firsts, lasts = _names(rng, n)
    phones = _phones(rng, n)
    emails = [f"user{100 + i}@example.org" if rng.random() < 0.5 else None for i in range(n)]
    ids = [f"ASSO-24-{i:05d}" for i in _distinct(rng, 100, 99_999, n).tolist()]
    sex = _choice(rng, {"female": 4, "male": 6}, n)
    sex_label = [{"female": "Femme", "male": "Homme"}[s] for s in sex]
    sex_label = [s.lower() if rng.random() < 0.1 else s for s in sex_label]  # "homme": still Homme
    born = _dates(rng, n, dt.date(1960, 1, 1), dt.date(2008, 12, 31))
    has_birth = rng.random(n) < 0.85
    countries = _choice(rng, dict(zip(_FR_COUNTRIES, _FR_COUNTRY_WEIGHTS)), n)
    has_country = rng.random(n) < 0.95
    site = _choice(rng, {"Tunis centre": 7, "La Marsa": 3}, n)
    visits = 1 + rng.poisson(1.6, n)
    old = int(rng.integers(0, n))  # the person born in 1890
    # visits: one row per visit, the register in date order
    person = np.repeat(np.arange(n), visits)
    days = _dates(rng, len(person))
    order = np.lexsort((person, days))
    person, days = person[order], days[order]
    m = len(person)
    service = _choice(rng, {k: w for k, w in zip(_FR_SERVICES, (30, 20, 25, 10, 6, 6, 3))}, m)
    interp = _choice(rng, {"oui": 3, "non": 6, "Oui": 1, "NON": 1, "": 2}, m)
    as_text = rng.random(m) < 0.25  # a quarter of the visit dates typed as text, the rest date cells
    # rows broken on purpose: distinct rows, none of them the 1890 person's
    candidates = [int(i) for i in rng.permutation(m) if person[i] != old]
    bad_date, bad_country, bad_bool, no_id, atelier = candidates[:5]
    birth_text = [_to_date(b).strftime("%d/%m/%Y") if h else "" for b, h in zip(born.tolist(), has_birth)]
    birth_text[old] = "12/05/1890"
    rows = []
    for r in range(m):
        p = int(person[r])
        d = _to_date(days[r])
        date_cell: object = d if not as_text[r] else d.strftime("%d/%m/%Y")
        nationality = countries[p] if has_country[p] else ""
        svc = service[r]
        interpreter = interp[r]
        file_no = ids[p]
        if r == bad_date:
            date_cell = "31/02/2024"
        if r == bad_country:
            nationality = "Atlantide"
        if r == bad_bool:
            interpreter = "peut-être"
        if r == no_id:
            file_no = ""
        if r == atelier:
            svc = "Atelier collectif"
        note = ""
        if r % 4 == 0:
            note = f"Vu avec {firsts[p]} {lasts[p]}, rappeler au {phones[p]}"
        elif r % 4 == 1:
            note = "Orientation vers l'avocate, dossier à compléter"
        rows.append([file_no, lasts[p], firsts[p], phones[p], emails[p] or "", birth_text[p], sex_label[p],
                     nationality, site[p], date_cell, svc, interpreter, note])
    path = folder / "registre.xlsx"
    _write_register(path, rows)

    # ------------------------------------------------------------ expectation
    broken = {bad_date: "invalid_date", bad_country: "unmapped_code", bad_bool: "invalid_boolean",
              no_id: "required"}
    truth = pl.DataFrame({
        "row": np.arange(1, m + 1), "person": person, "date": [_to_date(x) for x in days.tolist()],
        "service": [_FR_SERVICES.get(s, "unknown") for s in service],
        "interpreter": [{"oui": True, "Oui": True, "non": False, "NON": False}.get(i) for i in interp],
    }).with_columns(pl.col("person").cast(pl.Int64))
    truth = truth.with_columns(
        pl.when(pl.col("row") == atelier + 1).then(pl.lit("unknown")).otherwise(pl.col("service")).alias("service"))
    good = truth.filter(~pl.col("row").is_in([r + 1 for r in broken]))
    people = (good.group_by("person").agg(pl.col("date").min().alias("registered_on"))
              .join(pl.DataFrame({"person": np.arange(n), "sex": sex,
                                  "nationality": [_FR_COUNTRIES[c] if h else "unknown"
                                                  for c, h in zip(countries, has_country)]})
                    .with_columns(pl.col("person").cast(pl.Int64)), on="person"))
    accepted_people = people.filter(pl.col("person") != old)
    accepted_contacts = good.filter(pl.col("person") != old)
    old_contacts = good.filter(pl.col("person") == old).height
    expected = Expected(
        read={"registre": m},
        mapping_quarantine={"registre": _counts(list(broken.values()))},
        quarantined_rows={"registre": tuple(sorted((r + 1, rule) for r, rule in broken.items()))},
        load_quarantine={t: v for t, v in {
            "persons": {"out_of_range": 1} if old_contacts else {},
            "contacts": {"quarantined_parent": old_contacts} if old_contacts else {}}.items() if v},
        accepted={"persons": accepted_people.height, "contacts": accepted_contacts.height},
        figures=_frame(_reception_figures(accepted_people, accepted_contacts)),
    )
    return RawFixture("register_fr", path, MAPPINGS / "register_fr.yaml",
                      {"names": tuple(f"{a} {b}" for a, b in zip(firsts, lasts)) + tuple(firsts) + tuple(lasts),
                       "phones": tuple(phones), "emails": tuple(e for e in emails if e), "raw_ids": tuple(ids)},
                      expected)


def _write_register(path: Path, rows: list[list]) -> None:
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as book:
        book.set_properties({"title": "Registre (données fictives)", "created": dt.datetime(2025, 1, 15)})
        sheet = book.add_worksheet("Registre")
        bold = book.add_format({"bold": True})
        day = book.add_format({"num_format": "dd/mm/yyyy"})
        sheet.write(0, 0, "Registre des permanences 2024 — association fictive (données synthétiques)", bold)
        sheet.write_row(1, 0, REGISTER_HEADERS, bold)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
                elif value != "":
                    sheet.write_string(r, c, value)
        # two formatted but empty rows at the end, as registers have
        sheet.write_blank(len(rows) + 2, 0, None, day)
        sheet.write_blank(len(rows) + 3, 9, None, day)
        lists = book.add_worksheet("Listes")
        lists.write_column(0, 0, ["Homme", "Femme"])
        lists.write_column(0, 1, list(_FR_SERVICES))


# --------------------------------------------------------------------------------------------------
# A KoboToolbox export
# --------------------------------------------------------------------------------------------------

KOBO_HEADERS = (
    "start", "end", "today", "group_identite/code_beneficiaire", "group_identite/nom", "group_identite/prenom",
    "group_identite/telephone", "group_identite/sexe", "group_identite/annee_naissance",
    "group_identite/nationalite", "group_visite/date", "group_visite/lieu", "group_visite/canal",
    "group_visite/service", "group_visite/thematique", "group_visite/interprete", "group_visite/commentaire",
    "_id", "_uuid", "_submission_time", "_index", "_status", "_submitted_by",
)
# code → (label, canonical)
_KOBO_SEX = {"femme": ("Femme", "female"), "homme": ("Homme", "male"), "autre": ("Autre", "other")}
_KOBO_COUNTRIES = {"cote_d_ivoire": ("Côte d'Ivoire", "CIV"), "guinee": ("Guinée", "GIN"),
                   "soudan": ("Soudan", "SDN"), "erythree": ("Érythrée", "ERI"), "nigeria": ("Nigéria", "NGA"),
                   "cameroun": ("Cameroun", "CMR"), "tchad": ("Tchad", "TCD"), "autre": ("Autre", "unknown")}
_KOBO_SITES = {"sfax": ("Sfax", "sfax"), "ariana": ("Ariana", "ariana")}
_KOBO_CHANNELS = {"presentiel": ("Présentiel", "in_person"), "telephone": ("Téléphone", "phone"),
                  "maraude": ("Maraude", "outreach")}
_KOBO_SERVICES = {"information": ("Information", "information"), "orientation": ("Orientation", "orientation"),
                  "consultation_juridique": ("Consultation juridique", "legal_consultation"),
                  "accompagnement": ("Accompagnement", "accompaniment"),
                  "soutien_psychosocial": ("Soutien psychosocial", "psychosocial_support")}
_KOBO_TOPICS = {"asile": ("Asile", "asylum"), "sejour": ("Séjour", "residence"), "travail": ("Travail", "labour"),
                "logement": ("Logement", "housing"), "sante": ("Santé", "health"), "autre": ("Autre", "other")}
_KOBO_YESNO = {"oui": ("Oui", True), "non": ("Non", False)}


def kobo_csv(folder: str | Path, *, persons: int = 50, seed: int = 2, values: str = "code") -> RawFixture:
    """Write ``kobo_export.csv``: a KoboToolbox visit form export, one row per submission.

    ``values`` is ``code`` (XML values, as Kobo exports by default) or ``label``. Broken on
    purpose: one channel ``visio`` (unmapped_code), one visit date ``2024-13-01``
    (invalid_date), one submission without a beneficiary code (required); nationality
    ``autre`` is sent to ``unknown`` by the mapping.
    """
    if values not in ("code", "label"):
        raise ValueError("values is 'code' or 'label'")
    rng = np.random.default_rng([seed, 202])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = persons
    firsts, lasts = _names(rng, n)
    phones = _phones(rng, n)
    codes = [f"BEN-{i:05d}" for i in _distinct(rng, 1, 99_999, n).tolist()]
    sex = _choice(rng, {"femme": 5, "homme": 6, "autre": 0.3}, n)
    year = rng.integers(1965, 2009, n)
    has_year = rng.random(n) < 0.8
    country = _choice(rng, {"cote_d_ivoire": 8, "guinee": 7, "soudan": 6, "erythree": 4, "nigeria": 4,
                            "cameroun": 4, "tchad": 2, "autre": 1}, n)
    site = _choice(rng, {"sfax": 6, "ariana": 4}, n)
    visits = 1 + rng.poisson(1.4, n)
    person = np.repeat(np.arange(n), visits)
    days = _dates(rng, len(person))
    order = np.lexsort((person, days))
    person, days = person[order], days[order]
    m = len(person)
    channel = _choice(rng, {"presentiel": 7, "telephone": 2, "maraude": 1}, m)
    service = _choice(rng, {"information": 4, "orientation": 3, "consultation_juridique": 4, "accompagnement": 1,
                            "soutien_psychosocial": 1}, m)
    topic = _choice(rng, {"asile": 5, "sejour": 3, "travail": 1, "logement": 1, "sante": 1, "autre": 1}, m)
    interp = _choice(rng, {"oui": 3, "non": 7, "": 1}, m)
    uuids = [_uuid(rng) for _ in range(m)]
    kobo_ids = (_distinct(rng, 0, 10_000_000, m) + 180_000_000).tolist()
    candidates = [int(i) for i in rng.permutation(m)]
    bad_channel, bad_date, no_code = candidates[:3]

    def show(table: dict, code: str) -> str:
        if code == "":
            return ""
        return code if values == "code" else table[code][0]

    rows = []
    for r in range(m):
        p = int(person[r])
        d = _to_date(days[r])
        start = dt.datetime.combine(d, dt.time(9, 0)) + dt.timedelta(minutes=int(r * 7 % 400))
        ch = show(_KOBO_CHANNELS, channel[r])
        date_text = d.isoformat()
        code = codes[p]
        if r == bad_channel:
            ch = "visio"
        if r == bad_date:
            date_text = "2024-13-01"
        if r == no_code:
            code = ""
        rows.append([
            start.isoformat(timespec="milliseconds") + "+01:00",
            (start + dt.timedelta(minutes=12)).isoformat(timespec="milliseconds") + "+01:00", d.isoformat(),
            code, lasts[p], firsts[p], phones[p], show(_KOBO_SEX, sex[p]),
            str(int(year[p])) if has_year[p] else "", show(_KOBO_COUNTRIES, country[p]), date_text,
            show(_KOBO_SITES, site[p]), ch, show(_KOBO_SERVICES, service[r]), show(_KOBO_TOPICS, topic[r]),
            show(_KOBO_YESNO, interp[r]),
            f"{firsts[p]} revient la semaine prochaine" if r % 3 == 0 else "",
            str(kobo_ids[r]), uuids[r], (start + dt.timedelta(hours=2)).isoformat(timespec="seconds"), str(r + 1),
            "submitted_via_web", f"agent_{firsts[(p + 3) % n].lower()}",
        ])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(KOBO_HEADERS)
    writer.writerows(rows)
    path = folder / "kobo_export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))

    broken = {bad_channel: "unmapped_code", bad_date: "invalid_date", no_code: "required"}
    truth = pl.DataFrame({
        "row": np.arange(1, m + 1), "person": person.astype(np.int64), "date": [_to_date(x) for x in days.tolist()],
        "service": [_KOBO_SERVICES[s][1] for s in service],
        "interpreter": [_KOBO_YESNO[i][1] if i else None for i in interp],
    })
    good = truth.filter(~pl.col("row").is_in([r + 1 for r in broken]))
    people = (good.group_by("person").agg(pl.col("date").min().alias("registered_on"))
              .join(pl.DataFrame({"person": np.arange(n, dtype=np.int64), "sex": [_KOBO_SEX[s][1] for s in sex],
                                  "nationality": [_KOBO_COUNTRIES[c][1] for c in country]}), on="person"))
    expected = Expected(
        read={"visites": m},
        mapping_quarantine={"visites": _counts(list(broken.values()))},
        quarantined_rows={"visites": tuple(sorted((r + 1, rule) for r, rule in broken.items()))},
        load_quarantine={},
        accepted={"persons": people.height, "contacts": good.height},
        figures=_frame(_reception_figures(people, good)),
    )
    staff = tuple(sorted({f"agent_{firsts[(p + 3) % n].lower()}" for p in range(n)}))
    return RawFixture("kobo", path, MAPPINGS / "kobo.yaml",
                      {"names": tuple(f"{a} {b}" for a, b in zip(firsts, lasts)) + tuple(firsts) + tuple(lasts),
                       "phones": tuple(phones), "emails": (),
                       "raw_ids": tuple(codes) + tuple(uuids) + tuple(str(i) for i in kobo_ids) + staff},
                      expected)


# --------------------------------------------------------------------------------------------------
# A Primero-like case export
# --------------------------------------------------------------------------------------------------

PRIMERO_CASE_HEADERS = (
    "case_id", "case_id_display", "name_first", "name_last", "name_nickname", "sex", "age", "date_of_birth",
    "nationality", "telephone_current", "unhcr_individual_no", "location_current", "registration_date",
    "assessment_approved_date", "case_plan_approved_date", "date_closure", "closure_reason", "risk_level",
    "workflow_status", "status", "owned_by", "protection_concerns", "notes_section",
)
PRIMERO_FOLLOWUP_HEADERS = ("case_id", "followup_date", "followup_type", "followup_service_type",
                            "followup_comments")
_PRIMERO_COUNTRIES = {"Sudan": "SDN", "Eritrea": "ERI", "Côte d'Ivoire": "CIV", "Guinea": "GIN",
                      "Syria": "SYR", "Somalia": "SOM", "Afghanistan": "AFG", "Ethiopia": "ETH"}
_PRIMERO_CLOSURE = {"case_goals_met": "objectives_met", "transferred": "transferred",
                    "child_reached_majority": "turned_18", "lost_contact": "lost_contact"}
_PRIMERO_CONCERNS = {"unaccompanied": "unaccompanied_minor", "separated": "separated_child",
                     "trafficked": "trafficking_suspected", "gbv_survivor": "gbv_survivor",
                     "disability": "disability", "medical_condition": "serious_medical"}
_PRIMERO_FOLLOWUP = {"home_visit": "outreach", "phone_call": "phone", "office_visit": "in_person"}
_PRIMERO_SERVICE = {"legal_counselling": "legal_consultation", "psychosocial_support": "psychosocial_support",
                    "information": "information", "accompaniment": "accompaniment"}
_PRIMERO_SITES = {"Tunis": "tunis", "Sfax": "sfax"}


def _primero_date(day: dt.date | None) -> str:
    return day.strftime("%d-%b-%Y") if day else ""


def primero_xlsx(folder: str | Path, *, cases: int = 40, seed: int = 3) -> RawFixture:
    """Write ``primero_export.xlsx``: a ``Cases`` sheet and a ``Follow Up`` sheet (dates ``dd-Mon-yyyy``).

    Broken on purpose: one case registered on ``32-Jan-2024`` (invalid_date; its follow-ups
    then refer to a person the extract does not have, which the load quarantines and the
    report traces back to the refused case), one follow-up of type ``carrier_pigeon``
    (unmapped_code).
    """
    rng = np.random.default_rng([seed, 303])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = cases
    firsts, lasts = _names(rng, n)
    phones = _phones(rng, n)
    case_uuid = [_uuid(rng) for _ in range(n)]
    display = [f"{x:07X}" for x in _distinct(rng, 0x1000000, 0xFFFFFFF, n).tolist()]
    unhcr = [f"{int(a):03d}-24C{int(b):05d}" for a, b in zip(rng.integers(100, 999, n), rng.integers(0, 99_999, n))]
    sex = _choice(rng, {"female": 4, "male": 6}, n)
    registered = [_to_date(d) for d in _dates(rng, n, START, dt.date(2024, 10, 31)).tolist()]
    birth_year = rng.integers(2007, 2017, n)
    has_dob = rng.random(n) < 0.6
    dob = [dt.date(int(y), int(rng.integers(1, 13)), int(rng.integers(1, 29))) for y in birth_year.tolist()]
    age = [reg.year - int(y) for reg, y in zip(registered, birth_year.tolist())]
    country = _choice(rng, {k: 1 for k in _PRIMERO_COUNTRIES}, n)
    site = _choice(rng, {"Tunis": 6, "Sfax": 4}, n)
    risk = _choice(rng, {"high": 2, "medium": 4, "low": 3, "": 1}, n)
    owners = [f"cw_{firsts[i].lower()}{i}" for i in rng.choice(n, 4, replace=False).tolist()]
    owner = _choice(rng, {o: 1 for o in owners}, n)
    assessed, plan, closed, reason, status, workflow = [], [], [], [], [], []
    for i in range(n):
        reg = registered[i]
        a = reg + dt.timedelta(days=int(rng.integers(1, 20))) if rng.random() < 0.8 else None
        a = a if a and a <= END else None
        cp = a + dt.timedelta(days=int(rng.integers(1, 25))) if a and rng.random() < 0.7 else None
        cp = cp if cp and cp <= END else None
        c = reg + dt.timedelta(days=int(rng.integers(30, 200))) if rng.random() < 0.35 else None
        c = c if c and c <= END else None
        assessed.append(a)
        plan.append(cp)
        closed.append(c)
        reason.append(_choice(rng, {k: 1 for k in _PRIMERO_CLOSURE}, 1)[0] if c else "")
        status.append("closed" if c else "open")
        workflow.append("closed" if c else ("case_plan" if cp else ("assessment" if a else "new")))
    concerns = []
    for _ in range(n):
        k = int(rng.choice([0, 1, 1, 2]))
        picked = rng.choice(list(_PRIMERO_CONCERNS), size=k, replace=False).tolist()
        concerns.append(",".join(picked))
    followups = []  # (case index, date, type, service)
    for i in range(n):
        k = int(rng.integers(1, 5))
        last = closed[i] or END
        span = max((last - registered[i]).days, 0)
        for off in sorted(rng.integers(0, span + 1, k).tolist()):
            followups.append((i, registered[i] + dt.timedelta(days=int(off)),
                              _choice(rng, {k2: w for k2, w in zip(_PRIMERO_FOLLOWUP, (3, 3, 4))}, 1)[0],
                              _choice(rng, {k2: 1 for k2 in _PRIMERO_SERVICE}, 1)[0]))
    bad_case = int(rng.integers(0, n))
    bad_followup = next(j for j, f in enumerate(followups) if f[0] != bad_case)
    case_rows = []
    for i in range(n):
        case_rows.append([
            case_uuid[i], display[i], firsts[i], lasts[i], firsts[(i + 7) % n] if i % 5 == 0 else "", sex[i],
            str(age[i]), _primero_date(dob[i]) if has_dob[i] else "", country[i], phones[i], unhcr[i], site[i],
            "32-Jan-2024" if i == bad_case else _primero_date(registered[i]), _primero_date(assessed[i]),
            _primero_date(plan[i]), _primero_date(closed[i]), reason[i], risk[i], workflow[i], status[i], owner[i],
            concerns[i], f"Entretien avec {firsts[i]} {lasts[i]}" if i % 3 == 0 else "",
        ])
    followup_rows = []
    for j, (i, day, kind, service) in enumerate(followups):
        followup_rows.append([case_uuid[i], _primero_date(day), "carrier_pigeon" if j == bad_followup else kind,
                              service, f"Appel de {firsts[i]}" if j % 4 == 0 else ""])
    path = folder / "primero_export.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as book:
        book.set_properties({"title": "Primero export (synthetic)", "created": dt.datetime(2025, 1, 15)})
        for name, headers, rows in (("Cases", PRIMERO_CASE_HEADERS, case_rows),
                                    ("Follow Up", PRIMERO_FOLLOWUP_HEADERS, followup_rows)):
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, headers)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    if value != "":
                        sheet.write_string(r, c, value)

    # ------------------------------------------------------------ expectation
    good = [i for i in range(n) if i != bad_case]
    fu = pl.DataFrame({"j": np.arange(len(followups)), "person": [f[0] for f in followups],
                       "date": [f[1] for f in followups],
                       "service": [_PRIMERO_SERVICE[f[3]] for f in followups]},
                      schema={"j": pl.Int64, "person": pl.Int64, "date": pl.Date, "service": pl.String})
    fu_mapped = fu.filter(pl.col("j") != bad_followup)
    orphan = fu_mapped.filter(pl.col("person") == bad_case).height
    contacts = fu_mapped.filter(pl.col("person") != bad_case).with_columns(
        pl.lit(None, dtype=pl.Boolean).alias("interpreter"))
    people = pl.DataFrame({"person": good, "sex": [sex[i] for i in good],
                           "nationality": [_PRIMERO_COUNTRIES[country[i]] for i in good],
                           "registered_on": [registered[i] for i in good],
                           "birth_year": [int(birth_year[i]) for i in good]},
                          schema={"person": pl.Int64, "sex": pl.String, "nationality": pl.String,
                                  "registered_on": pl.Date, "birth_year": pl.Int32})
    case_frame = pl.DataFrame({"person": good, "opened_on": [registered[i] for i in good],
                               "closed_on": [closed[i] for i in good], "risk_level": [risk[i] or None for i in good]},
                              schema={"person": pl.Int64, "opened_on": pl.Date, "closed_on": pl.Date,
                                      "risk_level": pl.String})
    flags = pl.DataFrame({"person": [i for i in good for c in concerns[i].split(",") if c],
                          "flag": [_PRIMERO_CONCERNS[c] for i in good for c in concerns[i].split(",") if c],
                          "identified_on": [registered[i] for i in good for c in concerns[i].split(",") if c]},
                         schema={"person": pl.Int64, "flag": pl.String, "identified_on": pl.Date})
    rows = _reception_figures(people, contacts)
    for period, (lo, hi) in PERIODS.items():
        _figure(rows, "cases_opened", period, None, case_frame.filter(pl.col("opened_on").is_between(lo, hi)),
                pl.len())
        _figure(rows, "cases_closed", period, None, case_frame.filter(pl.col("closed_on").is_between(lo, hi)),
                pl.len())
        first = (contacts.filter(pl.col("date").is_between(lo, hi)).group_by("person")
                 .agg(pl.col("date").min().alias("first")))
        flagged = flags.filter((pl.col("flag") == "unaccompanied_minor") & (pl.col("identified_on") <= hi))
        uam = (first.join(flagged.select("person").unique(), on="person")
               .join(people.select("person", "birth_year"), on="person")
               .filter(pl.col("first").dt.year() - pl.col("birth_year") < 18))
        _figure(rows, "unaccompanied_minors_received", period, None, uam, pl.len())
        if period == "2024":
            _figure(rows, "cases_opened", period, "risk_level",
                    case_frame.filter(pl.col("opened_on").is_between(lo, hi)), pl.len())
    expected = Expected(
        read={"cases": n, "followups": len(followups)},
        mapping_quarantine={"cases": {"invalid_date": 1}, "followups": {"unmapped_code": 1}},
        quarantined_rows={"cases": ((bad_case + 1, "invalid_date"),),
                          "followups": ((bad_followup + 1, "unmapped_code"),)},
        load_quarantine={"contacts": {"quarantined_parent": orphan}} if orphan else {},
        accepted={"persons": len(good), "cases": len(good), "contacts": contacts.height,
                  "protection_flags": flags.height},
        figures=_frame(rows),
    )
    return RawFixture("primero", path, MAPPINGS / "primero.yaml",
                      {"names": tuple(f"{a} {b}" for a, b in zip(firsts, lasts)) + tuple(firsts) + tuple(lasts),
                       "phones": tuple(phones), "emails": (),
                       "raw_ids": tuple(case_uuid) + tuple(display) + tuple(unhcr) + tuple(owners)},
                      expected)


KINDS = {"register_fr": register_fr, "kobo": kobo_csv, "primero": primero_xlsx}


def make(kind: str, folder: str | Path, **kwargs) -> RawFixture:
    """Generate the raw export of ``kind`` (``register_fr``, ``kobo`` or ``primero``) into ``folder``."""
    if kind not in KINDS:
        raise ValueError(f"unknown raw export kind {kind!r}: use one of {', '.join(KINDS)}")
    return KINDS[kind](folder, **kwargs)
