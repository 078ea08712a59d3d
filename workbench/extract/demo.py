"""A synthetic case extract for demonstrations, tests and benchmarks.

:func:`generate` builds, from a seed, a case extract that follows the contract
(:mod:`workbench.contract.schema`) row for row: every id is unique, every reference
exists, every date is in order and no later than the extract date, and every
code is in its vocabulary. It looks like what the organisations that use the
workbench see, so that indicators, reports and data-quality checks have
something plausible to show:

- ``legal_aid``: a reception and legal-aid desk in Greater Tunis with four sites
  (contacts, cases, referrals, protection flags, legal actions);
- ``detention``: a legal team in three overseas immigration detention centres
  (stays, appeals decided within days, contacts in the centres);
- ``child_protection``: a day centre for children aged 8 to 17 (cases with risk
  levels, assessment and care-plan deadlines, reviews, closures);
- ``all``: the three together in one extract (70 %, 15 %, 15 % of the persons).

Activity runs from 2024-01-01 to 2025-12-31 (eight quarters, with growth and
seasons) and the extract is dated 2026-01-15. Nothing happens after 2025-12-31:
an event that would fall later has not happened yet (a case still open, a
referral still pending, a stay still running).

There are no names and no free text. Ids are pseudonyms made from the row number
by a bijective 32-bit mix keyed on the seed (``P`` persons, ``C`` contacts,
``K`` cases, ``R`` referrals, ``S`` stays, ``A`` legal actions, ``W``
caseworkers).

Everything is drawn with numpy in whole columns (loops run over tables and
categories only), so a million persons take a few seconds and ten million fit in
memory. The same ``(persons, seed, profile)`` gives the same tables and
byte-identical parquet and CSV files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from workbench.contract import schema
from workbench.exceptions import ParameterError

__all__ = [
    "DEFAULT_PERSONS", "DEFAULT_SEED", "PROFILES", "FORMATS", "START", "END", "EXTRACTED_ON",
    "generate", "metadata", "write", "write_frames",
]

DEFAULT_PERSONS = 3000
DEFAULT_SEED = 20240101
PROFILES = ("all", "legal_aid", "detention", "child_protection")
FORMATS = ("parquet", "csv", "xlsx")

START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
EXTRACTED_ON = dt.date(2026, 1, 15)

#: Share of the persons of the ``all`` profile that go to each organisation profile.
PROFILE_SHARES = {"legal_aid": 0.70, "detention": 0.15, "child_protection": 0.15}

#: The tables each organisation profile fills.
PROFILE_TABLES = {
    "legal_aid": ("persons", "contacts", "cases", "referrals", "legal_actions", "protection_flags"),
    "detention": ("persons", "contacts", "detention_stays", "referrals", "legal_actions",
                  "protection_flags"),
    "child_protection": ("persons", "contacts", "cases", "referrals", "legal_actions",
                         "protection_flags"),
}

ORGANISATIONS = {
    "all": "Démo — plateforme d'accueil, d'aide juridique et de protection",
    "legal_aid": "Démo — permanence d'accueil et d'aide juridique (Grand Tunis)",
    "detention": "Démo — équipe d'assistance juridique en rétention",
    "child_protection": "Démo — centre de jour pour la protection de l'enfance",
}

LEGAL_AID_SITES = {
    "tunis_centre": "Tunis — permanence du centre-ville",
    "la_marsa": "La Marsa — permanence",
    "ariana": "Ariana — antenne",
    "sfax": "Sfax — antenne",
}
DETENTION_SITES = {"cra_team": "Équipe juridique en rétention"}
CHILD_PROTECTION_SITES = {"centre_jour": "Centre de jour — protection de l'enfance"}
CENTRES = {
    "cra_guadeloupe": "CRA de Guadeloupe",
    "cra_guyane": "CRA de Guyane",
    "cra_reunion": "CRA de La Réunion",
}
PARTNERS = {
    "partner_a": "Partenaire A — réseau d'avocats",
    "partner_b": "Partenaire B — bureau d'aide juridictionnelle",
    "partner_c": "Partenaire C — centre de santé associatif",
    "partner_d": "Partenaire D — centre de santé mentale",
    "partner_e": "Partenaire E — hébergement d'urgence",
    "partner_f": "Partenaire F — protection internationale",
    "partner_g": "Partenaire G — migrations et retour volontaire",
    "partner_h": "Partenaire H — lutte contre la traite",
    "partner_i": "Partenaire I — éducation et formation",
    "partner_j": "Partenaire J — délégation à la protection de l'enfance",
    "partner_k": "Partenaire K — permanence d'avocats en rétention",
    "partner_l": "Partenaire L — association d'entraide",
}

# --------------------------------------------------------------------------------------------------
# Days, codes and draws
# --------------------------------------------------------------------------------------------------

_EPOCH = dt.date(1970, 1, 1)
D_START = (START - _EPOCH).days
D_END = (END - _EPOCH).days
NA = -1  # "empty" in every integer-coded column while generating

#: Every open code (sites, centres, partners), indexed by the ``code`` columns while generating.
_OPEN_CODES: tuple[str, ...] = tuple(
    {**LEGAL_AID_SITES, **DETENTION_SITES, **CHILD_PROTECTION_SITES, **CENTRES, **PARTNERS}
)


def _code(vocab: str | None, code: str) -> int:
    """The integer a code is generated as: its position in the vocabulary (or the open codes)."""
    return (schema.vocabulary(vocab) if vocab else _OPEN_CODES).index(code)


def _codes(vocab: str | None, codes) -> np.ndarray:
    return np.array([_code(vocab, c) for c in codes], dtype=np.int64)


def _draw_table(values: np.ndarray, weights, bits: int = 16) -> np.ndarray:
    """A table of 2**bits cells holding each value in proportion to its weight: indexing it with
    uniform random integers draws the values (one gather per row instead of a binary search)."""
    p = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return values[np.searchsorted(cdf, (np.arange(2**bits) + 0.5) / 2**bits, side="right")]


def _uniform_cells(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    return rng.integers(0, 2**bits, n, dtype=np.uint32 if bits > 16 else np.uint16)


class _Cat:
    """A weighted draw over codes of a vocabulary (``vocab=None``: open codes); ``None`` is empty.

    Weights are kept to 1/65,536 (every weight here is at least 0.001).
    """

    def __init__(self, vocab: str | None, weights: Mapping[str | None, float]) -> None:
        self.values = np.array([NA if c is None else _code(vocab, c) for c in weights], dtype=np.int64)
        self.table = _draw_table(self.values, list(weights.values()))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[_uniform_cells(rng, n, 16)]


def _pick(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> np.ndarray:
    """Integers 0 … len(p) - 1 drawn with weights ``p``."""
    return _draw_table(np.arange(len(p), dtype=np.int64), p)[_uniform_cells(rng, n, 16)]


def _lookup(vocab: str | None, mapping: Mapping[str, float], default: float) -> np.ndarray:
    """A table indexed by generated code (``NA`` = -1 reads the last cell, the default)."""
    size = len(schema.vocabulary(vocab) if vocab else _OPEN_CODES)
    table = np.full(size + 1, default, dtype=np.float64)
    for code, value in mapping.items():
        table[_code(vocab, code)] = value
    return table


def _weekday(days: np.ndarray) -> np.ndarray:
    """0 Monday … 6 Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def _open_day(rng: np.random.Generator, days: np.ndarray, saturday: float) -> np.ndarray:
    """Days moved off Sundays, and off Saturdays but for a share ``saturday``, to a weekday of the
    following week (never earlier, so a follow-up stays after the visit it follows)."""
    weekday = _weekday(days)
    move = (weekday == 6) | ((weekday == 5) & (rng.random(len(days)) >= saturday))
    return np.where(move, days + 7 - weekday + rng.integers(0, 5, len(days)), days)


def _year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _day_of_year(days: np.ndarray) -> np.ndarray:
    first = days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return days - first


class _Calendar:
    """A distribution of days over the activity window: growth × season × day of the week."""

    def __init__(self, growth: float, season: float, peak_day: int, weekdays: tuple[float, ...],
                 dips: tuple[tuple[str, str, float], ...] = ()) -> None:
        days = np.arange(D_START, D_END + 1, dtype=np.int64)
        t = (days - D_START) / (D_END - D_START)
        w = (1 + (growth - 1) * t)
        w = w * (1 + season * np.cos(2 * np.pi * (_day_of_year(days) - peak_day) / 365.25))
        w = w * np.asarray(weekdays)[_weekday(days)]
        for first, last, factor in dips:
            w[(days >= _day(first)) & (days <= _day(last))] *= factor
        self.table = _draw_table(days, w, bits=20)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[_uniform_cells(rng, n, 20)]


def _day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def _delay(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    """Whole days ≥ 0 with the given mean (geometric)."""
    return rng.geometric(1.0 / (mean + 1.0), n) - 1


def _lognormal(rng: np.random.Generator, n: int, median: float, sigma: float, high: int) -> np.ndarray:
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, n)), 0, high).astype(np.int64)


def _chance(rng: np.random.Generator, p, n: int) -> np.ndarray:
    return rng.random(n) < p


def _empty_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, NA, values)


def _bool(values: np.ndarray, empty: np.ndarray | None = None) -> np.ndarray:
    out = values.astype(np.int64)
    return out if empty is None else np.where(empty, NA, out)


def _repeat_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a one-to-many table: the owner of each row and its position among its owner's rows."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(owner), dtype=np.int64) - np.repeat(starts, counts)
    return owner, position


def _timeline(rng: np.random.Generator, first: np.ndarray, counts: np.ndarray,
              gaps: Callable[[int], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows dated from each owner's ``first`` day, each following the previous one by a gap:
    the owner, the position among the owner's rows and the day of each row."""
    owner, position = _repeat_index(counts)
    step = gaps(len(owner))
    step[position == 0] = 0
    total = np.cumsum(step)
    some = counts > 0
    total -= np.repeat(total[(np.cumsum(counts) - counts)[some]], counts[some])
    return owner, position, first[owner] + total


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]``, ``NA`` where ``index`` is ``NA``."""
    if not len(values):
        return np.full(len(index), NA, dtype=np.int64)
    return np.where(index == NA, NA, values[np.maximum(index, 0)])


def _sort_rows(table: dict[str, np.ndarray], day: str) -> dict[str, np.ndarray]:
    """Rows ordered by person, then by ``day`` (a day of the activity window), ties kept in order."""
    key = table["person_id"] * 4096 + (table[day] - D_START)
    order = np.argsort(key, kind="stable")
    return {name: column[order] for name, column in table.items()}


def _concat_rows(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _take_rows(table: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[keep] for name, column in table.items()}


# --------------------------------------------------------------------------------------------------
# Building blocks shared by the profiles
# --------------------------------------------------------------------------------------------------

def _persons(rng: np.random.Generator, registered: np.ndarray, age: np.ndarray, sex: np.ndarray,
             nationality: np.ndarray, legal_status: np.ndarray, site: np.ndarray,
             no_birth_year: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The persons table, and each person's (hidden) day of birth.

    ``age`` is the age at registration as the indicators count it (the year less the birth year).
    """
    n = len(registered)
    year = _year(registered) - age
    born = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    born = np.minimum(born + rng.integers(0, 365, n), registered)
    birth_year = _empty_where(year, _chance(rng, no_birth_year, n))
    return {
        "sex": sex, "birth_year": birth_year, "nationality": nationality, "legal_status": legal_status,
        "registered_on": registered, "site": site,
    }, born


def _minor(day: np.ndarray, born: np.ndarray) -> np.ndarray:
    """Under 18 on ``day`` as the indicators count it: the year less the birth year (kept even
    where the birth year is left empty)."""
    return _year(day) - _year(born) < 18


def _flags(rng: np.random.Generator, registered: np.ndarray,
           probabilities: Mapping[str, np.ndarray], same_day: float, mean_delay: float) -> dict:
    """Protection flags: each flag drawn per person with its own probability."""
    persons, flags = [], []
    for flag, p in probabilities.items():
        who = np.flatnonzero(rng.random(len(registered)) < p)
        persons.append(who)
        flags.append(np.full(len(who), _code("protection_flag", flag), dtype=np.int64))
    person = np.concatenate(persons)
    flag = np.concatenate(flags)
    delay = np.where(_chance(rng, same_day, len(person)), 0, _delay(rng, len(person), mean_delay))
    identified = registered[person] + delay
    identified = np.where(identified > D_END, registered[person], identified)
    return _sort_rows({"person_id": person, "flag": flag, "identified_on": identified},
                      "identified_on")


_DEADLINES = _lookup("risk_level", {"high": 1, "medium": 3, "low": 7}, 5)


def _case_timeline(rng: np.random.Generator, opened: np.ndarray, risk: np.ndarray, *,
                   on_time: float, not_assessed: float, care_plan_on_time: float, no_care_plan: float,
                   median_days: float, sigma: float, reasons: _Cat, neglected: float,
                   no_review: float) -> dict[str, np.ndarray]:
    """Assessment, care plan, reviews and closure of cases opened on ``opened``."""
    m = len(opened)
    deadline = _DEADLINES[risk].astype(np.int64)
    late = deadline + 1 + _delay(rng, m, 6)
    in_time = np.floor(rng.random(m) * (deadline + 1)).astype(np.int64)
    assessed = opened + np.where(_chance(rng, on_time, m), in_time, late)
    assessed = _empty_where(assessed, _chance(rng, not_assessed, m) | (assessed > D_END))
    risk = np.where(assessed == NA, NA, risk)  # the risk level is set at assessment

    plan_delay = np.where(_chance(rng, care_plan_on_time, m), rng.integers(0, 15, m),
                          15 + _delay(rng, m, 12))
    care_plan = np.where(assessed == NA, NA, assessed + plan_delay)
    care_plan = _empty_where(care_plan, _chance(rng, no_care_plan, m) | (care_plan > D_END))

    latest = np.maximum(np.maximum(opened, assessed), care_plan)
    closed = np.maximum(opened + _lognormal(rng, m, median_days, sigma, 900), latest)
    closed = _empty_where(closed, closed > D_END)
    reason = np.where(closed == NA, NA, reasons.draw(rng, m))

    until = np.where(closed == NA, D_END, closed)
    gap = np.where(_chance(rng, neglected, m), rng.integers(91, 300, m), rng.integers(0, 46, m))
    review = until - gap
    review = _empty_where(review, (review < latest + 14) | _chance(rng, no_review, m))
    return {"risk_level": risk, "opened_on": opened, "assessed_on": assessed, "care_plan_on": care_plan,
            "last_review_on": review, "closed_on": closed, "closure_reason": reason}


_REFERRAL_OUTCOME = _Cat("referral_status", {
    "completed": 0.58, "accepted": 0.12, "declined": 0.08, "no_show": 0.13, "pending": 0.09,
})
_COMPLETED = _code("referral_status", "completed")
_ACCEPTED = _code("referral_status", "accepted")
_PENDING = _code("referral_status", "pending")


def _referral_status(rng: np.random.Generator, referred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Status as of the end of the activity, with the day it was reached (pending: empty)."""
    m = len(referred)
    final = _REFERRAL_OUTCOME.draw(rng, m)
    answered = referred + _delay(rng, m, 9)  # accepted, declined or no-show
    done = answered + _delay(rng, m, 21)  # completed
    status = np.where(final == _COMPLETED, np.where(done <= D_END, _COMPLETED,
                                                    np.where(answered <= D_END, _ACCEPTED, _PENDING)),
                      np.where(answered <= D_END, final, _PENDING))
    status_on = np.where(status == _COMPLETED, done, answered)
    return status, np.where(status == _PENDING, NA, status_on)


_SERVICE_PARTNERS: dict[str, dict[str | None, float]] = {
    "lawyer": {"partner_a": 0.75, "partner_l": 0.15, None: 0.10},
    "legal_aid": {"partner_b": 0.85, None: 0.15},
    "health": {"partner_c": 0.80, "partner_l": 0.12, None: 0.08},
    "mental_health": {"partner_d": 0.90, None: 0.10},
    "shelter": {"partner_e": 0.72, "partner_l": 0.20, None: 0.08},
    "education": {"partner_i": 0.90, None: 0.10},
    "child_protection_authority": {"partner_j": 0.95, None: 0.05},
    "anti_trafficking": {"partner_h": 0.92, None: 0.08},
    "unhcr": {"partner_f": 0.95, None: 0.05},
    "iom": {"partner_g": 0.95, None: 0.05},
    "other": {"partner_l": 0.60, None: 0.40},
}
_PARTNER_CATS = {s: _Cat(None, w) for s, w in _SERVICE_PARTNERS.items()}


def _partners(rng: np.random.Generator, service: np.ndarray,
              overrides: Mapping[str, _Cat] | None = None) -> np.ndarray:
    partner = np.full(len(service), NA, dtype=np.int64)
    cats = {**_PARTNER_CATS, **(overrides or {})}
    for code, cat in cats.items():
        rows = np.flatnonzero(service == _code("referral_service", code))
        partner[rows] = cat.draw(rng, len(rows))
    return partner


def _referrals(rng: np.random.Generator, person: np.ndarray, case: np.ndarray, referred: np.ndarray,
               service: np.ndarray, overrides: Mapping[str, _Cat] | None = None) -> dict[str, np.ndarray]:
    keep = referred <= D_END
    person, case, referred, service = person[keep], case[keep], referred[keep], service[keep]
    status, status_on = _referral_status(rng, referred)
    return {"person_id": person, "case_id": case, "referred_on": referred, "service_type": service,
            "partner": _partners(rng, service, overrides), "status": status, "status_on": status_on}


def _anti_trafficking_referrals(rng: np.random.Generator, flags: dict[str, np.ndarray],
                                case_of: np.ndarray) -> dict[str, np.ndarray]:
    """Referrals after a trafficking_suspected flag: most within 30 days, some later, some never."""
    rows = np.flatnonzero(flags["flag"] == _code("protection_flag", "trafficking_suspected"))
    person = flags["person_id"][rows]
    m = len(rows)
    when = _pick(rng, m, (0.48, 0.20, 0.14, 0.18))  # within a week, a month, later, never
    delay = np.select([when == 0, when == 1, when == 2],
                      [rng.integers(0, 8, m), rng.integers(8, 31, m), rng.integers(31, 181, m)],
                      default=D_END)
    referred = flags["identified_on"][rows] + delay
    service = np.full(m, _code("referral_service", "anti_trafficking"), dtype=np.int64)
    return _referrals(rng, person, case_of[person], referred, service)


def _contacts(rng: np.random.Generator, person: np.ndarray, date: np.ndarray, site: np.ndarray, *,
              channel: _Cat, services: _Cat, topics: Mapping[str, _Cat], interpreter: np.ndarray,
              no_interpreter_record: float) -> dict[str, np.ndarray]:
    """Contacts of ``person`` on ``date``: service, then topic by service, interpreter by person."""
    m = len(person)
    service = services.draw(rng, m)
    topic = np.full(m, NA, dtype=np.int64)
    for code, cat in topics.items():
        rows = np.flatnonzero(service == _code("service", code))
        topic[rows] = cat.draw(rng, len(rows))
    used = _bool(rng.random(m) < interpreter, _chance(rng, no_interpreter_record, m))
    return {"person_id": person, "date": date, "site": site, "channel": channel.draw(rng, m),
            "service": service, "topic": topic, "interpreter": used}


def _nationality_lookup(mapping: Mapping[str, float], default: float) -> np.ndarray:
    return _lookup("nationality", mapping, default)


# --------------------------------------------------------------------------------------------------
# legal_aid: a reception and legal-aid desk in Greater Tunis
# --------------------------------------------------------------------------------------------------

_LA_CALENDAR = _Calendar(growth=1.6, season=0.18, peak_day=230,
                         weekdays=(1.1, 1.0, 1.0, 1.0, 0.8, 0.35, 0.0),
                         dips=(("2024-04-08", "2024-04-14", 0.5), ("2025-03-30", "2025-04-03", 0.5),
                               ("2024-12-23", "2025-01-01", 0.7), ("2025-12-23", "2025-12-31", 0.7)))
_LA_SEX = _Cat("sex", {"male": 0.70, "female": 0.283, "other": 0.002, "unknown": 0.015})
_LA_NATIONALITY = _Cat("nationality", {
    "CIV": 0.19, "GIN": 0.13, "CMR": 0.09, "MLI": 0.075, "SEN": 0.055, "NGA": 0.055, "BFA": 0.045,
    "TCD": 0.04, "SYR": 0.035, "ERI": 0.03, "SOM": 0.025, "COD": 0.03, "SLE": 0.015, "GMB": 0.012,
    "LBR": 0.008, "ETH": 0.01, "YEM": 0.008, "PSE": 0.008, "DZA": 0.006, "MAR": 0.006, "BEN": 0.008,
    "TGO": 0.006, "COG": 0.006, "XXA": 0.006, "unknown": 0.025, None: 0.04,
})
_SDN = _code("nationality", "SDN")
_LA_PROTECTION_SEEKERS = _codes("nationality", ("SDN", "SYR", "ERI", "SOM", "YEM", "PSE", "XXA"))
_LA_STATUS_SEEKERS = _Cat("legal_status", {
    "asylum_seeker": 0.55, "refugee": 0.25, "rejected_asylum_seeker": 0.04, "undocumented": 0.06,
    "stateless": 0.01, "subsidiary_protection": 0.01, "unknown": 0.04, None: 0.04,
})
_LA_STATUS_OTHERS = _Cat("legal_status", {
    "asylum_seeker": 0.26, "refugee": 0.07, "rejected_asylum_seeker": 0.06, "undocumented": 0.42,
    "residence_permit": 0.06, "subsidiary_protection": 0.005, "unknown": 0.07, None: 0.045,
})
_LA_SITE = _Cat(None, {"tunis_centre": 0.44, "la_marsa": 0.15, "ariana": 0.22, "sfax": 0.19})
_LA_SITE_CODES = _codes(None, LEGAL_AID_SITES)
_LA_INTERPRETER = _nationality_lookup(
    {"ERI": 0.8, "SOM": 0.75, "ETH": 0.7, "NGA": 0.45, "SLE": 0.4, "GMB": 0.4, "LBR": 0.4,
     "SDN": 0.06, "SYR": 0.03, "YEM": 0.03, "PSE": 0.03, "TCD": 0.1, "DZA": 0.0, "MAR": 0.0,
     "COD": 0.1, "CMR": 0.12, "unknown": 0.3},
    0.22,
)
_LA_CHANNEL = _Cat("channel", {"in_person": 0.62, "phone": 0.22, "outreach": 0.08, "online": 0.045,
                               "unknown": 0.01, None: 0.025})
_LA_SERVICE = _Cat("service", {
    "information": 0.24, "orientation": 0.14, "legal_consultation": 0.26, "mediation": 0.03,
    "social_support": 0.14, "psychosocial_support": 0.06, "accompaniment": 0.09, "other": 0.04,
})
_TOPIC_LEGAL = {"asylum": 0.40, "residence": 0.18, "detention_removal": 0.06, "family_reunification": 0.06,
                "labour": 0.07, "civil_status": 0.08, "criminal": 0.04, "trafficking": 0.02, "other": 0.03,
                "unknown": 0.02, None: 0.04}
_TOPIC_SOCIAL = {"housing": 0.28, "health": 0.24, "labour": 0.12, "education": 0.06, "asylum": 0.05,
                 "civil_status": 0.04, "trafficking": 0.02, "other": 0.10, "unknown": 0.03, None: 0.06}
_LA_TOPICS = {
    "information": _Cat("topic", {**_TOPIC_LEGAL, "housing": 0.06, "health": 0.05}),
    "orientation": _Cat("topic", _TOPIC_SOCIAL | {"asylum": 0.15, "residence": 0.06}),
    "legal_consultation": _Cat("topic", _TOPIC_LEGAL),
    "mediation": _Cat("topic", {"housing": 0.45, "labour": 0.35, "other": 0.12, None: 0.08}),
    "social_support": _Cat("topic", _TOPIC_SOCIAL),
    "psychosocial_support": _Cat("topic", {"health": 0.55, "trafficking": 0.06, "other": 0.24,
                                           "unknown": 0.05, None: 0.10}),
    "accompaniment": _Cat("topic", {"health": 0.32, "asylum": 0.22, "civil_status": 0.12,
                                    "residence": 0.10, "housing": 0.10, "other": 0.08, None: 0.06}),
    "other": _Cat("topic", {"other": 0.6, "unknown": 0.15, None: 0.25}),
}
_LA_REFERRAL_SERVICE = _Cat("referral_service", {
    "lawyer": 0.15, "legal_aid": 0.09, "health": 0.20, "mental_health": 0.08, "shelter": 0.12,
    "education": 0.02, "anti_trafficking": 0.01, "unhcr": 0.17, "iom": 0.12, "other": 0.04,
})
_LA_REFERRAL_SERVICE_MINORS = _Cat("referral_service", {
    "lawyer": 0.06, "health": 0.18, "mental_health": 0.10, "shelter": 0.14, "education": 0.14,
    "child_protection_authority": 0.22, "unhcr": 0.12, "iom": 0.02, "other": 0.02,
})
_LA_CASE_CLOSURE = _Cat("closure_reason", {
    "objectives_met": 0.44, "transferred": 0.08, "moved_away": 0.16, "lost_contact": 0.22,
    "refused_services": 0.03, "deceased": 0.002, "other": 0.04, "unknown": 0.018,
})
_LA_RISK = _Cat("risk_level", {"high": 0.18, "medium": 0.44, "low": 0.32, "unknown": 0.03, None: 0.03})
_LA_ACTION_TYPE = _Cat("action_type", {
    "asylum_claim": 0.36, "residence_application": 0.22, "family_reunification": 0.08, "complaint": 0.10,
    "removal_order_appeal": 0.05, "asylum_appeal": 0.05, "other": 0.06,
})
_ACTION_RESULT = _Cat("action_result", {"won": 0.42, "lost": 0.38, "withdrawn": 0.10, "other": 0.05,
                                        "unknown": 0.05})
_APPEAL_RESULT = _Cat("action_result", {"won": 0.30, "lost": 0.58, "withdrawn": 0.08, "other": 0.02,
                                        "unknown": 0.02})

#: Caseworkers (``W`` pseudonyms): a pool per site, numbered across the whole extract.
_CASEWORKERS = {"tunis_centre": (0, 9), "la_marsa": (9, 13), "ariana": (13, 19), "sfax": (19, 24),
                "centre_jour": (24, 31)}


def _caseworkers(rng: np.random.Generator, site: np.ndarray, empty: float) -> np.ndarray:
    worker = np.full(len(site), NA, dtype=np.int64)
    for code, (low, high) in _CASEWORKERS.items():
        rows = np.flatnonzero(site == _code(None, code))
        worker[rows] = rng.integers(low, high, len(rows))
    return _empty_where(worker, _chance(rng, empty, len(site)))


def _first_case(case_person: np.ndarray, n: int) -> np.ndarray:
    """Each person's first case (cases are ordered by person), or ``NA``."""
    first = np.full(n, NA, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, case_person[1:] != case_person[:-1]]) if len(case_person) else []
    first[case_person[starts]] = starts
    return first


def _legal_aid(rng: np.random.Generator, n: int) -> dict[str, dict[str, np.ndarray]]:
    registered = _LA_CALENDAR.draw(rng, n)
    t = (registered - D_START) / (D_END - D_START)

    group = _pick(rng, n, (0.03, 0.10, 0.87))  # children with a family, adolescents, adults
    age = np.select(
        [group == 0, group == 1],
        [rng.integers(0, 12, n), 17 - np.minimum(rng.geometric(0.4, n) - 1, 5)],
        default=18 + np.minimum(rng.gamma(2.0, 5.5, n), 60).astype(np.int64),
    )
    nationality = _LA_NATIONALITY.draw(rng, n)
    nationality = np.where(rng.random(n) < 0.06 + 0.12 * t, _SDN, nationality)  # a growing share
    seeker = np.isin(nationality, _LA_PROTECTION_SEEKERS)
    legal_status = np.where(seeker, _LA_STATUS_SEEKERS.draw(rng, n), _LA_STATUS_OTHERS.draw(rng, n))
    sex = _LA_SEX.draw(rng, n)
    female = sex == _code("sex", "female")
    site = _LA_SITE.draw(rng, n)
    persons, born = _persons(rng, registered, age, sex, nationality, legal_status, site, 0.05)
    minor = _minor(registered, born)

    # protection flags (about 15 % of persons)
    adult = ~minor
    flags = _flags(rng, registered, {
        "unaccompanied_minor": np.where(minor & (age >= 12), 0.40, np.where(minor, 0.04, 0.0)),
        "separated_child": np.where(minor, 0.07, 0.0),
        "trafficking_suspected": np.where(female, 0.06, 0.018),
        "gbv_survivor": np.where(female, 0.085, 0.008),
        "torture_survivor": np.where(adult, 0.015, 0.0),
        "disability": 0.012,
        "serious_medical": 0.02,
        "single_parent": np.where(female & adult, 0.08, np.where(adult, 0.004, 0.0)),
        "elderly_alone": np.where(age >= 60, 0.3, 0.0),
    }, same_day=0.6, mean_delay=40)
    flagged = np.zeros(n, dtype=bool)
    flagged[flags["person_id"]] = True
    trafficked = np.zeros(n, dtype=bool)
    trafficked[flags["person_id"][flags["flag"] == _code("protection_flag", "trafficking_suspected")]] = True

    # cases (about 25 % of persons; a few with a second case)
    with_case = rng.random(n) < np.where(flagged, 0.55, 0.20)
    count = with_case.astype(np.int64) + (with_case & (rng.random(n) < 0.08))
    person, position = _repeat_index(count)
    m = len(person)
    legal, social, trafficking = (_code("case_type", c) for c in ("legal", "social", "trafficking"))
    first_type = np.where(trafficked[person] & (rng.random(m) < 0.85), trafficking,
                          np.where(rng.random(m) < np.where(minor[person] | flagged[person], 0.35, 0.62),
                                   legal, social))
    case_type = np.where(position == 0, first_type, np.where(first_type == legal, social, legal))
    opened = registered[person] + np.where(_chance(rng, 0.55, m), 0, _delay(rng, m, 25))
    opened = opened + np.where(position == 0, 0, rng.integers(0, 120, m))
    opened = np.where(opened > D_END, registered[person], opened)
    case_site = np.where(rng.random(m) < 0.95, site[person], _LA_SITE.draw(rng, m))
    cases = {"person_id": person, "site": case_site, "case_type": case_type}
    cases |= _case_timeline(rng, opened, _LA_RISK.draw(rng, m), on_time=0.72, not_assessed=0.05,
                            care_plan_on_time=0.75, no_care_plan=0.08, median_days=110, sigma=0.9,
                            reasons=_LA_CASE_CLOSURE, neglected=0.22, no_review=0.05)
    cases["caseworker_id"] = _caseworkers(rng, case_site, 0.04)
    case_of = _first_case(person, n)

    # contacts (about 3 per person, skewed)
    visits = 1 + np.minimum(rng.negative_binomial(0.6, 0.6 / (0.6 + 2.6), n), 80)
    owner, position, dates = _timeline(rng, registered, visits, lambda k: np.where(
        _chance(rng, 0.55, k), 1 + _delay(rng, k, 9), 1 + _delay(rng, k, 60)))
    # follow-ups: closed on Sundays, half-day on Saturdays (the first visit is the registration)
    dates = np.where(position == 0, dates, _open_day(rng, dates, saturday=0.35))
    keep = dates <= D_END
    owner, dates = owner[keep], dates[keep]
    k = len(owner)
    home = site[owner]
    elsewhere = _LA_SITE_CODES[(np.searchsorted(_LA_SITE_CODES, home) + rng.integers(1, 4, k)) % 4]
    contact_site = np.where(_chance(rng, 0.9, k), home, elsewhere)
    contacts = _contacts(rng, owner, dates, contact_site, channel=_LA_CHANNEL, services=_LA_SERVICE,
                         topics=_LA_TOPICS, interpreter=_LA_INTERPRETER[nationality[owner]],
                         no_interpreter_record=0.05)

    # referrals (about 0.4 per person)
    ref_count = rng.poisson(np.where(case_of != NA, 0.95, 0.22))
    ref_person, _ = _repeat_index(ref_count)
    r = len(ref_person)
    linked = (case_of[ref_person] != NA) & _chance(rng, 0.85, r)
    ref_case = np.where(linked, case_of[ref_person], NA)
    base = np.where(linked, _at(cases["opened_on"], ref_case), registered[ref_person])
    referred = base + np.where(_chance(rng, 0.3, r), 0, _delay(rng, r, 30))
    service = np.where(minor[ref_person], _LA_REFERRAL_SERVICE_MINORS.draw(rng, r),
                       _LA_REFERRAL_SERVICE.draw(rng, r))
    referrals = _sort_rows(_concat_rows(
        _referrals(rng, ref_person, ref_case, referred, service),
        _anti_trafficking_referrals(rng, flags, case_of),
    ), "referred_on")

    # legal actions: for legal cases, and a few persons without a case
    legal_case = np.flatnonzero(case_type == legal)
    per_case = _pick(rng, len(legal_case), (0.35, 0.50, 0.15))  # 0, 1 or 2 actions
    case_rows = np.repeat(legal_case, per_case)
    loose = np.flatnonzero((case_of == NA) & _chance(rng, 0.05, n))
    act_person = np.concatenate([person[case_rows], loose])
    act_case = np.concatenate([case_rows, np.full(len(loose), NA, dtype=np.int64)])
    a = len(act_person)
    base = np.where(act_case != NA, _at(opened, act_case), registered[act_person])
    filed = base + _delay(rng, a, 25)
    action_type = _LA_ACTION_TYPE.draw(rng, a)
    claim = action_type == _code("action_type", "asylum_claim")
    decided = filed + np.where(claim, _lognormal(rng, a, 150, 0.6, 700), _lognormal(rng, a, 80, 0.7, 600))
    decided = _empty_where(decided, decided > D_END)
    result = np.where(decided == NA, NA, _ACTION_RESULT.draw(rng, a))
    actions = {"person_id": act_person, "case_id": act_case, "stay_id": np.full(a, NA, dtype=np.int64),
               "action_type": action_type, "filed_on": filed, "decided_on": decided, "result": result}
    actions = _take_rows(actions, filed <= D_END)
    # an appeal after most refused claims
    refused = np.flatnonzero((actions["action_type"] == _code("action_type", "asylum_claim"))
                             & (actions["result"] == _code("action_result", "lost"))
                             & _chance(rng, 0.55, len(actions["filed_on"])))
    b = len(refused)
    appeal_filed = actions["decided_on"][refused] + rng.integers(3, 31, b)
    appeal_decided = appeal_filed + _lognormal(rng, b, 120, 0.5, 500)
    appeal_decided = _empty_where(appeal_decided, appeal_decided > D_END)
    appeals = {"person_id": actions["person_id"][refused], "case_id": actions["case_id"][refused],
               "stay_id": np.full(b, NA, dtype=np.int64),
               "action_type": np.full(b, _code("action_type", "asylum_appeal"), dtype=np.int64),
               "filed_on": appeal_filed, "decided_on": appeal_decided,
               "result": np.where(appeal_decided == NA, NA, _APPEAL_RESULT.draw(rng, b))}
    appeals = _take_rows(appeals, appeal_filed <= D_END)
    actions = _sort_rows(_concat_rows(actions, appeals), "filed_on")

    return {"persons": persons, "contacts": contacts, "cases": cases, "referrals": referrals,
            "legal_actions": actions, "protection_flags": flags}


# --------------------------------------------------------------------------------------------------
# detention: a legal team in three overseas detention centres
# --------------------------------------------------------------------------------------------------

_DET_CALENDAR = _Calendar(growth=1.25, season=0.10, peak_day=120,
                          weekdays=(1.1, 1.15, 1.1, 1.05, 1.0, 0.6, 0.45),
                          dips=(("2025-02-10", "2025-03-09", 0.6),))
_DET_CENTRE = _Cat(None, {"cra_guyane": 0.48, "cra_guadeloupe": 0.30, "cra_reunion": 0.22})
_DET_NATIONALITY = {
    "cra_guyane": _Cat("nationality", {"BRA": 0.32, "SUR": 0.26, "GUY": 0.16, "HTI": 0.12, "VEN": 0.05,
                                       "DOM": 0.03, "CHN": 0.01, "unknown": 0.02, None: 0.03}),
    "cra_guadeloupe": _Cat("nationality", {"HTI": 0.46, "DOM": 0.20, "DMA": 0.09, "LCA": 0.07,
                                           "VEN": 0.05, "GUY": 0.03, "ATG": 0.02, "unknown": 0.03,
                                           None: 0.05}),
    "cra_reunion": _Cat("nationality", {"COM": 0.52, "MDG": 0.28, "MUS": 0.06, "LKA": 0.05,
                                        "IND": 0.02, "unknown": 0.03, None: 0.04}),
}
_DET_SEX = _Cat("sex", {"male": 0.87, "female": 0.12, "unknown": 0.01})
_DET_STATUS = _Cat("legal_status", {
    "undocumented": 0.60, "rejected_asylum_seeker": 0.13, "asylum_seeker": 0.07, "residence_permit": 0.03,
    "refugee": 0.005, "unknown": 0.09, None: 0.075,
})
_REMOVALS = ("removed_country_of_origin", "removed_third_country", "dublin_transfer", "readmission_eu")
#: Outcome of a stay: share, median days, spread.
_DET_OUTCOMES: dict[str, tuple[float, float, float]] = {
    "removed_country_of_origin": (0.40, 14, 0.75),
    "removed_third_country": (0.035, 16, 0.7),
    "dublin_transfer": (0.006, 16, 0.5),
    "readmission_eu": (0.010, 12, 0.6),
    "released_judge": (0.14, 4, 0.35),
    "released_appeal_court": (0.03, 7, 0.4),
    "released_administrative_court": (0.07, 3, 0.5),
    "released_prefecture": (0.10, 16, 0.8),
    "released_max_duration": (0.015, 88, 0.03),
    "released_health": (0.015, 10, 0.7),
    "released_asylum": (0.015, 12, 0.6),
    "house_arrest": (0.065, 6, 0.6),
    "transferred_centre": (0.04, 3, 0.6),
    "escaped": (0.004, 6, 0.8),
    "other": (0.01, 8, 0.8),
    "unknown": (0.026, 10, 0.8),
}
_DET_OUTCOME = _Cat("detention_outcome", {k: v[0] for k, v in _DET_OUTCOMES.items()})
#: Court releases and the appeal that won them.
_COURT_RELEASES = {"released_judge": "detention_appeal_judge",
                   "released_appeal_court": "detention_appeal_court",
                   "released_administrative_court": "removal_order_appeal"}
_DET_ACTION_TYPE = _Cat("action_type", {"detention_appeal_judge": 0.42, "detention_appeal_court": 0.14,
                                        "removal_order_appeal": 0.40, "asylum_claim": 0.04})
_DET_ACTION_RESULT = _Cat("action_result", {"won": 0.12, "lost": 0.70, "withdrawn": 0.10, "other": 0.03,
                                            "unknown": 0.05})
_DET_INTERPRETER = _nationality_lookup(
    {"BRA": 0.8, "SUR": 0.6, "VEN": 0.8, "DOM": 0.8, "CHN": 0.95, "HTI": 0.45, "GUY": 0.3, "DMA": 0.15,
     "LCA": 0.15, "ATG": 0.1, "COM": 0.5, "MDG": 0.6, "MUS": 0.1, "LKA": 0.9, "IND": 0.8}, 0.5)
_DET_CHANNEL = _Cat("channel", {"in_person": 0.94, "phone": 0.04, None: 0.02})
_DET_SERVICE = _Cat("service", {"legal_consultation": 0.62, "information": 0.33, "orientation": 0.03,
                                "other": 0.02})
_DET_TOPIC = {
    "legal_consultation": _Cat("topic", {"detention_removal": 0.88, "asylum": 0.05,
                                         "family_reunification": 0.03, "health": 0.01, "other": 0.01,
                                         None: 0.02}),
    "information": _Cat("topic", {"detention_removal": 0.80, "asylum": 0.06, "health": 0.04, "other": 0.04,
                                  "unknown": 0.02, None: 0.04}),
    "orientation": _Cat("topic", {"health": 0.5, "detention_removal": 0.3, "other": 0.2}),
    "other": _Cat("topic", {"other": 0.7, None: 0.3}),
}
_DET_REFERRAL_SERVICE = _Cat("referral_service", {"lawyer": 0.62, "health": 0.18, "mental_health": 0.06,
                                                  "unhcr": 0.04, "anti_trafficking": 0.02, "other": 0.08})
_DET_PARTNERS = {"lawyer": _Cat(None, {"partner_k": 0.9, None: 0.1})}


def _detention(rng: np.random.Generator, n: int) -> dict[str, dict[str, np.ndarray]]:
    centre = _DET_CENTRE.draw(rng, n)
    nationality = np.full(n, NA, dtype=np.int64)
    for code, cat in _DET_NATIONALITY.items():
        rows = np.flatnonzero(centre == _code(None, code))
        nationality[rows] = cat.draw(rng, len(rows))
    child = _chance(rng, 0.015, n)
    age = np.where(child, rng.integers(0, 17, n), 18 + np.minimum(rng.gamma(2.4, 5.2, n), 55).astype(np.int64))
    sex = _DET_SEX.draw(rng, n)
    first_entry = _DET_CALENDAR.draw(rng, n)
    persons, born = _persons(rng, first_entry, age, sex, nationality, _DET_STATUS.draw(rng, n),
                             np.full(n, _code(None, "cra_team"), dtype=np.int64), 0.04)
    minor = _minor(first_entry, born)

    # stays: one per person, a second one for some
    count = 1 + _chance(rng, 0.11, n)
    person, position = _repeat_index(count)
    m = len(person)
    outcome = _DET_OUTCOME.draw(rng, m)
    days = np.zeros(m, dtype=np.int64)
    for code, (_, median, sigma) in _DET_OUTCOMES.items():
        rows = np.flatnonzero(outcome == _code("detention_outcome", code))
        days[rows] = _lognormal(rng, len(rows), median, sigma, 90)
    entered = first_entry[person]
    second = np.flatnonzero(position == 1)
    entered[second] = entered[second - 1] + days[second - 1] + 30 + _delay(rng, len(second), 150)
    left = entered + days
    unrecorded = _chance(rng, 0.04, m)  # the exit was never recorded
    left = _empty_where(left, (left > D_END) | unrecorded)
    outcome = np.where(left == NA, NA, outcome)
    with_children = _bool(minor[person] | _chance(rng, 0.02, m), _chance(rng, 0.03, m) & ~minor[person])
    assisted = rng.random(m) < 0.88
    stays = {"person_id": person, "centre": centre[person], "entered_on": entered, "left_on": left,
             "outcome": outcome, "with_children": with_children,
             "assisted": _bool(assisted, _chance(rng, 0.05, m))}
    keep = entered <= D_END
    stays = _take_rows(stays, keep)
    assisted, entered, left, outcome = assisted[keep], entered[keep], left[keep], outcome[keep]
    until = np.where(left == NA, D_END, left)

    # contacts in the centre, during assisted stays
    visits = np.where(assisted, 1 + np.minimum(rng.geometric(0.55, len(entered)) - 1, 6), 0)
    stay, position = _repeat_index(visits)
    k = len(stay)
    length = until[stay] - entered[stay]
    date = entered[stay] + np.where(position == 0, np.minimum(rng.integers(0, 2, k), length),
                                    np.floor(rng.random(k) * (length + 1)).astype(np.int64))
    owner = stays["person_id"][stay]
    contacts = _contacts(rng, owner, date, stays["centre"][stay], channel=_DET_CHANNEL,
                         services=_DET_SERVICE, topics=_DET_TOPIC,
                         interpreter=_DET_INTERPRETER[nationality[owner]], no_interpreter_record=0.04)
    contacts = _sort_rows(contacts, "date")

    # appeals, decided within days; the one that won a court release first
    s = len(entered)
    appeals = np.where(assisted, _pick(rng, s, (0.35, 0.47, 0.18)), 0)  # 0, 1 or 2 appeals
    court = np.isin(outcome, _codes("detention_outcome", _COURT_RELEASES))
    appeals = np.maximum(appeals, court.astype(np.int64))
    stay, position = _repeat_index(appeals)
    a = len(stay)
    action_type = _DET_ACTION_TYPE.draw(rng, a)
    won_release = court[stay] & (position == 0)
    for release, appeal in _COURT_RELEASES.items():
        rows = won_release & (outcome[stay] == _code("detention_outcome", release))
        action_type[rows] = _code("action_type", appeal)
    length = until[stay] - entered[stay]
    filed = entered[stay] + np.minimum(rng.integers(0, 4, a), length)
    filed = np.where(won_release, np.maximum(entered[stay], left[stay] - rng.integers(0, 4, a)), filed)
    decided = filed + rng.integers(0, 5, a)
    decided = np.where(left[stay] != NA, np.minimum(decided, left[stay]), decided)
    decided = np.where(won_release, left[stay], decided)
    filed = np.minimum(filed, decided)
    decided = _empty_where(decided, (decided > D_END) | (_chance(rng, 0.03, a) & ~won_release))
    result = np.where(won_release, _code("action_result", "won"), _DET_ACTION_RESULT.draw(rng, a))
    actions = {"person_id": stays["person_id"][stay], "case_id": np.full(a, NA, dtype=np.int64),
               "stay_id": stay, "action_type": action_type, "filed_on": filed, "decided_on": decided,
               "result": np.where(decided == NA, NA, result)}

    # a few protection concerns, and referrals (mostly to the duty lawyers)
    flags = _flags(rng, first_entry, {
        "serious_medical": 0.04, "torture_survivor": 0.012, "trafficking_suspected": 0.01,
        "disability": 0.008, "single_parent": np.where(sex == _code("sex", "female"), 0.06, 0.0),
    }, same_day=0.8, mean_delay=4)
    r_stay = np.flatnonzero(assisted & _chance(rng, 0.16, s))
    r = len(r_stay)
    referred = entered[r_stay] + np.minimum(rng.integers(0, 4, r), until[r_stay] - entered[r_stay])
    referrals = _sort_rows(_concat_rows(
        _referrals(rng, stays["person_id"][r_stay], np.full(r, NA, dtype=np.int64), referred,
                   _DET_REFERRAL_SERVICE.draw(rng, r), _DET_PARTNERS),
        _anti_trafficking_referrals(rng, flags, np.full(n, NA, dtype=np.int64)),
    ), "referred_on")

    return {"persons": persons, "contacts": contacts, "detention_stays": stays, "referrals": referrals,
            "legal_actions": actions, "protection_flags": flags}


# --------------------------------------------------------------------------------------------------
# child_protection: a day centre for children
# --------------------------------------------------------------------------------------------------

_CP_CALENDAR = _Calendar(growth=1.35, season=0.15, peak_day=290,
                         weekdays=(1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.0),
                         dips=(("2024-08-01", "2024-08-31", 0.6), ("2025-08-01", "2025-08-31", 0.6)))
_CP_AGE = np.array([0.03, 0.03, 0.04, 0.05, 0.07, 0.09, 0.12, 0.16, 0.20, 0.21])  # 8 … 17
_CP_SEX = _Cat("sex", {"male": 0.62, "female": 0.37, "unknown": 0.01})
_CP_NATIONALITY = _Cat("nationality", {
    "TUN": 0.46, "CIV": 0.12, "GIN": 0.10, "SDN": 0.09, "CMR": 0.04, "MLI": 0.03, "SEN": 0.02,
    "NGA": 0.02, "ERI": 0.02, "SOM": 0.015, "SYR": 0.015, "unknown": 0.03, None: 0.02,
})
_TUN = _code("nationality", "TUN")
_CP_STATUS = _Cat("legal_status", {"asylum_seeker": 0.28, "refugee": 0.10, "undocumented": 0.40,
                                   "unknown": 0.16, None: 0.06})
_CP_RISK = _Cat("risk_level", {"high": 0.25, "medium": 0.44, "low": 0.25, "unknown": 0.03, None: 0.03})
_CP_CLOSURE = _Cat("closure_reason", {
    "objectives_met": 0.46, "transferred": 0.15, "moved_away": 0.10, "lost_contact": 0.18,
    "refused_services": 0.05, "deceased": 0.001, "other": 0.05, "unknown": 0.009,
})
_CP_INTERPRETER = _nationality_lookup({"ERI": 0.6, "SOM": 0.6, "NGA": 0.35, "TUN": 0.0, "SDN": 0.02,
                                       "SYR": 0.02, "unknown": 0.2}, 0.04)
_CP_CHANNEL = _Cat("channel", {"in_person": 0.84, "phone": 0.08, "outreach": 0.05, "unknown": 0.01,
                               None: 0.02})
_CP_SERVICE = _Cat("service", {
    "social_support": 0.30, "psychosocial_support": 0.28, "information": 0.05, "orientation": 0.09,
    "accompaniment": 0.14, "mediation": 0.06, "legal_consultation": 0.03, "other": 0.05,
})
_CP_TOPIC_CHILD = {"education": 0.36, "health": 0.14, "family_reunification": 0.05, "civil_status": 0.08,
                   "housing": 0.05, "trafficking": 0.01, "other": 0.22, "unknown": 0.04, None: 0.05}
_CP_TOPICS = {
    "social_support": _Cat("topic", _CP_TOPIC_CHILD),
    "psychosocial_support": _Cat("topic", {"health": 0.45, "education": 0.20, "other": 0.25,
                                           "unknown": 0.04, None: 0.06}),
    "information": _Cat("topic", _CP_TOPIC_CHILD | {"asylum": 0.06, "residence": 0.04}),
    "orientation": _Cat("topic", _CP_TOPIC_CHILD),
    "accompaniment": _Cat("topic", {"health": 0.35, "education": 0.30, "civil_status": 0.15,
                                    "other": 0.15, None: 0.05}),
    "mediation": _Cat("topic", {"family_reunification": 0.40, "education": 0.30, "other": 0.25,
                                None: 0.05}),
    "legal_consultation": _Cat("topic", {"asylum": 0.35, "residence": 0.15, "civil_status": 0.25,
                                         "criminal": 0.10, "family_reunification": 0.10, None: 0.05}),
    "other": _Cat("topic", {"other": 0.7, "unknown": 0.1, None: 0.2}),
}
_CP_REFERRAL_SERVICE = _Cat("referral_service", {
    "education": 0.30, "health": 0.24, "mental_health": 0.19, "child_protection_authority": 0.19,
    "shelter": 0.03, "lawyer": 0.02, "other": 0.03,
})
_CP_ACTION_TYPE = _Cat("action_type", {"asylum_claim": 0.45, "family_reunification": 0.35,
                                       "complaint": 0.10, "other": 0.10})


def _child_protection(rng: np.random.Generator, n: int) -> dict[str, dict[str, np.ndarray]]:
    registered = _CP_CALENDAR.draw(rng, n)
    age = 8 + np.searchsorted(np.cumsum(_CP_AGE) / _CP_AGE.sum(), rng.random(n), side="right")
    nationality = _CP_NATIONALITY.draw(rng, n)
    national = nationality == _TUN
    legal_status = np.where(national, NA, _CP_STATUS.draw(rng, n))  # no migration status to record
    sex = _CP_SEX.draw(rng, n)
    female = sex == _code("sex", "female")
    site = np.full(n, _code(None, "centre_jour"), dtype=np.int64)
    persons, born = _persons(rng, registered, age, sex, nationality, legal_status, site, 0.03)
    minor = _minor(registered, born)

    migrant = ~national
    flags = _flags(rng, registered, {
        "unaccompanied_minor": np.where(migrant & minor, 0.36, 0.0),
        "separated_child": np.where(minor, np.where(migrant, 0.13, 0.01), 0.0),
        "trafficking_suspected": np.where(migrant, 0.04, 0.015),
        "gbv_survivor": np.where(female, 0.07, 0.01),
        "disability": 0.035,
        "serious_medical": 0.03,
    }, same_day=0.7, mean_delay=30)

    # one case for most children
    with_case = _chance(rng, 0.85, n)
    person = np.flatnonzero(with_case)
    m = len(person)
    opened = registered[person] + np.where(_chance(rng, 0.7, m), 0, _delay(rng, m, 10))
    opened = np.where(opened > D_END, registered[person], opened)
    cases = {"person_id": person, "site": site[person],
             "case_type": np.full(m, _code("case_type", "child_protection"), dtype=np.int64)}
    cases |= _case_timeline(rng, opened, _CP_RISK.draw(rng, m), on_time=0.80, not_assessed=0.03,
                            care_plan_on_time=0.82, no_care_plan=0.05, median_days=170, sigma=0.8,
                            reasons=_CP_CLOSURE, neglected=0.15, no_review=0.03)
    # closed on turning 18, when that comes first
    adult_on = born[person] + 6575  # 18 × 365.25 days
    closed = cases["closed_on"]
    turns = (adult_on <= np.where(closed == NA, D_END, closed)) & _chance(rng, 0.9, m)
    latest = np.maximum(np.maximum(opened, cases["assessed_on"]), cases["care_plan_on"])
    cases["closed_on"] = np.where(turns, np.maximum(adult_on, latest), closed)
    cases["closure_reason"] = np.where(turns, _code("closure_reason", "turned_18"), cases["closure_reason"])
    review = cases["last_review_on"]
    cases["last_review_on"] = np.where(turns & (review > cases["closed_on"]), NA, review)
    cases["caseworker_id"] = _caseworkers(rng, cases["site"], 0.03)
    case_of = _first_case(person, n)

    # contacts: frequent visits
    visits = 1 + np.minimum(rng.negative_binomial(0.9, 0.9 / (0.9 + 3.5), n), 120)
    owner, position, dates = _timeline(rng, registered, visits, lambda k: np.where(
        _chance(rng, 0.6, k), 1 + _delay(rng, k, 6), 1 + _delay(rng, k, 45)))
    dates = np.where(position == 0, dates, _open_day(rng, dates, saturday=0.5))
    keep = dates <= D_END
    owner, dates = owner[keep], dates[keep]
    contacts = _contacts(rng, owner, dates, site[owner], channel=_CP_CHANNEL, services=_CP_SERVICE,
                         topics=_CP_TOPICS, interpreter=_CP_INTERPRETER[nationality[owner]],
                         no_interpreter_record=0.06)

    # referrals, mostly within the case
    ref_count = rng.poisson(np.where(case_of != NA, 0.62, 0.15))
    ref_person, _ = _repeat_index(ref_count)
    r = len(ref_person)
    linked = (case_of[ref_person] != NA) & _chance(rng, 0.9, r)
    ref_case = np.where(linked, case_of[ref_person], NA)
    base = np.where(linked, _at(opened, ref_case), registered[ref_person])
    referred = base + _delay(rng, r, 25)
    referrals = _sort_rows(_concat_rows(
        _referrals(rng, ref_person, ref_case, referred, _CP_REFERRAL_SERVICE.draw(rng, r)),
        _anti_trafficking_referrals(rng, flags, case_of),
    ), "referred_on")

    # a few legal actions (asylum, family reunification) for migrant children with a case
    act = np.flatnonzero(migrant[person] & _chance(rng, 0.10, m))
    a = len(act)
    filed = opened[act] + _delay(rng, a, 40)
    decided = filed + _lognormal(rng, a, 120, 0.6, 600)
    decided = _empty_where(decided, decided > D_END)
    actions = {"person_id": person[act], "case_id": act, "stay_id": np.full(a, NA, dtype=np.int64),
               "action_type": _CP_ACTION_TYPE.draw(rng, a), "filed_on": filed, "decided_on": decided,
               "result": np.where(decided == NA, NA, _ACTION_RESULT.draw(rng, a))}
    actions = _take_rows(actions, filed <= D_END)

    return {"persons": persons, "contacts": contacts, "cases": cases, "referrals": referrals,
            "legal_actions": actions, "protection_flags": flags}


#: Referral services each profile draws, and the partners they go to: the ``partners`` of extract.yaml.
_PROFILE_REFERRALS = {
    "legal_aid": ((_LA_REFERRAL_SERVICE, _LA_REFERRAL_SERVICE_MINORS), {}),
    "detention": ((_DET_REFERRAL_SERVICE,), _DET_PARTNERS),
    "child_protection": ((_CP_REFERRAL_SERVICE,), {}),
}


def _profile_partners(profile: str) -> set[str]:
    cats, overrides = _PROFILE_REFERRALS[profile]
    services = {"anti_trafficking"}
    services |= {schema.vocabulary("referral_service")[v] for cat in cats for v in cat.values}
    partners = set()
    for service in services:
        cat = overrides.get(service, _PARTNER_CATS[service])
        partners |= {_OPEN_CODES[v] for v in cat.values if v != NA}
    return partners


_GENERATORS = {"legal_aid": _legal_aid, "detention": _detention, "child_protection": _child_protection}
_STREAMS = {"legal_aid": 1, "detention": 2, "child_protection": 3}

# --------------------------------------------------------------------------------------------------
# Assembling typed frames
# --------------------------------------------------------------------------------------------------

#: The table each id column names a row of, and the pseudonym prefix of that table.
_ID_OWNER = {"person_id": "persons", "contact_id": "contacts", "case_id": "cases",
             "referral_id": "referrals", "stay_id": "detention_stays", "action_id": "legal_actions"}
_PREFIX = {"persons": "P", "contacts": "C", "cases": "K", "referrals": "R", "detention_stays": "S",
           "legal_actions": "A"}
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
#: The four upper-case hex digits of every 16-bit number, as one uint32 of ASCII bytes each.
_HEX4 = np.ascontiguousarray(np.stack(
    [_HEX[(np.arange(2**16) >> shift) & 15] for shift in (12, 8, 4, 0)], axis=1)).view(np.uint32).ravel()


def _mix32(x: np.ndarray) -> np.ndarray:
    """A bijection of 32-bit integers (the murmur3 finaliser)."""
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> np.uint32(16)
    return x


def _key(seed: int, prefix: str) -> int:
    return int(np.random.SeedSequence([seed, ord(prefix)]).generate_state(1, np.uint32)[0])


def _pseudonyms(prefix: str, index: np.ndarray, key: int, digits: int = 8) -> pl.Series:
    """``prefix`` + upper-case hex digits of a keyed bijective mix of ``index`` (``NA``: empty)."""
    empty = index < 0
    n = len(index)
    hexes = np.empty((n, digits // 4), dtype=np.uint32)
    if digits == 8:
        x = _mix32((np.where(empty, 0, index).astype(np.uint64) + np.uint64(key)) % np.uint64(2**32))
        hexes[:, 0] = _HEX4[x >> np.uint32(16)]
        hexes[:, 1] = _HEX4[x & np.uint32(0xFFFF)]
    else:  # a bijection of 16-bit integers for the small caseworker pool
        hexes[:, 0] = _HEX4[(np.where(empty, 0, index).astype(np.uint64) * np.uint64(40503)
                             + np.uint64(key)) % np.uint64(2**16)]
    chars = np.empty((n, digits + 1), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    chars[:, 1:] = hexes.view(np.uint8)
    # (n, width) bytes → Array(UInt8) → Binary → String: no Python object per row
    series = pl.Series(chars).cast(pl.List(pl.UInt8)).cast(pl.Binary).cast(pl.String)
    return series.scatter(np.flatnonzero(empty), None) if empty.any() else series


def _gather(values: pl.Series, index: np.ndarray) -> pl.Series:
    """``values[index]``, empty where ``index`` is ``NA``."""
    values = values.extend(pl.Series([None], dtype=values.dtype))
    index = np.where(index < 0, len(values) - 1, index).astype(np.uint32)
    return values.gather(pl.Series(index))


def _integers(values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    series = pl.Series(values.astype(np.int32)).cast(dtype)
    empty = np.flatnonzero(values == NA)
    return series.scatter(empty, None) if len(empty) else series


def _column(table: str, column: schema.Column, values: np.ndarray, seed: int) -> pl.Series:
    if column.kind == "id":
        if column.name == "caseworker_id":
            series = _pseudonyms("W", values, _key(seed, "W"), digits=4)
        else:
            prefix = _PREFIX[_ID_OWNER[column.name]]
            series = _pseudonyms(prefix, values, _key(seed, prefix))
    elif column.kind == "code":
        series = _gather(pl.Series(_OPEN_CODES, dtype=pl.String), values)
    elif column.kind == "vocab":
        vocab = schema.vocabulary(column.vocab)
        series = _gather(pl.Series(vocab, dtype=schema.enum(column.vocab)), values)
    elif column.kind == "bool":
        series = _gather(pl.Series([False, True], dtype=pl.Boolean), values)
    elif column.kind == "date":
        series = _integers(values, pl.Date)
    elif column.kind == "year":
        series = _integers(values, pl.Int32)
    else:  # pragma: no cover - the schema declares no other kind
        raise ValueError(f"unknown column kind {column.kind!r}")
    return series.alias(column.name)


def _assemble(parts: list[dict[str, dict[str, np.ndarray]]], tables: list[str],
              seed: int) -> dict[str, pl.DataFrame]:
    """Typed frames from the integer-coded parts, ids made unique across parts."""
    def rows(part: dict, table: str) -> int:
        columns = part.get(table)
        return len(next(iter(columns.values()))) if columns else 0

    offsets = {t: np.cumsum([0] + [rows(p, t) for p in parts]) for t in schema.TABLES}
    frames = {}
    for name in tables:
        table = schema.TABLES[name]
        total = int(offsets[name][-1])
        columns = []
        for column in table.columns:
            if column.name == table.id_column:
                values = np.arange(total, dtype=np.int64)
            else:
                owner = _ID_OWNER.get(column.name)
                pieces = []
                for i, part in enumerate(parts):
                    if name not in part:
                        continue
                    piece = np.asarray(part[name][column.name], dtype=np.int64)
                    if owner is not None:
                        piece = np.where(piece < 0, NA, piece + offsets[owner][i])
                    pieces.append(piece)
                values = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
            columns.append(_column(name, column, values, seed))
        frames[name] = pl.DataFrame(columns)
    return frames


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------

def _check(persons: int, seed: int, profile: str) -> None:
    if profile not in PROFILES:
        raise ParameterError(f"unknown demo profile {profile!r}: use one of {', '.join(PROFILES)}")
    if isinstance(persons, bool) or not isinstance(persons, (int, np.integer)) or persons < 0:
        raise ParameterError(f"persons must be a whole number ≥ 0, not {persons!r}")
    if persons >= 2**31:
        raise ParameterError(f"persons must be below 2**31, not {persons}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a whole number ≥ 0, not {seed!r}")


def _split(persons: int, profile: str) -> dict[str, int]:
    if profile != "all":
        return {profile: persons}
    detention = round(persons * PROFILE_SHARES["detention"])
    child_protection = round(persons * PROFILE_SHARES["child_protection"])
    return {"legal_aid": persons - detention - child_protection, "detention": detention,
            "child_protection": child_protection}


def generate(persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED,
             profile: str = "all") -> dict[str, pl.DataFrame]:
    """A synthetic case extract: contract tables by name, typed as the contract says.

    ``profile`` is ``all`` (default: the three organisations together), ``legal_aid``,
    ``detention`` or ``child_protection``; each profile gives the tables it fills
    (``all`` gives the seven). The same arguments give the same tables.
    """
    _check(persons, seed, profile)
    split = _split(int(persons), profile)
    parts = []
    for name, count in split.items():
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _STREAMS[name]]))
        parts.append(_GENERATORS[name](rng, count))
    used = {t for name in split for t in PROFILE_TABLES[name]}
    tables = [t for t in schema.TABLE_ORDER if t in used]
    return _assemble(parts, tables, int(seed))


def metadata(profile: str = "all") -> dict:
    """The content of ``extract.yaml`` for a demo extract of ``profile``."""
    _check(0, 0, profile)
    names = PROFILES[1:] if profile == "all" else (profile,)
    sites: dict[str, str] = {}
    partners: set[str] = set()
    if "legal_aid" in names:
        sites |= LEGAL_AID_SITES
    if "detention" in names:
        sites |= DETENTION_SITES | CENTRES  # contacts in detention are recorded at the centre
    if "child_protection" in names:
        sites |= CHILD_PROTECTION_SITES
    for name in names:
        partners |= _profile_partners(name)
    return {
        "organisation": ORGANISATIONS[profile],
        "extracted_on": EXTRACTED_ON,
        "sites": sites,
        "centres": dict(CENTRES) if "detention" in names else {},
        "partners": {code: label for code, label in PARTNERS.items() if code in partners},
        "schema_version": schema.SCHEMA_VERSION,
    }


_XLSX_MAX_ROWS = 1_048_575  # a sheet holds 1,048,576 rows, the header included


def write(output: str | Path, persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED,
          profile: str = "all", format: str = "parquet") -> Path:
    """Generate a demo extract and write it under ``output``, with ``extract.yaml``.

    ``format`` is ``parquet`` or ``csv`` (one file per table; returns the folder) or
    ``xlsx`` (``extract.xlsx`` with one sheet per table; returns the workbook's path).
    """
    _check_format(format)
    return write_frames(generate(persons, seed, profile), output, profile=profile, format=format)


def write_frames(frames: Mapping[str, pl.DataFrame], output: str | Path, profile: str = "all",
                 format: str = "parquet") -> Path:
    """Write generated (or altered) demo tables as :func:`write` does."""
    _check_format(format)
    if format == "xlsx":
        too_long = [n for n, f in frames.items() if f.height > _XLSX_MAX_ROWS]
        if too_long:
            raise ParameterError(f"too many rows for an Excel sheet in {', '.join(too_long)}: "
                                 "write parquet or csv, or fewer persons")
    meta = metadata(profile)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "extract.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(meta, f, sort_keys=False, allow_unicode=True)
    if format == "parquet":
        for name, frame in frames.items():
            frame.write_parquet(folder / f"{name}.parquet", compression="zstd", statistics=True)
        return folder
    if format == "csv":
        for name, frame in frames.items():
            frame.write_csv(folder / f"{name}.csv", separator=",", include_header=True,
                            date_format="%Y-%m-%d", null_value="")
        return folder
    import xlsxwriter

    path = folder / "extract.xlsx"
    with xlsxwriter.Workbook(str(path)) as workbook:
        workbook.set_properties({"title": meta["organisation"],
                                 "created": dt.datetime.combine(EXTRACTED_ON, dt.time())})
        for name, frame in frames.items():
            frame.write_excel(workbook, worksheet=name, autofit=False,
                              dtype_formats={pl.Date: "yyyy-mm-dd"})
    return path


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ParameterError(f"unknown demo format {format!r}: use one of {', '.join(FORMATS)}")
