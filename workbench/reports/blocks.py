"""A report's blocks: what one notebook cell displays (HTML, a plain stand-in, the figures it shows)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

MIME = "application/vnd.workbench.indicators+json"


def _e(value: str) -> str:
    return html.escape(value, quote=True)


@dataclass(frozen=True)
class Block:
    """One displayed piece of a report: HTML, a plain-text stand-in and the figures it shows."""

    html: str
    text: str = ""
    payload: Mapping[str, Any] | None = None

    def _repr_mimebundle_(self, include=None, exclude=None):
        data: dict[str, Any] = {"text/html": self.html, "text/plain": self.text or "[report block]"}
        if self.payload is not None:
            data[MIME] = dict(self.payload)
        return data

    def _repr_html_(self) -> str:
        return self.html


_CHANGE_COLUMNS = ("previous_period", "previous_value", "previous_flag", "change", "change_pct")


def _current(frame: pl.DataFrame) -> pl.DataFrame:
    """The indicator-table columns of a :func:`indicators.change` table (the period's own figures)."""
    return frame.select([c for c in frame.columns if c not in _CHANGE_COLUMNS])


def _payload_table(frame: pl.DataFrame, role: str) -> dict[str, Any]:
    """Indicator rows as JSON: the indicator-table columns only (what the report shows)."""
    frame = _current(frame)
    return {"role": role, "columns": frame.columns, "rows": [list(r) for r in frame.iter_rows()]}
