"""Scheduled reports: which periods are due, given a cadence and a lag.

A parameter file that declares ``cadence`` (``monthly``, ``quarterly``,
``half-yearly``, ``yearly``) and ``lag_days`` is due for a period once the period has
ended and ``lag_days`` more days have passed (:func:`workbench.periods.closed_periods`),
and for as long as that period has no finished output (a ``manifest.json`` in its run
folder). Without ``since`` only the latest closed period is considered; with
``since: 2025-Q1`` every closed period from then on is (catching up after a pause).

:func:`due` is pure apart from reading parameter files and checking which run folders
exist; ``as_of`` is always given, so a run is reproducible and checking twice gives the
same answer. A file with ``each: centre`` (or ``site``) is due per centre (site): one entry each,
done when that centre's run folder is. A closed period that ends after the extract's ``extracted_on`` is listed as
skipped, with the reason (a stale extract must not send a report of zeros to partners).
``workbench due --as-of DATE --run`` renders what is due, so re-running it
renders nothing new: a daily cron line is all a team needs.

>>> import datetime as dt                                                  # doctest: +SKIP
>>> [d.period for d in due(["parameters/activity_report.yaml"], dt.date(2026, 1, 20))]  # doctest: +SKIP
['2025-Q4']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.exceptions import WorkbenchError
from workbench.reports.each import expand
from workbench.reports.params import ReportParams, load

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Due:
    """One (parameter file, period) pair with a cadence: its run folder and whether it is done."""

    params_file: Path
    period: str
    folder: Path
    done: bool
    params: ReportParams | None = None
    error: str | None = None
    #: Why a closed period is not rendered (the extract does not reach its end), or ``None``.
    skipped: str | None = None


def periods_due(params: ReportParams, as_of: dt.date) -> list[str]:
    """The closed periods of a parameter file's cadence on ``as_of`` (oldest first)."""
    from workbench.periods import closed_periods

    if params.cadence is None:
        return []
    return [p.code for p in closed_periods(params.cadence, as_of, params.lag_days, since=params.since)]


def due(params_files: Sequence[str | Path], as_of: dt.date, output_dir: str | Path | None = None,
        overrides: Sequence[str] = ()) -> list[Due]:
    """Every closed period of every scheduled parameter file, done or not.

    Files without a ``cadence`` are skipped; a file that cannot be read gives one entry
    with ``error`` set (the others are still checked).
    """
    out: list[Due] = []
    for name in params_files:
        path = Path(name)
        try:
            params = load(path, overrides)
        except WorkbenchError as exc:
            out.append(Due(path, "", Path(), False, None, str(exc)))
            continue
        periods = periods_due(params, as_of)
        extracted_on = _extraction_day(params) if periods else None
        try:
            runs = expand(params) if periods else []  # one per centre or site with `each:`
        except WorkbenchError as exc:
            out.append(Due(path, "", Path(), False, None, str(exc)))
            continue
        for period in periods:
            for one in runs:
                run = one.with_period(period)
                folder = run.run_dir(output_dir)
                out.append(Due(path, period, folder, (folder / MANIFEST).exists(), run,
                               skipped=_not_covered(period, extracted_on)))
    return out


def _extraction_day(params: ReportParams) -> dt.date | None:
    """The extract's ``extracted_on`` (``None`` when unknown or unreadable: rendering reports it)."""
    from workbench.reports.coverage import extraction_day

    try:
        return extraction_day(params.extract_path()) if params.extract_path().exists() else None
    except WorkbenchError:
        return None


def _not_covered(period: str, extracted_on: dt.date | None) -> str | None:
    """Why ``period`` is skipped: the extract was taken before it ended (a stale extract)."""
    from workbench.periods import parse_period

    p = parse_period(period)
    if extracted_on is None or p.end <= extracted_on:
        return None
    return (f"the extract was taken on {extracted_on.isoformat()} (extracted_on), before {period} ended on "
            f"{p.end.isoformat()}: refresh the extract")


def scheduled_files(folder: str | Path = "parameters") -> list[Path]:
    """The parameter files of a folder that declare a cadence."""
    import yaml

    from workbench import safeyaml

    files = []
    for path in sorted(Path(folder).glob("*.y*ml")):
        try:
            data = safeyaml.load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            files.append(path)  # reported as an error by due()
            continue
        if isinstance(data, dict) and data.get("cadence") and data.get("report"):
            files.append(path)
    return files
