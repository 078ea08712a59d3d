"""The identifier guard: column names and contents that are direct identifiers."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.extract import guard
from workbench.exceptions import IdentifierColumnError
from workbench.contract.schema import TABLES


@pytest.mark.parametrize(("column", "kind"), [
    ("nom", "name"), ("Nom", "name"), ("prénom", "name"), ("Prenoms", "name"), ("Nom_Prénom", "name"),
    ("NomPrenom", "name"), ("Nom de famille", "name"), ("first_name", "name"), ("lastName", "name"),
    ("FullName", "name"), ("surname", "name"), ("caseworker_name", "name"),
    ("téléphone", "phone"), ("tel", "phone"), ("Tél.", "phone"), ("mobile", "phone"),
    ("N° téléphone", "phone"), ("whatsapp", "phone"), ("phone_number", "phone"),
    ("e-mail", "email"), ("E-Mail", "email"), ("email_address", "email"), ("courriel", "email"), ("mail", "email"),
    ("adresse", "address"), ("Adresse postale", "address"), ("street_address", "address"),
    ("code_postal", "address"), ("domicile", "address"),
    ("agdref", "authority"), ("numero_agdref", "authority"), ("Numéro AGDREF", "authority"),
    ("unhcr_id", "authority"), ("UNHCR", "authority"), ("hcr_number", "authority"), ("progres_id", "authority"),
    ("num_ecas", "authority"), ("passport", "authority"), ("Numéro de passeport", "authority"),
])
def test_identifier_names_are_refused(column, kind):
    assert guard.kind_by_name(column) == kind


@pytest.mark.parametrize("column", [
    "site_name", "partner_name", "nom_site", "centre_name", "nom_du_partenaire", "file_name", "country_name",
    "person_id", "caseworker_id", "nationality", "registered_on", "service_type", "closure_reason",
    # whole words only: 'tel' in hotel/telemetry, 'nom' in nombre, 'mail' in mailing are not identifiers
    "hotel", "hotel_name", "telemetry", "telecom", "nombre", "renommee", "mailing_date", "progress",
    "unhcr_referral", "interpreter", "team",
])
def test_harmless_names_pass(column):
    assert guard.kind_by_name(column) is None


@pytest.mark.parametrize("column", sorted({c for t in TABLES.values() for c in t.column_names}))
def test_no_contract_column_is_taken_for_an_identifier(column):
    assert guard.kind_by_name(column) is None


def kind(values: list[str | None], **kwargs):
    return guard.kind_by_content(pl.Series(values, dtype=pl.String), **kwargs)


NAMES = ["Amina Diallo", "Jean-Marc Kouassi", "Omar Ben Salah", "Sara Mensah", "Awa Traoré", "DIALLO Amina"]


@pytest.mark.parametrize(("values", "expected"), [
    # one e-mail address anywhere is enough
    (["a3f9", "b7e1", None, "someone@example.org", "c2d8"], ("email", 4)),
    # phones: French, international, Tunisian with separators
    (["06 12 34 56 78", "0612345678", "+33 6 12 34 56 78"], ("phone", 1)),
    ([None, "", "+216 22 123 456", "22.123.456"], ("phone", 3)),
    (["0033612345678"], ("phone", 1)),
    # addresses, French and English order
    (["12 rue des Lilas", "3 bis, avenue Foch"], ("address", 1)),
    (["x", "10 Downing Street", "221B Baker St"], ("address", 2)),
    # authority numbers: AGDREF (10 digits), UNHCR case numbers, passports
    (["7501234567", "1301234567"], ("authority", 1)),
    (["123-12C12345"], ("authority", 1)),
    (["123-12345678"], ("authority", 1)),
    (["AB1234567"], ("authority", 1)),
    # personal names: half the values, five different
    (NAMES, ("name", 1)),
    ([None, *NAMES, "x", "y"], ("name", 2)),
])
def test_identifier_content(values, expected):
    assert kind(values) == expected


@pytest.mark.parametrize("values", [
    [],
    [None, None],
    ["", "  "],
    ["a3f9c2e1", "b7e1d4aa", "0c9d1e2f"],           # keyed pseudonyms
    ["paris_nord", "marseille", "cra_1"],          # site and centre codes
    ["2024-01-15", "15/01/2024"],                  # dates
    ["1990", "12", "7", "2024"],                   # numbers that are not phone numbers
    ["3 months waiting", "2 enfants", "rdv le 12"],  # free text with numbers
    ["Paris Nord", "Paris Nord", "Saint Denis", "Saint Denis"],  # repeated labels: fewer than 5 names
    ["Amina", "Jean", "Omar", "Sara", "Awa"],      # single words
    ["amina diallo", "jean kouassi", "omar haddad", "sara mensah", "awa traore"],  # not capitalised
])
def test_harmless_content(values):
    assert kind(values) is None


def test_thresholds():
    pseudonyms = [f"{i:04x}ab" for i in range(7)]
    assert kind(pseudonyms + ["06 12 34 56 78"] * 2) is None  # 2 in 9 < 30 %
    assert kind(pseudonyms + ["06 12 34 56 78"] * 3) == ("phone", 8)  # 3 in 10 ≥ 30 %
    assert kind(NAMES[:5] + ["a1", "a2", "a3", "a4", "a5", "a6"]) is None  # 5 in 11 < 50 %
    assert kind(NAMES[:5] + ["a1", "a2", "a3", "a4", "a5"]) == ("name", 1)  # 5 in 10 ≥ 50 %


def test_a_single_e_mail_is_enough_only_when_asked():
    """Columns also checked cell by cell (codes, extra columns) quarantine a stray e-mail's row
    instead: there e-mails need the share of phones (30 %)."""
    values = ["vu ce matin", "rdv le 12", "dossier complet", "someone@example.org"]
    assert kind(values) == ("email", 4)
    assert kind(values, single_email=False) is None
    assert kind(values[2:], single_email=False) == ("email", 2)  # 1 in 2 ≥ 30 %


def test_names_only_when_asked_and_distinct_threshold():
    assert kind(NAMES, names=False) is None
    two = ["Marie Dupont", "Paul Martin", "Marie Dupont"]
    assert kind(two) is None
    assert kind(two, min_distinct_names=1) == ("name", 1)


def test_check_columns_names_file_and_column_never_the_value():
    frame = pl.DataFrame({"person_id": ["a1", "a2"], "contact": ["", "someone@example.org"]})
    with pytest.raises(IdentifierColumnError) as info:
        guard.check_columns("persons", "persons.csv", frame, content_columns=["person_id", "contact"],
                            name_content_columns=["person_id"])
    err = info.value
    assert (err.file, err.table, err.column, err.row) == ("persons.csv", "persons", "contact", 2)
    assert "someone@example.org" not in str(err)
    assert str(err).startswith("persons.csv: column 'contact' holds values that look like e-mail addresses "
                               "(first at row 2)")


def test_check_columns_by_name_before_content():
    frame = pl.DataFrame({"person_id": ["a1"], "Téléphone": [None]}, schema={"person_id": pl.String,
                                                                           "Téléphone": pl.String})
    with pytest.raises(IdentifierColumnError, match=r"column 'Téléphone' looks like it holds phone numbers "
                                                    r"\(by its name\)"):
        guard.check_columns("persons", "persons.csv", frame, content_columns=[], name_content_columns=[])


def test_check_columns_reads_only_the_listed_columns():
    frame = pl.DataFrame({"person_id": ["a1"], "topic": ["06 12 34 56 78"]})
    guard.check_columns("contacts", "contacts.csv", frame, content_columns=["person_id"],
                        name_content_columns=["person_id"])


def test_check_columns_reads_whole_numbers():
    frame = pl.DataFrame({"person_id": ["a1", "a2"], "dossier": [7501234567, 7501234568]})
    with pytest.raises(IdentifierColumnError) as info:
        guard.check_columns("persons", "persons.parquet", frame, content_columns=["person_id", "dossier"],
                            name_content_columns=[])
    assert info.value.column == "dossier"


def test_pseudonym_columns_need_only_one_name():
    frame = pl.DataFrame({"case_id": ["K1", "K2"], "caseworker_id": ["Marie Dupont", "Marie Dupont"]})
    guard.check_columns("cases", "cases.csv", frame, content_columns=["caseworker_id"],
                        name_content_columns=["caseworker_id"])
    with pytest.raises(IdentifierColumnError, match="caseworker_id"):
        guard.check_columns("cases", "cases.csv", frame, content_columns=["caseworker_id"],
                            name_content_columns=["caseworker_id"], pseudonym_columns=["caseworker_id"])
