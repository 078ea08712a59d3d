"""The ``child_protection`` profile: a day centre for children aged 8 to 17."""

from __future__ import annotations

import numpy as np

from workbench.extract.demo.setting import D_END, NA
from workbench.extract.demo.draws import (
    _Calendar, _Cat, _at, _chance, _code, _concat_rows, _delay, _empty_where, _lognormal, _open_day,
    _repeat_index, _sort_rows, _take_rows, _timeline)
from workbench.extract.demo.events import (
    _anti_trafficking_referrals, _case_timeline, _contacts, _flags, _minor, _nationality_lookup, _persons,
    _referrals)
from workbench.extract.demo.legal_aid import _ACTION_RESULT, _caseworkers, _first_case

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
