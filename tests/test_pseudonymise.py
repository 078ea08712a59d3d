"""Keys (made owner-only, refused when missing, short or readable by others, never shown), keyed
pseudonyms (stable with a key, unlinkable across keys), and the pseudonymise pipeline: byte-identical
re-runs, nothing written when refused, the command line and its exit codes."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import rawdata

from workbench import extract
from workbench.prepare import pseudonymise as ps
from workbench.cli.main import main
from workbench.exceptions import IdentifierColumnError, KeyFileError, MappingError, ParameterError


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("a", "b"):
        ps.init_key(folder / f"{name}.key")
        out[name] = folder / f"{name}.key"
    return out


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    return rawdata.register_fr(tmp_path_factory.mktemp("raw"), persons=30)


@pytest.fixture(scope="module")
def run(register, keys, tmp_path_factory):
    """The register pseudonymised with key a (module-wide, read-only)."""
    return ps.pseudonymise(register.path, register.mapping, keys["a"], tmp_path_factory.mktemp("out") / "ex")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- keys

def test_init_key_makes_an_owner_only_random_key(tmp_path):
    fp = ps.init_key(tmp_path / "secret" / "k.key")
    path = tmp_path / "secret" / "k.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text().strip()
    assert len(text) == 64 and int(text, 16) >= 0
    assert fp == hashlib.sha256(bytes.fromhex(text)).hexdigest()[:12]
    assert ps.read_key(path) == bytes.fromhex(text)
    ps.init_key(tmp_path / "other.key")
    assert (tmp_path / "other.key").read_text() != path.read_text()


def test_init_key_never_overwrites(tmp_path):
    ps.init_key(tmp_path / "k.key")
    before = (tmp_path / "k.key").read_bytes()
    with pytest.raises(KeyFileError, match="already there"):
        ps.init_key(tmp_path / "k.key")
    assert (tmp_path / "k.key").read_bytes() == before


@pytest.mark.parametrize(("content", "mode", "message"), [
    (None, 0o600, "no key file there. Create one once with `workbench init-key"),
    ("ab" * 16, 0o600, r"too short \(16 bytes; at least 32"),
    ("", 0o600, "empty"),
    ("not a key at all, a passphrase", 0o600, "not a key file"),
    ("ab" * 32, 0o644, r"can be read or changed by other users \(permissions 644\).*chmod 600"),
    ("ab" * 32, 0o640, "permissions 640"),
    ("ab" * 32, 0o602, "permissions 602"),
])
def test_bad_keys_are_refused_without_showing_them(tmp_path, content, mode, message):
    path = tmp_path / "k.key"
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(KeyFileError, match=message) as err:
        ps.read_key(path)
    if content:
        assert content not in str(err.value)


def test_a_good_key_with_a_trailing_newline_and_capitals(tmp_path):
    path = tmp_path / "k.key"
    path.write_text(("AB" * 40) + "\n")
    path.chmod(0o600)
    assert ps.read_key(path) == bytes.fromhex("ab" * 40)


# ---------------------------------------------------------------------------------------------- pseudonyms

@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30, unique=True))
@settings(max_examples=50, deadline=None)
def test_pseudonyms_are_stable_per_key_and_unlinkable_across_keys(identities):
    key_a, key_b = bytes(range(32)), bytes(range(1, 33))
    a = ps.pseudonyms(pl.Series(identities), "person", key_a)
    again = ps.pseudonyms(pl.Series(list(reversed(identities)) + identities), "person", key_a)
    b = ps.pseudonyms(pl.Series(identities), "person", key_b)
    assert a.height == len(identities) and a.equals(again)
    assert a["pseudonym"].str.contains(r"^P[0-9a-f]{16}$").all()
    assert not set(a["pseudonym"]) & set(b["pseudonym"])
    as_cases = ps.pseudonyms(pl.Series(identities), "case", key_a)
    assert as_cases["pseudonym"].str.slice(1).is_in(a["pseudonym"].str.slice(1).implode()).sum() == 0


def test_a_pseudonym_is_an_hmac_of_the_kind_and_the_identifier():
    import hmac

    key = bytes(range(32))
    got = ps.pseudonyms(pl.Series(["asso-24-00137"]), "person", key)["pseudonym"][0]
    want = "P" + hmac.new(key, b"person\x1fasso-24-00137", hashlib.sha256).hexdigest()[:16]
    assert got == want


# ---------------------------------------------------------------------------------------------- the pipeline

def test_the_extract_is_accepted_and_holds_no_raw_identifier(run, register):
    ex = run.extract
    assert ex.source == run.output and ex.meta.organisation == "permanence_tunis"
    assert set(ex.tables) == {"persons", "contacts"}
    persons = ex.table("persons")
    assert persons["person_id"].str.contains(r"^P[0-9a-f]{16}$").all()
    assert ex.table("contacts")["contact_id"].str.contains(r"^C[0-9a-f]{16}$").all()
    assert ex.table("contacts")["person_id"].is_in(persons["person_id"].implode()).all()
    raw_ids = set(register.identifiers["raw_ids"])
    assert not raw_ids & set(persons["person_id"].to_list())
    # Parsed, not matched as text: an all-digit fingerprint is written quoted ('267825160758').
    meta = yaml.safe_load((run.output / "extract.yaml").read_text(encoding="utf-8"))
    assert str(meta["key_fingerprint"]) == run.fingerprint and str(meta["extracted_on"]) == "2025-01-15"
    assert sorted(p.name for p in run.output.iterdir()) == ["contacts.parquet", "extract.yaml", "mapping",
                                                            "persons.parquet"]
    assert sorted(p.name for p in (run.output / "mapping").iterdir()) == ["mapping-report.json", "quarantine.csv"]
    assert extract.load(run.output).warnings == ()


def test_the_key_appears_nowhere(run, keys):
    key = ps.read_key(keys["a"])
    for name, data in files_of(run.output).items():
        for needle in (key, key.hex().encode(), key.hex().upper().encode()):
            assert needle not in data, name


def test_rerun_is_byte_identical_and_another_key_is_unlinkable(run, register, keys, tmp_path):
    again = ps.pseudonymise(register.path, register.mapping, keys["a"], tmp_path / "again")
    assert files_of(again.output) == files_of(run.output)
    other = ps.pseudonymise(register.path, register.mapping, keys["b"], tmp_path / "other")
    for table in ("persons", "contacts"):
        id_column = "person_id" if table == "persons" else "contact_id"
        a = set(run.extract.table(table)[id_column])
        b = set(other.extract.table(table)[id_column])
        assert len(a) == len(b) and not a & b
    assert other.fingerprint != run.fingerprint
    # the same figures: only the pseudonyms differ
    assert other.extract.summary()["tables"] == run.extract.summary()["tables"]


def test_csv_format(register, keys, tmp_path):
    out = ps.pseudonymise(register.path, register.mapping, keys["a"], tmp_path / "csv", format="csv")
    assert (out.output / "persons.csv").exists()
    assert out.extract.summary()["tables"][0]["accepted"] == register.expected.accepted["persons"]


def _csv_export(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Dossier;Nom;Date;Sexe"] + [f"{ref};Kamo Ture;{day};Femme" for ref, day in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


QUARTER_MAPPING = """
organisation: test_org
sources:
  reg:
    file: "*.csv"
    columns:
      Dossier: {to: person_id, pseudonym: person}
      Nom: drop
      Date: {to: date, date_format: JJ/MM/AAAA}
      Sexe: {to: sex, values: {Femme: female}}
    derive:
      contact_id: {pseudonym: contact, of: [person_id, date], per_row: true}
    defaults: {site: siege, service: information}
tables:
  persons: {from: reg, one_row_per: person_id, columns: {registered_on: {min: date}}}
  contacts: {from: reg}
"""


def test_the_same_person_keeps_their_pseudonym_quarter_after_quarter(keys, tmp_path):
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text(QUARTER_MAPPING, encoding="utf-8")
    _csv_export(tmp_path / "q1" / "export.csv", [("A-1", "05/01/2024"), ("B-2", "06/02/2024")])
    _csv_export(tmp_path / "q2" / "export.csv", [("b-2 ", "04/04/2024"), ("C-3", "05/05/2024")])
    q1 = ps.pseudonymise(tmp_path / "q1", mapping_file, keys["a"], tmp_path / "x1", extracted_on=None)
    q2 = ps.pseudonymise(tmp_path / "q2", mapping_file, keys["a"], tmp_path / "x2")
    p1, p2 = set(q1.extract.table("persons")["person_id"]), set(q2.extract.table("persons")["person_id"])
    assert len(p1 & p2) == 1   # B-2, written 'b-2 ' the next quarter, is the same person
    q2b = ps.pseudonymise(tmp_path / "q2", mapping_file, keys["b"], tmp_path / "x2b")
    assert not p1 & set(q2b.extract.table("persons")["person_id"])
    assert "extracted_on" not in (tmp_path / "x1" / "extract.yaml").read_text()


@pytest.mark.parametrize("problem", ["missing", "short", "world"])
def test_a_bad_key_writes_nothing(register, tmp_path, problem):
    key = tmp_path / "k.key"
    if problem != "missing":
        key.write_text("ab" * (8 if problem == "short" else 32))
        key.chmod(0o600 if problem == "short" else 0o604)
    with pytest.raises(KeyFileError):
        ps.pseudonymise(register.path, register.mapping, key, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == (["k.key"] if problem != "missing" else [])


def test_kept_free_text_holding_phones_quarantines_those_rows(register, keys, tmp_path):
    """The observations mention the person's phone: those rows are quarantined (rule identifier), the
    value shown by its shape only; no identifier of the export reaches any file."""
    text = register.mapping.read_text(encoding="utf-8").replace(
        '"Observations": drop', '"Observations": {to: remarks, keep: contacts}')
    mapping_file = tmp_path / "keep.yaml"
    mapping_file.write_text(text, encoding="utf-8")
    result = ps.pseudonymise(register.path, mapping_file, keys["a"], tmp_path / "out")
    q = result.quarantine.filter(pl.col("column") == "Observations")
    assert q.height > 0 and set(q["rule"]) == {"identifier"}
    assert not any(ch.isdigit() for v in q["value"] for ch in v)  # shapes: Aa aaaa Aaaa Aaaa, aaaaa…
    assert register.leaks(tmp_path / "out") == []


def test_kept_free_text_holding_names_of_the_export_is_refused(keys, tmp_path):
    """A remark naming the person (a value of the dropped Nom column) is refused, naming the column."""
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text(QUARTER_MAPPING.replace("Date: {", "Remarque: {to: remarks, keep: contacts}\n"
                                                    "      Date: {"), encoding="utf-8")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "export.csv").write_text(
        "Dossier;Nom;Remarque;Date;Sexe\nA-1;Kamoture;vu avec kamoture ce matin;05/01/2024;Femme\n"
        "B-2;Zubiyo;rien;06/01/2024;Femme\n", encoding="utf-8")
    with pytest.raises(IdentifierColumnError, match="the column kept as 'remarks' in contacts holds values of the "
                                                    "column 'Nom'") as err:
        ps.pseudonymise(tmp_path / "raw", mapping_file, keys["a"], tmp_path / "out")
    assert "amoture" not in str(err.value).lower()
    assert not (tmp_path / "out").exists()


def test_an_e_mail_typed_in_a_kept_remark_quarantines_the_row(keys, tmp_path):
    """Content the mapping cannot know (an e-mail typed in a remark): the row is quarantined, the
    address never shown."""
    mapping_file = tmp_path / "m.yaml"
    mapping_file.write_text(QUARTER_MAPPING.replace("Nom: drop", "Remarque: {to: remarks, keep: contacts}"),
                            encoding="utf-8")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "export.csv").write_text("Dossier;Remarque;Date;Sexe\nA-1;écrire à user7@example.org;"
                                                 "05/01/2024;Femme\nB-2;rien;06/01/2024;Femme\n", encoding="utf-8")
    result = ps.pseudonymise(tmp_path / "raw", mapping_file, keys["a"], tmp_path / "out")
    assert result.quarantine.select("row", "column", "value", "rule").rows() == [
        (1, "Remarque", "aaaaaa a aaaa#@aaaaaaa.a…", "identifier")]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert b"user7" not in path.read_bytes() and b"example.org" not in path.read_bytes()


def test_a_busy_output_folder_is_refused_and_overwrite_replaces_an_extract(run, register, keys, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with pytest.raises(ParameterError, match="not empty"):
        ps.pseudonymise(register.path, register.mapping, keys["a"], busy)
    with pytest.raises(ParameterError, match="does not hold an extract"):
        ps.pseudonymise(register.path, register.mapping, keys["a"], busy, overwrite=True)
    target = tmp_path / "ex"
    ps.pseudonymise(register.path, register.mapping, keys["b"], target)
    ps.pseudonymise(register.path, register.mapping, keys["a"], target, overwrite=True)
    assert files_of(target) == files_of(run.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "ex"]


def test_a_broken_mapping_writes_nothing(register, keys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("organisation: x\nsources: [\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid YAML"):
        ps.pseudonymise(register.path, bad, keys["a"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------- command line

def test_command_line(register, tmp_path):
    runner = CliRunner()
    key = tmp_path / "k.key"
    result = runner.invoke(main, ["init-key", str(key)])
    assert result.exit_code == 0, result.output
    assert "Fingerprint:" in result.output and key.read_text().strip() not in result.output
    assert runner.invoke(main, ["init-key", str(key)]).exit_code == 2

    args = ["pseudonymise", str(register.path), "--mapping", str(register.mapping), "--key-file", str(key)]
    result = runner.invoke(main, [*args, "--output", str(tmp_path / "ex")])
    assert result.exit_code == 1, result.output  # rows were quarantined
    assert "not in the mapping" not in result.output and "Quarantined rows" in result.output
    assert "registre.xlsx[Registre] row" in result.output
    assert key.read_text().strip() not in result.output

    result = runner.invoke(main, [*args, "--output", str(tmp_path / "ex2"), "--json"])
    assert result.exit_code == 1
    import json

    report = json.loads(result.output)
    assert report["raw_rows"]["read"] == register.expected.read["registre"]

    key.chmod(0o644)
    result = runner.invoke(main, [*args, "--output", str(tmp_path / "ex3")])
    assert result.exit_code == 2 and "chmod 600" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "ex3").exists()


def test_mapping_check_needs_no_key(register, tmp_path):
    result = CliRunner().invoke(main, ["mapping-check", str(register.path), "--mapping", str(register.mapping),
                                       "--quarantine", str(tmp_path / "q.csv")])
    assert result.exit_code == 1, result.output
    assert f"{register.expected.read['registre']} rows read" in result.output
    assert "dropped: Nom, Prénom, Téléphone, Courriel, Observations" in result.output
    q = pl.read_csv(tmp_path / "q.csv")
    assert q.height == sum(register.expected.mapping_quarantine["registre"].values())
    result = CliRunner().invoke(main, ["mapping-check", str(register.path), "--mapping", "nope.yaml"])
    assert result.exit_code == 2 and "no such mapping file" in result.output


def test_init_key_respects_no_umask(tmp_path):
    old = os.umask(0)
    try:
        ps.init_key(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
