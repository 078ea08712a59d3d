"""Combining organisations' extracts: ids kept apart, `organisation` on every table and as a
breakdown whose categories add up to the total, labels merged, clashes refused, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import META
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.prepare import combine as comb
import rawdata
from workbench import extract
from workbench import disclosure, indicators
from workbench.prepare import pseudonymise as ps
from workbench.cli.main import main
from workbench.exceptions import ParameterError
from workbench.contract.schema import TABLES


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> dict[str, Path]:
    """Two organisations' extracts (a register and a Kobo export), each with its own key."""
    base = tmp_path_factory.mktemp("members")
    out = {}
    for kind, kwargs in (("register_fr", {"persons": 30}), ("kobo", {"persons": 25})):
        fx = rawdata.make(kind, base / f"raw_{kind}", **kwargs)
        ps.init_key(base / f"{kind}.key")
        out[kind] = ps.pseudonymise(fx.path, fx.mapping, base / f"{kind}.key", base / f"ex_{kind}").output
    return out


@pytest.fixture(scope="module")
def combined(members, tmp_path_factory):
    return comb.combine([members["register_fr"], members["kobo"]], tmp_path_factory.mktemp("net") / "reseau",
                        name="Réseau test")


def test_every_table_has_the_organisation_and_ids_are_prefixed(combined, members):
    ex = combined.extract
    loaded = {k: extract.load(v) for k, v in members.items()}
    for table, frame in ex.tables.items():
        assert "organisation" in frame.columns
        assert set(frame["organisation"].unique()) <= {"permanence_tunis", "reseau_sud"}
        for column in (c.name for c in TABLES[table].columns if c.kind == "id"):
            values = frame[column].drop_nulls()
            assert values.str.contains(r"^(permanence_tunis|reseau_sud):[A-Z][0-9a-f]{16}$").all(), column
    for table in ("persons", "contacts"):
        assert ex.table(table).height == sum(e.table(table).height for e in loaded.values())
    assert ex.quarantine.height == 0
    assert ex.meta.extracted_on.isoformat() == "2025-01-15" and ex.meta.organisation == "Réseau test"
    meta = (combined.output / "extract.yaml").read_text(encoding="utf-8")
    assert "organisations:" in meta and "key_fingerprint" in meta


@pytest.mark.parametrize("indicator", ["persons_received", "contacts", "new_persons"])
def test_organisation_breakdown_adds_up_to_the_total(combined, indicator):
    table = disclosure.compute(combined.extract, "2024", indicators=[indicator], by=["organisation"]).frame
    total = table.filter(pl.col("organisation").is_null())["value"].item()
    parts = table.filter(pl.col("organisation").is_not_null())
    assert set(parts["organisation"]) == {"permanence_tunis", "reseau_sud"}
    assert parts["value"].sum() == total > 0


def test_each_member_figure_is_the_member_own_figure(combined, members):
    table = disclosure.compute(combined.extract, "2024-Q2", indicators=["persons_received", "contacts"],
                               by=["organisation"]).frame
    codes = {"register_fr": "permanence_tunis", "kobo": "reseau_sud"}
    for kind, path in members.items():
        own = disclosure.compute(extract.load(path), "2024-Q2", indicators=["persons_received", "contacts"]).frame
        part = table.filter(pl.col("organisation") == codes[kind])
        assert part["value"].to_list() == own["value"].to_list()


def test_member_quarantine_is_carried_and_counted(combined, members):
    register = extract.load(members["register_fr"])
    assert register.quarantined > 0
    assert combined.quarantine.height == register.quarantined
    assert combined.exit_code == 1
    q = pl.read_csv(combined.output / "combine" / "quarantine.csv")
    assert q["file"].str.starts_with("permanence_tunis/").all()
    report = json.loads((combined.output / "combine" / "combine-report.json").read_text(encoding="utf-8"))
    assert [m["organisation"] for m in report["members"]] == ["permanence_tunis", "reseau_sud"]
    for m in report["members"]:
        assert m["read"] == m["accepted"] + m["quarantined"]


def test_the_order_of_the_members_does_not_matter(combined, members, tmp_path):
    other = comb.combine([members["kobo"], members["register_fr"]], tmp_path / "other", name="Réseau test")
    for name in ("persons.parquet", "contacts.parquet", "extract.yaml"):
        assert (other.output / name).read_bytes() == (combined.output / name).read_bytes()


def test_clashing_codes_are_refused_and_can_be_renamed(members, tmp_path):
    with pytest.raises(comb.CombineError, match="both have the organisation code 'permanence_tunis'"):
        comb.combine([members["register_fr"], members["register_fr"]], tmp_path / "x")
    assert not (tmp_path / "x").exists()
    out = comb.combine([f"a={members['register_fr']}", f"b={members['register_fr']}"], tmp_path / "y")
    persons = out.extract.table("persons")
    assert persons.height == 2 * extract.load(members["register_fr"]).table("persons").height
    assert persons["person_id"].n_unique() == persons.height  # the same pseudonyms, kept apart
    assert out.report["shared_keys"] == [["a", "b"]]
    with pytest.raises(comb.CombineError, match="cannot be an organisation code"):
        comb.combine([f"A B={members['kobo']}"], tmp_path / "z")


def test_a_combined_extract_cannot_be_combined_again(combined, members, tmp_path):
    with pytest.raises(comb.CombineError, match="already a combined extract"):
        comb.combine([combined.output, members["kobo"]], tmp_path / "again")


def test_an_unreadable_member_is_named(members, tmp_path):
    with pytest.raises(Exception, match=r"cannot combine .*nowhere"):
        comb.combine([members["kobo"], tmp_path / "nowhere"], tmp_path / "out")
    with pytest.raises(ParameterError, match="not empty"):
        comb.combine([members["kobo"]], members["register_fr"])


def test_site_labels_are_merged_or_kept_apart(make_extract, tmp_path):
    a = make_extract(all_tables=False, meta={**META, "organisation": "Asso Nord"}, name="a")
    b = make_extract(all_tables=False, meta={**META, "organisation": "Asso Sud",
                                             "sites": {"paris_nord": "Paris Nord", "marseille": "Marseille Joliette"}},
                     name="b")
    out = comb.combine([a, b], tmp_path / "net")
    sites = out.extract.meta.sites
    assert sites["paris_nord"] == "Paris Nord"  # same code, same label: one place
    assert sites["asso_nord_marseille"] == "Marseille (asso_nord)"
    assert sites["asso_sud_marseille"] == "Marseille Joliette (asso_sud)"
    persons = out.extract.table("persons")
    assert set(persons.filter(pl.col("organisation") == "asso_sud")["site"]) == {"paris_nord", "asso_sud_marseille"}
    assert any("marseille" in w for w in out.report["warnings"])
    by_site = disclosure.compute(out.extract, "2024", indicators=["new_persons"], by=["site"]).frame
    assert by_site.filter(pl.col("site").is_not_null())["value"].sum() == by_site["value"][0]


@given(st.lists(st.sampled_from(["nord", "sud", "est", "ouest"]), min_size=1, max_size=4, unique=True))
@settings(max_examples=8, deadline=None)
def test_any_set_of_members_partitions_persons(tmp_path_factory, codes):
    """Combining k copies of one extract under k codes: each organisation's persons are the member's,
    and the breakdown by organisation adds up to the total."""
    from conftest import write_extract

    base = tmp_path_factory.mktemp("prop")
    source = write_extract(base / "one", all_tables=False)
    out = comb.combine([f"{c}={source}" for c in codes], base / "net")
    table = disclosure.compute(out.extract, "2024", indicators=["persons_received"], by=["organisation"]).frame
    parts = table.filter(pl.col("organisation").is_not_null())
    assert sorted(parts["organisation"]) == sorted(codes)
    assert parts["value"].sum() == table["value"][0] == 4 * len(codes)


def test_command_line(members, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["combine", f"tunis={members['register_fr']}", str(members["kobo"]), "--output",
                                  str(tmp_path / "net"), "--name", "Réseau"])
    assert result.exit_code == 1, result.output  # the register had quarantined rows
    assert "tunis:" in result.output and "reseau_sud:" in result.output
    out = runner.invoke(main, ["indicators", str(tmp_path / "net"), "-p", "2024", "-i", "contacts", "-b",
                               "organisation"])
    assert out.exit_code == 0, out.output
    assert "contacts,2024,tunis," in out.output and "contacts,2024,reseau_sud," in out.output
    result = runner.invoke(main, ["combine", str(members["kobo"]), str(members["kobo"]), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "CODE1=" in result.output
