"""Publishing output folders, and keeping spreadsheets inert.

An output folder (a report run, an extract) is written into a staging folder beside its
target and swapped in with renames at the end: readers see the old folder or the new one,
never half of one, and a failure leaves the old folder as it was. :func:`publishing`
replaces only a folder the workbench made, recognised by its *marker* file
(``manifest.json`` for a report run, ``extract.yaml`` for an extract); any other folder
that holds files is refused with :class:`~workbench.exceptions.OutputFolderError`,
so nobody's files are ever deleted by a render.

Spreadsheet safety (:func:`safe_text`, :func:`safe_frame`, :data:`XLSX_OPTIONS`): a text cell
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single
quote (the OWASP advice on CSV injection), so that a spreadsheet never runs it as a formula.
Numbers are left as numbers: numeric columns are not touched, and a text that is a plain
decimal number (``-3``, ``+1.5``, a formatted figure) runs nothing and stays as it is.

>>> safe_text('=HYPERLINK("http://x","y")')
'\\'=HYPERLINK("http://x","y")'
>>> safe_text("-3"), safe_text("-2+3"), safe_text("accueil")
('-3', "'-2+3", 'accueil')
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench.exceptions import OutputFolderError, from_os_error

REPORT_MARKER = "manifest.json"
EXTRACT_MARKER = "extract.yaml"

# --------------------------------------------------------------------------- folders


def check_target(target: str | Path, marker: str) -> Path:
    """``target`` as an absolute path, refused when it cannot be replaced by a folder the workbench made.

    A missing folder or an empty one is fine; so is a folder holding ``marker``. A file, or a
    folder holding other files and no ``marker``, raises :class:`OutputFolderError`.
    """
    target = Path(target).absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputFolderError(f"{target}: a file is there, not a folder; remove it or choose another output "
                                "folder.")
    if target.is_dir() and not (target / marker).is_file() and any(target.iterdir()):
        raise OutputFolderError(f"{target}: the folder holds files the workbench did not write (no {marker}); "
                                "nothing was replaced. Choose another output folder, or empty this one.")
    return target


def staging_folder(target: str | Path) -> Path:
    """A new empty folder beside ``target`` (same file system, so the final rename is atomic)."""
    target = Path(target).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        folder.chmod(0o777 & ~umask)
    except OSError as exc:
        raise from_os_error(exc) from None
    return folder


def swap_in(staged: Path, target: Path) -> None:
    """Put ``staged`` in place of ``target``; the old folder is restored if the swap fails, removed after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    try:
        os.replace(staged, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def publishing(target: str | Path, marker: str) -> Iterator[Path]:
    """Stage a folder for ``target`` and swap it in when the block ends without error.

    The block writes into the yielded staging folder, which must hold ``marker`` at the end.
    On any error the staging folder is removed and ``target`` is left untouched; an
    :class:`OSError` becomes a :class:`~workbench.exceptions.FileSystemError`.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with publishing(out, "manifest.json") as folder:
    ...     _ = (folder / "manifest.json").write_text("{}")
    >>> sorted(p.name for p in out.iterdir())
    ['manifest.json']
    """
    target = check_target(target, marker)
    staged = staging_folder(target)
    try:
        yield staged
        if not (staged / marker).is_file():
            raise OutputFolderError(f"{target}: internal error, the staged folder has no {marker}; nothing was "
                                    "replaced.")
        check_target(target, marker)  # again: something may have appeared meanwhile
        swap_in(staged, target)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise from_os_error(exc) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- spreadsheets

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"
#: xlsxwriter options: strings stay strings (never formulas, URLs or numbers).
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def safe_text(value: str | None) -> str | None:
    """A text cell a spreadsheet shows as text: a leading ``= + - @ \\t \\r`` gets a ``'`` before it."""
    import re

    if value is not None and value.startswith(FORMULA_STARTS) and not re.match(_PLAIN_NUMBER, value):
        return "'" + value
    return value


def safe_frame(frame):
    """A polars frame whose text columns are neutralised with :func:`safe_text`; other columns unchanged."""
    import polars as pl

    text = [c for c, t in frame.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum)]
    if not text:
        return frame
    def neutral(c: str) -> pl.Expr:
        v = pl.col(c).cast(pl.String)
        risky = v.str.contains(_DANGEROUS) & ~v.str.contains(_PLAIN_NUMBER)
        return pl.when(risky).then(pl.lit("'") + v).otherwise(v).alias(c)

    return frame.with_columns(neutral(c) for c in text)


def write_csv(frame, path: str | Path | None = None, **kwargs) -> str | None:
    """``frame.write_csv`` with text cells neutralised (:func:`safe_frame`); numbers unchanged."""
    return safe_frame(frame).write_csv(path, **kwargs) if path is not None else safe_frame(frame).write_csv(**kwargs)
