"""Answers kept beside the validated extract: the same question is not computed twice, and any change
of the extract, the question or the catalogue computes it again (workbench/indicators/stored.py)."""

from __future__ import annotations

import threading

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench import disclosure, extract
from workbench.extract import cache, demo
from workbench.indicators import engine, stored
from workbench.indicators.catalogue import load_catalogue


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    return demo.write(tmp_path_factory.mktemp("stored") / "demo", persons=400)


def _counting(monkeypatch) -> list[int]:
    """Count the engine's evaluations made for disclosure."""
    calls: list[int] = []
    real = engine.evaluate

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("workbench.disclosure.figures.evaluate", counted)
    return calls


def test_the_same_question_is_answered_once(private_cache, demo_folder, monkeypatch):
    calls = _counting(monkeypatch)
    first = disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex", "site"], audience="partner")
    asked = len(calls)
    assert asked > 0 and list(private_cache.glob("*/evaluations/*/frame.arrow"))
    again = disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex", "site"], audience="partner")
    assert len(calls) == asked  # a new extract object, the same files: nothing computed
    assert_frame_equal(first.frame, again.frame)
    # another question, other parameters, another selection: computed
    disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex"], audience="partner")
    assert len(calls) > asked
    n = len(calls)
    disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex", "site"], audience="internal",
                       params={"review_overdue_days": 10})
    assert len(calls) == n + 1


def test_a_changed_extract_or_catalogue_is_computed_again(private_cache, demo_folder, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    disclosure.compute(extract.load(demo_folder), "2025-Q3", indicators=["contacts"], by=["sex"])
    assert len(calls) == 1
    changed = demo.write(tmp_path / "changed", persons=400, seed=11)
    disclosure.compute(extract.load(changed), "2025-Q3", indicators=["contacts"], by=["sex"])
    assert len(calls) == 2
    # the same ids, another declaration of an indicator: another catalogue print, computed again
    cat = load_catalogue()
    narrower = {"in": {"channel": ["phone"]}}
    other = type(cat)(cat.version, cat.families, cat.dimensions,
                      tuple(i if i.id != "contacts" else type(i)(**{**vars(i), "population": (*i.population, narrower)})
                            for i in cat.indicators))
    disclosure.compute(extract.load(demo_folder), "2025-Q3", indicators=["contacts"], by=["sex"], catalogue=other)
    assert len(calls) == 3


def test_nothing_is_kept_when_the_cache_is_off(demo_folder, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_CACHE, "off")
    calls = _counting(monkeypatch)
    for _ in range(2):
        disclosure.compute(extract.load(demo_folder), "2025-Q3", indicators=["contacts"])
    assert len(calls) == 2


def test_a_damaged_answer_is_computed_again(private_cache, demo_folder, monkeypatch):
    expected = disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex"]).frame
    cache.wait()  # answers are written by the cache's writing thread
    for frame in private_cache.glob("*/evaluations/*/frame.arrow"):
        frame.write_bytes(b"not arrow")
    calls = _counting(monkeypatch)
    assert_frame_equal(disclosure.compute(extract.load(demo_folder), "2025-Q3", by=["sex"]).frame, expected)
    cache.wait()
    assert len(calls) == 1 and not list(private_cache.glob("*/evaluations/*/frame.arrow")) == []


def test_answers_kept_are_bounded(private_cache, demo_folder, monkeypatch):
    monkeypatch.setattr(stored, "KEEP", 3)
    ex = extract.load(demo_folder)
    for month in range(1, 7):
        disclosure.compute(ex, f"2025-{month:02d}", indicators=["contacts"])
    cache.wait()
    assert len([p for p in next(private_cache.glob("*/evaluations")).iterdir() if p.is_dir()]) == 3
    stored.forget()  # every answer of the cache folder removed, the validated extract kept
    assert not list(private_cache.glob("*/evaluations")) and list(private_cache.glob("*/summary.json"))


def test_an_extract_not_read_through_the_cache_keeps_nothing(private_cache, demo_folder):
    ex = extract.load(demo_folder)
    copy = type(ex)(**{f: getattr(ex, f) for f in ex.__dataclass_fields__})  # not the object the cache gave
    assert cache.entry_of(copy) is None and cache.entry_of(ex) is not None
    calls: list[int] = []
    stored.evaluation(copy, {"q": 1}, load_catalogue(), lambda: calls.append(1) or engine.Evaluation(pl.DataFrame(), ()))
    stored.evaluation(copy, {"q": 1}, load_catalogue(), lambda: calls.append(1) or engine.Evaluation(pl.DataFrame(), ()))
    assert len(calls) == 2


def test_an_answer_being_written_is_answered_from_memory(private_cache, demo_folder, monkeypatch):
    """While the thread writes an answer, the same question is answered from memory, not computed again;
    once written, from the store."""
    ex = extract.load(demo_folder)
    release = threading.Event()
    write = stored._write
    monkeypatch.setattr(stored, "_write", lambda *a: release.wait(30) and write(*a))
    first = disclosure.compute(ex, "2025-Q2", by=["sex"]).frame
    calls = _counting(monkeypatch)
    assert not list(private_cache.glob("*/evaluations/*/frame.arrow"))  # still being written
    assert_frame_equal(disclosure.compute(ex, "2025-Q2", by=["sex"]).frame, first)
    assert calls == []
    release.set()
    cache.wait()
    assert len(list(private_cache.glob("*/evaluations/*/frame.arrow"))) == 1 and not stored._WRITING
    assert_frame_equal(disclosure.compute(extract.load(demo_folder), "2025-Q2", by=["sex"]).frame, first)
    assert calls == []
