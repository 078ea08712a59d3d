"""The reference SQL of the indicators beyond persons: group activities, appointments, strategic
litigation and the service map — written from their definitions in docs/extract-contract.md and
docs/indicators.md (the catalogue's texts), not from the engine.

Registered into :data:`tests.reference_sql.REFERENCE` when that module is imported.

* An activity (an action) is one unit per ``activity_key`` (``action_key``) when recorded, else per
  ``activity_id`` (``action_id``): rows sharing a key are one activity, counted once.
* Participants and cases discussed are sums of aggregate counts, once per unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.reference_sql import Window, indicator

ACTIVITY_DIMS = ["activity_type", "theme", "site", "organiser"]
ACTIVITY_UNIT = "coalesce(activity_key, activity_id)"
LITIGATION_DIMS = ["theme", "court", "court_level", "action_type"]
ACTION_UNIT = "coalesce(action_key, action_id)"


def _activities(w: Window, extra: str = "TRUE") -> str:
    # One row per unit: a shared activity's rows describe the same activity (same type, theme, place, counts).
    return f"""
        SELECT DISTINCT ON (unit) {ACTIVITY_UNIT} AS unit, activity_type, theme, site, organiser,
               participants, cases_discussed
        FROM activities
        WHERE {w.has('"date"')} AND {extra}"""


@indicator("activities", "count", ["activities"], ACTIVITY_DIMS)
def activities(w: Window, params: Mapping):
    return _activities(w), "count(DISTINCT unit)", None


@indicator("activity_participants", "count", ["activities"], ACTIVITY_DIMS)
def activity_participants(w: Window, params: Mapping):
    return _activities(w), "coalesce(sum(participants), 0)", None


@indicator("case_conferences", "count", ["activities"], ["theme", "site", "organiser"])
def case_conferences(w: Window, params: Mapping):
    return _activities(w, "activity_type = 'case_conference'"), "count(DISTINCT unit)", None


@indicator("cases_discussed", "count", ["activities"], ["theme", "site", "organiser"])
def cases_discussed(w: Window, params: Mapping):
    return _activities(w, "activity_type = 'case_conference'"), "coalesce(sum(cases_discussed), 0)", None


APPOINTMENT_DIMS = ["site", "service", "sex", "age_group"]


def _appointments(w: Window, when: str, only_outcome: bool) -> str:
    return f"""
        SELECT a.site, a.service, a.outcome AS appointment_outcome, p.sex,
               age_group(age_at(a.{when}, p.birth_year)) AS age_group,
               a.outcome, a.scheduled_for - a.booked_on AS days
        FROM appointments a JOIN persons p USING (person_id)
        WHERE {w.has('a.' + when)} {"AND a.outcome IS NOT NULL" if only_outcome else ""}"""


@indicator("appointments_booked", "count", ["persons", "appointments"],
           ["site", "service", "appointment_outcome", "sex", "age_group"])
def appointments_booked(w: Window, params: Mapping):
    return _appointments(w, "booked_on", False), "count(*)", None


@indicator("appointment_attendance_rate", "rate", ["persons", "appointments"], APPOINTMENT_DIMS)
def appointment_attendance_rate(w: Window, params: Mapping):
    return _appointments(w, "scheduled_for", True), "count(*) FILTER (WHERE outcome = 'attended')", "count(*)"


@indicator("appointment_no_show_rate", "rate", ["persons", "appointments"], APPOINTMENT_DIMS)
def appointment_no_show_rate(w: Window, params: Mapping):
    return _appointments(w, "scheduled_for", True), "count(*) FILTER (WHERE outcome = 'no_show')", "count(*)"


@indicator("appointment_waiting_days", "median", ["persons", "appointments"], APPOINTMENT_DIMS)
def appointment_waiting_days(w: Window, params: Mapping):
    return _appointments(w, "scheduled_for", False), "median(days::DOUBLE)", "count(days)"


def _strategic(where: str) -> str:
    return f"""
        SELECT {ACTION_UNIT} AS unit, theme, court, court_level, action_type, result
        FROM legal_actions
        WHERE coalesce(strategic, false) AND {where}"""


@indicator("strategic_actions_filed", "count", ["legal_actions"], LITIGATION_DIMS)
def strategic_actions_filed(w: Window, params: Mapping):
    return _strategic(w.has("filed_on")), "count(DISTINCT unit)", None


@indicator("strategic_actions_pending", "count", ["legal_actions"], LITIGATION_DIMS)
def strategic_actions_pending(w: Window, params: Mapping):
    return _strategic(f"filed_on <= {w.e} AND (decided_on IS NULL OR decided_on > {w.e})"), \
        "count(DISTINCT unit)", None


@indicator("strategic_actions_decided", "count", ["legal_actions"], LITIGATION_DIMS)
def strategic_actions_decided(w: Window, params: Mapping):
    return _strategic(w.has("decided_on")), "count(DISTINCT unit)", None


@indicator("strategic_success_rate", "rate", ["legal_actions"], LITIGATION_DIMS)
def strategic_success_rate(w: Window, params: Mapping):
    return _strategic(w.has("decided_on")), "count(DISTINCT unit) FILTER (WHERE result = 'won')", \
        "count(DISTINCT unit)"


@indicator("services_mapped", "count", ["services"], ["service_type", "area", "ages"])
def services_mapped(w: Window, params: Mapping):
    return "SELECT service_type, area, ages FROM services", "count(*)", None


@indicator("referrals_to_mapped_service", "rate", ["persons", "referrals", "services"],
           ["service_type", "partner", "sex", "age_group"])
def referrals_to_mapped_service(w: Window, params: Mapping):
    records = f"""
        SELECT r.service_type, r.partner, p.sex, age_group(age_at(r.referred_on, p.birth_year)) AS age_group,
               EXISTS (SELECT 1 FROM services s WHERE s.service_type = r.service_type
                       AND s.provider = r.partner) AS mapped
        FROM referrals r JOIN persons p USING (person_id)
        WHERE {w.has('r.referred_on')}"""
    return records, "count(*) FILTER (WHERE mapped)", "count(*)"
