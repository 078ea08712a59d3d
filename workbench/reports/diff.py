"""Indicator-level differences between two report runs.

``workbench diff RUN_A RUN_B`` compares the figures two runs show — read back from
their executed notebooks — cell by cell: every figure is keyed by indicator, period
and breakdown category, and each changed, added or removed figure is listed with its
old and new value as the reports show it ("< k", "[c]", "[p]", "–" for withheld cells,
:mod:`workbench.present.cells`). The runs' parameters and input
hashes (from their manifests) are compared too, so a reviewer sees why figures moved.

>>> d = diff_rows(rows_a, rows_b)                                      # doctest: +SKIP
>>> d.changed[0]                                                       # doctest: +SKIP
Change(key='persons_received 2025-Q4 sex=female', old='138', new='140')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench.exceptions import ReportError

FIGURES = ("value", "numerator", "denominator", "flag")


@dataclass(frozen=True)
class RunFigures:
    """The figures of one run, with its manifest (when there is one)."""

    path: Path
    rows: pl.DataFrame
    threshold: int | None
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str


@dataclass(frozen=True)
class Diff:
    changed: list[Change]
    added: list[Change]
    removed: list[Change]
    parameters: list[Change]
    inputs: list[Change]

    @property
    def same(self) -> bool:
        return not (self.changed or self.added or self.removed)


def read_run(path: str | Path) -> RunFigures:
    """A run folder (with its ``.ipynb`` and ``manifest.json``) or an executed notebook."""
    from workbench.reports import notebooks as nbt

    path = Path(path)
    manifest: dict[str, Any] = {}
    if path.is_dir():
        notebooks = sorted(path.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise ReportError(f"{path}: expected one executed notebook in the run folder, found {len(notebooks)}.")
        if (path / "manifest.json").exists():
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        notebook = notebooks[0]
    elif path.suffix == ".ipynb" and path.exists():
        notebook = path
        if (path.parent / "manifest.json").exists():
            manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    else:
        raise ReportError(f"{path}: not a report run folder or an executed notebook (.ipynb).")
    nb = nbt.read(notebook)
    return RunFigures(path, nbt.indicator_rows(nb), nbt.threshold(nb), manifest)


def _shown(row: dict[str, Any] | None, k: int | None) -> str:
    """A figure as the reports show it, in English (:func:`workbench.present.cells.cell`)."""
    from workbench.indicators.catalogue import load_catalogue
    from workbench.present import cells

    if row is None:
        return "(absent)"
    cat = load_catalogue()
    unit = cat[row["indicator"]].unit if row["indicator"] in cat else "count"
    return cells.cell(row["value"], row["flag"], unit, "en", k)


def _key(row: dict[str, Any], dims: list[str]) -> str:
    cats = " ".join(f"{d}={row[d]}" for d in dims if row.get(d) is not None)
    return f"{row['indicator']} {row['period']}" + (f" {cats}" if cats else "")


def diff_rows(a: pl.DataFrame, b: pl.DataFrame, k_a: int | None = None, k_b: int | None = None) -> Diff:
    """Changed, added and removed figures between two sets of indicator rows."""
    dims = list(dict.fromkeys(c for f in (a, b) for c in f.columns if c not in ("indicator", "period", *FIGURES)))

    def index(frame: pl.DataFrame) -> dict[tuple, dict[str, Any]]:
        out = {}
        for row in frame.iter_rows(named=True):
            key = (row["indicator"], row["period"], *(row.get(d) for d in dims))
            out[key] = row
        return out

    ia, ib = index(a), index(b)
    changed, added, removed = [], [], []
    for key, row in ia.items():
        other = ib.get(key)
        if other is None:
            removed.append(Change(_key(row, dims), _shown(row, k_a), "(absent)"))
        elif _shown(row, k_a) != _shown(other, k_b) or row["flag"] != other["flag"]:
            changed.append(Change(_key(row, dims), _shown(row, k_a), _shown(other, k_b)))
    for key, row in ib.items():
        if key not in ia:
            added.append(Change(_key(row, dims), "(absent)", _shown(row, k_b)))
    return Diff(changed, added, removed, [], [])


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def diff_runs(a: str | Path, b: str | Path) -> Diff:
    """Figures, parameters and inputs of two runs compared."""
    ra, rb = read_run(a), read_run(b)
    d = diff_rows(ra.rows, rb.rows, ra.threshold, rb.threshold)
    pa, pb = _flat(ra.manifest.get("parameters", {})), _flat(rb.manifest.get("parameters", {}))
    params = [Change(k, json.dumps(pa.get(k), ensure_ascii=False), json.dumps(pb.get(k), ensure_ascii=False))
              for k in dict.fromkeys([*pa, *pb]) if pa.get(k) != pb.get(k)]
    fa = ra.manifest.get("extract", {}).get("files", {})
    fb = rb.manifest.get("extract", {}).get("files", {})
    inputs = [Change(name, (fa.get(name) or "(absent)")[:12], (fb.get(name) or "(absent)")[:12])
              for name in dict.fromkeys([*fa, *fb]) if fa.get(name) != fb.get(name)]
    return Diff(d.changed, d.added, d.removed, params, inputs)


def format_diff(d: Diff, limit: int | None = None) -> str:
    """The diff as text, one figure per line: ``key: old → new``."""
    lines = []
    for title, items in (("parameters", d.parameters), ("input files", d.inputs), ("changed", d.changed),
                         ("added", d.added), ("removed", d.removed)):
        if not items:
            continue
        lines.append(f"{title} ({len(items)}):")
        shown = items if limit is None else items[:limit]
        lines += [f"  {c.key}: {c.old} → {c.new}" for c in shown]
        if len(shown) < len(items):
            lines.append(f"  … and {len(items) - len(shown)} more")
    if d.same:
        lines.append("same figures: no indicator value changed.")
    return "\n".join(lines) + "\n"
