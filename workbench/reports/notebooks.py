"""Executed notebooks: normalised for review, and the figures they show read back.

:func:`normalise` removes what changes from run to run without changing the
content — papermill's metadata (start and end times, paths, environment), cell
timings, the injected cell's random id — and gives every cell an id derived from
its source, so two runs of the same parameters give the same file, byte for byte,
and ``nbdiff`` (with the project's ``nbdime_config.json``) shows only content.

:func:`indicator_rows` reads back the indicator rows that report blocks publish
under ``application/vnd.workbench.indicators+json`` (the Excel annex and ``workbench diff``
are written from them).
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from workbench.reports.blocks import MIME  # the media type report blocks publish their figures under
NB_METADATA_DROP = ("papermill", "widgets")
CELL_METADATA_DROP = ("papermill", "execution", "collapsed", "scrolled", "ExecuteTime")
FIGURE_COLUMNS = ("value", "numerator", "denominator", "flag")
_TYPES = {"value": pl.Float64, "numerator": pl.Int64, "denominator": pl.Int64}


def _cell_id(cell, seen: dict[str, int]) -> str:
    digest = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:12]
    n = seen.get(digest, 0)
    seen[digest] = n + 1
    return f"c{digest}" if n == 0 else f"c{digest}-{n}"


def normalise(nb, metadata: dict[str, Any] | None = None):
    """A copy of ``nb`` without run-specific metadata, with stable cell ids.

    ``metadata`` is added under ``metadata.workbench`` (report, title, language…).
    """
    nb = copy.deepcopy(nb)
    for key in NB_METADATA_DROP:
        nb.metadata.pop(key, None)
    if metadata:
        nb.metadata["workbench"] = dict(metadata)
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    seen: dict[str, int] = {}
    for cell in nb.cells:
        for key in CELL_METADATA_DROP:
            cell.metadata.pop(key, None)
        cell["id"] = _cell_id(cell, seen)
        for output in cell.get("outputs", []):
            output.pop("transient", None)
    return nb


def write(nb, path: str | Path) -> Path:
    """Write a notebook as nbformat does (sorted keys, one-space indent), ending with a newline."""
    import nbformat

    path = Path(path)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path


def read(path: str | Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def payloads(nb) -> list[dict[str, Any]]:
    """Every workbench payload displayed by the notebook, in cell order."""
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                out.append(data[MIME])
    return out


def report_info(nb) -> dict[str, Any]:
    """The title block's payload (title, organisation, language, period, audience…)."""
    for payload in payloads(nb):
        if payload.get("block") == "title":
            return {k: v for k, v in payload.items() if k != "tables"}
    return {}


def _frame(table: dict[str, Any]) -> pl.DataFrame:
    columns = table["columns"]
    schema = {c: _TYPES.get(c, pl.String) for c in columns}
    return pl.DataFrame(table["rows"], schema=schema, orient="row")


def indicator_rows(nb) -> pl.DataFrame:
    """All indicator rows the notebook shows, once each (first occurrence order).

    Columns: ``indicator, period, <every dimension used>, value, numerator, denominator, flag``.
    """
    frames = [_frame(t) for p in payloads(nb) for t in p.get("tables", [])]
    if not frames:
        return pl.DataFrame(schema={"indicator": pl.String, "period": pl.String, "value": pl.Float64,
                                    "numerator": pl.Int64, "denominator": pl.Int64, "flag": pl.String})
    frame = pl.concat(frames, how="diagonal_relaxed")
    dims = [c for c in frame.columns if c not in ("indicator", "period", *FIGURE_COLUMNS)]
    frame = frame.select("indicator", "period", *dims, *FIGURE_COLUMNS)
    return frame.unique(subset=["indicator", "period", *dims], keep="first", maintain_order=True)


def threshold(nb) -> int | None:
    for payload in payloads(nb):
        if payload.get("threshold"):
            return int(payload["threshold"])
    return None
