"""Raw values never echo, identifiers in the wrong column never pass.

A careless clerk types a phone number in "Site", a name in a date column, an e-mail in "Sexe",
an authority file number anywhere. Hypothesis plants such values (generated names, phones in
several national formats, e-mails, AGDREF/UNHCR/passport numbers), alone or with spaces, in
every mapped column of each synthetic raw export of ``tests/rawdata.py``; the export then goes
through ``mapping-check``, ``pseudonymise``, the load and the indicators. None of the planted
strings (nor their digits) may reach a file of the output folder, the captured output or the
log, and rows read = accepted + quarantined.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import rawdata
from conftest import META, valid_rows

from workbench import disclosure, extract
from workbench.cli.main import main
from workbench.exceptions import IdentifierColumnError
from workbench.extract import guard
from workbench.prepare import mapping
from workbench.prepare import pseudonymise as ps

KINDS = {"register_fr": ("register_fr", {"persons": 12}), "kobo": ("kobo", {"persons": 12}),
         "primero": ("primero", {"cases": 10})}

_UPPER = "BDFGKLMNPRSTVZ"
_LOWER = "aeiouy"
syllable = st.builds(lambda c, v: c + v, st.sampled_from(_UPPER.lower()), st.sampled_from(_LOWER))
word = st.lists(syllable, min_size=2, max_size=3).map(lambda s: "".join(s).capitalize())
names = st.lists(word, min_size=2, max_size=3).map(" ".join)
d = st.integers(0, 9).map(str)


def _digits(n: int):
    return st.lists(d, min_size=n, max_size=n).map("".join)


phones = st.one_of(
    st.builds(lambda a, b, c: f"+216 {a} {b} {c}", _digits(2), _digits(3), _digits(3)),        # Tunisia
    st.builds(lambda a: "06 " + " ".join(a[i:i + 2] for i in range(0, 8, 2)), _digits(8)),     # France
    st.builds(lambda a: "+33" + a, _digits(9)),
    st.builds(lambda a, b: f"+225 07 {a} {b}", _digits(4), _digits(4)),                       # Côte d'Ivoire
    st.builds(lambda a, b: f"0044 7{a} {b}", _digits(3), _digits(6)),                          # UK
)
emails = st.builds(lambda u, n, h: f"{u.lower()}{n}@{h.lower()}.org", word, _digits(3), word)
file_numbers = st.one_of(
    _digits(10).map(lambda s: "7" + s[1:]),                                                   # AGDREF
    st.builds(lambda a, b, c: f"{a}-{b}C{c}", _digits(3), _digits(2), _digits(5)),            # UNHCR case
    st.builds(lambda a: "AB" + a, _digits(7)),                                                # passport
)
identifiers = st.one_of(names, phones, emails, file_numbers)
forms = st.sampled_from(["{}", "  {}  ", " {}"])


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "k.key"
    ps.init_key(path)
    return path


@pytest.fixture(scope="module", params=list(KINDS))
def export(request, tmp_path_factory):
    """(kind, mapping data, {source: text frame with headers as written}) of one raw export."""
    kind, kwargs = KINDS[request.param]
    base = tmp_path_factory.mktemp(request.param)
    fx = rawdata.make(kind, base / "raw", **kwargs)
    m = mapping.load_mapping(fx.mapping)
    data = yaml.load(fx.mapping.read_text(encoding="utf-8"), Loader=mapping._Loader)
    frames = {}
    for name, raw in mapping.read_sources(m, fx.path).items():
        frame = raw.frame.drop("wb_row")
        frames[name] = frame.rename({f"wb_c{i}": h or f"blank_{i}" for i, h in enumerate(raw.headers)})
    return request.param, data, frames


def _planted_columns(data: dict, source: str) -> list[str]:
    """Raw columns mapped to a field that is not pseudonymised (those may hold identifiers)."""
    out = []
    for raw, rule in data["sources"][source]["columns"].items():
        if rule == "drop" or rule is None or (isinstance(rule, dict) and (rule.get("pseudonym") or rule.get("drop"))):
            continue
        out.append(raw)
    return out


def _scan(folder: Path) -> str:
    texts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            texts.append(pl.read_parquet(path).cast(pl.String).write_csv())
        elif path.suffix == ".xlsx":
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True)
            texts += [" ".join(str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None)
                      for ws in book.worksheets]
        else:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def _leaks(planted: list[str], text: str) -> list[str]:
    found = []
    flat = re.sub(r"\D", "", text)
    for value in planted:
        digits = re.sub(r"\D", "", value)
        if value.strip() in text or (len(digits) >= 7 and digits in flat):
            found.append(value)
    return found


@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plants=st.lists(st.tuples(identifiers, forms, st.integers(0, 10_000), st.integers(0, 10_000)),
                       min_size=3, max_size=8))
def test_planted_identifiers_never_reach_an_output(export, key, tmp_path_factory, caplog, plants):
    kind, data, frames = export
    work = tmp_path_factory.mktemp("run")
    raw = work / "raw"
    raw.mkdir()
    cells: dict[tuple[str, int, str], str] = {}
    data = yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))
    for n, (source, frame) in enumerate(frames.items()):
        columns = _planted_columns(data, source)
        rows = frame.to_dicts()
        for value, form, column_pick, row_pick in plants:
            column = columns[(column_pick + n) % len(columns)]
            rows[row_pick % len(rows)][column] = form.format(value)
            cells[(source, row_pick % len(rows), column)] = value  # a later plant in the same cell wins
        pl.DataFrame(rows, schema={c: pl.String for c in frame.columns}).write_csv(raw / f"{source}.csv")
        spec = data["sources"][source]
        spec["file"] = f"{source}.csv"
        spec["delimiter"] = ","
        spec.pop("sheet", None)
        spec.pop("header_row", None)
    planted = list(cells.values())
    mapping_file = work / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = work / "extract"
    runner = CliRunner()
    with caplog.at_level(logging.DEBUG):
        check = runner.invoke(main, ["mapping-check", str(raw), "--mapping", str(mapping_file),
                                     "--quarantine", str(out.parent / "check-quarantine.csv")])
        run = runner.invoke(main, ["pseudonymise", str(raw), "--mapping", str(mapping_file), "--key-file", str(key),
                                   "--output", str(out)])
        assert run.exit_code in (0, 1), run.output
        ex = extract.load(out)
        figures = runner.invoke(main, ["indicators", str(out), "-p", "2024", "-b", "sex", "-b", "site", "-f", "csv",
                                       "-o", str(out.parent / "indicators.csv")])
        assert figures.exit_code == 0, figures.output
        by_nationality = disclosure.compute(ex, "2024", by=["nationality"]).frame.write_csv()
    captured = "\n".join([check.output, run.output, figures.output, caplog.text, by_nationality])
    assert check.exit_code in (0, 1), check.output
    assert _leaks(planted, captured) == []
    assert _leaks(planted, _scan(out)) == []
    assert _leaks(planted, (out.parent / "check-quarantine.csv").read_text(encoding="utf-8")) == []
    assert _leaks(planted, (out.parent / "indicators.csv").read_text(encoding="utf-8")) == []
    assert sorted(_leaks(planted, _scan(raw))) == sorted(planted)  # the plants were written where we looked
    report = yaml.safe_load((out / "mapping" / "mapping-report.json").read_text(encoding="utf-8"))
    for source in report["sources"]:
        assert source["read"] == source["mapped"] + source["quarantined"]
    for t in report["tables"]:
        assert t["rows"] == t["accepted"] + t["quarantined"]
    # every planted value was caught: it sits in a quarantined row (or was one the mapping could map)
    q = pl.read_csv(out / "mapping" / "quarantine.csv", infer_schema=False)
    assert q.filter(pl.col("rule") == guard.IDENTIFIER_RULE).height >= 1


@pytest.mark.parametrize(("value", "shape"), [
    ("+216 23 706 433", "+### ## ### ###"), ("Amadou Diallo", "Aaaaaa Aaaaaa"), ("ab@cd.org", "aa@aa.aaa"),
    ("Élodie\nÇa", "Aaaaaa Aa"), ("x" * 30, "a" * 24 + "…"), (None, None),
])
def test_the_mask_keeps_the_shape_only(value, shape):
    assert guard.mask(value) == shape


@pytest.mark.parametrize(("value", "kind"), [
    ("+216 23 706 433", "phone"), ("06 12 34 56 78", "phone"), ("appeler le 23 706 433", "phone"),
    ("x.y@example.org", "email"), ("123-12C12345", "authority"), ("AB1234567", "authority"),
    ("Kamo Ture", "name"), ("2024-03-15", None), ("15/03/2024", None), ("tunis_centre", None), ("male", None),
])
def test_cells_shaped_like_identifiers(value, kind):
    assert pl.select(guard.cell_kind_expr(pl.lit(value))).item() == kind


# --- the load: a stray identifier quarantines its row, a column of them refuses the extract -------

_REMARKS = ["vu ce matin", "dossier complet", "", "rdv le 12", "attend la réponse"]


def _contacts_with(column: str, values: dict[int, str]) -> list[dict[str, str]]:
    """The valid contacts, ``column`` holding ordinary remarks (or the valid code) except ``values``."""
    rows = valid_rows("contacts")
    return [{**r, column: values.get(i, r.get(column, _REMARKS[i % len(_REMARKS)]))} for i, r in enumerate(rows)]


@pytest.mark.parametrize(("column", "value", "planted", "kind"), [
    ("remarque", "écrire à amina.k@example.org", "amina.k@example.org", "e-mail addresses"),
    ("remarque", "rappeler au +216 23 706 433", "+216 23 706 433", "phone numbers"),
    ("remarque", "AGDREF 7501234567", "7501234567", "identity or case-file numbers"),
    ("site", "amina.k@example.org", "amina.k@example.org", "e-mail addresses"),
])
def test_a_stray_identifier_at_load_quarantines_its_row(make_extract, tmp_path, column, value, planted, kind):
    folder = make_extract({"contacts": _contacts_with(column, {1: value})})
    ex = extract.load(folder)
    q = ex.quarantine.to_dicts()
    assert [(r["table"], r["row"], r["column"], r["value"], r["rule"]) for r in q] == [
        ("contacts", 2, column, guard.mask(value), guard.IDENTIFIER_RULE)]
    assert kind in q[0]["reason"]
    assert ex.reports["contacts"].read == ex.reports["contacts"].accepted + 1
    # the CLI's output and the quarantine file show neither the value nor its digits
    out = tmp_path / "q.csv"
    result = CliRunner().invoke(main, ["validate", str(folder), "--quarantine", str(out)])
    assert result.exit_code == 1, result.output
    assert _leaks([planted], result.output + out.read_text(encoding="utf-8")) == []


def test_a_column_of_e_mails_still_refuses_the_extract_and_a_pseudonym_column_refuses_one(make_extract):
    rows = _contacts_with("contact", {i: f"user{i}@example.org" for i in range(3)})
    with pytest.raises(IdentifierColumnError, match="column 'contact' holds values that look like e-mail"):
        extract.load(make_extract({"contacts": rows}))
    persons = valid_rows("persons")
    persons[2]["person_id"] = "someone@example.org"
    with pytest.raises(IdentifierColumnError, match="column 'person_id' holds values that look like e-mail") as err:
        extract.load(make_extract({"persons": persons}))
    assert "someone" not in str(err.value)


def test_labels_are_not_names(make_extract):
    """Names are a whole-column test at load: "Paris Nord" in an extra column is no one's name."""
    rows = _contacts_with("antenne", {0: "Paris Nord", 1: "Saint Denis", 2: "Paris Nord"})
    ex = extract.load(make_extract({"contacts": rows}))
    assert ex.quarantine.height == 0
    assert ex.tables["contacts"]["antenne"].to_list()[:3] == ["Paris Nord", "Saint Denis", "Paris Nord"]


def test_an_unlisted_site_is_an_unknown_code_not_an_identifier(make_extract):
    assert "paris_nord" in META["sites"]
    persons = valid_rows("persons") + [{**valid_rows("persons")[0], "person_id": "P099", "site": "Nouveau Site"}]
    ex = extract.load(make_extract({"persons": persons}))
    assert ex.quarantine.select("row", "column", "value", "rule").rows() == [(5, "site", "Aaaaaaa Aaaa",
                                                                              "unknown_code")]


def test_combine_never_echoes_a_member_s_quarantined_values(make_extract, tmp_path):
    """A member's quarantine is carried into the combined one as it was: masked."""
    value = "écrire à amina.k@example.org ou +216 23 706 433"
    nord = make_extract({"contacts": _contacts_with("remarque", {1: value})}, name="nord")
    sud = make_extract(name="sud")
    out = tmp_path / "reseau"
    result = CliRunner().invoke(main, ["combine", f"nord={nord}", f"sud={sud}", "--output", str(out)])
    assert result.exit_code == 1, result.output
    q = pl.read_csv(out / "combine" / "quarantine.csv", infer_schema=False)
    assert q.select("file", "row", "column", "rule").rows() == [("nord/contacts.csv", "2", "remarque", "identifier")]
    planted = ["amina.k@example.org", "+216 23 706 433"]
    assert _leaks(planted, result.output) == [] and _leaks(planted, _scan(out)) == []


def test_a_header_only_table_with_an_open_code_column_is_read_empty(make_extract):
    """The per-cell check of an open code column without a list (referrals' partner) on no rows."""
    from workbench.contract.schema import TABLES

    header = ",".join(TABLES["referrals"].column_names) + "\n"
    ex = extract.load(make_extract({"referrals": header}))
    assert ex.tables["referrals"].height == 0 and ex.reports["referrals"].read == 0
    assert ex.quarantine.height == 0
