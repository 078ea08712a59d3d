"""workbench: research and reporting for legal and social help to migrants.

Load a pseudonymised case extract, compute the declared indicator catalogue,
suppress small cells for the audience, and render reports and dashboards.

In a notebook, ``import workbench as wb`` gives a small front door; each name is
imported the first time it is used, so ``import workbench`` itself stays instant:

==================  ===============================================================
``wb.demo``         write the synthetic demo extract to a folder
``wb.load``         read and check a case extract (a folder or an .xlsx workbook)
``wb.compute``      indicators for one period, with breakdowns and suppression
``wb.series``       the same over several periods
``wb.change``       a period beside the one before (or another), with the change
``wb.chart``        a breakdown or trend chart of an indicator table
``wb.table``        a publication table (one breakdown, or key figures)
``wb.Period``       a reporting period (``wb.period("2025-Q3")`` reads one)
``wb.Selection``    sites, centres and person attributes to restrict figures to
==================  ===============================================================

Examples
--------
>>> import workbench as wb
>>> ex = wb.load(demo_extract)                      # a folder written by wb.demo(folder)
>>> figures = wb.compute(ex, "2025-Q4", indicators="persons_received", by="sex")
>>> figures.frame.columns
['indicator', 'period', 'sex', 'value', 'numerator', 'denominator', 'flag']
>>> rows = figures.frame
>>> rows.filter(rows["sex"].is_null())["value"][0] == rows.filter(rows["sex"].is_not_null())["value"].sum()
True
>>> public = wb.compute(ex, "2025-Q4", indicators="persons_received", by="nationality", audience="public")
>>> public.k
10
>>> shown = public.frame.filter(public.frame["flag"].is_null())   # small categories grouped into "other",
>>> bool((shown["value"] % 5 == 0).all() and not shown["value"].is_between(1, 9).any())  # counts rounded to 5
True
>>> sfax = wb.compute(ex, "2025", indicators="new_persons", selection=wb.Selection(sites=("sfax",)))
>>> int(sfax.frame["value"][0]) == int(ex.table("persons").filter(
...     (ex.table("persons")["site"] == "sfax") & (ex.table("persons")["registered_on"].dt.year() == 2025)).height)
True
>>> wb.period("2025-Q4").previous().code
'2025-Q3'
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from workbench.exceptions import WorkbenchError

__version__ = "0.1.0"


def _spare_iri_grammar() -> None:
    """Spare every process that uses the workbench (the command, report and dashboard kernels)
    1.5 to 6 s: jsonschema, imported by altair, imports ``rfc3987_syntax`` when it is installed
    (an extra of jupyter-events), which builds a grammar at import. It serves only jsonschema's
    "iri" format check, which altair's schema validation never runs; without it jsonschema
    skips that one format. Done here, the package's first module, so it holds for every process."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


_spare_iri_grammar()

#: polars' allocator (jemalloc, prefixed ``_rjem_``) reads its settings from this variable when polars is loaded.
ALLOCATOR_SETTINGS = "_RJEM_MALLOC_CONF"


def _few_arenas() -> None:
    """Give polars' allocator one arena per four cores (at least one) instead of four per core
    (jemalloc's default), when the workbench is imported before polars (the command and the
    processes it starts inherit it) and the setting is not given already. Each of the tables
    validated three at a time then reuses the memory that the others, and the steps before, freed:
    on 2 cores, at 1M persons, validation peaks at 0.7 GB, not 0.9 GB, and takes about 10 % less
    time; one arena per core still left it at 0.9 GB in a third of the runs (docs/performance.md). Threads rarely wait
    for an arena: each keeps a cache of small blocks. Without effect once polars is loaded, or where
    polars uses another allocator."""
    if "polars" not in sys.modules:
        os.environ.setdefault(ALLOCATOR_SETTINGS, f"narenas:{_arenas()}")


def _arenas(cores: int | None = None) -> int:
    """The allocator arenas asked for on ``cores`` cores (this machine's by default): one per four."""
    return max(1, (cores or os.cpu_count() or 1) // 4)


_few_arenas()

#: The front door: name → (module, attribute), imported on first use. One table, so the
#: functions can be pointed elsewhere (e.g. audience-aware versions) in one place.
FRONT_DOOR: dict[str, tuple[str, str]] = {
    "demo": ("workbench.extract.demo", "write"),
    "load": ("workbench.extract.loading", "load"),
    "compute": ("workbench.disclosure.figures", "compute"),
    "series": ("workbench.disclosure.figures", "series"),
    "change": ("workbench.disclosure.figures", "change"),
    "Selection": ("workbench.selection", "Selection"),
    "chart": ("workbench.present.quick", "chart"),
    "table": ("workbench.present.quick", "table"),
    "Period": ("workbench.periods", "Period"),
    "period": ("workbench.periods", "parse_period"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = FRONT_DOOR[name]
    except KeyError:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(FRONT_DOOR))


__all__ = ["FRONT_DOOR", "WorkbenchError", "__version__", *FRONT_DOOR]
