"""Days, codes and draws: the numpy building blocks every profile uses (whole columns, no loops over rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import numpy as np

from workbench.contract import schema
from workbench.extract.demo.setting import D_END, D_START, NA, _EPOCH, _OPEN_CODES


def _code(vocab: str | None, code: str) -> int:
    """The integer a code is generated as: its position in the vocabulary (or the open codes)."""
    return (schema.vocabulary(vocab) if vocab else _OPEN_CODES).index(code)


def _codes(vocab: str | None, codes) -> np.ndarray:
    return np.array([_code(vocab, c) for c in codes], dtype=np.int64)


def _draw_table(values: np.ndarray, weights, bits: int = 16) -> np.ndarray:
    """A table of 2**bits cells holding each value in proportion to its weight: indexing it with
    uniform random integers draws the values (one gather per row instead of a binary search)."""
    p = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return values[np.searchsorted(cdf, (np.arange(2**bits) + 0.5) / 2**bits, side="right")]


def _uniform_cells(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    return rng.integers(0, 2**bits, n, dtype=np.uint32 if bits > 16 else np.uint16)


class _Cat:
    """A weighted draw over codes of a vocabulary (``vocab=None``: open codes); ``None`` is empty.

    Weights are kept to 1/65,536 (every weight here is at least 0.001).
    """

    def __init__(self, vocab: str | None, weights: Mapping[str | None, float]) -> None:
        self.values = np.array([NA if c is None else _code(vocab, c) for c in weights], dtype=np.int64)
        self.table = _draw_table(self.values, list(weights.values()))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[_uniform_cells(rng, n, 16)]


def _pick(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> np.ndarray:
    """Integers 0 … len(p) - 1 drawn with weights ``p``."""
    return _draw_table(np.arange(len(p), dtype=np.int64), p)[_uniform_cells(rng, n, 16)]


def _lookup(vocab: str | None, mapping: Mapping[str, float], default: float) -> np.ndarray:
    """A table indexed by generated code (``NA`` = -1 reads the last cell, the default)."""
    size = len(schema.vocabulary(vocab) if vocab else _OPEN_CODES)
    table = np.full(size + 1, default, dtype=np.float64)
    for code, value in mapping.items():
        table[_code(vocab, code)] = value
    return table


def _weekday(days: np.ndarray) -> np.ndarray:
    """0 Monday … 6 Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def _open_day(rng: np.random.Generator, days: np.ndarray, saturday: float) -> np.ndarray:
    """Days moved off Sundays, and off Saturdays but for a share ``saturday``, to a weekday of the
    following week (never earlier, so a follow-up stays after the visit it follows)."""
    weekday = _weekday(days)
    move = (weekday == 6) | ((weekday == 5) & (rng.random(len(days)) >= saturday))
    return np.where(move, days + 7 - weekday + rng.integers(0, 5, len(days)), days)


def _year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _day_of_year(days: np.ndarray) -> np.ndarray:
    first = days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    return days - first


class _Calendar:
    """A distribution of days over the activity window: growth × season × day of the week."""

    def __init__(self, growth: float, season: float, peak_day: int, weekdays: tuple[float, ...],
                 dips: tuple[tuple[str, str, float], ...] = ()) -> None:
        days = np.arange(D_START, D_END + 1, dtype=np.int64)
        t = (days - D_START) / (D_END - D_START)
        w = (1 + (growth - 1) * t)
        w = w * (1 + season * np.cos(2 * np.pi * (_day_of_year(days) - peak_day) / 365.25))
        w = w * np.asarray(weekdays)[_weekday(days)]
        for first, last, factor in dips:
            w[(days >= _day(first)) & (days <= _day(last))] *= factor
        self.table = _draw_table(days, w, bits=20)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.table[_uniform_cells(rng, n, 20)]


def _day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def _delay(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    """Whole days ≥ 0 with the given mean (geometric)."""
    return rng.geometric(1.0 / (mean + 1.0), n) - 1


def _lognormal(rng: np.random.Generator, n: int, median: float, sigma: float, high: int) -> np.ndarray:
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, n)), 0, high).astype(np.int64)


def _chance(rng: np.random.Generator, p, n: int) -> np.ndarray:
    return rng.random(n) < p


def _empty_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, NA, values)


def _bool(values: np.ndarray, empty: np.ndarray | None = None) -> np.ndarray:
    out = values.astype(np.int64)
    return out if empty is None else np.where(empty, NA, out)


def _repeat_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a one-to-many table: the owner of each row and its position among its owner's rows."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(owner), dtype=np.int64) - np.repeat(starts, counts)
    return owner, position


def _timeline(rng: np.random.Generator, first: np.ndarray, counts: np.ndarray,
              gaps: Callable[[int], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows dated from each owner's ``first`` day, each following the previous one by a gap:
    the owner, the position among the owner's rows and the day of each row."""
    owner, position = _repeat_index(counts)
    step = gaps(len(owner))
    step[position == 0] = 0
    total = np.cumsum(step)
    some = counts > 0
    total -= np.repeat(total[(np.cumsum(counts) - counts)[some]], counts[some])
    return owner, position, first[owner] + total


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]``, ``NA`` where ``index`` is ``NA``."""
    if not len(values):
        return np.full(len(index), NA, dtype=np.int64)
    return np.where(index == NA, NA, values[np.maximum(index, 0)])


def _sort_rows(table: dict[str, np.ndarray], day: str) -> dict[str, np.ndarray]:
    """Rows ordered by person, then by ``day`` (a day of the activity window), ties kept in order."""
    key = table["person_id"] * 4096 + (table[day] - D_START)
    order = np.argsort(key, kind="stable")
    return {name: column[order] for name, column in table.items()}


def _concat_rows(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _take_rows(table: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[keep] for name, column in table.items()}
