"""`workbench form`: the generated XLSForms convert with pyxform (what KoboToolbox and ODK use), carry
the contract's rules, and their export in KoboToolbox's exact layout becomes, with the generated
mapping and no hand-written one, an extract with the synthetic truth's figures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from pyxform.xls2xform import convert

import kobo_export

from workbench.cli.main import main
from workbench.prepare import forms
from workbench.prepare import pseudonymise as ps
from workbench.present.labels import code_label

SETTINGS = {"organisation": "permanence_test", "label": "Permanence test",
            "sites": {"centre": "Centre-ville", "nord": "Quartier nord"},
            "partners": {"barreau": "Barreau", "clinique": "Clinique"}}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("forms") / "forms"
    paths = forms.write_forms(forms.parse_spec(SETTINGS), folder, code_label)
    return {p.stem: p for p in paths}


def test_pyxform_converts_every_generated_form(generated):
    for name in forms.FORM_IDS:
        result = convert(xlsform=str(generated[name]))
        assert "<h:html" in result.xform
        assert result.warnings == []


def test_forms_mirror_the_contract(generated):
    spec = forms.parse_spec(SETTINGS)
    visit = forms.build_form("visit", spec, code_label)
    rows = {r.get("name"): r for r in visit.survey}
    assert rows["referrals"]["type"] == "begin repeat" and rows["legal_actions"]["type"] == "begin repeat"
    assert rows["date"]["required"] == "yes" and ". <= today()" in rows["date"]["constraint"]
    # date order and required-when from the contract's rules, in the repeat
    assert "${referred_on}" in rows["status_on"]["constraint"]
    assert "${status} = 'accepted'" in rows["status_on"]["required"]
    assert rows["result"]["required"] == "${decided_on} != ''"
    # choices: French and English labels from the text catalogue, the organisation's own sites
    choices = {(c["list_name"], c["name"]): c for c in visit.choices}
    assert choices[("service", "legal_consultation")]["label::Français (fr)"] == code_label(
        "service", "legal_consultation", "fr")
    assert choices[("site", "nord")]["label::English (en)"] == "Quartier nord"
    # no direct identifier: only the declared file number, and it is pseudonymised by the mapping
    registration = forms.build_form("registration", spec, code_label)
    assert [r["name"] for r in registration.survey if r.get("type") == "text"] == ["file_number"]
    mapping = yaml.safe_load(generated["mapping"].read_text(encoding="utf-8"))
    assert mapping["sources"]["registration"]["columns"]["person/file_number"] == {"to": "person_id",
                                                                                   "pseudonym": "person"}


def test_generation_is_byte_identical(tmp_path):
    spec = forms.parse_spec(SETTINGS)
    a = forms.write_forms(spec, tmp_path / "a", code_label)
    b = forms.write_forms(spec, tmp_path / "b", code_label)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def _figures(tables: dict[str, pl.DataFrame]) -> dict[str, Counter]:
    return {
        "persons by sex": Counter(tables["persons"]["sex"].cast(pl.String).to_list()),
        "persons by nationality": Counter(tables["persons"]["nationality"].cast(pl.String).to_list()),
        "persons by birth year": Counter(tables["persons"]["birth_year"].to_list()),
        "contacts by service": Counter(tables["contacts"]["service"].cast(pl.String).to_list()),
        "contacts by site and month": Counter(zip(tables["contacts"]["site"].to_list(),
                                                  tables["contacts"]["date"].dt.month().to_list())),
        "contacts with interpreter": Counter(tables["contacts"]["interpreter"].to_list()),
        "flags": Counter(tables["protection_flags"]["flag"].cast(pl.String).to_list()),
        "referrals by status": Counter(tables["referrals"]["status"].cast(pl.String).to_list()),
        "referrals by partner": Counter(tables["referrals"]["partner"].to_list()),
        "legal actions by result": Counter(tables["legal_actions"]["result"].cast(pl.String).to_list()),
        "contacts per person": Counter(Counter(tables["contacts"]["person_id"].to_list()).values()),
        "referrals per person": Counter(Counter(tables["referrals"]["person_id"].to_list()).values()),
    }


def _truth_figures(t: dict) -> dict[str, Counter]:
    per_person_ref = Counter(v["file_number"] for v in t["visits"] for _ in v["referrals"])
    return {
        "persons by sex": Counter(p["sex"] for p in t["persons"]),
        "persons by nationality": Counter(p["nationality"] for p in t["persons"]),
        "persons by birth year": Counter(p["birth_year"] for p in t["persons"]),
        "contacts by service": Counter(v["service"] for v in t["visits"]),
        "contacts by site and month": Counter((v["site"], v["date"].month) for v in t["visits"]),
        "contacts with interpreter": Counter(v["interpreter"] for v in t["visits"]),
        "flags": Counter(f["flag"] for f in t["flags"]),
        "referrals by status": Counter(r["status"] for r in t["referrals"]),
        "referrals by partner": Counter(r["partner"] for r in t["referrals"]),
        "legal actions by result": Counter(a["result"] for a in t["legal_actions"]),
        "contacts per person": Counter(Counter(v["file_number"] for v in t["visits"]).values()),
        "referrals per person": Counter(per_person_ref.values()),
    }


@pytest.mark.parametrize("mode,sep", [("values", "/"), ("labels", ".")])
def test_round_trip_kobo_export_gives_the_truths_figures(generated, tmp_path, mode, sep):
    spec = forms.parse_spec(SETTINGS)
    t = kobo_export.truth(spec)
    raw = tmp_path / "export"
    raw.mkdir()
    kobo_export.write_export(generated["registration"], t["persons"],
                             raw / "registration_-_all_versions_-_2025.xlsx", mode=mode, sep=sep)
    kobo_export.write_export(generated["visit"], t["visits"], raw / "visit_-_all_versions_-_2025.xlsx",
                             mode=mode, sep=sep)
    ps.init_key(tmp_path / "k.key")
    result = ps.pseudonymise(raw, generated["mapping"], tmp_path / "k.key", tmp_path / "extract")
    assert result.quarantined == 0, result.quarantine.head(5)
    assert _figures(result.extract.tables) == _truth_figures(t)
    # ids of repeat rows are stable: the same export gives the same referral ids
    again = ps.pseudonymise(raw, generated["mapping"], tmp_path / "k.key", tmp_path / "again")
    assert again.extract.tables["referrals"]["referral_id"].sort().to_list() == \
        result.extract.tables["referrals"]["referral_id"].sort().to_list()
    # nothing identifying reaches the extract: the file numbers are pseudonymised
    text = "".join(f.write_csv() for f in result.extract.tables.values())
    assert "TST-0" not in text and "tst-0" not in text


def test_form_command(tmp_path):
    settings = tmp_path / "org.yaml"
    settings.write_text(yaml.safe_dump(SETTINGS), encoding="utf-8")
    run = CliRunner().invoke(main, ["form", str(settings), "--output", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["mapping.yaml", "registration.xlsx",
                                                                    "visit.xlsx"]
    settings.write_text("organisation: Bad Code\nsites: {}\nlanguages: [de]\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["form", str(settings), "--output", str(tmp_path / "out2")])
    assert run.exit_code == 2
    assert "3 problems" in run.output and "Traceback" not in run.output
