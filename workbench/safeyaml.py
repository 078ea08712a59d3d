"""One YAML loader for every file a user hands the workbench (parameters, extract.yaml,
mappings, catalogues, contact lists).

It is PyYAML's safe loader (plain data only) with two limits checked before memory is
spent: a file's size (:data:`MAX_CHARS`) and the number of values its aliases (``*name``)
stand for (:data:`MAX_ALIASED`). An "alias bomb" is a few lines whose aliases of aliases
stand for billions of values: it is refused as soon as the count passes the limit, without
building them. Ordinary anchors and aliases (PyYAML writes some) are read as usual. A
refusal is a :class:`LimitError`, a ``yaml.MarkedYAMLError``, so the callers' own handling
of invalid YAML reports it with the file's name, line and column.

>>> load("a: &x [1, 2]\\nb: *x")
{'a': [1, 2], 'b': [1, 2]}
>>> load("a: &a [x, x]\\nb: &b [*a, *a]\\nc: [*b, *b]", max_aliased=10)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
workbench.safeyaml.LimitError: ...
"""

from __future__ import annotations

import re
from functools import cache

import yaml

#: The largest YAML text read (characters): parameter and mapping files are a few kilobytes.
MAX_CHARS = 2_000_000
#: The most values all the aliases of one text may stand for (a parameter file holds a few dozen).
MAX_ALIASED = 100_000


class LimitError(yaml.MarkedYAMLError):
    """A YAML text over a limit of :mod:`workbench.safeyaml`."""


class _BoundedAliases:
    """A composer that counts the values every alias stands for, and stops past ``max_aliased``."""

    max_aliased = 0

    def compose_node(self, parent, index):
        if not self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        event = self.peek_event()
        node = super().compose_node(parent, index)  # the anchored node, already built: nothing is copied
        weights = self.__dict__.setdefault("_weights", {})
        self._aliased = getattr(self, "_aliased", 0) + _weight(node, weights)
        if self._aliased > self.max_aliased:
            raise LimitError(problem=f"the aliases (*{event.anchor} and others) stand for more than "
                                     f"{self.max_aliased:,} values; write the values out",
                             problem_mark=event.start_mark)
        return node


def _weight(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for, its aliases expanded (computed once per node)."""
    key = id(node)
    if key not in memo:
        if isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_weight(k, memo) + _weight(v, memo) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_weight(v, memo) for v in node.value)
        else:
            memo[key] = 1
    return memo[key]


#: Where an alias could start: a ``*`` at the start of a line or after a space, ``[``, ``{`` or ``,``
#: (an alias is a node, and nodes start only there). No match: the text has no alias.
_MAY_ALIAS = re.compile(r"(?:^|[\s\[{,])\*", re.MULTILINE)
#: libyaml's safe loader (same constructors and resolvers as ``yaml.SafeLoader``), when PyYAML was built with it.
_FAST = getattr(yaml, "CSafeLoader", None)


@cache
def _bounded(loader: type, max_aliased: int) -> type:
    return type(f"Bounded{loader.__name__}", (_BoundedAliases, loader), {"max_aliased": max_aliased})


def load(text: str, loader: type = yaml.SafeLoader, max_chars: int = MAX_CHARS, max_aliased: int = MAX_ALIASED):
    """The data of a YAML ``text`` read with ``loader`` (a ``yaml.SafeLoader`` subclass), within the limits."""
    if len(text) > max_chars:
        raise LimitError(problem=f"{len(text):,} characters, over the limit of {max_chars:,} for a YAML file")
    if loader is yaml.SafeLoader and _FAST is not None and not _MAY_ALIAS.search(text):
        return yaml.load(text, Loader=_FAST)  # noqa: S506 - no alias to count: libyaml's safe loader, ten times faster
    return yaml.load(text, Loader=_bounded(loader, max_aliased))  # noqa: S506 - a SafeLoader subclass


__all__ = ["MAX_ALIASED", "MAX_CHARS", "LimitError", "load"]
