"""KoboToolbox and ODK exports in the mapping format: select_multiple as 0/1 columns and as one cell,
headers that differ only by punctuation, sheets by position, lookups both ways, time zones, repeat
sheets, summaries with sheet names; and no combination of mapping keys ends in a traceback."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest
import xlsxwriter
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli.main import main
from workbench.exceptions import MappingError, WorkbenchError
from workbench.prepare import mapping


def parse(text: str) -> mapping.Mapping:
    return mapping.parse_mapping(yaml.load(textwrap.dedent(text), Loader=mapping._Loader), name="m.yaml")


MAIN = {"grp/code": ["A1", "A2", "A3"], "grp/sex": ["female", "male", "female"],
        "grp/date": ["2024-03-01", "2024-03-02", "2024-03-03"],
        "grp/flags": ["gbv_survivor disability", "", "disability"],
        "grp/flags/gbv_survivor": ["1", "0", "0"], "grp/flags/disability": ["1", "0", "1"],
        "grp/x.other": ["1", "0", "1"], "grp/x_other": ["phone", "in_person", "phone"],
        "_uuid": ["u1", "u2", "u3"], "_submission_time": ["2024-03-01T23:30:00", "2024-03-02T10:00:00",
                                                           "2024-03-03T22:59:00"]}

HEAD = """
    organisation: test_org
    sources:
      main:
        columns:
          grp/code: {to: person_id, pseudonym: person}
          grp/sex: sex
          grp/date: {to: date, date_format: YYYY-MM-DD}
          _uuid: {to: contact_id, pseudonym: contact}
          grp/x_other: channel
          grp/x.other: drop
"""


def _frames(extra: dict | None = None) -> dict[str, pl.DataFrame]:
    return {"main": pl.DataFrame(MAIN | (extra or {}))}


DEFAULT_TABLES = """
tables:
  persons: {from: main, one_row_per: person_id, columns: {registered_on: {min: date}}}
  contacts: {from: main}
  protection_flags: {from: main, explode: flag, columns: {identified_on: date}}
"""


NO_FLAGS = DEFAULT_TABLES.rsplit("\n  protection_flags", 1)[0] + "\n"


def _mapping(columns: str, tables: str = DEFAULT_TABLES) -> mapping.Mapping:
    text = (textwrap.dedent(HEAD) + textwrap.indent(columns, " " * 6)
            + "    defaults: {site: centre, service: information}\n" + tables)
    return mapping.parse_mapping(yaml.load(text, Loader=mapping._Loader), name="m.yaml")


@pytest.mark.parametrize("columns", [
    # the 0/1 columns of each option
    "grp/flags/gbv_survivor: {to: flag, option: gbv_survivor}\ngrp/flags/disability: {to: flag, option: disability}\n"
    "grp/flags: drop\n",
    # the one cell of space-separated codes
    "grp/flags: {to: flag, split: ' '}\n",
    # both: the same multiple choice, read once
    "grp/flags: {to: flag, split: ' '}\ngrp/flags/gbv_survivor: {to: flag, option: gbv_survivor}\n"
    "grp/flags/disability: {to: flag, option: disability}\n",
])
def test_select_multiple_in_both_export_forms_gives_one_row_per_option(columns):
    mapped = mapping.apply_frames(_mapping(columns), _frames())
    flags = mapped.tables["protection_flags"]
    assert mapped.quarantined == 0
    assert sorted(zip(flags["person_id"], flags["flag"])) == [("a1", "disability"), ("a1", "gbv_survivor"),
                                                              ("a3", "disability")]


def test_option_columns_that_are_not_0_or_1_quarantine_their_row_masked():
    columns = "grp/flags/gbv_survivor: {to: flag, option: gbv_survivor}\ngrp/flags: drop\n"
    mapped = mapping.apply_frames(_mapping(columns), _frames({"grp/flags/gbv_survivor": ["1", "Amadou", "0"]}))
    q = mapped.quarantine
    assert q.height == 1 and q["rule"][0] in ("invalid_boolean", "identifier")
    assert "Amadou" not in q.write_csv()


def test_x_dot_other_and_x_underscore_other_stay_apart():
    mapped = mapping.apply_frames(_mapping("grp/flags: drop\n", NO_FLAGS), _frames())
    assert mapped.tables["contacts"]["channel"].to_list() == ["phone", "in_person", "phone"]
    report = mapped.sources["main"]
    assert report.columns["grp/x_other"] == "channel" and "grp/x.other" in report.dropped


def test_two_headers_read_alike_ask_to_write_the_header_exactly():
    frames = {"main": pl.DataFrame(MAIN | {"grp/sex": ["female"] * 3, "grp.sex": ["male"] * 3})}
    m = _mapping("grp/flags: drop\n", NO_FLAGS).sources["main"]
    broken = mapping.Mapping(**{**_mapping("grp/flags: drop\n", NO_FLAGS).__dict__,
                                "sources": {"main": type(m)(**{**m.__dict__, "columns": tuple(
                                    r if r.raw != "grp/sex" else type(r)(**{**r.__dict__, "raw": "GRP SEX",
                                                                            "key": ""})
                                    for r in m.columns)})}})
    with pytest.raises(MappingError, match="exactly as in the export"):
        mapping.apply_frames(broken, frames)


def test_lookup_of_a_split_field_is_a_clear_problem_not_a_traceback():
    with pytest.raises(MappingError, match="holds several values per row"):
        parse("""
            organisation: t
            sources:
              a:
                columns:
                  id: {to: person_id, pseudonym: person}
                  f: {to: flag, split: " "}
              b:
                columns:
                  id: {to: person_id, pseudonym: person}
                derive:
                  flag: {lookup: a, on: person_id, field: flag}
            tables:
              persons: {from: a, columns: {registered_on: {value: 2024-01-01}, sex: {value: unknown}, site: {value: x}}}
              contacts: {from: a, columns: {date: {value: 2024-01-01}, site: {value: x}, service: {value: other}}}
              protection_flags: {from: b, columns: {identified_on: {value: 2024-01-01}}}
        """)


TWO_WAYS = """
    organisation: t
    sources:
      main:
        columns:
          _uuid: {to: contact_id, pseudonym: contact}
          code: {to: person_id, pseudonym: person}
          date: {to: date, date_format: YYYY-MM-DD}
        derive:
          referral_service: {lookup: members, on: contact_id, field: service_type}
        defaults: {site: centre, service: information}
      members:
        sheet: members
        columns:
          _submission__uuid: {to: contact_id, pseudonym: contact}
          service: {to: service_type}
        derive:
          person_id: {lookup: main, on: contact_id, field: person_id}
          referral_id: {pseudonym: referral, of: [contact_id], per_row: true}
          referred_on: {lookup: main, on: contact_id, field: date}
        defaults: {status: pending}
    tables:
      persons: {from: main, columns: {registered_on: date, sex: {value: unknown}}}
      contacts: {from: main}
      referrals: {from: members}
"""


def test_lookups_go_both_ways_between_a_submission_and_its_repeat():
    m = parse(TWO_WAYS)
    frames = {"main": pl.DataFrame({"_uuid": ["u1", "u2"], "code": ["P1", "P2"], "date": ["2024-01-02", "2024-01-03"]}),
              "members": pl.DataFrame({"_submission__uuid": ["u1", "u1", "u2"],
                                       "service": ["lawyer", "health", "shelter"]})}
    mapped = mapping.apply_frames(m, frames)
    refs = mapped.tables["referrals"]
    assert sorted(zip(refs["person_id"], refs["service_type"])) == [("p1", "health"), ("p1", "lawyer"),
                                                                     ("p2", "shelter")]
    assert refs["referral_id"].n_unique() == 3


def test_a_real_circle_is_refused_naming_the_fields():
    text = TWO_WAYS.replace("referral_service: {lookup: members, on: contact_id, field: service_type}",
                            "referral_service: {lookup: members, on: contact_id, field: referred_on}")
    text = text.replace("referred_on: {lookup: main, on: contact_id, field: date}",
                        "referred_on: {lookup: main, on: contact_id, field: referral_service}")
    with pytest.raises(MappingError, match="round in a circle.*waits for the field") as err:
        parse(text)
    assert "is not another source" not in str(err.value)


def test_time_zone_of_submission_times():
    m = parse("""
        organisation: t
        sources:
          main:
            columns:
              _uuid: {to: contact_id, pseudonym: contact}
              code: {to: person_id, pseudonym: person}
              _submission_time: {to: date, timezone: Europe/Brussels}
            defaults: {site: centre, service: information, sex: unknown}
        tables:
          persons: {from: main, columns: {registered_on: date}}
          contacts: {from: main}
    """)
    frames = {"main": pl.DataFrame({"_uuid": ["u1", "u2"], "code": ["P1", "P2"],
                                    "_submission_time": ["2024-03-01T23:30:00", "2024-03-02T10:00:00+01:00"]})}
    dates = mapping.apply_frames(m, frames).tables["contacts"]["date"].cast(pl.String).to_list()
    assert dates == ["2024-03-02", "2024-03-02"]
    with pytest.raises(MappingError, match="not a time zone"):
        parse("organisation: t\nsources: {m: {columns: {d: {to: date, timezone: Mars/Olympus}}}}\n"
              "tables: {persons: {from: m}, contacts: {from: m}}")


def _kobo_book(path, title: str = "Formulaire d'accueil 2024") -> None:
    book = xlsxwriter.Workbook(str(path))
    main_sheet = book.add_worksheet(title)
    main_sheet.write_row(0, 0, ["grp/code", "grp/date", "_uuid", "_index"])
    main_sheet.write_row(1, 0, ["A1", "2024-03-01", "u1", 1])
    members = book.add_worksheet("members")
    members.write_row(0, 0, ["members/service", "_index", "_parent_index", "_submission__uuid"])
    members.write_row(1, 0, ["lawyer", 1, 1, "u1"])
    book.close()


def test_first_sheet_as_a_source_and_sheet_names_in_the_summary(tmp_path):
    _kobo_book(tmp_path / "export.xlsx")
    (tmp_path / "m.yaml").write_text(textwrap.dedent("""
        organisation: t
        sources:
          main:
            sheet: 1
            columns:
              grp/code: {to: person_id, pseudonym: person}
              grp/date: {to: date, date_format: YYYY-MM-DD}
              _uuid: {to: contact_id, pseudonym: contact}
            defaults: {site: centre, service: information, sex: unknown}
          members:
            sheet: members
            columns:
              _submission__uuid: {to: contact_id, pseudonym: contact}
              members/service: service_type
            derive:
              person_id: {lookup: main, on: contact_id, field: person_id}
              referral_id: {pseudonym: referral, of: [contact_id], per_row: true}
              referred_on: {lookup: main, on: contact_id, field: date}
            defaults: {status: pending}
        tables:
          persons: {from: main, columns: {registered_on: date}}
          contacts: {from: main}
          referrals: {from: members}
    """), encoding="utf-8")
    run = CliRunner().invoke(main, ["mapping-check", str(tmp_path / "export.xlsx"), "--mapping",
                                    str(tmp_path / "m.yaml")])
    assert run.exit_code == 0, run.output
    assert "export.xlsx[members]" in run.output and "export.xlsx[Formulaire d'accueil 2024]" in run.output


# ------------------------------------------------------------------ no traceback, whatever the keys

NAMES = st.sampled_from(["person_id", "contact_id", "date", "sex", "flag", "site", "service", "x", "dob", "age",
                         "referral_id", "main", "rep", "nope", 1, None, [], {}])
VALUES = st.one_of(NAMES, st.booleans(), st.integers(-2, 3), st.text(max_size=3),
                   st.sampled_from(["drop", " ", "Europe/Brussels", "YYYY-MM-DD", "person", "gbv_survivor"]))
COLUMN = st.one_of(NAMES, st.dictionaries(
    st.sampled_from(["to", "type", "vocabulary", "values", "unmapped", "date_format", "pseudonym", "keep",
                     "optional", "split", "countries", "drop", "option", "timezone", "bogus"]),
    st.one_of(VALUES, st.dictionaries(st.text(max_size=3), VALUES, max_size=2)), max_size=4))
DERIVE = st.dictionaries(st.sampled_from(["year_of", "year_from_age", "at", "pseudonym", "of", "per_row", "lookup",
                                          "on", "field", "value", "first_of"]),
                         st.one_of(VALUES, st.lists(NAMES, max_size=2),
                                   st.lists(st.fixed_dictionaries({"lookup": NAMES, "on": NAMES, "field": NAMES}),
                                            max_size=2)), max_size=4)
SOURCE = st.fixed_dictionaries({"columns": st.dictionaries(st.sampled_from(list(MAIN)), COLUMN, max_size=6)},
                               optional={"derive": st.dictionaries(NAMES.filter(lambda n: isinstance(n, str)),
                                                                   DERIVE, max_size=3),
                                         "defaults": st.dictionaries(NAMES.filter(lambda n: isinstance(n, str)),
                                                                     VALUES, max_size=2),
                                         "sheet": VALUES})
TABLE = st.dictionaries(st.sampled_from(["from", "one_row_per", "first_by", "explode", "columns", "bad"]),
                        st.one_of(VALUES, st.dictionaries(st.sampled_from(["date", "site", "flag", "registered_on",
                                                                           "identified_on"]),
                                                          st.one_of(NAMES, st.dictionaries(
                                                              st.sampled_from(["min", "value", "first", "x"]),
                                                              VALUES, max_size=1)), max_size=2)), max_size=4)
MAPPINGS = st.fixed_dictionaries({
    "organisation": st.sampled_from(["t", "Bad", 3]),
    "sources": st.dictionaries(st.sampled_from(["main", "rep"]), SOURCE, min_size=1, max_size=2),
    "tables": st.dictionaries(st.sampled_from(["persons", "contacts", "protection_flags", "referrals", "nope"]),
                              TABLE, max_size=4)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MAPPINGS)
def test_no_combination_of_mapping_keys_raises_anything_but_a_workbench_error(data):
    try:
        m = mapping.parse_mapping(data, name="m.yaml")
        mapping.apply_frames(m, {name: pl.DataFrame(MAIN) for name in m.sources})
    except WorkbenchError as exc:
        assert exc.exit_code == 2 and str(exc)
