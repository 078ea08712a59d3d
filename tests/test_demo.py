"""The demo extract generator: contract-clean, deterministic, plausible and fast."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from workbench.extract import demo

from workbench.contract import schema
from workbench.exceptions import ParameterError

EXTRACTED_ON = dt.date(2026, 1, 15)
EXTRA_NATIONALITIES = {"XXA", "unknown"}


@pytest.fixture(scope="module")
def extract() -> dict[str, pl.DataFrame]:
    return demo.generate(2000, seed=7)


@pytest.fixture(scope="module", params=["legal_aid", "detention", "child_protection"])
def profile_extract(request) -> tuple[str, dict[str, pl.DataFrame]]:
    return request.param, demo.generate(1500, seed=11, profile=request.param)


def contract_violations(frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Count the rows breaking each contract rule; a clean extract gives only zeros."""
    out: dict[str, int] = {}

    def count(label: str, frame: pl.DataFrame, condition: pl.Expr) -> None:
        out[label] = frame.filter(condition).height

    for name, frame in frames.items():
        table = schema.TABLES[name]
        for column in table.required_columns:
            count(f"{name}.{column} required", frame, pl.col(column).is_null())
        if table.id_column:
            count(f"{name}.{table.id_column} unique", frame, pl.col(table.id_column).is_duplicated())
        for order in table.date_order:
            if not {order.later, order.earlier} <= set(frame.columns):
                continue  # optional columns no profile draws
            count(f"{name}.{order.later} >= {order.earlier}", frame, pl.col(order.later) < pl.col(order.earlier))
        present = set(frame.columns)
        for rule in table.required_when:
            if not {rule.column, rule.when} <= present:
                continue
            when = pl.col(rule.when).is_not_null()
            if rule.values:
                when = pl.col(rule.when).cast(pl.String).is_in(list(rule.values))
            count(f"{name}.{rule.column} required when {rule.when}", frame, when & pl.col(rule.column).is_null())
        for column in table.columns:
            if column.name not in frame.columns:
                continue
            if column.kind == "date" and not column.future_ok:
                count(f"{name}.{column.name} after extracted_on", frame, pl.col(column.name) > EXTRACTED_ON)
            if column.references and column.references in frames:
                parent = frames[column.references]
                ids = parent[schema.TABLES[column.references].id_column]
                count(f"{name}.{column.name} references {column.references}", frame,
                      pl.col(column.name).is_not_null() & ~pl.col(column.name).is_in(ids.implode()))
            if column.kind == "code":
                count(f"{name}.{column.name} snake case", frame,
                      ~pl.col(column.name).str.contains(r"^[a-z][a-z0-9_]*$"))
            if column.kind in ("id",):
                count(f"{name}.{column.name} pseudonym", frame,
                      pl.col(column.name).is_not_null() & ~pl.col(column.name).str.contains(r"^[A-Z][0-9A-F]{4,8}$"))
    if "persons" in frames:
        persons = frames["persons"]
        count("persons.birth_year range", persons,
              (pl.col("birth_year") < 1900) | (pl.col("birth_year") > EXTRACTED_ON.year))
        nationality = pl.col("nationality").cast(pl.String)
        count("persons.nationality code", persons,
              nationality.is_not_null() & ~(nationality.str.contains(r"^[A-Z]{3}$")
                                            | nationality.is_in(list(EXTRA_NATIONALITIES))))
    if "cases" in frames:
        count("cases.closure_reason only when closed", frames["cases"],
              pl.col("closure_reason").is_not_null() & pl.col("closed_on").is_null())
    if "detention_stays" in frames:
        count("detention_stays.outcome only when left", frames["detention_stays"],
              pl.col("outcome").is_not_null() & pl.col("left_on").is_null())
    if "legal_actions" in frames:
        count("legal_actions.result only when decided", frames["legal_actions"],
              pl.col("result").is_not_null() & pl.col("decided_on").is_null())
    if "referrals" in frames:
        count("referrals.status_on only when not pending", frames["referrals"],
              (pl.col("status") == "pending") & pl.col("status_on").is_not_null())
    return {label: n for label, n in out.items() if n}


# ---------------------------------------------------------------------------------------------- shape

def _assert_contract_schema(name: str, frame: pl.DataFrame) -> None:
    """The contract's columns and dtypes; optional columns no profile draws (a network's litigation
    columns in legal_actions) may be absent, so that the existing tables keep their bytes."""
    spec = schema.TABLES[name]
    expected = {c: t for c, t in spec.polars_schema().items() if c in frame.columns}
    assert frame.schema == pl.Schema(expected), name
    assert set(spec.required_columns) <= set(frame.columns), name


def test_tables_have_the_contract_columns_and_dtypes(extract):
    assert list(extract) == list(schema.TABLE_ORDER)
    for name, frame in extract.items():
        _assert_contract_schema(name, frame)
        assert frame.height > 0, name


def test_each_profile_produces_its_tables(profile_extract):
    profile, frames = profile_extract
    assert set(frames) == set(demo.PROFILE_TABLES[profile])
    for name, frame in frames.items():
        _assert_contract_schema(name, frame)
        assert frame.height > 0, (profile, name)
    assert frames["persons"].height == 1500


def test_all_splits_persons_between_profiles(extract):
    sites = extract["persons"]["site"].value_counts().sort("site")
    counts = dict(zip(sites["site"], sites["count"]))
    assert counts["cra_team"] == 300
    assert counts["centre_jour"] == 300
    assert sum(counts.values()) == 2000


# ---------------------------------------------------------------------------------------------- rules

def test_every_row_passes_every_contract_rule(extract):
    assert contract_violations(extract) == {}


def test_every_profile_passes_every_contract_rule(profile_extract):
    _, frames = profile_extract
    assert contract_violations(frames) == {}


@pytest.mark.parametrize("persons", [0, 1, 2, 7, 40])
def test_tiny_extracts_are_clean(persons):
    frames = demo.generate(persons, seed=3)
    assert frames["persons"].height == persons
    assert contract_violations(frames) == {}
    for name, frame in frames.items():
        _assert_contract_schema(name, frame)


def test_the_checker_catches_broken_rows(extract):
    broken = dict(extract)
    cases = extract["cases"]
    broken["cases"] = cases.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("opened_on") - pl.duration(days=1))
        .otherwise(pl.col("assessed_on")).alias("assessed_on"))
    broken["referrals"] = extract["referrals"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("PXXXXXXXX")).otherwise(pl.col("person_id"))
        .alias("person_id"))
    found = contract_violations(broken)
    assert found.get("referrals.person_id references persons") == 1
    if cases["assessed_on"][0] is not None:
        assert found.get("cases.assessed_on >= opened_on") == 1


def test_ids_are_unique_across_profiles(extract):
    for name, frame in extract.items():
        id_column = schema.TABLES[name].id_column
        if id_column:
            assert frame[id_column].n_unique() == frame.height
    assert extract["persons"]["person_id"].str.len_chars().unique().to_list() == [9]
    assert set(extract["cases"]["caseworker_id"].drop_nulls().str.slice(0, 1).unique()) == {"W"}


def test_nothing_happens_after_the_activity_window(extract):
    for name, frame in extract.items():
        for column, dtype in frame.schema.items():
            if dtype == pl.Date():
                if schema.TABLES[name].column(column).future_ok:  # an appointment booked for January
                    assert frame[column].max() <= demo.EXTRACTED_ON + dt.timedelta(days=60), (name, column)
                    continue
                assert frame[column].max() <= demo.END, (name, column)
                assert frame[column].min() >= demo.START - dt.timedelta(days=1), (name, column)


def test_nothing_happens_before_the_person_registered(extract):
    registered = extract["persons"].select("person_id", "registered_on")
    for name, column in [("contacts", "date"), ("cases", "opened_on"), ("referrals", "referred_on"),
                         ("detention_stays", "entered_on"), ("legal_actions", "filed_on"),
                         ("protection_flags", "identified_on")]:
        early = extract[name].join(registered, on="person_id").filter(pl.col(column) < pl.col("registered_on"))
        assert early.height == 0, name


def test_persons_met_outside_detention_have_a_contact_on_registration(extract):
    persons = extract["persons"].filter(pl.col("site") != "cra_team")
    first = extract["contacts"].group_by("person_id").agg(pl.col("date").min())
    met = persons.join(first, on="person_id", how="left")
    assert met.filter(pl.col("date") != pl.col("registered_on")).height == 0
    assert met["date"].null_count() == 0


def test_optional_columns_are_sometimes_empty_and_unknown_appears(extract):
    persons, contacts = extract["persons"], extract["contacts"]
    for frame, column in [(persons, "birth_year"), (persons, "nationality"), (persons, "legal_status"),
                          (contacts, "channel"), (contacts, "topic"), (contacts, "interpreter")]:
        share = frame[column].null_count() / frame.height
        assert 0.01 <= share <= 0.15, (column, share)
    for frame, column in [(persons, "sex"), (persons, "nationality"), (persons, "legal_status"),
                          (contacts, "topic"), (extract["cases"], "risk_level"),
                          (extract["detention_stays"], "outcome")]:
        assert (frame[column] == "unknown").any(), column


# ---------------------------------------------------------------------------------------------- determinism

def test_same_arguments_give_the_same_tables():
    first = demo.generate(800, seed=5)
    second = demo.generate(800, seed=5)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].equals(second[name]), name


def test_the_all_profile_starts_with_the_legal_aid_profile():
    alone = demo.generate(700, seed=8, profile="legal_aid")
    together = demo.generate(1000, seed=8)
    for name, frame in alone.items():
        assert together[name].head(frame.height).equals(frame), name


def test_another_seed_gives_other_tables():
    first = demo.generate(500, seed=1)
    second = demo.generate(500, seed=2)
    assert not first["persons"].equals(second["persons"])
    assert not set(first["persons"]["person_id"]) & set(second["persons"]["person_id"])


@pytest.mark.parametrize("format", ["parquet", "csv"])
def test_writes_are_byte_identical(tmp_path: Path, format):
    one = demo.write(tmp_path / "one", persons=600, seed=9, format=format)
    two = demo.write(tmp_path / "two", persons=600, seed=9, format=format)
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir())
    assert names == sorted([f"{t}.{format}" for t in schema.TABLE_ORDER] + ["extract.yaml"])
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_parquet_round_trips_typed(tmp_path: Path):
    frames = demo.generate(400, seed=4, profile="child_protection")
    folder = demo.write(tmp_path, persons=400, seed=4, profile="child_protection")
    for name, frame in frames.items():
        written = pl.read_parquet(folder / f"{name}.parquet")
        assert written.select(frame.columns).equals(frame), name  # every contract column unchanged
        assert set(written.columns) - set(frame.columns) <= {"concern_type", "exploitation_type"}, name


def test_the_extra_columns_of_the_demo_leave_the_contract_tables_unchanged(tmp_path: Path):
    """The columns an organisation's own catalogue reads are added after the contract tables are drawn,
    from their own stream: the same seed gives the same contract values and the same extra columns."""
    frames = demo.generate(1500, seed=11)
    a = demo.write(tmp_path / "a", persons=1500, seed=11)
    b = demo.write(tmp_path / "b", persons=1500, seed=11)
    cases = pl.read_parquet(a / "cases.parquet")
    assert cases.drop("concern_type").equals(frames["cases"])
    assert cases["concern_type"].equals(pl.read_parquet(b / "cases.parquet")["concern_type"])
    concerns = cases.filter(pl.col("concern_type").is_not_null())
    assert set(concerns["site"].unique()) == {"centre_jour"} and concerns["concern_type"].n_unique() == 5
    flags = pl.read_parquet(a / "protection_flags.parquet")
    assert flags.drop("exploitation_type").equals(frames["protection_flags"])
    typed = flags.filter(pl.col("exploitation_type").is_not_null())
    assert typed.height > 0 and set(typed["flag"].unique()) == {"trafficking_suspected"}


def test_csv_is_plain_text_with_iso_dates_and_lower_case_booleans(tmp_path: Path):
    folder = demo.write(tmp_path, persons=400, seed=4, profile="detention", format="csv")
    text = (folder / "detention_stays.csv").read_text(encoding="utf-8")
    header, *lines = text.splitlines()
    assert header == ",".join(schema.TABLES["detention_stays"].column_names)
    cells = [line.split(",") for line in lines]
    assert {c[6] for c in cells} <= {"true", "false", ""} and {"true", "false", ""} <= {c[7] for c in cells}
    assert all(len(c[3]) == 10 and c[3][4] == "-" for c in cells)
    assert any(c[4] == "" for c in cells)  # stays still running: empty, not "null"
    frames = demo.generate(400, seed=4, profile="detention")
    back = pl.read_csv(folder / "detention_stays.csv", schema=schema.TABLES["detention_stays"].polars_schema())
    assert back.equals(frames["detention_stays"])


def test_xlsx_has_one_sheet_per_table(tmp_path: Path):
    path = demo.write(tmp_path, persons=300, seed=4, format="xlsx")
    assert path == tmp_path / "extract.xlsx"
    again = demo.write(tmp_path / "again", persons=300, seed=4, format="xlsx")
    assert again.read_bytes() == path.read_bytes()
    assert (tmp_path / "extract.yaml").exists()
    sheets = pl.read_excel(path, sheet_id=0)
    assert list(sheets) == list(schema.TABLE_ORDER)
    frames = demo.generate(300, seed=4)
    for name, sheet in sheets.items():
        assert sheet.columns == [c for c in schema.TABLES[name].column_names if c in sheet.columns]
        assert sheet.height == frames[name].height


def test_extract_yaml(tmp_path: Path):
    folder = demo.write(tmp_path, persons=200, seed=1, format="csv")
    meta = yaml.safe_load((folder / "extract.yaml").read_text(encoding="utf-8"))
    assert list(meta) == ["organisation", "extracted_on", "sites", "centres", "partners", "schema_version", "scopes"]
    assert meta == demo.metadata("all")
    # the scopes published to outside audiences: each service, and each detention centre on its own
    assert set(meta["scopes"]) == {"legal_aid", "detention", "child_protection", *meta["centres"]}
    assert meta["scopes"]["detention"] == {"centres": sorted(meta["centres"])}
    assert meta["extracted_on"] == EXTRACTED_ON
    assert meta["schema_version"] == schema.SCHEMA_VERSION
    frames = demo.generate(200, seed=1)
    assert set(frames["persons"]["site"]) | set(frames["contacts"]["site"]) <= set(meta["sites"])
    assert set(frames["detention_stays"]["centre"]) <= set(meta["centres"])
    assert set(frames["referrals"]["partner"].drop_nulls()) <= set(meta["partners"])
    assert set(demo.metadata("legal_aid")["sites"]) == {"tunis_centre", "la_marsa", "ariana", "sfax"}
    assert demo.metadata("legal_aid")["centres"] == {}


def test_profile_metadata_covers_its_codes(profile_extract):
    profile, frames = profile_extract
    meta = demo.metadata(profile)
    assert set(frames["persons"]["site"]) | set(frames["contacts"]["site"]) <= set(meta["sites"])
    assert set(frames["referrals"]["partner"].drop_nulls()) <= set(meta["partners"])
    if "detention_stays" in frames:
        assert set(frames["detention_stays"]["centre"]) <= set(meta["centres"])


def test_bad_arguments_are_refused(tmp_path: Path):
    with pytest.raises(ParameterError, match="profile"):
        demo.generate(10, profile="shelter")
    with pytest.raises(ParameterError, match="persons"):
        demo.generate(-1)
    with pytest.raises(ParameterError, match="seed"):
        demo.generate(10, seed=-3)
    with pytest.raises(ParameterError, match="format"):
        demo.write(tmp_path, persons=10, format="json")
    with pytest.raises(ParameterError, match="profile"):
        demo.metadata("shelter")


# ---------------------------------------------------------------------------------------------- plausibility

def minor_at(date: str) -> pl.Expr:
    return (pl.col(date).dt.year() - pl.col("birth_year")) < 18


def test_persons_look_plausible(extract):
    persons = extract["persons"]
    male = (persons["sex"] == "male").mean()
    assert 0.55 <= male <= 0.85
    minors = persons.filter(minor_at("registered_on")).height / persons.height
    assert 0.05 <= minors <= 0.35
    assert persons["nationality"].n_unique() >= 20


def test_legal_aid_looks_plausible():
    frames = demo.generate(2000, seed=21, profile="legal_aid")
    persons, contacts = frames["persons"], frames["contacts"]
    assert 0.62 <= (persons["sex"] == "male").mean() <= 0.78
    assert 0.08 <= persons.filter(minor_at("registered_on")).height / persons.height <= 0.18
    assert 2.3 <= contacts.height / persons.height <= 3.8
    per_person = contacts["person_id"].value_counts()["count"]
    assert (per_person == 1).mean() > 0.3 and per_person.max() >= 10
    interpreter = contacts["interpreter"].drop_nulls().mean()
    assert 0.15 <= interpreter <= 0.35
    assert 0.18 <= frames["cases"]["person_id"].n_unique() / persons.height <= 0.35
    assert 0.3 <= frames["referrals"].height / persons.height <= 0.6
    assert 0.10 <= frames["protection_flags"]["person_id"].n_unique() / persons.height <= 0.22
    assert set(persons["site"]) == {"tunis_centre", "la_marsa", "ariana", "sfax"}
    # unaccompanied minors are minors
    flagged = frames["protection_flags"].filter(pl.col("flag") == "unaccompanied_minor").join(persons, on="person_id")
    assert flagged.filter(~minor_at("registered_on") & pl.col("birth_year").is_not_null()).height == 0
    # most trafficking_suspected persons get an anti-trafficking referral within 30 days
    first_flag = (frames["protection_flags"].filter(pl.col("flag") == "trafficking_suspected")
                  .group_by("person_id").agg(pl.col("identified_on").min()))
    referred = (first_flag.join(frames["referrals"].filter(pl.col("service_type") == "anti_trafficking"),
                                on="person_id", how="left")
                .with_columns(days=(pl.col("referred_on") - pl.col("identified_on")).dt.total_days())
                .group_by("person_id").agg(((pl.col("days") >= 0) & (pl.col("days") <= 30)).any().alias("ok")))
    assert 0.4 <= referred["ok"].mean() <= 0.9


def test_activity_covers_eight_quarters_with_growth(extract):
    contacts = extract["contacts"].with_columns(quarter=pl.col("date").dt.truncate("1q"))
    quarters = contacts["quarter"].value_counts().sort("quarter")
    assert quarters.height == 8
    assert quarters["count"][-1] > quarters["count"][0]


def test_detention_looks_plausible():
    frames = demo.generate(1500, seed=13, profile="detention")
    stays = frames["detention_stays"]
    days = stays.filter(pl.col("left_on").is_not_null()).select(
        (pl.col("left_on") - pl.col("entered_on")).dt.total_days())
    assert 5 <= days.to_series().median() <= 30
    assert days.to_series().max() <= 90
    assert 0.03 <= stays["left_on"].null_count() / stays.height <= 0.12
    outcomes = stays["outcome"].drop_nulls().cast(pl.String)
    removals = outcomes.is_in(["removed_country_of_origin", "removed_third_country", "dublin_transfer",
                               "readmission_eu"]).mean()
    assert 0.35 <= removals <= 0.55
    assert 0.75 <= stays["assisted"].drop_nulls().mean() <= 0.95
    assert 0.005 <= stays["with_children"].drop_nulls().mean() <= 0.08
    assert 0.05 <= stays["person_id"].is_duplicated().mean() <= 0.35  # some persons held twice
    minors = stays.join(frames["persons"], on="person_id").filter(minor_at("entered_on"))
    assert 0 < minors.height < 0.05 * stays.height
    actions = frames["legal_actions"].join(stays, on="stay_id")
    assert actions.height > 0 and actions["stay_id"].null_count() == 0
    decided = actions.filter(pl.col("decided_on").is_not_null()).select(
        (pl.col("decided_on") - pl.col("filed_on")).dt.total_days()).to_series()
    assert decided.max() <= 10
    assert set(frames["contacts"]["site"]) <= set(demo.CENTRES)


def test_child_protection_looks_plausible():
    frames = demo.generate(1500, seed=17, profile="child_protection")
    persons, cases = frames["persons"], frames["cases"]
    age = persons.select(pl.col("registered_on").dt.year() - pl.col("birth_year")).to_series().drop_nulls()
    assert age.min() >= 7 and age.max() <= 18
    assert (persons["nationality"] == "TUN").mean() > 0.3
    assert set(cases["case_type"]) == {"child_protection"}
    deadline = pl.col("risk_level").cast(pl.String).replace_strict({"high": 1, "medium": 3, "low": 7}, default=None)
    rated = cases.filter(pl.col("risk_level").cast(pl.String).is_in(["high", "medium", "low"]))
    on_time = rated.select(((pl.col("assessed_on") - pl.col("opened_on")).dt.total_days() <= deadline)
                           .fill_null(False)).to_series().mean()
    assert 0.65 <= on_time <= 0.9
    open_at_end = cases.filter(pl.col("closed_on").is_null())
    latest = pl.coalesce("last_review_on", "care_plan_on", "assessed_on", "opened_on")
    overdue = open_at_end.filter((pl.lit(demo.END) - latest).dt.total_days() > 90).height
    assert 0 < overdue < open_at_end.height * 0.5
    assert (cases["closure_reason"] == "turned_18").any()
    assert {"unaccompanied_minor", "separated_child"} <= set(frames["protection_flags"]["flag"].cast(pl.String))


# ---------------------------------------------------------------------------------------------- scale

def test_sizes_scale_linearly():
    small = demo.generate(10_000, seed=2)
    large = demo.generate(40_000, seed=2)
    for name in small:
        if name in ("activities", "services"):  # a day centre's meetings and its area's services: not per person
            assert large[name].height == small[name].height, name
            continue
        ratio = large[name].height / small[name].height
        assert 3.4 <= ratio <= 4.6, (name, ratio)


def test_a_hundred_thousand_persons_in_a_few_seconds():
    started = time.perf_counter()
    frames = demo.generate(100_000, seed=1)
    elapsed = time.perf_counter() - started
    assert frames["persons"].height == 100_000
    assert 250_000 <= frames["contacts"].height <= 400_000
    assert elapsed < 5, elapsed
