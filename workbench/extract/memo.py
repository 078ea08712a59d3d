"""What a module reads or computes once from one extract object, dropped with the object.

An extract is immutable, so what is derived from it stays right for its life: a memo can save
time, never change a figure. Each module keeps its own memo (``name``) so keys never meet.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

_MEMOS: dict[tuple[int, str], Any] = {}


def memo_of(extract, name: str, factory: Callable[[], Any] = dict) -> Any:
    """The memo ``name`` of ``extract`` (made by ``factory`` on first use, dropped with the extract)."""
    key = (id(extract), name)
    memo = _MEMOS.get(key)
    if memo is None:
        memo = _MEMOS[key] = factory()
        weakref.finalize(extract, _MEMOS.pop, key, None)
    return memo
