"""The validation cache: an extract validated once is not validated again.

:func:`workbench.extract.load` looks here first. An entry is keyed by the content of the extract's
files (every table file and ``extract.yaml``, hashed with BLAKE2b, with their names) and by the
version of the validation itself (the workbench version and the source of the contract and of
the loader's modules): change one byte of a file, or the rules, and the key changes, so the
extract is validated again. Indicators are computed from the loaded extract and are not
cached, so the catalogue does not enter the key.

An entry holds nothing that is not already in the extract: the accepted rows of each table
(Arrow IPC files, LZ4-compressed: they read back as fast as the original Parquet is read,
types included), each row's person as a number (its row in the persons table, which the
engine joins on instead of the pseudonym: :func:`person_numbers`), the quarantine as :meth:`Extract.write_quarantine` would
write it (its values already masked), and the counts, warnings and ``extract.yaml``
metadata as JSON. Entries live in the user's cache folder (``~/.cache/workbench/extracts`` on
Linux, private to the user), or in ``$WORKBENCH_CACHE``; ``WORKBENCH_CACHE=off`` turns the
cache off. Only the most recently used :data:`KEEP` entries are kept.

>>> key = cache.key(found)                                   # doctest: +SKIP
>>> cache.read(key, source, files) or cache.write(key, validated)   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # the loader imports this module
    from workbench.extract.files import Found
    from workbench.extract.loading import Extract

ENV_CACHE = "WORKBENCH_CACHE"
OFF = ("off", "0", "false", "no", "")
KEEP = 6  # entries kept (most recently used first)
FORMAT = 1  # the layout of an entry; bump when it changes

#: The modules whose source decides what a validated extract is.
_VALIDATION_SOURCES = ("contract", "extract/files.py", "extract/guard.py", "extract/parsing.py", "extract/rules.py",
                       "extract/references.py", "extract/loading.py", "extract/cache.py")


def folder() -> Path | None:
    """The cache folder, or None when the cache is off."""
    setting = os.environ.get(ENV_CACHE)
    if setting is not None and setting.strip().lower() in OFF:
        return None
    if setting:
        return Path(setting).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("workbench", appauthor=False)) / "extracts"


def source_digest(names: tuple[str, ...], salt: str = "", patterns: tuple[str, ...] = ("*.py",)) -> str:
    """A digest of the workbench version and of the source of ``names`` (modules or folders of the
    package, their files matching ``patterns``): what is kept under it is computed again when they change."""
    import workbench

    digest = hashlib.blake2b(f"{workbench.__version__}/{salt}".encode(), digest_size=16)
    root = Path(workbench.__file__).parent
    for name in names:
        path = root / name
        files = sorted(f for pattern in patterns for f in path.rglob(pattern)) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _validation_version() -> str:
    return source_digest(_VALIDATION_SOURCES, str(FORMAT))


def _settings() -> dict[str, int | float | str]:
    """The loader's settings in force (limits such as ``files.MAX_COLUMNS``, which can be changed at run time)."""
    from workbench.extract import files, guard, rules

    return {f"{module.__name__}.{name}": value for module in (files, guard, rules)
            for name, value in sorted(vars(module).items())
            if name.isupper() and isinstance(value, (int, float, str)) and not isinstance(value, bool)}


def _file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=32)).hexdigest()


def _digests(files: list[Path]) -> list[str]:
    """The files' digests, hashed side by side (hashing a large file releases the interpreter's lock)."""
    if len(files) < 2:
        return [_file_digest(p) for p in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(files), os.cpu_count() or 1)) as pool:
        return list(pool.map(_file_digest, files))


def key(found: Found) -> str:
    """The key of an extract as found on disk: its files' names and contents, and the validation version."""
    files = sorted(set(found.tables.values()) | ({found.metadata_file} if found.metadata_file.exists() else set()))
    parts = {"validation": _validation_version(), "settings": _settings(), "kind": "workbook" if found.workbook is not None else "folder",
             "tables": {t: p.name for t, p in sorted(found.tables.items())},
             "files": dict(zip((p.name for p in files), _digests(files))), "warnings": list(found.warnings)}
    return hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=20).hexdigest()


def _meta_to_json(meta) -> dict:
    out = {k: getattr(meta, k) for k in meta.__dataclass_fields__}
    out["extracted_on"] = meta.extracted_on.isoformat() if meta.extracted_on else None
    return out


def write(key: str, extract: Extract, *, wait: bool = True) -> Path | None:
    """Keep a validated extract under ``key``; None when the cache is off or cannot be written.

    Written to a temporary folder and renamed, so a reader never sees half an entry. With
    ``wait=False`` the entry is written by a thread while the caller goes on (returns where it
    will be); whatever asks for the entry (:func:`read`, :func:`entry_of`), a fork of the
    process, and the end of the process wait for that thread first (:func:`wait`).
    """
    root = folder()
    if root is None:
        return None
    if wait:
        return _write(root, key, extract)
    later(root / key, lambda: _write(root, key, extract))
    return root / key


def _write(root: Path, key: str, extract: Extract) -> Path | None:
    try:
        target = write_folder(root, key, lambda scratch: save(extract, scratch))
        prune(root, KEEP)
    except OSError:
        return None  # a full disk or a read-only home slows the next load down, nothing more
    return target


# What is written while the caller goes on (a validated extract's entry, the answers kept beside it)
# is written in turn by one thread, which ends once nothing is left; the process's end (the thread
# is not a daemon), a fork and whatever reads what is being written wait for it (:func:`wait`).
_QUEUE: list[tuple[Path, Callable[[], object]]] = []
_BUSY: dict[Path, int] = {}  # folders queued or being written, and how many writes each waits for
_WRITER: threading.Thread | None = None
_DONE = threading.Condition()


def later(where: Path, job: Callable[[], object]) -> None:
    """Run ``job``, which writes folder ``where``, on the writing thread (started when needed)."""
    global _WRITER
    with _DONE:
        _QUEUE.append((where, job))
        _BUSY[where] = _BUSY.get(where, 0) + 1
        if _WRITER is None:
            _WRITER = threading.Thread(target=_drain, name="workbench-writer")
            _WRITER.start()


def _drain() -> None:
    global _WRITER
    while True:
        with _DONE:
            if not _QUEUE:
                _WRITER = None
                _DONE.notify_all()
                return
            where, job = _QUEUE.pop(0)
        try:
            job()
        except Exception:  # noqa: BLE001 - a write that fails leaves nothing behind: computed again next time
            pass
        finally:
            with _DONE:
                _BUSY[where] -= 1
                if not _BUSY[where]:
                    del _BUSY[where]
                _DONE.notify_all()


def writing(where: Path) -> bool:
    """Whether folder ``where`` is queued or being written by the writing thread."""
    with _DONE:
        return where in _BUSY


def wait(entry: Path | None = None) -> None:
    """Wait until folder ``entry`` (default: everything) queued for the writing thread is written."""
    with _DONE:
        if threading.current_thread() is _WRITER:
            return
        _DONE.wait_for(lambda: not _BUSY if entry is None else entry not in _BUSY)


os.register_at_fork(before=wait)  # a forked process never inherits half a write


def write_folder(root: Path, name: str, fill: Callable[[Path], object]) -> Path:
    """Folder ``root/name`` filled by ``fill(folder)`` in a temporary folder, then renamed: a reader never
    sees half of it (another process's folder of the same name, written first, is kept)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        fill(scratch)
        scratch.rename(root / name)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (root / name).is_dir():
            raise
    return root / name


PERSON = "person_id"
NUMBER = "number"  # a person number's column
CODES = "person_numbers"  # the entry's folder of person numbers


def person_numbers(extract: Extract) -> dict[str, pl.DataFrame]:
    """For each table with persons, each row's person as a number: the row of that person in the
    persons table (null when not there). The engine joins on these numbers instead of the pseudonyms.

    The numbers found while the references were checked (:func:`attach_numbers`) are taken as they
    are; the other tables' are joined here."""
    persons = extract.tables.get("persons")
    if persons is None or PERSON not in persons.columns:
        return {}
    tables = {name: frame for name, frame in extract.tables.items() if name != "persons" and PERSON in frame.columns}
    known = {name: numbers_of(frame) for name, frame in tables.items()}
    out = {name: numbers.to_frame(NUMBER) for name, numbers in known.items() if numbers is not None}
    rest = {name: frame for name, frame in tables.items() if name not in out}
    if rest:
        if not persons[PERSON].is_unique().all():
            return {}
        index = persons.lazy().select(PERSON).with_row_index(NUMBER)
        plans = {name: frame.lazy().select(PERSON).join(index, on=PERSON, how="left", maintain_order="left")
                 .select(NUMBER) for name, frame in rest.items()}
        out.update(zip(plans, pl.collect_all(list(plans.values()))))
    return {name: out[name] for name in tables}


def attach_numbers(extract: Extract, numbers: dict[str, pl.Series]) -> None:
    """Keep with ``extract``'s tables the person numbers found while validating it (one per row, in
    order, named and typed as :func:`person_numbers` gives them)."""
    _attach(extract, {name: series.rename(NUMBER).rechunk().to_frame() for name, series in numbers.items()})


def numbers_of(frame: pl.DataFrame) -> pl.Series | None:
    """The person numbers of ``frame`` (a table read from, or written to, the cache), else None."""
    from workbench.extract.memo import memo_of

    return memo_of(frame, "extract.person_numbers").get("numbers")


def _attach(extract: Extract, numbers: dict[str, pl.DataFrame]) -> None:
    from workbench.extract.memo import memo_of

    for name, frame in numbers.items():
        table = extract.tables.get(name)
        if table is not None and frame.height == table.height:
            memo_of(table, "extract.person_numbers")["numbers"] = frame.to_series()


def save(extract: Extract, where: Path, *, quarantine: bool = True) -> Path:
    """Write an extract's accepted tables (Arrow IPC), quarantine and counts into folder ``where``."""
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, frame in extract.tables.items():
        frame.write_ipc(where / f"{name}.arrow", compression="uncompressed")
    numbers = person_numbers(extract)
    if numbers:
        (where / CODES).mkdir(mode=0o700, exist_ok=True)
        for name, frame in numbers.items():
            frame.write_ipc(where / CODES / f"{name}.arrow", compression="uncompressed")
        _attach(extract, numbers)
    (extract.quarantine if quarantine else extract.quarantine.clear()).write_ipc(
        where / "quarantine.arrow", compression="lz4")
    summary = {"format": FORMAT, "meta": _meta_to_json(extract.meta), "tables": list(extract.tables),
               "reports": {n: r.to_dict() for n, r in extract.reports.items()},
               "files": {n: p.name for n, p in extract.files.items()}, "warnings": list(extract.warnings)}
    (where / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    return where


def open_saved(where: Path, source: Path | None = None) -> Extract:
    """An extract written by :func:`save`; ``source``: where its files are (default: ``where``)."""
    from workbench.extract.loading import Extract, ExtractMeta, TableReport

    summary = json.loads((where / "summary.json").read_text(encoding="utf-8"))
    if summary.get("format") != FORMAT:
        raise OSError(f"{where}: written by another version of the workbench")
    meta = dict(summary["meta"])
    if meta.get("extracted_on"):
        meta["extracted_on"] = dt.date.fromisoformat(meta["extracted_on"])
    names = list(summary["tables"])  # read together: the files are decompressed in parallel
    numbered = [n for n in names if (where / CODES / f"{n}.arrow").exists()]
    read = pl.collect_all([*(pl.scan_ipc(where / f"{n}.arrow") for n in names),
                           *(pl.scan_ipc(where / CODES / f"{n}.arrow") for n in numbered)]) if names else []
    tables = dict(zip(names, read))
    reports = {n: TableReport(**{**r, "table": n}) for n, r in summary["reports"].items()}
    src = Path(source) if source is not None else where
    base = src if src.is_dir() else src.parent
    files = {n: (src if src.is_file() else base / name) for n, name in summary["files"].items()}
    extract = Extract(source=src, meta=ExtractMeta(**meta), tables=tables,
                      quarantine=pl.read_ipc(where / "quarantine.arrow"),
                      reports=reports, files=files, warnings=tuple(summary["warnings"]))
    _attach(extract, dict(zip(numbered, read[len(names):])))
    return extract


def read(key: str, source: Path) -> Extract | None:
    """The extract kept under ``key``, or None (cache off, no such entry, or an unreadable one)."""
    root = folder()
    if root is None:
        return None
    wait(root / key)
    if not (root / key / "summary.json").exists():
        return None
    try:
        extract = open_saved(root / key, source)
        with contextlib.suppress(OSError):
            os.utime(root / key)  # most recently used
        return extract
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
        shutil.rmtree(root / key, ignore_errors=True)  # damaged: validate again
        return None


def remember(extract: Extract, key: str) -> None:
    """Note that ``extract`` is the one kept under ``key`` (what is computed from it may be kept beside it)."""
    from workbench.extract.memo import memo_of

    root = folder()
    if root is None:
        return
    pending = writing(root / key)
    if pending or (root / key / "summary.json").exists():
        memo_of(extract, "extract.cache")["entry"] = root / key


def entry_of(extract) -> Path | None:
    """The cache entry ``extract`` was read from or written to; None for any other extract object."""
    from workbench.extract.memo import memo_of

    entry = memo_of(extract, "extract.cache").get("entry")
    if entry is not None:
        wait(entry)
    return entry if entry is not None and entry.is_dir() else None


#: A temporary folder older than this (seconds) was left by a process that was killed while writing.
STALE_SCRATCH = 3600


def prune(root: Path, keep: int, files: str | None = None) -> None:
    """Keep the ``keep`` most recently used folders of ``root`` (temporary ones aside), remove the others,
    and the temporary ones left by a process killed while writing (older than :data:`STALE_SCRATCH`).
    ``files``: the same for the files of ``root`` whose name matches that pattern (``"*.svg"``)."""
    import fnmatch

    now = time.time()
    with os.scandir(root) as found:  # one listing; a folder is told by its entry, not a stat each
        folders = [Path(e.path) for e in found
                   if (e.is_dir(follow_symlinks=False) if files is None
                       else e.is_file(follow_symlinks=False) and fnmatch.fnmatch(e.name, files))]
    for scratch in (p for p in folders if p.name.startswith(".")):
        with contextlib.suppress(OSError):
            if now - scratch.stat().st_mtime > STALE_SCRATCH:
                shutil.rmtree(scratch, ignore_errors=True) if scratch.is_dir() else scratch.unlink()
    entries = [p for p in folders if not p.name.startswith(".")]
    if len(entries) <= keep:
        return

    def used(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # removed meanwhile by another process
            return 0.0

    for stale in sorted(entries, key=used, reverse=True)[keep:]:
        if files is None:
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def clear() -> None:
    """Remove every entry of the cache."""
    root = folder()
    if root is not None and root.exists():
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["ENV_CACHE", "clear", "entry_of", "folder", "key", "numbers_of", "prune", "source_digest", "later", "wait", "writing", "write_folder", "open_saved", "attach_numbers", "person_numbers", "read", "remember", "save", "write"]
