"""Records of a numbered extract (read through the validation cache) take their persons' attributes after
the period's filter, at each row's person number, and count persons by that number where nothing reads
them as pseudonyms: the same tables, to the digit and in the same order, as joining on pseudonyms."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.extract import cache
from workbench.indicators import engine, records
from workbench.indicators.organisation import catalogue_with

# An organisation's indicator on the contacts whose first condition reads an attribute (its rows are
# filtered with their attributes).
ORG = """
namespace: org
catalogue_version: "2025.1"
families:
  reception_extra: {fr: Accueil (centre), en: Reception (centre)}
indicators:
  - id: org.minors_contacted
    family: reception_extra
    unit: count
    label: {fr: Mineurs reçus, en: Minors received}
    definition: {fr: Mineurs distincts ayant eu un contact., en: Distinct minors with a contact.}
    tables: [persons, contacts]
    records: contacts
    population: [{minor_at: date}, {in_period: date}]
    distinct: person_id
    age_at: date
    breakdowns: [sex, nationality, age_group, site]
"""

PERIODS = ["2025-Q2", "2025"]
BY = ["sex", "age_group", "nationality", "legal_status", "site", "channel", "sex,age_group"]


def _paths(ex, monkeypatch, cat=None) -> tuple[pl.DataFrame, pl.DataFrame, list[bool]]:
    """The table by person numbers, the table joined on pseudonyms, and how each numbered frame was labelled."""
    labelled: list[bool] = []
    gather = records.Context.with_attributes

    def spy(self, lf, as_numbers=False):
        labelled.append(as_numbers)
        return gather(self, lf, as_numbers)

    monkeypatch.setattr(records.Context, "with_attributes", spy)
    numbered = engine.evaluate(ex, PERIODS, by=BY, catalogue=cat).frame
    monkeypatch.setattr(records, "numbers_of", lambda frame: None)
    joined = engine.evaluate(ex, PERIODS, by=BY, catalogue=cat).frame
    monkeypatch.undo()
    return numbered, joined, labelled


def test_the_data_has_what_the_paths_differ_on(person_extract):
    contacts = person_extract.tables["contacts"]
    assert cache.numbers_of(contacts) is not None  # read through the cache: numbered
    quarter = contacts.filter(pl.col("date").is_between(pl.date(2025, 4, 1), pl.date(2025, 6, 30)))
    assert quarter["person_id"].is_duplicated().any()  # persons with several records in the quarter
    persons = person_extract.tables["persons"]
    assert any(persons[c].null_count() or (persons[c].cast(pl.String) == "unknown").any()
               for c in ("sex", "nationality", "legal_status", "birth_year"))  # unknown values


def test_persons_as_numbers_count_as_pseudonyms(person_extract, monkeypatch):
    numbered, joined, labelled = _paths(person_extract, monkeypatch)
    assert numbered.height > 1000
    assert_frame_equal(numbered, joined)
    # every numbered table's rows counted by numbers (the minors flagged by end read the flags by numbers)
    assert len(labelled) > 5 and all(labelled)


def test_an_attribute_filter_and_a_unit_of_identifiers_keep_their_paths(person_extract, monkeypatch, tmp_path):
    (tmp_path / "org.yaml").write_text(ORG, encoding="utf-8")
    cat = catalogue_with(tmp_path / "org.yaml")
    # a unit among other identifiers (as activities count theirs): the contacts' rows keep their pseudonyms
    # for every indicator reading them
    units = dataclasses.replace(cat["persons_received"], id="org.first_contacts", distinct=["contact_id", "person_id"],
                                breakdowns=["sex", "site"], multi=["site"], order=len(cat))
    cat = dataclasses.replace(cat, indicators=(*cat.indicators, units))
    numbered, joined, labelled = _paths(person_extract, monkeypatch, cat)
    assert_frame_equal(numbered, joined)
    minors = numbered.filter((pl.col("indicator") == "org.minors_contacted") & (pl.col("_block") == 0))
    units = numbered.filter((pl.col("indicator") == "org.first_contacts") & (pl.col("_block") == 0))
    received = numbered.filter((pl.col("indicator") == "persons_received") & (pl.col("_block") == 0))
    assert minors["numerator"].min() > 0 and units["numerator"].min() > received["numerator"].max() // 10
    # the contacts' rows keep their pseudonyms (a unit among identifiers reads them): fewer labelled by number
    _, _, alone = _paths(person_extract, monkeypatch)
    assert labelled.count(True) < alone.count(True), (labelled, alone)


def test_numbers_missing_where_pseudonyms_are_not_count_by_pseudonyms(person_extract, monkeypatch):
    """A table whose numbers are missing where its pseudonyms are not is not counted by numbers."""
    contacts = person_extract.tables["contacts"]
    numbers = cache.numbers_of(contacts)
    damaged = numbers.scatter([0], None)
    monkeypatch.setattr(records, "numbers_of", lambda frame: damaged if frame is contacts else cache.numbers_of(frame))
    ctx = records.Context(person_extract)
    assert not ctx.counts_alike("contacts") and ctx.counts_alike("cases")


@pytest.mark.parametrize("periods", [["2025-Q3"], ["2024", "2025-Q1", "2025-03"]])
def test_network_extracts_are_unchanged(network, monkeypatch, periods):
    """A network's tables have no persons: nothing numbered, the same tables either way."""
    by = ["activity_type", "court_level", "site"]
    first = engine.evaluate(network, periods, by=by).frame
    monkeypatch.setattr(records, "numbers_of", lambda frame: None)
    assert_frame_equal(first, engine.evaluate(network, periods, by=by).frame)


def test_an_organisation_counts_a_unit_among_identifiers(person_extract, tmp_path):
    """``distinct`` as a list of columns in an organisation's catalogue: checked column by column, then counted
    as the built-in catalogue counts it (the first recorded of the columns)."""
    from workbench.exceptions import CatalogueError

    units = ORG.replace("    distinct: person_id\n", "    distinct: [contact_id, person_id]\n")
    (tmp_path / "units.yaml").write_text(units, encoding="utf-8")
    cat = catalogue_with(tmp_path / "units.yaml")
    assert cat["org.minors_contacted"].distinct == ("contact_id", "person_id")
    table = engine.evaluate(person_extract, ["2025"], "org.minors_contacted", catalogue=cat).frame
    assert table["numerator"][0] > 0
    (tmp_path / "wrong.yaml").write_text(units.replace("[contact_id,", "[contact_idd,"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="unknown column 'contact_idd' of contacts"):
        catalogue_with(tmp_path / "wrong.yaml")
