"""The ``detention`` profile: a legal team in three overseas immigration detention centres."""

from __future__ import annotations

import numpy as np

from workbench.extract.demo.setting import D_END, NA
from workbench.extract.demo.draws import (
    _Calendar, _Cat, _bool, _chance, _code, _codes, _concat_rows, _delay, _empty_where, _lognormal, _pick,
    _repeat_index, _sort_rows, _take_rows)
from workbench.extract.demo.events import (
    _anti_trafficking_referrals, _contacts, _flags, _minor, _nationality_lookup, _persons, _referrals)

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
