"""One YAML loader for every file a user hands the workbench (parameters, extract.yaml,
mappings, catalogues, contact lists).

It is PyYAML's safe loader (plain data only) with two limits checked before memory is
spent: a file's size (:data:`MAX_CHARS`) and **no aliases** (``*name``), which is what an
"alias bomb" (a few lines that expand to billions of values) needs; anchors alone are
harmless. A refusal is a :class:`LimitError`, a ``yaml.MarkedYAMLError``, so the callers'
own handling of invalid YAML reports it with the file's name, line and column.

>>> load("a: 1")
{'a': 1}
>>> load("a: &x [1]\\nb: *x")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
workbench.safeyaml.LimitError: ...
"""

from __future__ import annotations

from functools import cache

import yaml

#: The largest YAML text read (characters): parameter and mapping files are a few kilobytes.
MAX_CHARS = 2_000_000


class LimitError(yaml.MarkedYAMLError):
    """A YAML text over a limit of :mod:`workbench.safeyaml`."""


class _NoAliases:
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise LimitError(problem=f"an alias (*{event.anchor}) refers to another value; aliases are not "
                                     "accepted, write the value out", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


@cache
def _without_aliases(loader: type) -> type:
    return type(f"NoAlias{loader.__name__}", (_NoAliases, loader), {})


def load(text: str, loader: type = yaml.SafeLoader, max_chars: int = MAX_CHARS):
    """The data of a YAML ``text`` read with ``loader`` (a ``yaml.SafeLoader`` subclass), within the limits."""
    if len(text) > max_chars:
        raise LimitError(problem=f"{len(text):,} characters, over the limit of {max_chars:,} for a YAML file")
    return yaml.load(text, Loader=_without_aliases(loader))  # noqa: S506 - a SafeLoader subclass


__all__ = ["MAX_CHARS", "LimitError", "load"]
