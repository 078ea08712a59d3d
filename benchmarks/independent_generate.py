"""An extract the workbench did not generate: other distributions, written straight to Parquet.

    python benchmarks/independent_generate.py --persons 1000000 --output benchmarks/data/indep-1000000

Independent of ``workbench.extract.demo``: numpy only, its own choices (a Zipf-like spread of
nationalities, a Poisson number of contacts per person averaging about 2.6, a skewed spread of
sites, registrations from 2019 on), strings and dates as a partner's export would hold them.
It imports only the contract's vocabularies so that codes are valid; a few rows are made
invalid on purpose (about 0.1 %) so that the quarantine is exercised too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.contract.schema import VOCABULARIES, nationality_codes  # noqa: E402

SITES = ["lyon", "lille", "nice", "rennes", "tours", "metz", "pau"]
CENTRES = ["cra_a", "cra_b", "cra_c"]
PARTNERS = ["avocats_sud", "sante_plus", "toit_commun", "ecole_ouverte"]
START, END = dt.date(2019, 1, 1), dt.date(2025, 12, 31)


def _pick(rng, codes, n, skew=1.3, unknown=0.03, empty=True):
    """``n`` codes with Zipf-like weights (first codes most frequent), some 'unknown', some empty."""
    codes = [c for c in codes if c != "unknown"]
    weights = 1 / np.arange(1, len(codes) + 1) ** skew
    values = np.array(codes, dtype=object)[rng.choice(len(codes), n, p=weights / weights.sum())]
    roll = rng.random(n)
    values[roll < unknown] = "unknown"
    if empty:  # an optional column: some cells left empty
        values[(roll >= unknown) & (roll < unknown * 1.5)] = None
    return pl.Series(values.tolist(), dtype=pl.String)


def _blank(series, mask: np.ndarray) -> pl.Series:
    """``series`` (a numpy array or polars Series) with the rows of ``mask`` empty."""
    series = pl.Series(series)
    return pl.select(pl.when(pl.Series(mask)).then(None).otherwise(series)).to_series()


def _dates(rng, start: np.ndarray, days_max: int, n: int, end=END) -> np.ndarray:
    out = start + rng.integers(0, days_max, n).astype("timedelta64[D]")
    return np.minimum(out, np.datetime64(end))


def _ids(prefix: str, n: int) -> pl.Series:
    """``n`` distinct pseudonyms such as ``Q000007919`` (a scrambled counter)."""
    return pl.select(pl.format("{}{}", pl.lit(prefix), pl.int_range(n, dtype=pl.Int64).mul(7919).mod(10**9)
                               .cast(pl.String).str.zfill(9))).to_series()


def generate(persons: int, seed: int = 20251231) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n = persons
    span = (END - START).days
    registered = np.datetime64(START) + (span * rng.beta(2.2, 1.3, n)).astype("timedelta64[D]")
    pid = _ids("Q", n)
    birth = _blank((2025 - np.clip(rng.gamma(4.5, 7, n), 0, 95)).astype(np.int64), rng.random(n) < 0.05)
    persons_t = pl.DataFrame({
        "person_id": pid, "sex": _pick(rng, VOCABULARIES["sex"], n, skew=0.4, empty=False),
        "birth_year": birth,
        "nationality": _pick(rng, nationality_codes(), n, skew=1.1),
        "legal_status": _pick(rng, VOCABULARIES["legal_status"], n, skew=0.9),
        "registered_on": registered, "site": _pick(rng, SITES, n, skew=1.6, unknown=0, empty=False)},
        schema_overrides={"birth_year": pl.Int64, "registered_on": pl.Date})

    counts = rng.poisson(1.6, n) + 1  # at least the registration contact: about 2.6 a person
    owner = np.repeat(np.arange(n), counts)
    m = owner.size
    contacts = pl.DataFrame({
        "contact_id": _ids("V", m), "person_id": pid.gather(owner),
        "date": _dates(rng, registered[owner], 700, m),
        "site": persons_t["site"].gather(owner),
        "channel": _pick(rng, VOCABULARIES["channel"], m, skew=1.0),
        "service": _pick(rng, VOCABULARIES["service"], m, skew=0.7, unknown=0.01, empty=False),
        "topic": _pick(rng, VOCABULARIES["topic"], m, skew=1.2),
        "interpreter": rng.random(m) < 0.3}, schema_overrides={"date": pl.Date})
    contacts = contacts.with_columns(pl.col("site").fill_null(SITES[0]))

    def sample(frac):
        return np.sort(rng.choice(n, int(n * frac), replace=False))

    who = sample(0.35)
    k = who.size
    opened = _dates(rng, registered[who], 60, k)
    assessed = _dates(rng, opened, 40, k)
    still_open = rng.random(k) < 0.4
    closed = _blank(_dates(rng, assessed, 500, k), still_open)
    reason = _blank(_pick(rng, VOCABULARIES["closure_reason"], k, skew=1.0), still_open)
    cases = pl.DataFrame({
        "case_id": _ids("D", k), "person_id": pid.gather(who), "site": persons_t["site"].gather(who),
        "case_type": _pick(rng, VOCABULARIES["case_type"], k, skew=1.5, unknown=0, empty=False),
        "risk_level": _pick(rng, VOCABULARIES["risk_level"], k, skew=0.3),
        "opened_on": opened, "assessed_on": assessed, "care_plan_on": _dates(rng, assessed, 30, k),
        "last_review_on": _dates(rng, assessed, 200, k), "closed_on": closed, "closure_reason": reason,
        "caseworker_id": _ids("W", k).str.slice(0, 4)},
        schema_overrides={"opened_on": pl.Date, "assessed_on": pl.Date, "care_plan_on": pl.Date,
                          "last_review_on": pl.Date, "closed_on": pl.Date})
    cases = cases.with_columns(pl.col("site").fill_null(SITES[0]),
                               pl.min_horizontal("last_review_on", "closed_on").alias("last_review_on"))

    pick = rng.choice(k, int(k * 0.8))
    r = pick.size
    referred = _dates(rng, opened[pick], 90, r)
    status = _pick(rng, VOCABULARIES["referral_status"], r, skew=0.8, unknown=0, empty=False)
    status_on = _blank(_dates(rng, referred, 60, r), (status == "pending").to_numpy())
    referrals = pl.DataFrame({
        "referral_id": _ids("R", r), "person_id": cases["person_id"].gather(pick),
        "case_id": cases["case_id"].gather(pick), "referred_on": referred,
        "service_type": _pick(rng, VOCABULARIES["referral_service"], r, skew=1.0, unknown=0, empty=False),
        "partner": _pick(rng, PARTNERS, r, skew=0.5, unknown=0, empty=False), "status": status, "status_on": status_on},
        schema_overrides={"referred_on": pl.Date, "status_on": pl.Date})

    held = sample(0.06)
    h = held.size
    entered = _dates(rng, registered[held], 300, h)
    inside = rng.random(h) < 0.1
    left = _blank(_dates(rng, entered, 90, h), inside)
    outcome = _blank(_pick(rng, VOCABULARIES["detention_outcome"], h, skew=0.9, unknown=0, empty=False), inside)
    stays = pl.DataFrame({
        "stay_id": _ids("S", h), "person_id": pid.gather(held), "centre": _pick(rng, CENTRES, h, unknown=0, empty=False),
        "entered_on": entered, "left_on": left, "outcome": outcome,
        "with_children": rng.random(h) < 0.08,
        "assisted": rng.random(h) < 0.7},
        schema_overrides={"entered_on": pl.Date, "left_on": pl.Date})

    acting = rng.choice(k, int(k * 0.5))
    a = acting.size
    filed = _dates(rng, opened[acting], 120, a)
    pending = rng.random(a) < 0.3
    decided = _blank(_dates(rng, filed, 300, a), pending)
    result = _blank(_pick(rng, VOCABULARIES["action_result"], a, skew=0.6, unknown=0, empty=False), pending)
    actions = pl.DataFrame({
        "action_id": _ids("A", a), "person_id": cases["person_id"].gather(acting),
        "case_id": cases["case_id"].gather(acting), "stay_id": [None] * a,
        "action_type": _pick(rng, VOCABULARIES["action_type"], a, skew=1.0, unknown=0, empty=False),
        "filed_on": filed, "decided_on": decided, "result": result},
        schema_overrides={"filed_on": pl.Date, "decided_on": pl.Date, "stay_id": pl.String})

    flagged = sample(0.05)
    f = flagged.size
    flags = pl.DataFrame({
        "person_id": pid.gather(flagged),
        "flag": _pick(rng, VOCABULARIES["protection_flag"], f, skew=1.0, unknown=0, empty=False),
        "identified_on": _dates(rng, registered[flagged], 100, f)}, schema_overrides={"identified_on": pl.Date})
    # a few spoiled rows: a birth year in the future, an unknown service code, a contact before 1990
    bad = rng.choice(n, max(1, n // 1000), replace=False)
    persons_t = persons_t.with_columns(
        pl.when(pl.int_range(n).is_in(bad)).then(pl.lit(2999)).otherwise("birth_year").alias("birth_year"))
    return {"persons": persons_t, "contacts": contacts, "cases": cases, "referrals": referrals,
            "detention_stays": stays, "legal_actions": actions, "protection_flags": flags}


def write(folder: Path, persons: int, seed: int = 20251231) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in generate(persons, seed).items():
        frame.write_parquet(folder / f"{name}.parquet")
    (folder / "extract.yaml").write_text(
        "organisation: Independent benchmark\nextracted_on: 2025-12-31\n"
        f"sites: [{', '.join(SITES)}]\ncentres: [{', '.join(CENTRES)}]\npartners: [{', '.join(PARTNERS)}]\n",
        encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    out = args.output or Path(__file__).resolve().parent / "data" / f"indep-{args.persons}"
    t0 = time.perf_counter()
    write(out, args.persons, args.seed)
    print(f"{args.persons:,} persons written to {out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
