"""The workbench's exceptions.

Every error a user can meet derives from :class:`WorkbenchError`. Messages say
what was wrong, where (file, row, column) and what to do. The exit code of the
command line lives on the class (``exit_code``): ``workbench.cli.common.handle_errors``
reads nothing else, and never shows a traceback. An :class:`OSError` (disk full,
permission denied, a file where a folder is expected) becomes a :class:`FileSystemError`
through :func:`from_os_error`.

>>> from_os_error(OSError(28, "No space left on device", "/out/x.csv")).exit_code
2
"""

from __future__ import annotations

import errno
import os


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose."""

    #: 2: refused, bad input or bad parameter, nothing produced (see docs/cli.md).
    exit_code = 2


class ExtractError(WorkbenchError):
    """The case extract is refused as a whole (nothing was loaded)."""

    def __init__(self, message: str, *, file: str | None = None, table: str | None = None,
                 column: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.table = table
        self.column = column
        self.row = row


class MissingTableError(ExtractError):
    """A table the contract requires (persons, contacts) is not in the extract."""


class MissingColumnError(ExtractError):
    """A column the contract requires is missing from a table."""


class UnreadableFileError(ExtractError):
    """A file of the extract is empty, has no rows, or cannot be parsed."""


class IdentifierColumnError(ExtractError):
    """A column holds direct identifiers: the extract must be pseudonymised first."""


class PeriodError(WorkbenchError, ValueError):
    """A period could not be parsed."""


class ParameterError(WorkbenchError, ValueError):
    """A parameter (report, command line, widget) is unknown or has a bad value."""


class IndicatorError(WorkbenchError, ValueError):
    """An unknown indicator, or a breakdown that no requested indicator allows."""


class CatalogueError(IndicatorError):
    """An organisation's catalogue (YAML or workbook) cannot be used; the message lists every problem."""


class DisclosureError(WorkbenchError):
    """An output would show figures that the audience requires to be suppressed."""


class AudienceDeclarationError(DisclosureError):
    """The audiences declaration (audiences.yaml) breaks its rules; the message lists every problem."""


class UnpublishedPeriodError(ParameterError):
    """A period that the audience's publication calendar does not publish (a range, a week, an unfinished period)."""


class UnpublishedSelectionError(ParameterError):
    """A selection (sites, centres, persons) that is not published to an outside audience."""


class MappingError(WorkbenchError):
    """A mapping file or a raw export cannot be turned into a case extract."""


class KeyFileError(WorkbenchError):
    """The pseudonymisation key is missing, too short or readable by others."""


class ReportError(WorkbenchError):
    """A report could not be rendered."""


class ResourceError(WorkbenchError):
    """A notebook, template or parameter example the workbench needs was not found."""


class DistributionError(WorkbenchError):
    """A contact list, mail setting or publication folder cannot be used (nothing was sent or published)."""


class OutputFolderError(WorkbenchError):
    """An output folder cannot be written: it holds something the workbench did not make."""


class FileSystemError(WorkbenchError):
    """Reading or writing a file failed (disk full, permission denied, a file where a folder is expected…)."""

    def __init__(self, message: str, *, file: str | None = None, errno_: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.errno = errno_


_WHAT_TO_DO = {
    errno.ENOSPC: "free some space, or choose another output folder, and run again",
    errno.EDQUOT: "free some space (disk quota), or choose another output folder, and run again",
    errno.EACCES: "check the owner and permissions, or choose another folder",
    errno.EPERM: "check the owner and permissions, or choose another folder",
    errno.EROFS: "the file system is read-only: choose another output folder",
    errno.ENOTDIR: "a file is where a folder is expected: remove or rename it, or choose another folder",
    errno.EISDIR: "a folder is where a file is expected: give a file name",
    errno.EEXIST: "something is already there: choose another name",
    errno.ENOENT: "check the path",
}


def from_os_error(exc: OSError) -> FileSystemError:
    """One line naming the file, what happened and what to do, for any :class:`OSError`."""
    if isinstance(exc, FileSystemError):
        return exc
    where = None if exc.filename is None else str(exc.filename)
    if where is not None and exc.filename2 is not None:
        where += f" → {exc.filename2}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = exc.errno
    if code == errno.EEXIST and exc.filename is not None and os.path.isfile(exc.filename):
        code = errno.ENOTDIR  # mkdir over a file: a file is where a folder is expected
    todo = _WHAT_TO_DO.get(code or -1, "check the file and the disk, then run again")
    message = f"{where}: {reason}; {todo}." if where else f"{reason}; {todo}."
    return FileSystemError(message, file=where, errno_=exc.errno)
