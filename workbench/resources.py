"""Where the workbench finds its notebooks, templates, parameter examples and Voilà configuration.

They ship inside the package (``workbench/assets/``) and are found with
:mod:`importlib.resources`, so an installed wheel works as well as a checkout. An
organisation can put its own versions in a folder of its own with the same layout
(``notebooks/``, ``templates/``, ``parameters/``) and name it with ``resources:`` in a
parameter file or ``--resources DIR`` on the command line: a file found there wins over
the packaged one of the same name.

>>> from workbench import resources
>>> resources.find("notebooks", "activity_report.ipynb").name
'activity_report.ipynb'
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources as _res
from pathlib import Path

from workbench.exceptions import ResourceError

KINDS = ("notebooks", "templates", "parameters")


def packaged(*parts: str) -> Path:
    """A path inside the package's ``assets`` folder (it need not exist)."""
    return Path(str(_res.files("workbench").joinpath("assets", *parts)))


def package_file(*parts: str) -> Path:
    """A data file that lives beside a module of the package (``indicators/catalogue.yaml``…)."""
    return Path(str(_res.files("workbench").joinpath(*parts)))


def search_path(kind: str, extra: Sequence[str | Path] = ()) -> list[Path]:
    """The folders searched for ``kind``: the organisation's own folders first, then the package's."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    return [Path(folder) / kind for folder in extra] + [packaged(kind)]


def find(kind: str, name: str, extra: Sequence[str | Path] = ()) -> Path:
    """The first ``kind/name`` on the search path; :class:`ResourceError` naming every folder tried."""
    tried = search_path(kind, extra)
    for folder in tried:
        candidate = folder / name
        if candidate.exists():
            return candidate.absolute()
    raise ResourceError(f"No {kind[:-1]} named '{name}' in {', '.join(str(f) for f in tried)}. "
                        f"Put it in a folder given with --resources DIR (as {kind}/{name}).")


__all__ = ["KINDS", "find", "package_file", "packaged", "search_path"]
