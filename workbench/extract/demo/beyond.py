"""Beyond persons: appointments, group activities, the service map, and the ``network`` profile.

These tables are drawn after the person-level tables, from their own random streams, so the
tables the other profiles already had keep their bytes for the same seed:

- ``appointments`` for the legal-aid desk's persons (booked a few days ahead, some missed,
  cancelled or rescheduled; waiting times longer at the busiest site);
- ``activities`` of the child-protection day centre (inter-agency case conferences, a few
  awareness sessions) and ``services``: the map of the services of its area, built so that most
  but not all of its referrals go to a mapped service;
- the ``network`` profile: a Calais-like network of border associations without persons —
  group activities (trainings, inter-association meetings, legal tools…) organised by its members,
  some co-organised (one ``activity_key`` for all organisers), and strategic litigation
  (``legal_actions`` with court, theme, the practice challenged and claimant organisations).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from workbench.contract import schema
from workbench.extract.demo.frames import _key, _pseudonyms
from workbench.extract.demo.setting import CHILD_PROTECTION_SITES, END, LEGAL_AID_SITES, START

NETWORK_MEMBERS = {
    "asso_calais": "Association d'accès aux droits — Calais",
    "asso_dunkerque": "Permanence juridique — Dunkerque",
    "asso_grande_synthe": "Collectif d'aide — Grande-Synthe",
    "asso_mineurs": "Association pour les mineurs isolés — Calais",
    "asso_maraudes": "Maraudes solidaires — littoral",
}
NETWORK_SITES = {"calais": "Calais", "dunkerque": "Dunkerque", "grande_synthe": "Grande-Synthe",
                 "lille": "Lille"}
COURTS = {"ta_lille": "Tribunal administratif de Lille", "caa_douai": "Cour administrative d'appel de Douai",
          "conseil_etat": "Conseil d'État", "cedh": "Cour européenne des droits de l'homme",
          "tj_boulogne": "Tribunal judiciaire de Boulogne-sur-Mer"}
_COURT_LEVEL = {"ta_lille": "first_instance", "tj_boulogne": "first_instance", "caa_douai": "appeal",
                "conseil_etat": "supreme", "cedh": "european"}
PRACTICES = ("camp_evictions", "water_access", "minors_age_assessment", "detention_conditions",
             "police_checks")
_DAYS = (END - START).days + 1


def _day(offset: np.ndarray) -> pl.Series:
    return pl.Series((np.datetime64(START) + offset.astype("timedelta64[D]")).astype("datetime64[D]")).cast(pl.Date)


def _vocab(name: str, values) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).cast(schema.enum(name))


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream]))


def _typed(name: str, columns: dict) -> pl.DataFrame:
    frame = pl.DataFrame(columns)
    spec = schema.TABLES[name]
    return frame.select([pl.col(c.name).cast(schema.dtype_of(c)) for c in spec.columns if c.name in frame.columns])


def appointments(persons: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Appointments of the legal-aid desk's persons (about 1.4 a person)."""
    rng = _rng(seed, 11)
    desk = persons.filter(pl.col("site").is_in(list(LEGAL_AID_SITES))).select("person_id", "site", "registered_on")
    per = rng.poisson(1.4, desk.height)
    rows = desk.select(pl.all().gather(np.repeat(np.arange(desk.height), per)))
    n = rows.height
    first = rows.select((pl.col("registered_on") - pl.lit(START)).dt.total_days()).to_series().to_numpy()
    booked = np.minimum(first + rng.integers(0, 120, n), _DAYS - 1)
    busy = (rows["site"] == "tunis_centre").to_numpy()
    wait = rng.gamma(2.0, np.where(busy, 6.0, 3.5), n).astype(np.int64)
    scheduled = booked + wait
    service = rng.choice(["legal_consultation", "information", "orientation", "social_support"], n,
                         p=[0.5, 0.2, 0.15, 0.15])
    outcome = rng.choice(["attended", "no_show", "cancelled_by_person", "cancelled_by_service", "rescheduled"], n,
                         p=[0.68, 0.14, 0.08, 0.04, 0.06])
    extracted = (dt.date(2026, 1, 15) - START).days
    upcoming = scheduled >= extracted
    order = np.lexsort((rows["person_id"].to_numpy(), booked))
    ids = _pseudonyms("N", np.arange(n), _key(seed, "N"))
    frame = pl.DataFrame({
        "appointment_id": ids,
        "person_id": rows["person_id"].gather(order),
        "booked_on": _day(booked[order]),
        "scheduled_for": _day(scheduled[order]),
        "site": rows["site"].gather(order),
        "service": pl.Series(service[order]),
        "staff_id": _pseudonyms("W", rng.integers(0, 12, n)[order], _key(seed, "W"), digits=4),
        "outcome": [None if u else o for u, o in zip(upcoming[order], outcome[order].tolist())],
    })
    return _typed("appointments", frame.to_dict())


def case_conferences(seed: int) -> pl.DataFrame:
    """The day centre's group activities: fortnightly case conferences and a few awareness sessions."""
    rng = _rng(seed, 12)
    conf = np.arange(3, _DAYS, 14)
    sessions = np.sort(rng.choice(_DAYS, 10, replace=False))
    day = np.concatenate([conf, sessions])
    kind = ["case_conference"] * len(conf) + ["awareness_session"] * len(sessions)
    n = len(day)
    order = np.argsort(day, kind="stable")
    participants = np.where(np.array(kind) == "case_conference", rng.integers(4, 11, n), rng.integers(8, 30, n))
    female = (participants * rng.uniform(0.4, 0.7, n)).astype(np.int64)
    theme = rng.choice(["education", "health", "family_reunification", "civil_status"], n)
    cases = np.where(np.array(kind) == "case_conference", rng.integers(2, 9, n), -1)
    partners = rng.choice(["partner_j", "partner_c;partner_j", "partner_i;partner_j"], n)
    frame = {
        "activity_id": _pseudonyms("V", np.arange(n), _key(seed, "V")),
        "date": _day(day[order]),
        "activity_type": [kind[i] for i in order],
        "site": ["centre_jour"] * n,
        "organiser": ["centre_jour"] * n,
        "partners": partners[order].tolist(),
        "theme": theme[order].tolist(),
        "participants": participants[order],
        "participants_female": female[order],
        "participants_male": (participants - female)[order],
        "cases_discussed": [int(c) if c >= 0 else None for c in cases[order]],
    }
    return _typed("activities", frame)


def services(referrals: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The service map of the day centre's area: most (not all) of the pairs its referrals use, and a few more."""
    rng = _rng(seed, 13)
    pairs = (referrals.filter(pl.col("partner").is_not_null())
             .select(pl.col("service_type").cast(pl.String), "partner").unique().sort("service_type", "partner"))
    keep = rng.random(pairs.height) < 0.75
    mapped = pairs.filter(pl.Series(keep))
    extra = pl.DataFrame({"service_type": ["education", "health", "shelter"],
                          "partner": ["partner_l", "partner_l", "partner_l"]})
    rows = pl.concat([mapped, extra]).unique(maintain_order=True)
    n = rows.height
    frame = {
        "service_id": _pseudonyms("M", np.arange(n), _key(seed, "M")),
        "provider": rows["partner"],
        "service_type": rows["service_type"],
        "area": rng.choice(list(CHILD_PROTECTION_SITES) + ["tunis_centre", "ariana"], n).tolist(),
        "ages": rng.choice(["children", "all_ages"], n, p=[0.6, 0.4]).tolist(),
        "languages": rng.choice(["ar;fr", "ar;fr;en", "fr;en"], n).tolist(),
    }
    return _typed("services", frame)


def network(seed: int, members: tuple[str, ...] = tuple(NETWORK_MEMBERS)) -> dict[str, pl.DataFrame]:
    """A network's extract without persons, as its coordination keeps it: one row per activity and
    per strategic action, the first organiser (claimant) in ``organiser``, the others in ``partners``
    (``claimants``)."""
    activities, actions = _network_rows(seed, members)
    first = activities.group_by("activity_key", maintain_order=True).agg(
        pl.all().first(), pl.col("organiser").alias("wb_all"))
    first = first.with_columns(
        pl.col("wb_all").list.slice(1).list.join(";").replace("", None).alias("partners"))
    acts = first.drop("wb_all").with_columns(
        _pseudonyms("V", np.arange(first.height), _key(seed, "V")).alias("activity_id"))
    legal = actions.unique("action_key", keep="first", maintain_order=True)
    legal = legal.with_columns(_pseudonyms("A", np.arange(legal.height), _key(seed, "A")).alias("action_id"))
    return {"legal_actions": _typed("legal_actions", legal.to_dict()),
            "activities": _typed("activities", acts.to_dict())}


def network_members(seed: int, members: tuple[str, ...] = tuple(NETWORK_MEMBERS)) -> dict[str, dict[str, pl.DataFrame]]:
    """The same network as each member keeps it: a member's extract holds the activities it
    (co-)organised and the actions it is a claimant in; a shared activity or action carries the
    same ``activity_key`` / ``action_key`` in every member's extract."""
    activities, actions = _network_rows(seed, members)
    out = {}
    for i, member in enumerate(members):
        acts = activities.filter(pl.col("organiser") == member)
        acts = acts.with_columns(_pseudonyms("V", np.arange(acts.height), _key(seed + i, "V")).alias("activity_id"))
        legal = actions.filter(pl.col("claimants").str.split(";").list.contains(member))
        legal = legal.with_columns(_pseudonyms("A", np.arange(legal.height), _key(seed + i, "A")).alias("action_id"))
        out[member] = {"legal_actions": _typed("legal_actions", legal.to_dict()),
                       "activities": _typed("activities", acts.to_dict())}
    return out


def _network_rows(seed: int, members: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per activity and organiser (a shared key per activity), one row per strategic action."""
    rng = _rng(seed, 14)
    n = 240
    day = np.sort(rng.integers(0, _DAYS, n))
    kind = rng.choice(["training", "inter_association_meeting", "awareness_session", "outreach_round",
                       "legal_tool", "case_conference"], n, p=[0.25, 0.25, 0.1, 0.25, 0.05, 0.1])
    pool = np.array(members)
    # 15 % of the activities are co-organised by two or three members.
    count = np.where(rng.random(n) < 0.15, rng.integers(2, 4, n), 1)
    organisers = [sorted(rng.choice(pool, c, replace=False).tolist()) for c in count]
    theme = rng.choice(["asylum", "detention_removal", "housing", "health", "other"], n,
                       p=[0.35, 0.25, 0.15, 0.15, 0.10])
    site = rng.choice(list(NETWORK_SITES), n, p=[0.5, 0.2, 0.2, 0.1])
    participants = np.where(kind == "legal_tool", 0, rng.integers(3, 40, n))
    female = (participants * rng.uniform(0.2, 0.6, n)).astype(np.int64)
    minors = np.where(kind == "outreach_round", (participants * rng.uniform(0, 0.3, n)).astype(np.int64), 0)
    cases = rng.integers(2, 12, n)
    rows = [i for i in range(n) for _ in organisers[i]]
    idx = np.array(rows, dtype=np.int64)
    activities = pl.DataFrame({
        "activity_key": [f"NET-{i:04d}" for i in rows],
        "date": _day(day[idx]),
        "activity_type": kind[idx].tolist(),
        "site": site[idx].tolist(),
        "organiser": [o for i in range(n) for o in organisers[i]],
        "theme": theme[idx].tolist(),
        "participants": participants[idx], "participants_female": female[idx],
        "participants_male": (participants - female)[idx], "participants_minors": minors[idx],
        "participants_adults": (participants - minors)[idx],
        "cases_discussed": [int(cases[i]) if kind[i] == "case_conference" else None for i in rows],
    })
    m = 36
    filed = np.sort(rng.integers(0, _DAYS - 30, m))
    court = rng.choice(list(COURTS), m, p=[0.45, 0.15, 0.2, 0.05, 0.15])
    decided = filed + rng.integers(20, 400, m)
    done = decided < _DAYS
    result = rng.choice(["won", "lost", "withdrawn"], m, p=[0.5, 0.4, 0.1])
    hearing = np.maximum(np.where(done, decided - rng.integers(0, 15, m), filed + rng.integers(30, 200, m)), filed)
    claimants = [";".join(sorted(set(rng.choice(pool, rng.integers(1, 4)).tolist()))) for _ in range(m)]
    actions = pl.DataFrame({
        "action_type": rng.choice(["complaint", "removal_order_appeal", "detention_appeal_court", "other"], m,
                                  p=[0.5, 0.2, 0.2, 0.1]).tolist(),
        "filed_on": _day(filed),
        "decided_on": _day(decided).scatter(np.flatnonzero(~done), None),
        "result": [r if d else None for r, d in zip(result.tolist(), done)],
        "strategic": np.ones(m, dtype=bool),
        "action_key": [f"LIT-{i:03d}" for i in range(m)],
        "court": court.tolist(),
        "court_level": [_COURT_LEVEL[c] for c in court],
        "theme": rng.choice(["asylum", "detention_removal", "housing", "health"], m).tolist(),
        "challenged": rng.choice(list(PRACTICES), m).tolist(),
        "claimants": claimants,
        "hearing_on": _day(hearing),
    })
    return activities, actions
