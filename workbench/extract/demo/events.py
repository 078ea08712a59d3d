"""Building blocks shared by the profiles: persons, protection flags, case timelines, referrals, contacts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench.extract.demo.setting import D_END, NA
from workbench.extract.demo.draws import (
    _Cat, _bool, _chance, _code, _delay, _empty_where, _lognormal, _lookup, _pick, _sort_rows, _year)


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
