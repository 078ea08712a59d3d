"""The validation cache: an extract validated once is read back, identical; a changed file, or
a change of the validation rules, validates it again; the cache holds only what the loaded
extract holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import with_row, write_extract
from polars.testing import assert_frame_equal

from workbench import extract
from workbench.exceptions import ExtractError
from workbench.extract import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_CACHE, str(folder))
    return folder


def loaded(path):
    """The extract and the steps :func:`extract.load` reported (its cache entry written, as a later
    process finds it)."""
    steps = []
    ex = extract.load(path, progress=lambda table, step: steps.append(step))
    cache.wait()
    return ex, steps


def assert_same(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)
        assert a.tables[name].schema == b.tables[name].schema
    assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)
    assert a.reports == b.reports
    assert a.meta == b.meta
    assert a.warnings == b.warnings
    assert a.files == b.files
    assert a.source == b.source
    assert a.summary() == b.summary()


def spoiled(tmp_path):
    """A valid extract with one quarantined contact (an unknown service) and a stray file."""
    folder = write_extract(tmp_path / "ex", {"contacts": with_row("contacts", contact_id="C099",
                                                                    service="haircut")})
    (folder / "notes.txt").write_text("not a table", encoding="utf-8")
    return folder


def test_second_load_is_read_back_identical(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    first, steps = loaded(folder)
    assert "validate" in steps and first.quarantined == 1 and first.warnings
    again, steps = loaded(folder)
    assert "validate" not in steps and "read" not in steps  # not validated again
    assert_same(first, again)


def test_read_back_equals_validating_from_scratch(tmp_path, cache_dir, monkeypatch):
    folder = spoiled(tmp_path)
    loaded(folder)
    kept, steps = loaded(folder)
    assert "validate" not in steps
    monkeypatch.setenv(cache.ENV_CACHE, "off")
    assert_same(kept, extract.load(folder))


def test_a_changed_file_is_validated_again(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    before, _ = loaded(folder)
    write_extract(folder, {"contacts": with_row("contacts", contact_id="C099", service="information")})
    after, steps = loaded(folder)
    assert "validate" in steps
    assert after.quarantined == 0 and after.table("contacts").height == before.table("contacts").height + 1
    (folder / "extract.yaml").write_text((folder / "extract.yaml").read_text() + "organisation: Other\n")
    renamed, steps = loaded(folder)
    assert "validate" in steps and renamed.meta.organisation == "Other"


def test_the_same_files_elsewhere_share_the_entry(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    first, _ = loaded(folder)
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in folder.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    second, steps = loaded(copy)
    assert "validate" not in steps
    assert second.source == copy and second.files["persons"] == copy / "persons.csv"
    assert second.summary() | {"extract": None} == first.summary() | {"extract": None}


def test_a_new_validation_version_misses(tmp_path, cache_dir, monkeypatch):
    folder = spoiled(tmp_path)
    loaded(folder)
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    _, steps = loaded(folder)
    assert "validate" in steps
    assert len([p for p in cache_dir.iterdir() if p.is_dir()]) == 2


def test_the_cache_holds_only_what_the_extract_holds(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    ex, _ = loaded(folder)
    (entry,) = [p for p in cache_dir.iterdir() if p.is_dir()]
    assert sorted(p.name for p in entry.iterdir()) == sorted(
        [f"{t}.arrow" for t in ex.tables] + ["quarantine.arrow", "summary.json", cache.CODES])
    for name, frame in ex.tables.items():
        assert_frame_equal(pl.read_ipc(entry / f"{name}.arrow"), frame)
    # each row's person as a number: its row in the persons table, one column, nothing else
    persons = ex.tables["persons"]["person_id"].to_list()
    numbered = sorted(p.stem for p in (entry / cache.CODES).iterdir())
    assert numbered == sorted(t for t, f in ex.tables.items() if t != "persons" and "person_id" in f.columns)
    for name in numbered:
        numbers = pl.read_ipc(entry / cache.CODES / f"{name}.arrow")
        assert numbers.columns == ["number"]
        assert [persons[n] if n is not None else None for n in numbers["number"]] == [
            p if p in persons else None for p in ex.tables[name]["person_id"]]
    kept = pl.read_ipc(entry / "quarantine.arrow")
    assert_frame_equal(kept, ex.quarantine)
    assert "haircut" not in kept["value"].to_list()  # the quarantine as written: values masked
    summary = json.loads((entry / "summary.json").read_text())
    assert set(summary) == {"format", "meta", "tables", "reports", "files", "warnings"}
    assert str(folder) not in (entry / "summary.json").read_text()  # no path of the machine
    assert (cache_dir.stat().st_mode & 0o077) == 0  # private to the user


def test_damaged_entry_is_validated_again(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    first, _ = loaded(folder)
    (entry,) = [p for p in cache_dir.iterdir() if p.is_dir()]
    (entry / "contacts.arrow").write_bytes(b"garbage")
    again, steps = loaded(folder)
    assert "validate" in steps
    assert_same(first, again)


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    folder = spoiled(tmp_path)
    monkeypatch.setenv(cache.ENV_CACHE, "off")
    loaded(folder)
    _, again = loaded(folder)
    assert "validate" in again and cache.folder() is None


def test_a_refused_extract_is_not_kept(tmp_path, cache_dir):
    folder = write_extract(tmp_path / "ex")
    (folder / "persons.csv").unlink()
    for _ in range(2):
        with pytest.raises(ExtractError):
            extract.load(folder)
    assert not cache_dir.exists() or not [p for p in cache_dir.iterdir() if p.is_dir()]


def test_the_command_line_shares_the_cache(tmp_path, cache_dir):
    """``workbench validate`` and ``workbench indicators`` in other processes reuse one entry."""
    folder = spoiled(tmp_path)
    env = dict(os.environ)
    cli = [str(Path(sys.executable).with_name("workbench"))]
    first = subprocess.run(cli + ["validate", str(folder)], env=env, capture_output=True, text=True)
    assert first.returncode == 1 and "1 row quarantined" in first.stdout, first.stderr  # 1: rows quarantined
    (entry,) = [p for p in cache_dir.iterdir() if p.is_dir()]
    stamp = entry.stat().st_mtime_ns
    out = subprocess.run(cli + ["indicators", str(folder), "-p", "2024", "-i", "contacts"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert [p for p in cache_dir.iterdir() if p.is_dir()] == [entry]
    assert entry.stat().st_mtime_ns >= stamp
    env[cache.ENV_CACHE] = "off"
    assert subprocess.run(cli + ["indicators", str(folder), "-p", "2024", "-i", "contacts"], env=env,
                          capture_output=True, text=True).stdout == out.stdout


def test_a_changed_limit_is_validated_again(tmp_path, cache_dir, monkeypatch):
    """The loader's settings are part of the key: a lower limit refuses an extract read before."""
    from workbench.exceptions import UnreadableFileError
    from workbench.extract import files

    folder = spoiled(tmp_path)
    loaded(folder)
    monkeypatch.setattr(files, "MAX_COLUMNS", 3)
    with pytest.raises(UnreadableFileError):
        extract.load(folder)


def test_the_entry_is_written_while_the_caller_goes_on_and_complete_before_it_is_read(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    first = extract.load(folder)  # the entry is written by a thread: what asks for it waits for it
    entry = cache.entry_of(first)
    assert entry is not None and (entry / "summary.json").exists()
    again, steps = loaded(folder)
    assert "validate" not in steps
    assert_same(first, again)


def test_a_process_that_ends_at_once_leaves_a_whole_entry(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    code = "import sys; from workbench import extract; extract.load(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, env=dict(os.environ))
    (entry,) = [p for p in cache_dir.iterdir()]  # no temporary folder left behind
    assert not entry.name.startswith(".") and (entry / "summary.json").exists()
    again, steps = loaded(folder)
    assert "validate" not in steps and again.read == extract.load(folder).read


def test_a_fork_waits_for_the_entry(tmp_path, cache_dir):
    folder = spoiled(tmp_path)
    extract.load(folder)
    pid = os.fork()
    if pid == 0:  # the child: the entry is whole, as the parent's thread finished before the fork
        os._exit(0 if [p.name for p in cache_dir.iterdir() if (p / "summary.json").exists()] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_temporary_folder_left_by_a_killed_process_is_removed_later(tmp_path, cache_dir):
    cache_dir.mkdir(parents=True)
    old, young = cache_dir / ".abandoned-1", cache_dir / ".being-written-2"
    for scratch in (old, young):
        scratch.mkdir()
        (scratch / "persons.arrow").write_bytes(b"half")
    os.utime(old, (0, 0))
    loaded(spoiled(tmp_path))  # writing an entry prunes the folder
    assert not old.exists() and young.exists()  # another process's write under way is left alone


def test_a_failed_background_write_does_not_stop_the_writing_thread(tmp_path):
    """A write that raises is dropped; the thread goes on with the next ones and waiting ends."""
    done: list[int] = []

    def boom() -> None:
        raise RuntimeError("disk gone")

    cache.later(tmp_path / "a", boom)
    cache.later(tmp_path / "b", lambda: done.append(1))
    cache.wait()
    assert done == [1] and not cache.writing(tmp_path / "a") and not cache.writing(tmp_path / "b")
    cache.later(tmp_path / "c", lambda: done.append(2))  # a thread is started again when needed
    cache.wait(tmp_path / "c")
    assert done == [1, 2]
