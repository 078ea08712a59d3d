"""The polars engine against an independent DuckDB SQL reference (tests/reference_sql.py).

On a demo extract of 3,000 persons, for several periods, every indicator of the catalogue is
computed by ``workbench.indicators.compute`` (internal audience, the total and each allowed single
breakdown) and by the SQL reference written from the indicator spec; both must give the same rows
(indicator, dimension, category), the same numerators and denominators, the same flags, and
values equal to 1e-9.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from workbench import demo, extract, indicators
from workbench.catalogue import load_catalogue

from tests import reference_sql as ref

CATALOGUE = load_catalogue()
IDS = CATALOGUE.ids

PERIODS = [
    "2025-Q2",                  # a quarter
    "2024",                     # a year
    "2025-03",                  # a month
    "2024-02",                  # a leap month
    "2024-11-15..2025-02-10",   # a range across a year end
    "2023-Q4",                  # before any record: empty populations (no_data)
]

# Known disagreements where the spec supports the reference: (indicator, period) -> reason.
# Each is marked xfail(strict=True) so the suite stays green until the engine is fixed.
KNOWN: dict[tuple[str, str], str] = {}

# Breakdowns the engine cannot compute at all: (indicator, dimension) -> reason. They are left
# out of the comparisons above and checked on their own (xfail) in test_breakdown_named_flag.
BROKEN_BREAKDOWNS: dict[tuple[str, str], str] = {
    ("persons_with_protection_concerns", "flag"):
        "the breakdown dimension `flag` has the same name as the table's status column `flag`: "
        "compute(by=['flag']) raises polars DuplicateError",
}


def breakdowns(id: str) -> list[str]:
    """The indicator's allowed breakdowns the engine can compute."""
    return [d for d in CATALOGUE[id].breakdowns if (id, d) not in BROKEN_BREAKDOWNS]


def all_breakdowns() -> list[str]:
    broken = {d for (_, d) in BROKEN_BREAKDOWNS}
    return [d for d in dict.fromkeys(d for ind in CATALOGUE for d in ind.breakdowns) if d not in broken]


def without_broken(table: pl.DataFrame) -> pl.DataFrame:
    for (id, dim) in BROKEN_BREAKDOWNS:
        table = table.filter(~((pl.col("indicator") == id) & (pl.col("dimension") == dim)))
    return table


def _params():
    out = []
    for period in PERIODS:
        for id in IDS:
            reason = KNOWN.get((id, period)) or KNOWN.get((id, "*"))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(id, period, id=f"{id}[{period}]", marks=marks))
    return out


@pytest.fixture(scope="module")
def demo_extract(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "demo"
    demo.write(folder, persons=3000)
    ex = extract.load(folder)
    assert ex.quarantined == 0
    return ex


@pytest.fixture(scope="module")
def reference(demo_extract):
    """period -> the SQL reference's tidy table for every indicator (computed once per period)."""
    con = ref.connect(demo_extract.tables)
    cache: dict[str, pl.DataFrame] = {}

    def get(period: str) -> pl.DataFrame:
        if period not in cache:
            cache[period] = ref.compute(con, period)
        return cache[period]

    yield get
    con.close()


def ours(ex, period: str, id: str) -> pl.DataFrame:
    table = indicators.compute(ex, period, indicators=[id], by=breakdowns(id), audience="internal")
    return ref.tidy(table)


KEYS = ["indicator", "dimension", "category"]


def differences(mine: pl.DataFrame, theirs: pl.DataFrame) -> list[str]:
    """Human-readable differences between our table and the reference's (both tidy)."""
    problems = []
    a = mine.with_row_index("_ours")
    b = theirs.with_row_index("_ref")
    for name, frame in (("ours", a), ("reference", b)):
        dup = frame.filter(pl.struct(KEYS).is_duplicated())
        if dup.height:
            problems.append(f"duplicate rows in {name}: {dup.select(KEYS).to_dicts()}")
    joined = a.join(b, on=KEYS, how="full", nulls_equal=True, coalesce=True, suffix="_ref")
    for row in joined.iter_rows(named=True):
        where = f"{row['dimension'] or 'total'}={row['category']}" if row["dimension"] else "total"
        if row["_ours"] is None:
            problems.append(f"{where}: missing from ours; reference has value={row['value_ref']} "
                            f"num={row['numerator_ref']} den={row['denominator_ref']} flag={row['flag_ref']}")
            continue
        if row["_ref"] is None:
            problems.append(f"{where}: only in ours (value={row['value']} num={row['numerator']} "
                            f"den={row['denominator']} flag={row['flag']}); not an observed category")
            continue
        bad = []
        for col in ("numerator", "denominator", "flag", "period"):
            if row[col] != row[f"{col}_ref"]:
                bad.append(f"{col} {row[col]!r} vs {row[f'{col}_ref']!r}")
        v, r = row["value"], row["value_ref"]
        if (v is None) != (r is None) or (v is not None and not math.isclose(v, r, rel_tol=0, abs_tol=1e-9)):
            bad.append(f"value {v!r} vs {r!r}")
        if bad:
            problems.append(f"{where}: ours vs reference: " + "; ".join(bad))
    return problems


def test_reference_covers_the_catalogue():
    """The reference implements every catalogue indicator with the same unit and breakdowns."""
    assert list(ref.REFERENCE) == list(IDS)
    for ind in CATALOGUE:
        r = ref.REFERENCE[ind.id]
        assert (r.unit, r.dims, set(r.tables)) == (ind.unit, tuple(ind.breakdowns), set(ind.tables)), ind.id


@pytest.mark.parametrize(("id", "period"), _params())
def test_engine_matches_reference(demo_extract, reference, id, period):
    theirs = without_broken(reference(period).filter(pl.col("indicator") == id))
    mine = ours(demo_extract, period, id)
    problems = differences(mine, theirs)
    assert not problems, f"{id} {period}: {len(problems)} difference(s):\n" + "\n".join(problems[:40])
    assert theirs.height > 0


@pytest.mark.parametrize("period", ["2025-Q2", "2024-11-15..2025-02-10"])
def test_whole_catalogue_in_one_call(demo_extract, reference, period):
    """All indicators and all breakdowns in one compute() call give the same rows as one by one."""
    table = ref.tidy(indicators.compute(demo_extract, period, by=all_breakdowns(), audience="internal"))
    theirs = without_broken(reference(period))
    known = {id for (id, p) in KNOWN if p in (period, "*")}
    keep = pl.col("indicator").is_in(sorted(known)).not_()
    problems = differences(table.filter(keep), theirs.filter(keep))
    assert not problems, "\n".join(problems[:40])
    assert table.filter(keep)["indicator"].unique(maintain_order=True).to_list() == \
        [i for i in IDS if i not in known]


def test_absent_tables_give_no_rows(tmp_path):
    """An extract without detention stays: those indicators have no rows in either; the rest agree."""
    folder = tmp_path / "legal_aid"
    demo.write(folder, persons=800, profile="legal_aid")
    ex = extract.load(folder)
    assert "detention_stays" not in ex.tables
    con = ref.connect(ex.tables)
    theirs = without_broken(ref.compute(con, "2025-Q1"))
    mine = ref.tidy(indicators.compute(ex, "2025-Q1", by=all_breakdowns(), audience="internal"))
    detention = [i.id for i in CATALOGUE if "detention_stays" in i.tables]
    assert not mine.filter(pl.col("indicator").is_in(detention)).height
    assert not theirs.filter(pl.col("indicator").is_in(detention)).height
    known = {id for (id, p) in KNOWN if p in ("2025-Q1", "*")}
    keep = pl.col("indicator").is_in(sorted(known)).not_()
    problems = differences(mine.filter(keep), theirs.filter(keep))
    assert not problems, "\n".join(problems[:40])


@pytest.mark.xfail(strict=True, reason=BROKEN_BREAKDOWNS[("persons_with_protection_concerns", "flag")])
@pytest.mark.parametrize("period", ["2025-Q2"])
def test_breakdown_named_flag(demo_extract, reference, period):
    """persons_with_protection_concerns by flag (a person in each flag) agrees with the reference."""
    id = "persons_with_protection_concerns"
    table = indicators.compute(demo_extract, period, indicators=[id], by=["flag"], audience="internal")
    theirs = reference(period).filter((pl.col("indicator") == id)
                                      & (pl.col("dimension").is_null() | (pl.col("dimension") == "flag")))
    problems = differences(ref.tidy(table), theirs)
    assert not problems, "\n".join(problems[:40])
