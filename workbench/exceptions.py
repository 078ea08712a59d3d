"""The workbench's exceptions.

Every error a user can meet derives from :class:`WorkbenchError`. Messages say
what was wrong, where (file, row, column) and what to do; the command line maps
them to exit codes and never shows a traceback.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose."""

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


class DisclosureError(WorkbenchError):
    """An output would show figures that the audience requires to be suppressed."""


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
