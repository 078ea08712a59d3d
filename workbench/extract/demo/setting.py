"""The demo's world: dates, organisations, sites, centres and partners, and the day numbers used while generating."""

from __future__ import annotations

import datetime as dt


DEFAULT_PERSONS = 3000
DEFAULT_SEED = 20240101
PROFILES = ("all", "legal_aid", "detention", "child_protection", "network")
#: The organisation profiles ``all`` brings together (``network`` has no persons and stands apart).
ALL_PARTS = ("legal_aid", "detention", "child_protection")
FORMATS = ("parquet", "csv", "xlsx")

START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)
EXTRACTED_ON = dt.date(2026, 1, 15)

#: Share of the persons of the ``all`` profile that go to each organisation profile.
PROFILE_SHARES = {"legal_aid": 0.70, "detention": 0.15, "child_protection": 0.15}

#: The tables each organisation profile fills.
PROFILE_TABLES = {
    "legal_aid": ("persons", "contacts", "cases", "referrals", "legal_actions", "protection_flags", "appointments"),
    "detention": ("persons", "contacts", "detention_stays", "referrals", "legal_actions",
                  "protection_flags"),
    "child_protection": ("persons", "contacts", "cases", "referrals", "legal_actions",
                         "protection_flags", "activities", "services"),
    "network": ("legal_actions", "activities"),
}
#: Tables drawn after the person-level ones (:mod:`.beyond`), from their own random streams.
BEYOND_TABLES = {"legal_aid": ("appointments",), "child_protection": ("activities", "services")}

ORGANISATIONS = {
    "all": "Démo — plateforme d'accueil, d'aide juridique et de protection",
    "legal_aid": "Démo — permanence d'accueil et d'aide juridique (Grand Tunis)",
    "detention": "Démo — équipe d'assistance juridique en rétention",
    "child_protection": "Démo — centre de jour pour la protection de l'enfance",
    "network": "Démo — réseau d'associations à la frontière (Calais)",
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

_EPOCH = dt.date(1970, 1, 1)
D_START = (START - _EPOCH).days
D_END = (END - _EPOCH).days
NA = -1  # "empty" in every integer-coded column while generating

#: Every open code (sites, centres, partners), indexed by the ``code`` columns while generating.
_OPEN_CODES: tuple[str, ...] = tuple(
    {**LEGAL_AID_SITES, **DETENTION_SITES, **CHILD_PROTECTION_SITES, **CENTRES, **PARTNERS}
)
