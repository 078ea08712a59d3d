"""A researcher's own notebook: a copy of the starter notebook, wired to an extract.

``workbench notebook NEW.ipynb [--extract DIR]`` calls :func:`new_notebook`. The copy is the
researcher's to change; the report templates (``notebooks/*.ipynb`` run by ``workbench render``)
are never where anyone writes, and nothing is ever written inside the package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from workbench import resources
from workbench.exceptions import FileSystemError, ParameterError

STARTER = "starter.ipynb"


def _extract_line(extract: str) -> str:
    return f"EXTRACT = {json.dumps(extract, ensure_ascii=False)}"


def new_notebook(path: str | Path, extract: str | Path | None = None) -> Path:
    """Write the starter notebook to ``path`` (a new ``.ipynb``), its ``EXTRACT`` set to ``extract``.

    ``extract`` is written relative to the notebook's folder when it lies below it (the folder can
    move with its notebook), else absolute. Refuses an existing file, a name not ending in
    ``.ipynb`` and a place inside the installed package.

    >>> new_notebook("my_analysis.ipynb", extract="demo")      # doctest: +SKIP
    """
    target = Path(path).absolute()
    if target.suffix != ".ipynb":
        raise ParameterError(f"{path}: a notebook's name ends in .ipynb (e.g. {target.stem}.ipynb).")
    if target.exists():
        raise FileSystemError(f"{target} already exists: choose another name (nothing was written).")
    package = resources.package_file().resolve()
    if target.resolve().is_relative_to(package):
        raise FileSystemError(f"{target} is inside the workbench package: write your notebook in your own folder.")
    if not target.parent.is_dir():
        raise FileSystemError(f"{target.parent} is not a folder: create it first (nothing was written).")
    nb = json.loads(resources.packaged("notebooks", STARTER).read_text(encoding="utf-8"))
    if extract is not None:
        where = Path(extract).absolute()
        shown = os.path.relpath(where, target.parent) if where.is_relative_to(target.parent) else str(where)
        (cell,) = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        lines = cell["source"]
        at = next(i for i, line in enumerate(lines) if line.startswith("EXTRACT = "))
        comment = lines[at].split("#", 1)[1].rstrip("\n") if "#" in lines[at] else ""
        lines[at] = f"{_extract_line(Path(shown).as_posix()):<24} #{comment}\n" if comment else \
            _extract_line(Path(shown).as_posix()) + "\n"
    with target.open("x", encoding="utf-8") as out:
        out.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return target


__all__ = ["STARTER", "new_notebook"]
