"""One report per centre or per site: ``each:`` in a parameter file (or ``--each`` on the command line).

::

    report: detention_report
    extract: ../demo
    period: 2025-Q4
    template: returns/detention_return.yaml
    each: centre                  # one report (and one filled return) per centre
    centres: [cra_guyane, cra_reunion]   # optional: these; else every centre extract.yaml declares

A file with ``each: centre`` stands for one parameter file per centre, each with
``centres: [CODE]`` and the name ``<name>_<CODE>``: the run folders are
``<output>/<report>/<period>/<name>_<CODE>/`` (codes, never labels, so the names are safe
and the same on every machine). The selection is the report's own ``centres``/``sites``
parameter, narrowed to one code: the same :func:`workbench.selection.restrict` as any report.

Centres and sites come from the file's own list when it has one, else from the extract's
``extract.yaml`` (``centres:``/``sites:``, in their declared order). A listed code the extract
does not declare is refused (a typo would otherwise give a report of zeros), every problem at once
(:class:`~workbench.exceptions.ParameterError`, exit 2).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from workbench.exceptions import ParameterError
from workbench.reports.params import EACH, ReportParams

_CODE = re.compile(r"[a-z0-9][a-z0-9_]*")


def declared(params: ReportParams, key: str) -> list[str]:
    """The centre or site codes the parameters' extract declares (``extract.yaml``), in its order."""
    from workbench.extract.files import discover
    from workbench.extract.loading import read_metadata

    folder = params.extract_path()
    if not folder.exists():
        return []
    found = discover(folder)
    if not found.metadata_file or not Path(found.metadata_file).exists():
        return []
    return list(getattr(read_metadata(found.metadata_file), key))


def codes(params: ReportParams) -> list[str]:
    """The codes ``each:`` loops over (see the module docstring); ``[]`` without ``each``."""
    if not params.each:
        return []
    key = EACH[params.each]
    where = f"{params.source}: " if params.source else ""
    known = declared(params, key)
    listed = list(params.values.get(key) or ())
    if listed:
        unknown = [c for c in listed if known and c not in known]
        if unknown:
            raise ParameterError(f"{where}'each: {params.each}': {', '.join(unknown)} not among the {key} of the "
                                 f"extract ({', '.join(known)}); correct '{key}' or the extract's extract.yaml.")
        return listed
    if not known:
        raise ParameterError(f"{where}'each: {params.each}': the extract declares no {key} (extract.yaml, "
                             f"'{key}:'); list them in the parameter file: {key}: [CODE, …].")
    unsafe = [c for c in known if not _CODE.fullmatch(str(c))]
    if unsafe:
        raise ParameterError(f"{where}'each: {params.each}': the extract's {key} {', '.join(map(repr, unsafe))} are "
                             "not codes (lower-case letters, digits, '_'); list the codes in the parameter file.")
    return known


def expand(params: ReportParams) -> list[ReportParams]:
    """The parameters once per code of ``each`` (the parameters themselves, in a list, without ``each``)."""
    if not params.each:
        return [params]
    key = EACH[params.each]
    out = []
    for code in codes(params):
        values = {**params.values, key: [code]}
        out.append(replace(params, values=values, name=f"{params.name}_{code}", each=None,
                           explicit=params.explicit | {key, "name"}))
    return out


def narrowing(params: ReportParams) -> list[tuple[str | None, list[str]]]:
    """``(code, overrides)`` for each report of ``params``: the ``--set`` items that narrow it to one code
    (``[(None, [])]`` without ``each``). Used by batches, whose workers read the file again."""
    if not params.each:
        return [(None, [])]
    key = EACH[params.each]
    return [(code, [f"{key}=[{code}]", f"name={params.name}_{code}", "each=null"]) for code in codes(params)]
