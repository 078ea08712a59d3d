"""Beyond persons: activities, appointments, strategic litigation and the service map.

Each new table is read, validated and quarantined like the others (one bad input per rule,
accepted + quarantined = read, values masked); a network-level extract needs no persons; the
engine agrees with the independent DuckDB SQL (tests/reference_sql_beyond.py) on the demo network;
``combine`` of three members counts a shared activity or action once and each member's part in
the organisation breakdown.
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from workbench import extract
from workbench.cli.main import main
from workbench.exceptions import MissingTableError
from workbench.extract import demo
from workbench.extract.demo import beyond
from workbench.indicators import evaluate
from workbench.prepare import combine

from tests import reference_sql as ref
from tests.test_reference import differences, ours

ACTIVITY_HEADER = ("activity_id,activity_key,date,activity_type,site,organiser,partners,theme,participants,"
                   "participants_female,participants_male,participants_minors,participants_adults,cases_discussed")
GOOD_ACTIVITY = "A0,,2025-03-01,training,calais,asso_a,asso_b,asylum,12,5,7,2,10,"


def _write(folder, tables: dict[str, str], level: str | None = "network"):
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"organisation": "Test", "extracted_on": "2025-12-31"}
    if level:
        meta["level"] = level
    (folder / "extract.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


BAD_ACTIVITIES = {
    "unknown_code": "A1,,2025-03-01,webinar_x,calais,asso_a,,,12,,,,,",
    "invalid_number": "A1,,2025-03-01,training,calais,asso_a,,,douze,,,,,",
    "out_of_range": "A1,,2025-03-01,training,calais,asso_a,,,-4,,,,,",
    "parts_exceed_total": "A1,,2025-03-01,training,calais,asso_a,,,5,4,3,,,",
    "after_extraction": "A1,,2026-02-01,training,calais,asso_a,,,5,,,,,",
    "required": "A1,,2025-03-01,training,calais,asso_a,,,,,,,,",
    "invalid_date": "A1,,31/31/2025,training,calais,asso_a,,,5,,,,,",
    "duplicate_id": "A0,,2025-03-02,training,calais,asso_a,,,5,,,,,",
    "identifier": "A1,,2025-03-01,training,calais,asso_a,call 06 12 34 56 78,,5,,,,,",
}


@pytest.mark.parametrize("rule", sorted(BAD_ACTIVITIES))
def test_each_activity_rule_quarantines_one_row(tmp_path, rule):
    bad = BAD_ACTIVITIES[rule]
    folder = _write(tmp_path / rule, {"activities": "\n".join([ACTIVITY_HEADER, GOOD_ACTIVITY, bad])})
    ex = extract.load(folder)
    report = ex.reports["activities"]
    assert (report.read, report.accepted, report.quarantined) == (2, 1, 1)
    assert report.accepted + report.quarantined == report.read
    row = ex.quarantine.row(0, named=True)
    assert row["rule"] == rule and row["row"] == 2
    for raw in ("webinar_x", "douze", "06 12 34 56 78"):
        assert raw not in (row["value"] or "") and raw not in row["reason"]


APPOINTMENT_HEADER = "appointment_id,person_id,booked_on,scheduled_for,site,service,staff_id,outcome"
PERSONS = "person_id,sex,registered_on,site\nP1,female,2025-01-02,bxl\n"
CONTACTS = "contact_id,person_id,date,site,service\nC1,P1,2025-01-02,bxl,information\n"


@pytest.mark.parametrize(("bad", "rule"), [
    ("N2,P1,2025-03-10,2025-03-01,bxl,information,W1,attended", "date_order"),
    ("N2,P9,2025-03-01,2025-03-10,bxl,information,W1,attended", "missing_reference"),
    ("N2,P1,2025-03-01,2025-03-10,bxl,information,W1,came_late", "unknown_code"),
    ("N2,P1,2025-03-01,,bxl,information,W1,attended", "required"),
])
def test_appointment_rules(tmp_path, bad, rule):
    good = "N1,P1,2025-12-20,2026-01-08,bxl,legal_consultation,W1,"  # booked for after the extraction: fine
    folder = _write(tmp_path / "a", {"persons": PERSONS, "contacts": CONTACTS,
                                     "appointments": "\n".join([APPOINTMENT_HEADER, good, bad])}, level=None)
    ex = extract.load(folder)
    report = ex.reports["appointments"]
    assert (report.read, report.accepted, report.quarantined) == (2, 1, 1)
    assert ex.quarantine["rule"].to_list() == [rule]


def test_services_and_legal_actions_rules(tmp_path):
    services = ("service_id,provider,service_type,area,ages,languages\n"
                "M1,partner_a,health,calais,children,ar;FR\nM2,partner_a,cooking,calais,,\n"
                "M3,,health,calais,,\n")
    actions = ("action_id,action_type,filed_on,decided_on,result,strategic,action_key,court,court_level,theme,"
               "challenged,claimants,hearing_on\n"
               "L1,complaint,2025-01-10,,,yes,K1,conseil_etat,supreme,asylum,pushbacks,asso_a;asso_b,2026-02-01\n"
               "L2,complaint,2025-01-10,2025-06-01,,yes,,ta_lille,first_instance,asylum,,,\n"
               "L3,complaint,2025-01-10,,,yes,,ta_lille,district,asylum,,,\n"
               "L4,complaint,2025-01-10,,,yes,,ta_lille,,asylum,,,2024-12-01\n")
    ex = extract.load(_write(tmp_path / "n", {"services": services, "legal_actions": actions}))
    q = ex.quarantine.select("table", "row", "rule").rows()
    assert q == [("legal_actions", 2, "required_when"), ("legal_actions", 3, "unknown_code"),
                 ("legal_actions", 4, "date_order"), ("services", 2, "unknown_code"), ("services", 3, "required")]
    assert ex.table("services")["languages"].to_list() == ["ar;fr"]
    assert ex.table("legal_actions")["claimants"].to_list() == ["asso_a;asso_b"]
    for r in ex.reports.values():
        assert r.accepted + r.quarantined == r.read


def test_person_level_extract_still_needs_persons_and_person_ids(tmp_path):
    actions = "action_id,action_type,filed_on\nL1,complaint,2025-01-10\n"
    with pytest.raises(MissingTableError, match="level: network"):
        extract.load(_write(tmp_path / "p", {"legal_actions": actions}, level=None))
    with_column = "action_id,person_id,action_type,filed_on\nL1,,complaint,2025-01-10\n"
    folder = _write(tmp_path / "q", {"persons": PERSONS, "contacts": CONTACTS, "legal_actions": with_column},
                    level=None)
    ex = extract.load(folder)
    assert ex.quarantine.select("column", "rule").rows() == [("person_id", "required")]
    result = CliRunner().invoke(main, ["validate", str(_write(tmp_path / "r", {"legal_actions": actions}, None))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    bad_level = _write(tmp_path / "s", {"legal_actions": actions}, level="regional")
    result = CliRunner().invoke(main, ["validate", str(bad_level)])
    assert result.exit_code == 2 and "level 'regional'" in result.output


@pytest.fixture(scope="module")
def network_extract(tmp_path_factory):
    folder = demo.write(tmp_path_factory.mktemp("network") / "net", profile="network")
    ex = extract.load(folder)
    assert ex.quarantined == 0 and not ex.has("persons")
    return ex


BEYOND_IDS = [i for i, r in ref.REFERENCE.items() if r.query.__module__ == "tests.reference_sql_beyond"]


@pytest.mark.parametrize("period", ["2025", "2024-Q3", "2025-06", "2024-11-15..2025-02-10", "2023"])
def test_network_extract_matches_the_reference(network_extract, period):
    con = ref.connect(network_extract.tables)
    theirs = ref.compute(con, period)
    ids = sorted(set(theirs["indicator"]))
    assert {"activities", "activity_participants", "strategic_actions_filed", "strategic_success_rate"} <= set(ids)
    for id in ids:
        problems = differences(ours(network_extract, period, id), theirs.filter(pl.col("indicator") == id))
        assert not problems, f"{id} {period}: " + "\n".join(problems[:20])


def test_hand_made_network_figures(tmp_path):
    """A few figures worked out by hand: a shared activity once, participants once, success 1 of 2."""
    rows = [ACTIVITY_HEADER, GOOD_ACTIVITY,
            "A1,K1,2025-04-01,case_conference,calais,asso_a,,asylum,6,,,,,3",
            "A2,K1,2025-04-01,case_conference,calais,asso_a,,asylum,6,,,,,3",
            "A3,,2025-05-01,legal_tool,lille,asso_b,,housing,0,,,,,"]
    actions = ("action_id,action_type,filed_on,decided_on,result,strategic,action_key\n"
               "L1,complaint,2025-01-10,2025-03-01,won,yes,K1\nL2,complaint,2025-01-10,2025-03-01,won,yes,K1\n"
               "L3,complaint,2025-02-10,2025-04-01,lost,yes,\nL4,complaint,2025-02-10,,,yes,\n"
               "L5,complaint,2025-02-10,,,no,\n")
    ex = extract.load(_write(tmp_path / "h", {"activities": "\n".join(rows), "legal_actions": actions}))
    table = evaluate(ex, ["2025"]).table()
    values = dict(zip(table["indicator"], table["value"]))
    assert values["activities"] == 3 and values["activity_participants"] == 18
    assert values["case_conferences"] == 1 and values["cases_discussed"] == 3
    assert values["strategic_actions_filed"] == 3 and values["strategic_actions_pending"] == 1
    assert values["strategic_actions_decided"] == 2 and values["strategic_success_rate"] == 50.0


def test_combine_three_members_counts_shared_activities_once(tmp_path):
    members = ("asso_calais", "asso_dunkerque", "asso_mineurs")
    inputs = []
    for code, frames in beyond.network_members(7, members).items():
        folder = tmp_path / code
        folder.mkdir()
        for name, frame in frames.items():
            frame.write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d")
        (folder / "extract.yaml").write_text(yaml.safe_dump(
            {"organisation": code, "extracted_on": "2026-01-15", "level": "network"}), encoding="utf-8")
        inputs.append(f"{code}={folder}")
    result = combine.combine(inputs, tmp_path / "combined")
    assert result.extract.meta.level == "network"
    # The documented rule, independently: one activity per activity_key (else per member and id).
    con = duckdb.connect()
    expected = {}
    for code in members:
        con.execute(f"CREATE VIEW {code} AS SELECT *, '{code}' AS organisation "
                    f"FROM read_csv_auto('{tmp_path / code / 'activities.csv'}')")
    union = " UNION ALL ".join(f"SELECT * FROM {code}" for code in members)
    in_2025 = "year(\"date\") = 2025"
    expected["total"] = con.execute(
        f"SELECT count(DISTINCT coalesce(activity_key, organisation || ':' || activity_id)) FROM ({union}) "
        f"WHERE {in_2025}").fetchone()[0]
    per_member = dict(con.execute(f"SELECT organisation, count(*) FROM ({union}) WHERE {in_2025} "
                                  "GROUP BY organisation").fetchall())
    shared = con.execute(f"SELECT count(*) FROM (SELECT activity_key FROM ({union}) WHERE {in_2025} "
                         "GROUP BY activity_key HAVING count(*) > 1)").fetchone()[0]
    assert shared > 0
    table = evaluate(result.extract, ["2025"], ["activities"], by=["organisation"]).table()
    got = dict(zip(table["organisation"].fill_null("total"), table["value"]))
    assert got["total"] == expected["total"]
    assert {k: got[k] for k in members} == per_member
    assert sum(per_member.values()) > expected["total"]  # the shared ones appear in each member's row
    actions = evaluate(result.extract, ["2024", "2025"], ["strategic_actions_filed"]).table()
    keys = pl.concat([pl.read_csv(tmp_path / c / "legal_actions.csv") for c in members])
    for period, value in zip(actions["period"], actions["value"]):
        assert value == keys.filter(pl.col("filed_on").str.starts_with(period))["action_key"].n_unique()


def test_demo_profiles_fill_the_new_tables():
    frames = demo.generate(persons=600, seed=3)
    assert {"appointments", "activities", "services"} <= set(frames)
    again = demo.generate(persons=600, seed=3)
    for name in ("appointments", "activities", "services"):
        assert frames[name].equals(again[name])
    network = demo.generate(profile="network", seed=3)
    assert set(network) == {"legal_actions", "activities"}
