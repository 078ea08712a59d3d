"""Assembling typed frames: pseudonymous ids, typed columns, the tables of the contract."""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.contract import schema
from workbench.extract.demo.setting import NA, _OPEN_CODES

# --------------------------------------------------------------------------------------------------
# Assembling typed frames
# --------------------------------------------------------------------------------------------------

#: The table each id column names a row of, and the pseudonym prefix of that table.
_ID_OWNER = {"person_id": "persons", "contact_id": "contacts", "case_id": "cases",
             "referral_id": "referrals", "stay_id": "detention_stays", "action_id": "legal_actions"}
_PREFIX = {"persons": "P", "contacts": "C", "cases": "K", "referrals": "R", "detention_stays": "S",
           "legal_actions": "A"}
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
#: The four upper-case hex digits of every 16-bit number, as one uint32 of ASCII bytes each.
_HEX4 = np.ascontiguousarray(np.stack(
    [_HEX[(np.arange(2**16) >> shift) & 15] for shift in (12, 8, 4, 0)], axis=1)).view(np.uint32).ravel()


def _mix32(x: np.ndarray) -> np.ndarray:
    """A bijection of 32-bit integers (the murmur3 finaliser)."""
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> np.uint32(16)
    return x


def _key(seed: int, prefix: str) -> int:
    return int(np.random.SeedSequence([seed, ord(prefix)]).generate_state(1, np.uint32)[0])


def _pseudonyms(prefix: str, index: np.ndarray, key: int, digits: int = 8) -> pl.Series:
    """``prefix`` + upper-case hex digits of a keyed bijective mix of ``index`` (``NA``: empty)."""
    empty = index < 0
    n = len(index)
    hexes = np.empty((n, digits // 4), dtype=np.uint32)
    if digits == 8:
        x = _mix32((np.where(empty, 0, index).astype(np.uint64) + np.uint64(key)) % np.uint64(2**32))
        hexes[:, 0] = _HEX4[x >> np.uint32(16)]
        hexes[:, 1] = _HEX4[x & np.uint32(0xFFFF)]
    else:  # a bijection of 16-bit integers for the small caseworker pool
        hexes[:, 0] = _HEX4[(np.where(empty, 0, index).astype(np.uint64) * np.uint64(40503)
                             + np.uint64(key)) % np.uint64(2**16)]
    chars = np.empty((n, digits + 1), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    chars[:, 1:] = hexes.view(np.uint8)
    # (n, width) bytes → Array(UInt8) → Binary → String: no Python object per row
    series = pl.Series(chars).cast(pl.List(pl.UInt8)).cast(pl.Binary).cast(pl.String)
    return series.scatter(np.flatnonzero(empty), None) if empty.any() else series


def _gather(values: pl.Series, index: np.ndarray) -> pl.Series:
    """``values[index]``, empty where ``index`` is ``NA``."""
    values = values.extend(pl.Series([None], dtype=values.dtype))
    index = np.where(index < 0, len(values) - 1, index).astype(np.uint32)
    return values.gather(pl.Series(index))


def _integers(values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    series = pl.Series(values.astype(np.int32)).cast(dtype)
    empty = np.flatnonzero(values == NA)
    return series.scatter(empty, None) if len(empty) else series


def _column(table: str, column: schema.Column, values: np.ndarray, seed: int) -> pl.Series:
    if column.kind == "id":
        if column.name == "caseworker_id":
            series = _pseudonyms("W", values, _key(seed, "W"), digits=4)
        else:
            prefix = _PREFIX[_ID_OWNER[column.name]]
            series = _pseudonyms(prefix, values, _key(seed, prefix))
    elif column.kind == "code":
        series = _gather(pl.Series(_OPEN_CODES, dtype=pl.String), values)
    elif column.kind == "vocab":
        vocab = schema.vocabulary(column.vocab)
        series = _gather(pl.Series(vocab, dtype=schema.enum(column.vocab)), values)
    elif column.kind == "bool":
        series = _gather(pl.Series([False, True], dtype=pl.Boolean), values)
    elif column.kind == "date":
        series = _integers(values, pl.Date)
    elif column.kind == "year":
        series = _integers(values, pl.Int32)
    else:  # pragma: no cover - the schema declares no other kind
        raise ValueError(f"unknown column kind {column.kind!r}")
    return series.alias(column.name)


def _assemble(parts: list[dict[str, dict[str, np.ndarray]]], tables: list[str],
              seed: int) -> dict[str, pl.DataFrame]:
    """Typed frames from the integer-coded parts, ids made unique across parts."""
    def rows(part: dict, table: str) -> int:
        columns = part.get(table)
        return len(next(iter(columns.values()))) if columns else 0

    offsets = {t: np.cumsum([0] + [rows(p, t) for p in parts]) for t in schema.TABLES}
    frames = {}
    for name in tables:
        table = schema.TABLES[name]
        total = int(offsets[name][-1])
        columns = []
        provided = {c for part in parts for c in part.get(name, {})}
        for column in table.columns:
            if column.name != table.id_column and column.name not in provided and not column.required:
                continue  # optional columns no profile draws (a network's litigation columns) stay absent
            if column.name == table.id_column:
                values = np.arange(total, dtype=np.int64)
            else:
                owner = _ID_OWNER.get(column.name)
                pieces = []
                for i, part in enumerate(parts):
                    if name not in part:
                        continue
                    piece = np.asarray(part[name][column.name], dtype=np.int64)
                    if owner is not None:
                        piece = np.where(piece < 0, NA, piece + offsets[owner][i])
                    pieces.append(piece)
                values = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
            columns.append(_column(name, column, values, seed))
        frames[name] = pl.DataFrame(columns)
    return frames
