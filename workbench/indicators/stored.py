"""Evaluations kept beside the validated extract: a question answered once is not computed again.

A report, the next report of a batch, a dashboard's every viewer and the command line ask the
engine the same questions (the same indicators, breakdowns, periods, parameters and selection on
the same extract): the quarterly reports of one year share their calendar year, a dashboard's
viewers share its first page. :func:`evaluation` answers a question from the store when the same
question was answered before, else computes it and keeps the answer.

An answer is kept in the validation cache entry of its extract (:mod:`workbench.extract.cache`),
so it lives and goes with that entry, in the user's private cache folder, and only for an extract
read through that cache (``WORKBENCH_CACHE=off``: nothing is kept). Its key is the extract's
entry (the files' content), the question, the catalogue as evaluated (every declaration) and the
source of the engine, the selection and the period modules: change any of them and the question is
computed again. An answer is unsuppressed figures, less than the extract they come from, beside
it; disclosure control is applied to it afterwards, as to a fresh one. At most :data:`KEEP`
answers are kept per extract (the most recently used).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from workbench.extract import cache as extract_cache
from workbench.extract.memo import memo_of
from workbench.indicators.catalogue import Catalogue
from workbench.indicators.engine import Evaluation

KEEP = 400  # answers kept per extract
FOLDER = "evaluations"
#: The modules whose source decides an answer (besides the catalogue and the extract).
_SOURCES = ("indicators", "selection", "periods.py", "contract")


@cache
def _code_version() -> str:
    return extract_cache.source_digest(_SOURCES, patterns=("*.py", "*.yaml"))


def _catalogue_print(cat: Catalogue) -> str:
    """Every declaration of the catalogue as evaluated (an organisation's merged in), as one digest."""
    memo = memo_of(cat, "indicators.stored")
    if "print" not in memo:
        text = repr((cat.version, sorted(cat.dimensions.items(), key=lambda kv: kv[0]), cat.indicators))
        memo["print"] = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return memo["print"]


def _folder(extract) -> Path | None:
    entry = extract_cache.entry_of(extract)
    return entry / FOLDER if entry is not None else None


def evaluation(extract, question: dict[str, Any], cat: Catalogue, compute: Callable[[], Evaluation]) -> Evaluation:
    """The answer to ``question`` (JSON-able: periods, indicators, breakdowns, parameters, selection…)
    on ``extract`` with ``cat``: from the store, else ``compute()``, kept for the next time."""
    folder = _folder(extract)
    if folder is None:
        return compute()
    text = json.dumps({"question": question, "catalogue": _catalogue_print(cat), "code": _code_version()},
                      sort_keys=True, default=repr)
    name = hashlib.blake2b(text.encode(), digest_size=20).hexdigest()
    with _LOCK:
        kept = _WRITING.get(folder / name)
    kept = kept if kept is not None else _read(folder / name)
    if kept is not None:
        return kept
    answer = compute()
    _later(folder, name, answer)
    return answer


# Answers are written by the cache's writing thread while the caller goes on (a report asks a hundred
# questions); until written they are answered from memory.
_WRITING: dict[Path, Evaluation] = {}
_LOCK = threading.Lock()


def _later(folder: Path, name: str, answer: Evaluation) -> None:
    with _LOCK:
        _WRITING[folder / name] = answer

    def job() -> None:
        try:
            _write(folder, name, answer)
        finally:
            with _LOCK:
                _WRITING.pop(folder / name, None)

    extract_cache.later(folder / name, job)


def _read(where: Path) -> Evaluation | None:
    if not (where / "answer.json").exists():
        return None
    try:
        about = json.loads((where / "answer.json").read_text(encoding="utf-8"))
        frame = pl.read_ipc(where / "frame.arrow")
        with contextlib.suppress(OSError):
            os.utime(where)  # most recently used
        return Evaluation(frame, tuple(about["dimensions"]), about["unavailable"], about["params"])
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
        shutil.rmtree(where, ignore_errors=True)  # damaged: computed again
        return None


def _write(folder: Path, name: str, answer: Evaluation) -> None:
    about = {"dimensions": list(answer.dimensions), "unavailable": dict(answer.unavailable),
             "params": dict(answer.params)}
    try:
        if json.loads(json.dumps(about)) != about:  # parameters JSON cannot hold as they are: not kept
            return

        def fill(scratch: Path) -> None:
            answer.frame.write_ipc(scratch / "frame.arrow", compression="lz4")
            (scratch / "answer.json").write_text(json.dumps(about, ensure_ascii=False), encoding="utf-8")

        extract_cache.write_folder(folder, name, fill)
        extract_cache.prune(folder, KEEP)
    except (OSError, TypeError, ValueError, pl.exceptions.PolarsError):
        return  # a full disk or a read-only cache: computed again next time, nothing more


def forget(root: Path | None = None) -> None:
    """Remove every answer kept beside the extracts of the cache folder ``root`` (default: the cache's)."""
    extract_cache.wait()
    root = root if root is not None else extract_cache.folder()
    for kept in root.glob(f"*/{FOLDER}") if root is not None else ():
        shutil.rmtree(kept, ignore_errors=True)


__all__ = ["KEEP", "evaluation", "forget"]
