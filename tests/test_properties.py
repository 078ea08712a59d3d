"""Property test: messy extracts keep the quarantine's promises.

Hypothesis writes small extracts (persons, contacts, cases, referrals) mixing valid rows
written in every accepted form (stray spaces and capitals in codes, DD/MM/YYYY dates,
oui/non) with rows that break a rule (bad code, bad or future date, empty required cell,
duplicate id, orphan reference, dates out of order, missing "required when" value). For
every example:

* per table, accepted + quarantined = read, and every row read is either accepted or in
  the quarantine exactly once, with a rule and a reason (an extra ``src_row`` column carries
  the row number through the accepted table);
* the accepted rows are exactly those a simple model of the contract accepts;
* accepted tables are referentially whole and their rows satisfy the rules.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from conftest import EXTRACTED_ON, META, write_meta, write_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import extract
from workbench.contract.schema import TABLES

RULES = {"identifier", "invalid_date", "invalid_boolean", "invalid_year", "required", "unknown_code", "out_of_range",
         "after_extraction", "date_order", "required_when", "duplicate_id", "missing_reference",
         "quarantined_parent"}

dates = st.dates(dt.date(2023, 1, 1), dt.date(2024, 6, 30))


def date_text(draw, day: dt.date) -> str:
    """A date in one of the accepted forms."""
    form = draw(st.sampled_from(["iso", "fr", "iso_time", "spaced"]))
    return {"iso": day.isoformat(), "fr": day.strftime("%d/%m/%Y"), "iso_time": f"{day.isoformat()} 00:00:00",
            "spaced": f" {day.isoformat()} "}[form]


@st.composite
def messy_extracts(draw):
    """Returns (tables: name → rows, expected: name → set of accepted src_row)."""
    tables: dict[str, list[dict[str, str]]] = {}
    expected: dict[str, set[int]] = {}

    # persons
    rows, ok_ids, seen = [], set(), set()
    for i in range(draw(st.integers(1, 7))):
        fault = draw(st.sampled_from([None, None, None, "code", "date", "empty", "future", "year", "dup"]))
        pid = f"P{i:02d}" if fault != "dup" or not seen else draw(st.sampled_from(sorted(seen)))
        row = {"person_id": pid,
               "sex": draw(st.sampled_from(["female", " Male ", "OTHER", "unknown", "Female"])),
               "birth_year": draw(st.sampled_from(["", "1990", " 1975 ", "2010.0", "1900"])),
               "nationality": draw(st.sampled_from(["", "tun", "CIV ", "XXA", "unknown", "Sdn"])),
               "legal_status": draw(st.sampled_from(["", "Asylum Seeker", "refugee", "undocumented"])),
               "registered_on": date_text(draw, draw(dates)),
               "site": draw(st.sampled_from(["paris_nord", " Marseille ", "Site B"]))}
        row.update({"code": {"sex": "zz"}, "date": {"registered_on": "2024-02-30"}, "empty": {"site": " "},
                    "future": {"registered_on": "2025-03-01"}, "year": {"birth_year": "1850"}}.get(fault, {}))
        # extract.yaml lists its sites (META): "Site B" is not one of them
        bad = fault not in (None, "dup") or pid in seen or row["site"] == "Site B"
        if not bad:
            ok_ids.add(pid)
        seen.add(pid)
        rows.append(row)
    tables["persons"] = rows
    expected["persons"] = {n for n, r in enumerate(rows, 1) if r["person_id"] in ok_ids} - {
        n for n, r in enumerate(rows, 1) if _first_row(rows, "person_id", r["person_id"]) != n}
    person_pool = sorted(seen) + ["P99"]  # P99: an orphan reference

    # contacts
    rows, accepted, seen = [], set(), set()
    for j in range(draw(st.integers(1, 8))):
        fault = draw(st.sampled_from([None, None, None, "code", "date", "empty", "future", "bool", "dup"]))
        cid = f"C{j:02d}" if fault != "dup" or not seen else draw(st.sampled_from(sorted(seen)))
        row = {"contact_id": cid, "person_id": draw(st.sampled_from(person_pool)),
               "date": date_text(draw, draw(dates)), "site": "paris_nord",
               "channel": draw(st.sampled_from(["", "In Person", "phone", "unknown"])),
               "service": draw(st.sampled_from(["information", "Legal Consultation", "legal-consultation"])),
               "topic": draw(st.sampled_from(["", "asylum", " Housing"])),
               "interpreter": draw(st.sampled_from(["", "oui", "non", "Yes", "no", "1", "0", "TRUE", "unknown"]))}
        row.update({"code": {"service": "zz"}, "date": {"date": "13/13/2024"}, "empty": {"date": ""},
                    "future": {"date": "2025-01-01"}, "bool": {"interpreter": "peut-être"}}.get(fault, {}))
        row_bad = fault not in (None, "dup") or cid in seen
        seen.add(cid)
        if not row_bad and row["person_id"] in ok_ids:
            accepted.add(j + 1)
        rows.append(row)
    tables["contacts"] = rows
    expected["contacts"] = accepted

    # cases
    rows, accepted, ok_cases, seen = [], set(), set(), set()
    for k in range(draw(st.integers(0, 5))):
        fault = draw(st.sampled_from([None, None, "code", "order", "when", "dup"]))
        kid = f"K{k:02d}" if fault != "dup" or not seen else draw(st.sampled_from(sorted(seen)))
        opened = draw(dates)
        closed = draw(st.sampled_from([None, opened, opened + dt.timedelta(days=30)]))
        row = {"case_id": kid, "person_id": draw(st.sampled_from(person_pool)), "site": "marseille",
               "case_type": draw(st.sampled_from(["legal", "Child Protection", "social"])),
               "risk_level": draw(st.sampled_from(["", "High", "low"])), "opened_on": date_text(draw, opened),
               "closed_on": date_text(draw, closed) if closed else "",
               "closure_reason": "objectives_met" if closed else ""}
        row.update({"code": {"case_type": "zz"},
                    "order": {"closed_on": (opened - dt.timedelta(days=1)).isoformat(), "closure_reason": "other"},
                    "when": {"closed_on": opened.isoformat(), "closure_reason": ""}}.get(fault, {}))
        row_bad = fault not in (None, "dup") or kid in seen
        seen.add(kid)
        if not row_bad and row["person_id"] in ok_ids:
            accepted.add(k + 1)
            ok_cases.add(kid)
        rows.append(row)
    if rows:
        tables["cases"] = rows
        expected["cases"] = accepted
    case_pool = sorted(seen) + ["K99"]

    # referrals (only when there is a cases table, so that case_id can be checked)
    if rows:
        rows, accepted = [], set()
        for m in range(draw(st.integers(0, 5))):
            fault = draw(st.sampled_from([None, None, "code", "order", "when"]))
            referred = draw(dates)
            status = draw(st.sampled_from(["pending", "Completed", "declined", "no_show"]))
            row = {"referral_id": f"R{m:02d}", "person_id": draw(st.sampled_from(person_pool)),
                   "case_id": draw(st.sampled_from(["", *case_pool])), "referred_on": date_text(draw, referred),
                   "service_type": draw(st.sampled_from(["lawyer", "Legal Aid", "health"])), "status": status,
                   "status_on": "" if status == "pending" else (referred + dt.timedelta(days=3)).isoformat()}
            row.update({"code": {"status": "lost"},
                        "order": {"status_on": (referred - dt.timedelta(days=2)).isoformat()},
                        "when": {"status": "accepted", "status_on": ""}}.get(fault, {}))
            case_ok = row["case_id"] == "" or row["case_id"] in ok_cases
            if fault is None and row["person_id"] in ok_ids and case_ok:
                accepted.add(m + 1)
            rows.append(row)
        tables["referrals"] = rows
        expected["referrals"] = accepted
    return tables, expected


def _first_row(rows: list[dict[str, str]], column: str, value: str) -> int:
    return next(n for n, r in enumerate(rows, 1) if r[column] == value)


def _check_accepted_rows_satisfy_rules(ex) -> None:
    for name, frame in ex.tables.items():
        spec = TABLES[name]
        if spec.id_column:
            assert frame[spec.id_column].is_duplicated().sum() == 0
        for column in spec.required_columns:
            assert frame[column].null_count() == 0, (name, column)
        for column in spec.columns:
            if column.kind == "date":
                assert frame.filter(pl.col(column.name) > EXTRACTED_ON).height == 0
        for order in spec.date_order:
            assert frame.filter(pl.col(order.later) < pl.col(order.earlier)).height == 0
        for req in spec.required_when:
            condition = pl.col(req.when).is_not_null()
            if req.values:
                condition &= pl.col(req.when).cast(pl.String).is_in(list(req.values))
            assert frame.filter(condition & pl.col(req.column).is_null()).height == 0
        assert dict(frame.select(spec.column_names).schema) == spec.polars_schema()
    persons = ex.tables["persons"]
    assert persons.filter((pl.col("birth_year") < 1900) | (pl.col("birth_year") > EXTRACTED_ON.year)).height == 0


def _check_referentially_whole(ex) -> None:
    ids = {name: set(frame[TABLES[name].id_column]) for name, frame in ex.tables.items()
           if TABLES[name].id_column}
    for name, frame in ex.tables.items():
        for column in TABLES[name].columns:
            if column.references:
                refs = set(frame[column.name].drop_nulls())
                assert refs <= ids.get(column.references, set()), (name, column.name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_extracts())
def test_messy_extracts_keep_the_quarantine_promises(case):
    tables, expected = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, rows in tables.items():
            if rows:
                write_table(folder, name, [{**r, "src_row": str(n)} for n, r in enumerate(rows, 1)])
            else:  # header only
                write_table(folder, name, ",".join([*TABLES[name].column_names, "src_row"]) + "\n")
        write_meta(folder, META)
        ex = extract.load(folder)

    q = ex.quarantine
    assert q.columns == ["table", "file", "row", "column", "value", "rule", "reason"]
    assert q.select("table", "row").is_duplicated().sum() == 0  # each refused row exactly once
    assert set(q["rule"]) <= RULES
    assert q.filter(pl.col("reason").is_null() | (pl.col("reason") == "")).height == 0
    for name, rows in tables.items():
        rep = ex.reports[name]
        mine = q.filter(pl.col("table") == name)
        accepted_rows = {int(r) for r in ex.tables[name]["src_row"]}
        refused_rows = set(mine["row"])
        assert rep.read == len(rows)
        assert rep.accepted + rep.quarantined == rep.read
        assert rep.accepted == ex.tables[name].height and rep.quarantined == mine.height
        assert sum(rep.by_rule.values()) == rep.quarantined
        # every row read is accepted or refused, never both, never lost
        assert accepted_rows | refused_rows == set(range(1, len(rows) + 1))
        assert not accepted_rows & refused_rows
        assert set(mine["file"]) <= {f"{name}.csv"}
        assert set(mine["column"]) <= set(TABLES[name].column_names)
        # the model of the contract agrees on which rows are accepted
        assert accepted_rows == expected[name], (name, mine.to_dicts())
    _check_referentially_whole(ex)
    _check_accepted_rows_satisfy_rules(ex)
