"""The ``legal_aid`` profile: a reception and legal-aid desk in Greater Tunis with four sites."""

from __future__ import annotations

import numpy as np

from workbench.extract.demo.setting import D_END, D_START, LEGAL_AID_SITES, NA
from workbench.extract.demo.draws import (
    _Calendar, _Cat, _at, _chance, _code, _codes, _concat_rows, _delay, _empty_where, _lognormal, _open_day,
    _pick, _repeat_index, _sort_rows, _take_rows, _timeline)
from workbench.extract.demo.events import (
    _anti_trafficking_referrals, _case_timeline, _contacts, _flags, _minor, _nationality_lookup, _persons,
    _referrals)

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
