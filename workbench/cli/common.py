"""Shared pieces of the command line: consoles, error handling, extract loading and summaries.

Command modules (``cli``, ``cli_data``, ``cli_reports``, ``cli_dashboard``) import from here, so
none of them needs to import another.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from workbench.exceptions import WorkbenchError, from_os_error


def _console(stderr: bool = True):
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120
    return console


def handle_errors(func):
    """Turn an error into one line on standard error and the exit code its class declares.

    A :class:`WorkbenchError` carries its ``exit_code``; an :class:`OSError` (disk full,
    permission denied, a file where a folder is expected) becomes a
    :class:`~workbench.exceptions.FileSystemError` naming the file. No traceback.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (WorkbenchError, OSError) as exc:
            from rich.markup import escape

            error = exc if isinstance(exc, WorkbenchError) else from_os_error(exc)
            _console().print(f"[bold red]error:[/] {escape(str(error))}", markup=True, highlight=False)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:  # pragma: no cover
            _console().print("interrupted")
            sys.exit(130)

    return wrapper


def load_with_progress(path: str | Path):
    """Load an extract, showing progress on a terminal."""
    from workbench import extract

    console = _console()
    if not console.is_terminal:
        return extract.load(path)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"reading {path}")

        def step(table: str, what: str) -> None:
            bar.update(task, description=f"{what} {table}")

        return extract.load(path, progress=step)


QUARANTINE_LINES = 10


def print_summary(ex, console=None) -> None:
    """The per-table summary of a loaded extract."""
    from rich.markup import escape
    from rich.table import Table

    console = console or _console(stderr=False)
    title = escape(f"{ex.source}")
    if ex.meta.organisation:
        title += f" — {escape(ex.meta.organisation)}"
    if ex.meta.extracted_on:
        title += f" (extracted on {ex.meta.extracted_on.isoformat()})"
    table = Table(title=title, title_justify="left")
    for col, justify in (("table", "left"), ("file", "left"), ("read", "right"), ("accepted", "right"),
                         ("quarantined", "right"), ("by rule", "left")):
        table.add_column(col, justify=justify)
    for name, rep in ex.reports.items():
        rules = "\n".join(f"{rule}: {n:,}" for rule, n in rep.by_rule.items())
        table.add_row(name, escape(rep.file), f"{rep.read:,}", f"{rep.accepted:,}", f"{rep.quarantined:,}", rules)
    table.add_row("total", "", f"{ex.read:,}", f"{ex.read - ex.quarantined:,}", f"{ex.quarantined:,}", "",
                  style="bold")
    console.print(table)
    absent = [t for t in _optional_tables() if t not in ex.reports]
    if absent:
        console.print(f"Tables not in this extract (their indicators are not available): {', '.join(absent)}")
    for warning in ex.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if ex.quarantined:
        shown = ex.quarantine.head(QUARANTINE_LINES)
        console.print(f"\nQuarantined rows (first {shown.height} of {ex.quarantined:,}):")
        for row in shown.iter_rows(named=True):
            console.print(f"  {row['file']} row {row['row']}, column {row['column']}: {row['reason']}",
                          markup=False)


def _optional_tables() -> list[str]:
    from workbench.contract.schema import TABLE_ORDER, TABLES

    return [t for t in TABLE_ORDER if not TABLES[t].required]
