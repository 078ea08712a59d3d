"""The case-extract contract, declared as data.

Tables, columns, vocabularies and the rules between columns are declared here
once; :mod:`workbench.extract` turns them into polars expressions (presence and
bounds as dataframely's column types state them), and :mod:`workbench.docs` into the contract page.

Every vocabulary also admits ``unknown`` ("the value is not known"); an empty cell
means "not recorded". Codes keep the order given here, which is the order used to
sort breakdown rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import polars as pl

SCHEMA_VERSION = "1"

#: Extract levels (``level:`` in extract.yaml): a person-level extract needs persons and contacts;
#: a network-level one (a network's coordination: activities, strategic litigation) needs none.
PERSON_LEVEL, NETWORK = "person", "network"
LEVELS = (PERSON_LEVEL, NETWORK)

_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male", "other"),
    "legal_status": ("asylum_seeker", "refugee", "subsidiary_protection", "rejected_asylum_seeker",
                     "undocumented", "residence_permit", "stateless"),
    "channel": ("in_person", "phone", "outreach", "online"),
    "service": ("information", "orientation", "legal_consultation", "mediation", "social_support",
                "psychosocial_support", "accompaniment", "other"),
    "topic": ("asylum", "residence", "detention_removal", "family_reunification", "labour", "housing",
              "health", "education", "civil_status", "criminal", "trafficking", "other"),
    "case_type": ("legal", "child_protection", "trafficking", "social"),
    "risk_level": ("high", "medium", "low"),
    "closure_reason": ("objectives_met", "transferred", "moved_away", "lost_contact", "turned_18",
                       "refused_services", "deceased", "other"),
    "referral_service": ("lawyer", "legal_aid", "health", "mental_health", "shelter", "education",
                         "child_protection_authority", "anti_trafficking", "unhcr", "iom", "other"),
    "referral_status": ("pending", "accepted", "completed", "declined", "no_show"),
    "detention_outcome": ("released_judge", "released_appeal_court", "released_administrative_court",
                          "released_prefecture", "released_max_duration", "released_health",
                          "released_asylum", "house_arrest", "removed_country_of_origin",
                          "removed_third_country", "dublin_transfer", "readmission_eu",
                          "transferred_centre", "escaped", "other"),
    "action_type": ("asylum_claim", "asylum_appeal", "residence_application", "removal_order_appeal",
                    "detention_appeal_judge", "detention_appeal_court", "family_reunification",
                    "complaint", "other"),
    "action_result": ("won", "lost", "withdrawn", "other"),
    "activity_type": ("training", "inter_association_meeting", "case_conference", "awareness_session",
                      "outreach_round", "legal_tool", "other"),
    "appointment_outcome": ("attended", "no_show", "cancelled_by_person", "cancelled_by_service",
                            "rescheduled"),
    "court_level": ("first_instance", "appeal", "supreme", "constitutional", "european", "un_body", "other"),
    "ages_served": ("children", "adults", "all_ages"),
    "protection_flag": ("unaccompanied_minor", "separated_child", "trafficking_suspected", "gbv_survivor",
                        "torture_survivor", "disability", "serious_medical", "single_parent",
                        "elderly_alone"),
}

#: Every vocabulary, in its declared order, with ``unknown`` last.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    name: codes + ("unknown",) for name, codes in _VOCABULARIES.items()
}

#: Nationality codes that are not countries in ISO 3166-1 but are accepted.
EXTRA_NATIONALITY_CODES = {"XXA": "stateless", "XKX": "Kosovo"}

AGE_GROUPS: tuple[str, ...] = ("0-4", "5-11", "12-17", "18-59", "60+", "unknown")


@cache
def nationality_codes() -> tuple[str, ...]:
    """ISO 3166-1 alpha-3 codes plus ``XXA`` (stateless) and ``XKX``, sorted, ``unknown`` last."""
    import pycountry

    codes = {c.alpha_3 for c in pycountry.countries} | set(EXTRA_NATIONALITY_CODES)
    return tuple(sorted(codes)) + ("unknown",)


def vocabulary(name: str) -> tuple[str, ...]:
    """The codes of a vocabulary (``nationality`` included), ``unknown`` last."""
    if name == "nationality":
        return nationality_codes()
    return VOCABULARIES[name]


def enum(name: str) -> pl.Enum:
    """The polars Enum type of a vocabulary; its order is the breakdown order."""
    return pl.Enum(vocabulary(name))


# Column kinds: "id" (pseudonym or identifier, free text), "key" (a key shared between members
# of a network, never prefixed when extracts are combined), "code" (open code such as a site,
# lower-case snake case), "codes" (open codes separated by ';'), "vocab" (closed vocabulary),
# "date", "bool", "year", "count" (a whole number ≥ 0: an aggregate count, never a person).
@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    vocab: str | None = None
    references: str | None = None  # table whose id this column must exist in
    note: str = ""
    #: A date that may lie after ``extracted_on`` (an appointment booked for next week).
    future_ok: bool = False
    #: Required in a person-level extract, optional in a network-level one (``level: network``).
    network_optional: bool = False


@dataclass(frozen=True)
class DateOrder:
    """``later`` must be on or after ``earlier`` when both are set."""

    later: str
    earlier: str


@dataclass(frozen=True)
class RequiredWhen:
    """``column`` must be set when ``when`` is set (and, if given, holds one of ``values``)."""

    column: str
    when: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartsWithin:
    """The sum of ``parts`` (those recorded) must not exceed ``total`` (participants by sex ≤ participants)."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = False
    id_column: str | None = None
    date_order: tuple[DateOrder, ...] = ()
    required_when: tuple[RequiredWhen, ...] = ()
    parts_within: tuple[PartsWithin, ...] = ()
    extra_rules: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def polars_schema(self) -> dict[str, pl.DataType]:
        """The dtypes of the accepted, typed table."""
        return {c.name: dtype_of(c) for c in self.columns}

    def at_level(self, level: str) -> Table:
        """The table as read in an extract of ``level``: network-optional columns relaxed in a network extract."""
        if level != NETWORK or not any(c.network_optional for c in self.columns):
            return self
        return replace(self, columns=tuple(replace(c, required=False) if c.network_optional else c
                                           for c in self.columns))


def dtype_of(column: Column) -> pl.DataType:
    if column.kind == "vocab":
        return enum(column.vocab)
    if column.kind == "date":
        return pl.Date()
    if column.kind == "bool":
        return pl.Boolean()
    if column.kind == "year":
        return pl.Int32()
    if column.kind == "count":
        return pl.Int64()
    return pl.String()


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons", "one row per person", required=True, id_column="person_id",
            columns=(
                Column("person_id", "id", True, note="pseudonym, unique in the table"),
                Column("sex", "vocab", True, vocab="sex"),
                Column("birth_year", "year", note="1900 ≤ year ≤ extracted_on's year"),
                Column("nationality", "vocab", vocab="nationality",
                       note="ISO 3166-1 alpha-3, XXA stateless, unknown"),
                Column("legal_status", "vocab", vocab="legal_status", note="status at registration"),
                Column("registered_on", "date", True, note="first registration with the organisation"),
                Column("site", "code", True, note="site code of registration"),
            ),
        ),
        Table(
            "contacts", "one row per contact (visit, call, outreach, accompaniment)", required=True,
            id_column="contact_id",
            columns=(
                Column("contact_id", "id", True),
                Column("person_id", "id", True, references="persons"),
                Column("date", "date", True),
                Column("site", "code", True),
                Column("channel", "vocab", vocab="channel"),
                Column("service", "vocab", True, vocab="service", note="the main service given"),
                Column("topic", "vocab", vocab="topic", note="the main legal or social matter"),
                Column("interpreter", "bool", note="an interpreter was used"),
            ),
        ),
        Table(
            "cases", "one row per individual file (dossier) under case management", id_column="case_id",
            columns=(
                Column("case_id", "id", True),
                Column("person_id", "id", True, references="persons"),
                Column("site", "code", True),
                Column("case_type", "vocab", True, vocab="case_type"),
                Column("risk_level", "vocab", vocab="risk_level", note="set at assessment"),
                Column("opened_on", "date", True, note="identification and registration"),
                Column("assessed_on", "date", note="assessment completed"),
                Column("care_plan_on", "date", note="care plan agreed"),
                Column("last_review_on", "date", note="latest follow-up review"),
                Column("closed_on", "date", note="empty while open"),
                Column("closure_reason", "vocab", vocab="closure_reason",
                       note="required when closed_on is set"),
                Column("caseworker_id", "id", note="pseudonym"),
            ),
            date_order=(
                DateOrder("assessed_on", "opened_on"),
                DateOrder("care_plan_on", "opened_on"),
                DateOrder("last_review_on", "opened_on"),
                DateOrder("closed_on", "opened_on"),
            ),
            required_when=(RequiredWhen("closure_reason", "closed_on"),),
        ),
        Table(
            "referrals", "one row per referral to another service", id_column="referral_id",
            columns=(
                Column("referral_id", "id", True),
                Column("person_id", "id", True, references="persons"),
                Column("case_id", "id", references="cases", note="must exist in cases when set"),
                Column("referred_on", "date", True),
                Column("service_type", "vocab", True, vocab="referral_service"),
                Column("partner", "code", note="partner code"),
                Column("status", "vocab", True, vocab="referral_status",
                       note="status as of the extract date"),
                Column("status_on", "date",
                       note="date the status was reached (required for accepted, completed, declined, no_show)"),
            ),
            date_order=(DateOrder("status_on", "referred_on"),),
            required_when=(
                RequiredWhen("status_on", "status", ("accepted", "completed", "declined", "no_show")),
            ),
        ),
        Table(
            "detention_stays", "one row per stay in an immigration detention centre", id_column="stay_id",
            columns=(
                Column("stay_id", "id", True),
                Column("person_id", "id", True, references="persons"),
                Column("centre", "code", True, note="centre code"),
                Column("entered_on", "date", True, note="placement in the centre"),
                Column("left_on", "date", note="empty while still held"),
                Column("outcome", "vocab", vocab="detention_outcome", note="required when left_on is set"),
                Column("with_children", "bool", note="held as a family with minor children"),
                Column("assisted", "bool", note="the person met the legal assistance team"),
            ),
            date_order=(DateOrder("left_on", "entered_on"),),
            required_when=(RequiredWhen("outcome", "left_on"),),
        ),
        Table(
            "legal_actions", "one row per procedure or appeal lodged with help from the organisation, or per "
            "strategic action of a network", id_column="action_id",
            columns=(
                Column("action_id", "id", True),
                Column("person_id", "id", True, references="persons", network_optional=True,
                       note="required in a person-level extract; empty in a network-level one"),
                Column("case_id", "id", references="cases"),
                Column("stay_id", "id", references="detention_stays"),
                Column("action_type", "vocab", True, vocab="action_type"),
                Column("filed_on", "date", True),
                Column("decided_on", "date"),
                Column("result", "vocab", vocab="action_result", note="required when decided_on is set"),
                Column("strategic", "bool", note="strategic litigation (a policy or practice challenged)"),
                Column("action_key", "key",
                       note="shared by the members that bring the same action (counted once when combined)"),
                Column("court", "code", note="court or body seized (code)"),
                Column("court_level", "vocab", vocab="court_level"),
                Column("theme", "vocab", vocab="topic", note="the legal theme"),
                Column("challenged", "code", note="the policy or practice challenged (code)"),
                Column("claimants", "codes", note="claimant organisations, codes separated by ';'"),
                Column("hearing_on", "date", future_ok=True, note="next or last hearing (may be after extracted_on)"),
            ),
            date_order=(DateOrder("decided_on", "filed_on"), DateOrder("hearing_on", "filed_on")),
            required_when=(RequiredWhen("result", "decided_on"),),
        ),
        Table(
            "activities", "one row per group activity: training, meeting, case conference, awareness session, "
            "outreach round, legal tool published (no person ids: participants are counts)",
            id_column="activity_id",
            columns=(
                Column("activity_id", "id", True),
                Column("activity_key", "key",
                       note="shared by the members that co-organise it (counted once when combined)"),
                Column("date", "date", True),
                Column("activity_type", "vocab", True, vocab="activity_type"),
                Column("site", "code", note="site or place code"),
                Column("organiser", "code", note="organising team or member (code)"),
                Column("partners", "codes", note="partner organisations, codes separated by ';'"),
                Column("theme", "vocab", vocab="topic", note="the legal or social theme"),
                Column("participants", "count", True, note="participants, all counted"),
                Column("participants_female", "count"),
                Column("participants_male", "count"),
                Column("participants_minors", "count", note="participants under 18"),
                Column("participants_adults", "count", note="participants aged 18 or more"),
                Column("cases_discussed", "count", note="case conference: individual situations discussed"),
            ),
            parts_within=(PartsWithin("participants", ("participants_female", "participants_male")),
                          PartsWithin("participants", ("participants_minors", "participants_adults"))),
        ),
        Table(
            "appointments", "one row per appointment booked (rendez-vous, entretien)", id_column="appointment_id",
            columns=(
                Column("appointment_id", "id", True),
                Column("person_id", "id", True, references="persons"),
                Column("booked_on", "date", True),
                Column("scheduled_for", "date", True, future_ok=True, note="may be after extracted_on"),
                Column("site", "code", True),
                Column("service", "vocab", vocab="service"),
                Column("staff_id", "id", note="pseudonym of the staff member"),
                Column("outcome", "vocab", vocab="appointment_outcome", note="empty while upcoming"),
            ),
            date_order=(DateOrder("scheduled_for", "booked_on"),),
        ),
        Table(
            "services", "one row per service available in the area (the service map referrals are checked "
            "against)", id_column="service_id",
            columns=(
                Column("service_id", "id", True),
                Column("provider", "code", True, note="provider code (the partner code of referrals)"),
                Column("service_type", "vocab", True, vocab="referral_service"),
                Column("area", "code", note="area or site code"),
                Column("ages", "vocab", vocab="ages_served"),
                Column("languages", "codes", note="languages, codes separated by ';' (ar;fr;en)"),
            ),
        ),
        Table(
            "protection_flags", "one row per protection concern identified for a person",
            columns=(
                Column("person_id", "id", True, references="persons"),
                Column("flag", "vocab", True, vocab="protection_flag"),
                Column("identified_on", "date", True),
            ),
        ),
    )
}

#: Tables in the order they are loaded: parents before the tables that refer to them.
TABLE_ORDER: tuple[str, ...] = (
    "persons", "cases", "detention_stays", "contacts", "referrals", "legal_actions", "protection_flags",
    "activities", "appointments", "services",
)

REQUIRED_TABLES: tuple[str, ...] = tuple(t for t in TABLE_ORDER if TABLES[t].required)


def required_tables(level: str) -> tuple[str, ...]:
    """The tables an extract of ``level`` must hold."""
    return () if level == NETWORK else REQUIRED_TABLES


def empty_table(name: str) -> pl.DataFrame:
    """An empty, typed frame of a contract table."""
    return pl.DataFrame(schema=TABLES[name].polars_schema())
