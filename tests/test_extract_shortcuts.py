"""The validation's shortcuts give the answers of the plain way, cell by cell.

Repeating text columns are checked for trimming through their distinct values, Enum columns are
typed through their categories, references are joined on 64-bit hashes of the ids (confirmed on
the ids), and the identifier sample is read in slices: each is compared here with the plain
computation on frames built to reach every branch (dirty and clean, few and many distinct
values, colliding hashes).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from workbench.contract.schema import TABLES, dtype_of
from workbench.extract import files, guard, parsing, references, rules
from workbench.extract.references import _HASH, _PARENT, _unmatched


def plain_clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell trimmed, empty cells null: the rule the reader applies."""
    return frame.with_columns(pl.col(c).str.strip_chars().replace("", None)
                              for c, t in frame.schema.items() if t == pl.String)


def distinct_of(frame: pl.DataFrame, column: str) -> list[str]:
    return sorted(frame[column].drop_nulls().unique().to_list())


@pytest.mark.parametrize("site", [
    ["tunis", "sfax"] * 3_000,                       # clean, few values
    ["tunis", " sfax", "", None] * 1_500,            # dirty, few values: spaces, empty
    ["  ", "tunis"] * 3_000,                         # a value of spaces only
])
def test_trimming_through_distinct_values_matches_every_cell(site):
    ids = [f"P{i:05d}" for i in range(len(site))]
    ids[7] = " P00007 "  # an identifier column (all distinct) checked cell by cell
    frame = pl.DataFrame({"person_id": ids, "site": site, "year": list(range(len(site)))})
    cleaned, distinct = files._clean_strings(frame)
    assert_frame_equal(cleaned, plain_clean(frame))
    assert set(distinct) == {"site"}  # person_id has as many values as rows: no distinct values kept
    assert sorted(distinct["site"].to_list()) == distinct_of(cleaned, "site")


def test_a_column_that_repeats_only_at_the_top_is_still_exact():
    # Few values in the first rows (taken for a code column), all different below: the answer
    # is the same, only the work is done through many distinct values.
    values = ["a"] * files._HEAD_ROWS + [f" v{i} " for i in range(5_000)]
    frame = pl.DataFrame({"note": values})
    cleaned, distinct = files._clean_strings(frame)
    assert_frame_equal(cleaned, plain_clean(frame))
    assert sorted(distinct["note"].to_list()) == distinct_of(cleaned, "note")


def _validate(frame: pl.DataFrame, distinct=None):
    return rules.validate_table(TABLES["persons"], frame, "persons.parquet", dt.date(2025, 12, 31),
                                codes={"site": frozenset({"tunis", "sfax"})}, distinct=distinct)


def _persons(n: int = 60) -> pl.DataFrame:
    sexes = ["female", "male", "unknown", "f", "Male", "x", "06 12 34 56 78"]
    return pl.DataFrame({
        "person_id": [f"P{i}" for i in range(n)] + ["P1"],  # one duplicate id
        "sex": [sexes[i % len(sexes)] for i in range(n + 1)],
        "birth_year": [1950 + i for i in range(n + 1)],
        "nationality": [["TUN", "CIV", "xxa", "ZZZ"][i % 4] for i in range(n + 1)],
        "legal_status": ["asylum_seeker"] * (n + 1),
        "registered_on": [dt.date(2024, 1, 1)] * (n + 1),
        "site": [["tunis", "sfax", "paris"][i % 3] for i in range(n + 1)],
    })


def test_an_enum_column_typed_through_its_categories_as_through_its_cells():
    frame = _persons()
    # The same values as an Enum with categories that no cell uses (and one that looks like a phone).
    categories = sorted(set(frame["sex"])) + ["other", "+216 23 706 433"]
    as_enum = frame.with_columns(pl.col("sex").cast(pl.Enum(categories)))
    good_text, bad_text, _ = _validate(frame)
    good_enum, bad_enum, _ = _validate(as_enum)
    assert bad_text.height > 0 and good_text.height > 0
    assert_frame_equal(good_enum, good_text)
    assert_frame_equal(bad_enum, bad_text)


def test_a_column_of_its_vocabulary_s_own_enum_is_typed_as_its_text_would_be():
    frame = _persons().with_columns(pl.Series("sex", (["female", "male", None, "unknown"] * 20)[:61]))
    own = frame.with_columns(pl.col("sex").cast(dtype_of(TABLES["persons"].column("sex"))))
    assert_frame_equal(_validate(own)[0], _validate(frame)[0])
    assert_frame_equal(_validate(own)[1], _validate(frame)[1])
    assert _validate(frame)[1].height > 0  # the other columns' rules still apply


def test_distinct_values_found_while_reading_give_the_same_answer():
    frame = _persons()
    known = {c: frame[c].drop_nulls().unique() for c in ("sex", "site", "nationality")}
    assert_frame_equal(_validate(frame, known)[0], _validate(frame)[0])
    assert_frame_equal(_validate(frame, known)[1], _validate(frame)[1])


@pytest.mark.parametrize("sites, unlisted", [(["tunis", "sfax", "paris"], True), (["tunis", " Sfax", None], False),
                                             (["TUNIS", "Paris Nord", "sfax"], True)])
def test_open_codes_checked_against_their_list_through_their_values_as_cell_by_cell(sites, unlisted, monkeypatch):
    frame = _persons().with_columns(pl.Series("site", [sites[i % 3] for i in range(61)]))
    through_values = _validate(frame)
    monkeypatch.setattr(parsing, "DISTINCT_LIMIT", 0)  # no distinct values: every cell is looked at
    cell_by_cell = _validate(frame)
    assert_frame_equal(through_values[0], cell_by_cell[0])
    assert_frame_equal(through_values[1], cell_by_cell[1])
    refused = through_values[1].filter(pl.col("reason").str.contains("not one of the codes listed"))
    assert (refused.height > 0) == unlisted


@pytest.mark.parametrize("quarantined", [False, True])
def test_a_table_read_in_pieces_is_validated_as_in_one(quarantined):
    n = 300_000  # more rows than the query's own pieces
    frame = pl.DataFrame({
        "person_id": [f"P{i}" for i in range(n)], "sex": ["female", "male"] * (n // 2),
        "birth_year": [1950 + i % 70 for i in range(n)], "nationality": ["TUN", "CIV", "xxa"] * (n // 3),
        "legal_status": ["asylum_seeker"] * n, "registered_on": [dt.date(2024, 1, 1)] * n,
        "site": ["tunis", "sfax", "sfax"] * (n // 3)})
    if quarantined:
        frame = frame.with_columns(pl.when(pl.int_range(n) % 1000 == 7).then(pl.lit("ZZZ"))
                                   .otherwise(pl.col("nationality")).alias("nationality"))
    size = frame.height // 5 + 1
    pieces = pl.concat([frame.slice(start, size) for start in range(0, frame.height, size)], rechunk=False)
    assert pieces.n_chunks("all") == [5] * pieces.width  # as a Parquet file's row groups are read
    good, bad, _ = _validate(pieces)
    assert_frame_equal(good, _validate(frame)[0])
    assert_frame_equal(bad, _validate(frame)[1])
    assert (bad.height > 0) == quarantined


def test_row_numbers_come_in_the_pieces_of_the_columns_when_these_line_up():
    """Then the query's columns line up and are kept as they are (no copy); else in one piece."""
    def pieces(series: pl.Series) -> list[int]:
        return [chunk.len() for chunk in series.get_chunks()]

    parts = pl.concat([pl.DataFrame({"a": [i] * 3, "b": ["x"] * 3}) for i in range(4)], rechunk=False)
    numbered = rules.numbered(parts)
    assert pieces(numbered[rules.ROW]) == pieces(numbered["a"]) == [3, 3, 3, 3]
    assert numbered[rules.ROW].to_list() == list(range(1, 13))
    uneven = parts.with_columns(pl.Series("b", ["y"] * 12))  # 'b' in one piece
    assert pieces(rules.numbered(uneven)[rules.ROW]) == [12]


CHILDREN = pl.LazyFrame({rules.ROW: [1, 2, 3, 4], "person_id": ["P1", "P2", "P9", "P1"]})
PARENTS = pl.DataFrame({_PARENT: ["P1", "P2", "P3"]}).with_columns(pl.col(_PARENT).hash().alias(_HASH))


def test_references_on_hashes_and_on_ids_agree():
    on_hashes = _unmatched(CHILDREN, "person_id", PARENTS).collect()
    on_ids = _unmatched(CHILDREN, "person_id", PARENTS.drop(_HASH)).collect()
    assert on_hashes[rules.ROW].to_list() == [3]
    assert_frame_equal(on_hashes.sort(rules.ROW), on_ids.sort(rules.ROW))
    assert _unmatched(CHILDREN, "person_id", None).collect()[rules.ROW].to_list() == [1, 2, 3, 4]  # no parent table


def test_a_hash_shared_by_another_id_is_not_a_match():
    # P9's hash given to the parent P3: the hashes meet, the ids differ, so P9 is still missing.
    forged = PARENTS.with_columns(
        pl.when(pl.col(_PARENT) == "P3").then(pl.lit("P9").hash()).otherwise(pl.col(_HASH)).alias(_HASH))
    assert _unmatched(CHILDREN, "person_id", forged).collect()[rules.ROW].to_list() == [3]


def test_parent_ids_sharing_a_hash_are_joined_as_written():
    clash = pl.DataFrame({_PARENT: ["P1", "P2"], _HASH: pl.Series([7, 7], dtype=pl.UInt64)})
    assert references.hashed(clash).columns == [_PARENT]
    assert references.hashed(PARENTS).columns == [_PARENT, _HASH]


def test_identifier_sample_read_in_slices_matches_the_whole_column():
    values = pl.Series([None] * 25_000 + ["", "  "] * 5_000 + [f" x{i} " for i in range(30_000)])
    whole = (pl.LazyFrame({"v": values}).with_row_index("row", offset=1).filter(pl.col("v").is_not_null())
             .with_columns(pl.col("v").str.strip_chars()).filter(pl.col("v") != "").head(guard.SAMPLE).collect())
    assert_frame_equal(guard._sample(values), whole)
    assert_series_equal(guard._sample(values[:10])["v"], pl.Series("v", [], dtype=pl.String))


def plain_numbers(ex) -> dict[str, pl.Series]:
    """Each record's person as a number, the plain way: its person's row in the persons table,
    joined on the pseudonyms (null when the person is not there)."""
    index = ex.tables["persons"].select("person_id").with_row_index("number")
    return {name: frame.select("person_id").join(index, on="person_id", how="left", maintain_order="left")["number"]
            for name, frame in ex.tables.items() if name != "persons" and "person_id" in frame.columns}


def _tangled(tmp_path):
    """A demo extract whose references break in every way: persons quarantined (their records
    follow), records naming no person, a legal action naming no case, a duplicate person."""
    from workbench.extract import demo

    frames = demo.generate(300, 3)
    persons = frames["persons"]
    frames["persons"] = pl.concat([
        persons.with_columns(pl.when(pl.int_range(pl.len()) % 17 == 0).then(pl.lit(1800)).otherwise(
            pl.col("birth_year")).cast(persons["birth_year"].dtype).alias("birth_year")),
        persons.head(1)])  # a duplicate id: the second row is quarantined, the first kept
    contacts = frames["contacts"]
    frames["contacts"] = contacts.with_columns(pl.when(pl.int_range(pl.len()) % 23 == 0).then(pl.lit("P-NOBODY"))
                                               .otherwise(pl.col("person_id")).alias("person_id"))
    legal = frames["legal_actions"]
    frames["legal_actions"] = legal.with_columns(pl.when(pl.int_range(pl.len()) % 5 == 0).then(pl.lit("C-NONE"))
                                                 .otherwise(pl.col("case_id")).alias("case_id"))
    return demo.write_frames(frames, tmp_path / "tangled", seed=3)


def test_person_numbers_found_with_the_references_are_those_of_the_plain_join(tmp_path, monkeypatch):
    from workbench import extract
    from workbench.extract import cache

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    ex = extract.load(_tangled(tmp_path))
    rules_broken = set(ex.quarantine["rule"].to_list())
    assert {"missing_reference", "quarantined_parent", "duplicate_id", "out_of_range"} <= rules_broken
    expected = plain_numbers(ex)
    assert set(expected) >= {"contacts", "cases", "legal_actions"}
    for name, numbers in expected.items():
        found = cache.numbers_of(ex.tables[name])  # attached while validating, no join on pseudonyms
        assert found is not None, name
        assert_series_equal(found, numbers.rename("number"))
    assert {n: f["number"] for n, f in cache.person_numbers(ex).items()}.keys() == expected.keys()


def test_person_ids_sharing_a_hash_fall_back_to_the_join_on_pseudonyms(tmp_path, monkeypatch):
    from workbench import extract
    from workbench.extract import cache

    monkeypatch.setenv(cache.ENV_CACHE, "off")
    monkeypatch.setattr(references, "hashed", lambda keys, apart=False: keys.drop(_HASH))  # as if two ids shared a hash
    ex = extract.load(_tangled(tmp_path))
    assert all(cache.numbers_of(frame) is None for frame in ex.tables.values())
    numbers = cache.person_numbers(ex)  # joined on the pseudonyms instead: the same answer
    for name, expected in plain_numbers(ex).items():
        assert_series_equal(numbers[name]["number"], expected)


def test_a_person_number_is_never_given_for_a_hash_shared_by_another_id():
    keys = pl.DataFrame({_PARENT: ["P1", "P2", "P3"]}).with_row_index(references.NUMBER).with_columns(
        pl.col(_PARENT).hash().alias(_HASH))
    forged = keys.with_columns(  # P9's hash given to P3: the hashes meet, the ids differ
        pl.when(pl.col(_PARENT) == "P3").then(pl.lit("P9").hash()).otherwise(pl.col(_HASH)).alias(_HASH))
    rows = pl.DataFrame({"person_id": ["P1", "P9", None, "P2", "P3", "P1"]})
    numbers = references._numbered(rows, "person_id", forged)
    assert numbers.to_list() == [0, None, None, 1, None, 0]
    assert references._numbered(rows, "person_id", keys).to_list() == [
        0, None, None, 1, 2, 0]


def _person_tables() -> dict[str, pl.DataFrame]:
    """Persons and the tables naming them, with the cases one join must not get wrong: a missing
    person, nulls, a pseudonym repeated, one with spaces around it (not the same id), an empty table."""
    persons = pl.DataFrame({"person_id": ["P1", "P2", "P3", "P4"]})
    return {
        "persons": persons.with_row_index(rules.ROW, offset=1).with_columns(pl.col(rules.ROW).cast(pl.Int64)),
        "contacts": pl.DataFrame({rules.ROW: [1, 2, 3, 4, 5, 6], "contact_id": [f"C{i}" for i in range(6)],
                                  "person_id": ["P2", "P9", None, "P2", " P1", "P4"]}),
        "cases": pl.DataFrame({rules.ROW: [1, 2], "case_id": ["K1", "K2"], "person_id": ["P3", "P1"]}),
        "protection_flags": pl.DataFrame({rules.ROW: [], "person_id": []},
                                         schema={rules.ROW: pl.Int64, "person_id": pl.String}),
        "appointments": pl.DataFrame({rules.ROW: [1, 2, 3], "appointment_id": ["A1", "A2", "A3"],
                                      "person_id": [None, "P4", "P0"]}),
    }


def _joined_on_ids(tables: dict[str, pl.DataFrame]) -> dict[str, pl.Series]:
    """The plain computation: each table joined to the persons on the ids as written."""
    persons = tables["persons"].select("person_id").with_row_index(references.NUMBER)
    return {name: frame.join(persons, on="person_id", how="left", maintain_order="left")[references.NUMBER]
            for name, frame in tables.items() if name != "persons"}


def _on_persons(tables: dict[str, pl.DataFrame]) -> dict[str, tuple]:
    persons = references.Parent.checked("persons", tables["persons"], _NO_QUARANTINE, "persons.csv")
    return {name: references.on_persons(name, frame, _NO_QUARANTINE, f"{name}.csv", persons)
            for name, frame in tables.items() if name != "persons"}


_NO_QUARANTINE = pl.DataFrame(schema={**rules.QUARANTINE_SCHEMA, rules.QUARANTINE_ID: pl.String})


def test_person_numbers_found_against_the_persons_are_those_of_the_join_on_ids():
    tables = _person_tables()
    found = _on_persons(tables)
    for name, (accepted, quarantined, early) in found.items():
        assert early.settled  # these tables name the persons only: their references are all checked
        kept = _joined_on_ids({"persons": tables["persons"], name: accepted})[name]
        assert_series_equal(early.numbers[references.NUMBER], kept, check_names=False)
        assert accepted.height + quarantined.height == tables[name].height
    contacts, bad, early = found["contacts"]
    assert early.numbers[references.NUMBER].to_list() == [1, None, 1, 3]  # P9 and ' P1' set aside
    assert bad["rule"].to_list() == ["missing_reference", "missing_reference"] and bad["row"].to_list() == [2, 5]
    assert found["appointments"][2].numbers[references.NUMBER].to_list() == [None, 3]
    assert found["protection_flags"][2].numbers.height == 0


def test_a_table_naming_cases_too_gets_its_numbers_early_and_its_references_checked_later():
    tables = _person_tables()
    tables["referrals"] = pl.DataFrame({rules.ROW: [1, 2, 3], "referral_id": ["R1", "R2", "R3"],
                                        "person_id": ["P1", "P7", None], "case_id": ["K1", None, "K9"]})
    accepted, quarantined, early = _on_persons(tables)["referrals"]
    assert not early.settled and accepted.height == 3 and quarantined.height == 0  # all rows, checked later
    assert early.numbers[references.NUMBER].to_list() == [0, None, None]


def test_person_numbers_against_the_persons_never_match_a_hash_shared_by_another_id(monkeypatch):
    tables = _person_tables()

    def forged(keys: pl.DataFrame, apart: bool = False) -> pl.DataFrame:  # P9's hash given to P3: the hashes meet, the ids differ
        return keys.with_columns(pl.when(pl.col(_PARENT) == "P3").then(pl.lit("P9").hash())
                                 .otherwise(pl.col(_HASH)).alias(_HASH))

    monkeypatch.setattr(references, "hashed", forged)
    found = _on_persons(tables)
    assert found["contacts"][2].numbers[references.NUMBER].to_list() == [1, None, 1, 3]  # P9 not P3's 2
    monkeypatch.setattr(references, "hashed", lambda keys, apart=False: keys.drop(_HASH))  # two persons share a hash
    assert all(early is None for _, _, early in _on_persons(tables).values())  # then joined on the ids later


def test_a_parent_without_an_id_does_not_shift_the_numbers_of_the_others():
    parents = {"persons": pl.DataFrame({"person_id": ["P1", None, "P3", "P4"]})}
    keys = references._parent_keys("persons", parents, {})
    rows = pl.DataFrame({"person_id": ["P3", "P1", None, "P2", "P4"]})
    assert references._numbered(rows, "person_id", keys).to_list() == [2, 0, None, None, 3]


def test_the_column_rules_are_dataframely_s():
    """Presence and bounds are dataframely's rules for each contract column (written without importing it)."""
    import dataframely as dy

    for table in TABLES.values():
        for column in table.columns:
            nullable = not column.required
            declared = (dy.Int32(nullable=nullable, min=rules.MIN_BIRTH_YEAR, max=2025) if column.kind == "year"
                        else dy.Int64(nullable=nullable, min=0) if column.kind == "count"
                        else dy.String(nullable=nullable))
            theirs = {f"{column.name}|{rule}": expr
                      for rule, expr in declared.validation_rules(pl.col(column.name)).items()}
            ours = rules._column_rules(column, 2025)
            assert list(ours) == list(theirs), (table.name, column.name)
            assert all(ours[k].meta.eq(theirs[k]) for k in ours), (table.name, column.name)


@pytest.mark.parametrize("values", [
    ["tunis", "sfax", None, " sousse "],                        # codes: nothing to sample
    ["+216 98 765 432", "+216 22 333 444", None] * 2,           # phones, few of them
    ["Amira Ben Salah", "Jean Dupont", "Fatou Diallo", "Omar Haddad", "Lina Roy"] * 3,  # names
    ["a@b.org", "tunis"] * 3,                                   # one e-mail among codes
])
@pytest.mark.parametrize("as_enum", [False, True])
def test_a_column_looked_at_through_its_values_is_refused_as_its_sample_would_be(values, as_enum):
    frame = pl.DataFrame({"site": values, "note": values})
    if as_enum:
        frame = frame.with_columns(pl.col("site", "note").cast(pl.Enum(sorted({v for v in values if v}))))
    distinct = {c: frame[c].drop_nulls().unique().cast(pl.String) for c in frame.columns}

    def outcome(**kwargs):
        try:
            guard.check_columns("contacts", "contacts.csv", frame, content_columns=["site", "note"],
                                name_content_columns=["note"], **kwargs)
        except Exception as exc:  # the error as a user reads it
            return type(exc), str(exc)
        return None

    assert outcome(distinct=distinct) == outcome()
    assert (outcome() is None) == (values[0] == "tunis")  # only the codes pass


@pytest.mark.parametrize("rows, taken", [([1, 2, 3, 5, 8], [8, 2]), ([1, 2, 3], []), ([4, 1, 2], [2]), ([], [3]),
                                         ([1, 2, 3], [9]), ([1, 3], [2]), ([], [])])
def test_rows_set_aside_found_by_their_places_as_by_looking_each_up(rows, taken):
    rows, taken = pl.Series(rules.ROW, rows, dtype=pl.Int64), pl.Series(rules.ROW, taken, dtype=pl.Int64)
    assert references._all_but(rows, taken).to_list() == (~rows.is_in(taken.implode())).to_list()


def _ids(ids: list[str | None]) -> pl.DataFrame:
    return rules.numbered(pl.DataFrame({"person_id": ids}, schema={"person_id": pl.String}))


@pytest.mark.parametrize("ids, repeated", [(["P1", "P2", None, "P3"], []), (["P1", "P2", "P1", None, "P1"], [3, 5])])
def test_ids_whose_hashes_meet_only_when_repeated_are_apart(ids, repeated):
    rows, apart = rules._repeated_rows(_ids(ids), "person_id")
    assert rows.to_list() == repeated and apart


def test_different_ids_sharing_a_hash_are_not_apart_and_not_repeated(monkeypatch):
    forged = lambda frame, column: frame.select(  # noqa: E731  P2 and P3 given P1's hash
        pl.when(pl.col(column).is_not_null()).then(pl.lit("P1").hash()).alias("h")).to_series()
    monkeypatch.setattr(rules, "_id_hashes", forged)
    rows, apart = rules._repeated_rows(_ids(["P1", "P2", "P3", "P2"]), "person_id")
    assert rows.to_list() == [4] and not apart


def test_parent_keys_of_ids_known_apart_are_those_found_by_sorting_the_hashes():
    persons = _persons().filter(pl.col("person_id").is_first_distinct())
    good, _, apart = _validate(persons)
    assert apart
    on_trust = references.Parent.checked("persons", good, pl.DataFrame(), "persons.parquet", ids_apart=apart)
    checked = references.Parent.checked("persons", good, pl.DataFrame(), "persons.parquet")
    assert_frame_equal(on_trust.keys, checked.keys)
    assert _HASH in checked.keys.columns


@pytest.mark.parametrize("column", ["sex", "nationality"])
@pytest.mark.parametrize("compared", [0, 6, 300])
def test_codes_matched_one_by_one_or_cast_are_the_same(column, compared, monkeypatch):
    monkeypatch.setattr(files, "_COMPARED_CODES", compared)
    dtype = dtype_of(TABLES["persons"].column(column))
    cells = [*dtype.categories, None, "Male", " female", "", "M", "tun", "TUN ", "unknown"]
    frame = pl.DataFrame({column: cells}, schema={column: pl.String})
    found = frame.select(files._as_code(column, dtype)).to_series()
    assert_series_equal(found, frame[column].cast(dtype, strict=False))
    assert found.dtype == dtype


def test_vocabulary_facts_found_at_once_are_those_found_one_vocabulary_at_a_time():
    for column in {c.vocab: c for t in TABLES.values() for c in t.columns if c.kind == "vocab"}.values():
        codes = pl.Series("u", dtype_of(column).categories, dtype=pl.String).to_frame()
        typed = codes.select(parsing._parse(column, pl.col("u"), pl.String)).to_series().equals(codes["u"])
        plain = codes.select(guard.cell_kind_expr(pl.col("u"), names=False).is_null().all()).item()
        assert (parsing._codes_as_typed(column), parsing._own_enum_as_is(column)) == (typed, typed and plain), column
