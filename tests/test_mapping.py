"""Mapping files: checking them (every problem at once), reading raw exports (sheets, title rows,
CSV), value maps and country names, dates, booleans, the wide-register split, derived fields, and
the mapping-stage quarantine (rows read = mapped + quarantined, nothing silently lost)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import polars as pl
import pycountry
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdata

from workbench.prepare import mapping
from workbench.exceptions import MappingError

MAPPINGS = rawdata.MAPPINGS


def parse(text: str) -> mapping.Mapping:
    return mapping.parse_mapping(yaml.load(textwrap.dedent(text), Loader=mapping._Loader), name="m.yaml")


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# A small register mapping used by many tests (applied to frames, no file needed).
SMALL = """
    organisation: test_org
    extracted_on: 2025-01-15
    sources:
      reg:
        columns:
          Dossier: {to: person_id, pseudonym: person}
          Nom: drop
          Sexe: {to: sex, values: {Homme: male, Femme: female}}
          Nationalité: nationality
          Date: {to: date, date_format: JJ/MM/AAAA}
          Service: {to: service, values: {Conseil: legal_consultation}, unmapped: unknown}
          Interprète: interpreter
          Naissance: {to: dob, type: date, date_format: JJ/MM/AAAA, optional: true}
        derive:
          birth_year: {year_of: dob}
          contact_id: {pseudonym: contact, of: [person_id, date], per_row: true}
        defaults:
          site: siege
    tables:
      persons:
        from: reg
        one_row_per: person_id
        first_by: date
        columns: {registered_on: {min: date}}
      contacts:
        from: reg
"""


def small_frame(rows: list[dict]) -> pl.DataFrame:
    columns = ["Dossier", "Nom", "Sexe", "Nationalité", "Date", "Service", "Interprète", "Naissance"]
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns})


ROW = {"Dossier": "D-1", "Nom": "Kamo Ture", "Sexe": "Homme", "Nationalité": "Guinée", "Date": "04/01/2024",
       "Service": "Conseil", "Interprète": "oui", "Naissance": "03/07/1991"}


# ---------------------------------------------------------------------------------------------- matching

@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30))
@settings(max_examples=200, deadline=None)
def test_match_key_is_the_same_in_python_and_polars(text):
    got = pl.DataFrame({"v": [text]}).select(mapping.match_key_expr(pl.col("v")))["v"][0]
    assert got == mapping.match_key(text)


def test_every_country_name_in_english_and_french_is_found():
    import gettext

    fr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"]).gettext
    misses = []
    for c in pycountry.countries:
        for name in (c.name, fr(c.name), getattr(c, "common_name", None)):
            if name and mapping.country_code(name) != c.alpha_3:
                misses.append((name, c.alpha_3, mapping.country_code(name)))
    assert misses == []


@pytest.mark.parametrize(("text", "code"), [
    ("Côte d'Ivoire", "CIV"), ("cote d'ivoire", "CIV"), ("COTE_D_IVOIRE", "CIV"), ("Guinée", "GIN"),
    ("guinee", "GIN"), ("Guinée-Bissau", "GNB"), ("Soudan", "SDN"), ("Soudan du Sud", "SSD"), ("Syrie", "SYR"),
    ("Syria", "SYR"), ("Érythrée", "ERI"), ("the Gambia", "GMB"), ("République démocratique du Congo", "COD"),
    ("Congo", "COG"), ("Russie", "RUS"), ("Palestine", "PSE"), ("Kosovo", "XKX"), ("apatride", "XXA"),
    ("Atlantide", None),
])
def test_country_names(text, code):
    assert mapping.country_code(text) == code


@given(st.sampled_from(sorted({c.name for c in pycountry.countries})), st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_country_names_survive_case_spacing_and_underscores(name, data):
    """As a form builder or a hurried clerk would write them."""
    variant = data.draw(st.sampled_from([name.upper(), name.lower(), f"  {name} ", name.replace(" ", "_"),
                                         name.replace(" ", "  ")]))
    assert mapping.country_code(variant) == mapping.country_code(name)


# ---------------------------------------------------------------------------------------------- checking

def test_the_example_mappings_are_valid():
    for name in ("register_fr.yaml", "kobo.yaml", "primero.yaml"):
        m = mapping.load_mapping(MAPPINGS / name)
        assert m.organisation and m.sha256 and {"persons", "contacts"} <= set(m.tables)


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "organisation: x\nsources:\n  reg: {columns: [unclosed\n")
    with pytest.raises(MappingError, match=r"m\.yaml: not valid YAML \(line \d+, column \d+\)"):
        mapping.load_mapping(path)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="no such mapping file"):
        mapping.load_mapping(tmp_path / "nope.yaml")


def test_every_problem_is_reported_at_once():
    with pytest.raises(MappingError) as err:
        parse("""
            organisation: Bad Code
            sources:
              reg:
                columns:
                  Dossier: {to: person_id}
                  Sexe: {to: sex, values: {Homme: mâle}}
                  Date: {to: date, date_format: JJ/MM}
                  Note: {to: note, kep: contacts}
                  Téléphone: {to: tel, keep: contacts}
            tables:
              persons: {from: reg}
              contacts: {from: rge}
              visits: {from: reg}
        """)
    text = str(err.value)
    for expected in ("organisation", "add pseudonym: person", "'mâle' is not a code of sex",
                     "date_format", "unknown key 'kep' (did you mean 'keep'?)", "'rge' is not a source",
                     "'visits' is not a table", "required column 'registered_on' has no field"):
        assert expected in text, (expected, text)
    assert text.count("\n  - ") >= 8


def test_yaml_traps_are_closed(tmp_path):
    m = parse("""
        organisation: o
        sources:
          reg:
            columns:
              Dossier: {to: person_id, pseudonym: person}
              Nationalité: {to: nationality, values: {NO: NOR, non: unknown}}
              Date: date
              Service: {to: service, values: {y: other}}
            derive:
              contact_id: {pseudonym: contact, of: [person_id, date], per_row: true}
            defaults: {site: x, sex: unknown}
        tables:
          persons: {from: reg, one_row_per: person_id, columns: {registered_on: {min: date}}}
          contacts: {from: reg}
    """)
    rule = next(r for r in m.sources["reg"].columns if r.field == "nationality")
    assert dict(rule.values) == {"no": "NOR", "non": "unknown"}
    path = write(tmp_path, """
        organisation: o
        sources:
          reg:
            columns:
              Sexe: sex
              Sexe: sex
        tables: {}
    """)
    with pytest.raises(MappingError, match=r"line 7, column 7\): the key 'Sexe' is given twice \(first on line 6\)"):
        mapping.load_mapping(path)


def test_an_identifier_must_be_pseudonymised_and_of_its_kind():
    with pytest.raises(MappingError, match="person_id needs a person pseudonym, not a case one"):
        parse("""
            organisation: o
            sources:
              reg:
                columns:
                  Dossier: {to: ref, pseudonym: case}
                  Date: date
            tables:
              persons: {from: reg, columns: {person_id: ref, registered_on: date, sex: {value: unknown},
                                             site: {value: x}}}
              contacts: {from: reg, columns: {person_id: ref, contact_id: ref, service: {value: other},
                                              site: {value: x}}}
        """)


def test_direct_identifiers_cannot_be_kept():
    with pytest.raises(MappingError, match="holds direct identifiers and cannot be kept"):
        parse(SMALL.replace("Nom: drop", "Nom: {to: nom_complet, keep: contacts}"))


def test_a_required_column_without_a_field_is_refused():
    with pytest.raises(MappingError, match="required column 'service' has no field"):
        parse(SMALL.replace("Service: {to: service, values: {Conseil: legal_consultation}, unmapped: unknown}",
                            "Service: drop"))


# ---------------------------------------------------------------------------------------------- applying

def test_values_dates_booleans_and_the_split():
    m = parse(SMALL)
    rows = [ROW,
            {**ROW, "Date": "2024-02-10 00:00:00", "Interprète": "NON", "Service": "Atelier"},   # a date cell
            {**ROW, "Dossier": "d-1 ", "Date": "10/03/2024"},                                  # same person
            {**ROW, "Dossier": "D-2", "Sexe": "femme", "Nationalité": "Syria", "Naissance": ""},
            {**ROW, "Dossier": "D-2", "Date": "10/03/2024", "Sexe": "FEMME"}]
    out = mapping.apply_frames(m, {"reg": small_frame(rows)})
    assert out.quarantine.height == 0
    persons = out.tables["persons"].sort("person_id")
    assert persons["person_id"].to_list() == ["d-1", "d-2"]  # identities (pseudonymised later)
    assert persons["sex"].to_list() == ["male", "female"]
    assert persons["nationality"].to_list() == ["GIN", "SYR"]
    assert persons["registered_on"].to_list() == [dt.date(2024, 1, 4), dt.date(2024, 1, 4)]
    assert persons["birth_year"].to_list() == [1991, 1991]  # D-2's first visit has no birth date: the first recorded
    assert persons["site"].to_list() == ["siege", "siege"]
    contacts = out.tables["contacts"]
    assert contacts["service"].to_list() == ["legal_consultation", "unknown", "legal_consultation",
                                             "legal_consultation", "legal_consultation"]
    assert contacts["interpreter"].to_list() == [True, False, True, True, True]
    assert contacts["date"][1] == dt.date(2024, 2, 10)
    assert contacts["contact_id"].n_unique() == 5
    assert "Nom" not in contacts.columns and "dob" not in out.tables["persons"].columns
    assert out.sources["reg"].unmapped_values == {"Service": {"Aaaaaaa": 1}}  # the shape, never the value


def test_unmapped_codes_and_bad_values_quarantine_the_row_once():
    m = parse(SMALL)
    rows = [ROW,
            {**ROW, "Sexe": "X", "Date": "32/01/2024"},       # two problems: the first column's rule is kept
            {**ROW, "Nationalité": "Atlantide"},
            {**ROW, "Date": "15/03/24"},                       # two-digit year
            {**ROW, "Interprète": "peut-être"},
            {**ROW, "Dossier": None},
            {**ROW, "Naissance": "31/02/1990"}]               # not written: its value is not shown
    out = mapping.apply_frames(m, {"reg": small_frame(rows)})
    q = out.quarantine.sort("row")
    assert q["row"].to_list() == [2, 3, 4, 5, 6, 7]
    assert q["rule"].to_list() == ["unmapped_code", "unmapped_code", "invalid_date", "invalid_boolean", "required",
                                   "invalid_date"]
    assert q["column"].to_list() == ["Sexe", "Nationalité", "Date", "Interprète", "Dossier", "Naissance"]
    # values are shown by their shape only, never as typed
    assert q["value"].to_list() == ["A", "Aaaaaaaaa", "##/##/##", "aaaa-aaaa", None, None]
    assert "'A' is not mapped" in q["reason"][0] and "Atlantide" not in "".join(q["reason"].to_list())
    assert "add it under values: of 'Sexe'" in q["reason"][0]
    assert "value not shown" in q["reason"][5] and "1990" not in q["reason"][5]
    report = out.sources["reg"]
    assert (report.read, report.mapped, report.quarantined) == (7, 1, 6)
    assert out.tables["contacts"].height == 1


@st.composite
def raw_rows(draw):
    n = draw(st.integers(0, 25))
    sexes = st.sampled_from(["Homme", "Femme", "homme", " FEMME ", "male", "X", "", None])
    dates = st.sampled_from(["04/01/2024", "2024-05-06", "2024-05-06 00:00:00", "31/02/2024", "n/a", "", "hier"])
    ids = st.sampled_from(["A", "B", "c", " a ", None])
    bools = st.sampled_from(["oui", "non", "1", "peut-être", "", None, "Unknown"])
    return [{**ROW, "Dossier": draw(ids), "Sexe": draw(sexes), "Date": draw(dates), "Interprète": draw(bools)}
            for _ in range(n)]


@given(raw_rows())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rows_read_are_mapped_or_quarantined(rows):
    """Conservation: every raw row is either mapped (one contact each) or quarantined once, for the
    reason a reader would give."""
    out = mapping.apply_frames(parse(SMALL), {"reg": small_frame(rows)})
    report = out.sources["reg"]
    assert report.read == len(rows) == report.mapped + report.quarantined
    assert out.tables["contacts"].height == report.mapped
    assert out.quarantine["row"].n_unique() == out.quarantine.height == report.quarantined

    def expected_rule(r):
        sex = (r["Sexe"] or "").strip()
        if sex and sex.lower() not in ("homme", "femme", "male"):
            return "unmapped_code"
        date = (r["Date"] or "").strip()
        if date and date not in ("04/01/2024", "2024-05-06", "2024-05-06 00:00:00", "n/a"):
            return "invalid_date"
        if (r["Interprète"] or "").strip() == "peut-être":
            return "invalid_boolean"
        if not (r["Dossier"] or "").strip():
            return "required"
        return None

    expected = {i + 1: expected_rule(r) for i, r in enumerate(rows) if expected_rule(r)}
    assert dict(out.quarantine.select("row", "rule").iter_rows()) == expected
    persons = {r["Dossier"].strip().lower() for i, r in enumerate(rows) if i + 1 not in expected}
    assert set(out.tables["persons"]["person_id"].to_list()) == persons


def test_conflicting_attributes_keep_the_first_and_warn():
    rows = [ROW, {**ROW, "Date": "05/01/2024", "Sexe": "Femme"}]
    out = mapping.apply_frames(parse(SMALL), {"reg": small_frame(rows)})
    assert out.tables["persons"]["sex"].to_list() == ["male"]
    assert any("more than one sex" in w for w in out.warnings)


def test_split_explode_lookup_and_first_of():
    m = parse("""
        organisation: o
        sources:
          cases:
            columns:
              id: {to: person_id, pseudonym: person}
              ref: {to: case_id, pseudonym: case}
              lieu: site
              age: {to: age, type: integer}
              dob: {to: dob, type: date}
              enregistre: {to: registered_on, date_format: DD-MMM-YYYY}
              concerns:
                to: flag
                split: ","
                values: {unaccompanied: unaccompanied_minor, trafficked: trafficking_suspected}
            derive:
              birth_year: {first_of: [{year_of: dob}, {year_from_age: age, at: registered_on}]}
            defaults: {sex: unknown, case_type: child_protection}
          visits:
            columns:
              id: {to: person_id, pseudonym: person}
              date: date
            derive:
              contact_id: {pseudonym: contact, of: [person_id, date], per_row: true}
              site: {lookup: cases, on: person_id, field: site}
            defaults: {service: information}
        tables:
          persons: {from: cases}
          cases: {from: cases, columns: {opened_on: registered_on}}
          protection_flags: {from: cases, explode: flag, columns: {identified_on: registered_on}}
          contacts: {from: visits}
    """)
    cases = pl.DataFrame({"id": ["u1", "u2", "u3"], "ref": ["K1", "K2", "K3"], "lieu": ["Tunis", "Sfax", "Sfax"],
                          "age": ["12", "14", None], "dob": [None, "2011-05-01", None],
                          "enregistre": ["15-Mar-2024", "01-Feb-2024", "02-Feb-2024"],
                          "concerns": ["unaccompanied, trafficked", "", "unaccompanied,unaccompanied"]})
    visits = pl.DataFrame({"id": ["u1", "u1", "u2", "u9"],
                           "date": ["2024-03-20", "2024-03-20", "2024-02-05", "2024-02-05"]})
    out = mapping.apply_frames(m, {"cases": cases, "visits": visits})
    assert out.quarantine.height == 0
    assert out.tables["persons"]["birth_year"].to_list() == [2012, 2011, None]
    flags = out.tables["protection_flags"]
    assert flags.select("person_id", "flag").rows() == [("u1", "unaccompanied_minor"),
                                                        ("u1", "trafficking_suspected"), ("u3", "unaccompanied_minor")]
    assert flags["identified_on"].to_list() == [dt.date(2024, 3, 15)] * 2 + [dt.date(2024, 2, 2)]
    contacts = out.tables["contacts"]
    assert contacts["site"].to_list() == ["tunis", "tunis", "sfax", None]  # u9 has no case: the load will say so
    assert contacts["contact_id"].n_unique() == 4                          # two visits on one day: #1, #2
    assert out.tables["cases"]["opened_on"][0] == dt.date(2024, 3, 15)


def test_an_unknown_protection_concern_quarantines_the_case():
    m = mapping.load_mapping(MAPPINGS / "primero.yaml")
    frames = _primero_frames(concerns="unaccompanied,abducted")
    out = mapping.apply_frames(m, frames)
    assert out.quarantine.select("column", "value", "rule").rows() == [("protection_concerns", "aaaaaaaa",
                                                                       "unmapped_code")]


def _primero_frames(concerns: str) -> dict[str, pl.DataFrame]:
    from rawdata import PRIMERO_CASE_HEADERS, PRIMERO_FOLLOWUP_HEADERS

    case = {h: None for h in PRIMERO_CASE_HEADERS} | {
        "case_id": "u1", "case_id_display": "ABC1234", "sex": "female", "age": "12", "nationality": "Sudan",
        "location_current": "Tunis", "registration_date": "01-Mar-2024", "owned_by": "cw_x",
        "protection_concerns": concerns}
    followup = {h: None for h in PRIMERO_FOLLOWUP_HEADERS} | {
        "case_id": "u1", "followup_date": "05-Mar-2024", "followup_type": "home_visit",
        "followup_service_type": "information"}
    return {"cases": pl.DataFrame([case], schema={h: pl.String for h in PRIMERO_CASE_HEADERS}),
            "followups": pl.DataFrame([followup], schema={h: pl.String for h in PRIMERO_FOLLOWUP_HEADERS})}


# ---------------------------------------------------------------------------------------------- reading files

@pytest.fixture(scope="module")
def register(tmp_path_factory):
    return rawdata.register_fr(tmp_path_factory.mktemp("register"))


def test_the_register_is_read_below_its_title_row(register):
    m = mapping.load_mapping(register.mapping)
    out = mapping.apply(m, register.path)
    report = out.sources["registre"]
    assert report.header_row == 2
    assert report.read == register.expected.read["registre"]
    assert report.dropped == ["Nom", "Prénom", "Téléphone", "Courriel", "Observations"]
    assert report.unmapped == []
    assert set(out.tables) == {"persons", "contacts"}


def test_the_register_through_a_folder_and_an_explicit_header_row(register, tmp_path):
    m = mapping.load_mapping(register.mapping)
    explicit = mapping.Mapping(**{**m.__dict__, "sources": {
        "registre": mapping.Source(**{**m.sources["registre"].__dict__, "header_row": 2})}})
    by_folder = mapping.apply(explicit, register.path.parent)
    assert by_folder.sources["registre"].read == register.expected.read["registre"]


def test_unknown_sheet_is_refused_with_the_sheets(register, tmp_path):
    path = write(tmp_path, MAPPINGS.joinpath("register_fr.yaml").read_text(encoding="utf-8")
                 .replace("sheet: Registre", "sheet: Feuil1"), "bad.yaml")
    with pytest.raises(MappingError) as err:
        mapping.apply(mapping.load_mapping(path), register.path)
    assert "registre.xlsx: no sheet 'Feuil1' (sheets: Registre, Listes)" in str(err.value)
    assert "bad.yaml" in str(err.value)


def test_a_missing_mapped_column_is_refused_with_the_header(register, tmp_path):
    path = write(tmp_path, MAPPINGS.joinpath("register_fr.yaml").read_text(encoding="utf-8")
                 .replace('"Date de passage"', '"Date du passage"'), "bad.yaml")
    with pytest.raises(MappingError) as err:
        mapping.apply(mapping.load_mapping(path), register.path)
    text = str(err.value)
    assert "column 'Date du passage' of source 'registre' in bad.yaml is not in the header" in text
    assert "'Date de passage'" in text and "optional: true" in text


def test_no_file_matches(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "autre.csv").write_text("a;b\n1;2\n")
    with pytest.raises(MappingError, match=r"no file matches 'registre\*\.xlsx'.*autre\.csv"):
        mapping.apply(mapping.load_mapping(MAPPINGS / "register_fr.yaml"), tmp_path / "raw")


def test_csv_with_title_lines_semicolons_and_windows_1252(tmp_path):
    m = parse(SMALL)
    text = ("Export du registre;;\n\n"
            "Dossier;Nom;Sexe;Nationalité;Date;Service;Interprète;Colonne libre\n"
            "D-1;Kamo Ture;Homme;Côte d'Ivoire;04/01/2024;Conseil;oui;x\n"
            ";;;;;;;\n"
            "D-2;Zubi Sado;Femme;Sénégal;05/01/2024;Conseil;non;\n")
    (tmp_path / "reg.csv").write_bytes(text.encode("cp1252"))
    out = mapping.apply(m, tmp_path / "reg.csv")
    report = out.sources["reg"]
    assert (report.header_row, report.read, report.blank_rows) == (3, 2, 1)
    assert report.unmapped == ["Colonne libre"] and report.absent == ["Naissance"]
    assert out.tables["persons"].sort("person_id")["nationality"].to_list() == ["CIV", "SEN"]


def test_a_csv_row_with_too_many_fields_is_refused(tmp_path):
    (tmp_path / "reg.csv").write_text("Dossier;Nom;Sexe;Nationalité;Date;Service;Interprète\n"
                                      "D-1;Ture;Homme;Mali;04/01/2024;Conseil;oui;en trop\n", encoding="utf-8")
    with pytest.raises(MappingError, match="row 1 has 8 fields but the header has 7"):
        mapping.apply(parse(SMALL), tmp_path / "reg.csv")
