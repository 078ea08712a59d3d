"""Command-line shells over :mod:`workbench.reports`, :mod:`workbench.reports.schedule` and
:mod:`workbench.reports.diff`: ``workbench render``, ``batch``, ``due`` and ``diff``; ``workbench notebook``
(:mod:`workbench.reports.starter`).

Exit codes: 0 done (``diff``: same figures); 1 some reports failed (``diff``: figures
differ); 2 refused (bad parameter file, failed render: nothing replaced).
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from workbench.cli.common import _console, handle_errors

_SET_HELP = "Override a parameter of the file (repeatable), e.g. --set period=2025-Q3 --set audience=public."
_OUTPUT_HELP = "Folder for the reports (default: the file's output_dir, else ./reports)."
_RESOURCES_HELP = ("The organisation's own folder (notebooks/, templates/, parameters/): a notebook found there "
                   "wins over the packaged one of the same name (see docs/reports.md).")


_EACH_HELP = ("One report per centre or per site (the file's centres/sites, else those extract.yaml declares), "
              "each in its own folder <name>_<code>; the same as 'each:' in the file.")


def each_option(command):
    return click.option("--each", "each", type=click.Choice(["centre", "site"]), default=None,
                        help=_EACH_HELP)(command)


def _with_each(overrides, each: str | None) -> list[str]:
    return [*overrides, f"each={each}"] if each else list(overrides)


def resources_option(command):
    return click.option("--resources", "resources_dir", type=click.Path(file_okay=False, exists=True), default=None,
                        metavar="DIR", help=_RESOURCES_HELP)(command)


def _with_resources(overrides, resources_dir: str | None) -> list[str]:
    """``--resources DIR`` as the ``resources`` parameter (absolute, so it does not depend on the file's folder)."""
    import json
    from pathlib import Path

    extra = [f"resources={json.dumps(str(Path(resources_dir).resolve()))}"] if resources_dir else []
    return [*overrides, *extra]


def register(group: click.Group) -> None:
    for command in (render_command, batch_command, due_command, diff_command, notebook_command):
        group.add_command(command)


def _print_run(run, console) -> None:
    console.print(f"Report written to [bold]{run.folder}[/]", highlight=False)
    for kind in ("html", "pdf", "xlsx", "ipynb"):
        if kind in run.files:
            console.print(f"  {kind:5} {run.files[kind]}", markup=False, highlight=False)
    console.print(f"  {'json':5} {run.manifest}", markup=False, highlight=False)


@click.command("render")
@click.argument("params_file", metavar="PARAMS.yaml", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default=None, help=_OUTPUT_HELP)
@each_option
@resources_option
@handle_errors
def render_command(params_file: str, overrides: tuple[str, ...], output_dir: str | None,
                   resources_dir: str | None, each: str | None = None) -> None:
    """Render the report of a parameter file: notebook, HTML, PDF, Excel annex, manifest.

    The outputs go to OUTPUT/<report>/<period>/<name>/ and replace the previous run only
    when everything succeeded; otherwise the previous report stays and the reason is
    printed (which cell failed, with which error).

    \b
    Examples:
      workbench render parameters/activity_report.yaml
      workbench render parameters/detention_report.yaml --set period=2025-Q3 --set language=en
      workbench render parameters/activity_report.yaml --resources /srv/our-workbench
      workbench render parameters/detention_report.yaml --each centre
    """
    from workbench import reports
    from workbench.reports.each import expand
    from workbench.reports.params import load

    console = _console()
    params = load(params_file, _with_each(_with_resources(overrides, resources_dir), each))
    for one in expand(params):  # the file itself, or once per centre or site
        run = reports.render(one, output_dir=output_dir, log=lambda m: console.print(m, markup=False,
                                                                                     highlight=False))
        _print_run(run, _console(stderr=False))


@click.command("notebook")
@click.argument("path", metavar="NEW.ipynb", type=click.Path(dir_okay=False))
@click.option("--extract", "extract_path", type=click.Path(exists=True), default=None, metavar="DIR",
              help="The case extract the notebook loads (default: ../demo, as the demo writes it).")
@handle_errors
def notebook_command(path: str, extract_path: str | None) -> None:
    """Write a notebook of your own to analyse an extract: a starter copied to NEW.ipynb.

    The report templates that `workbench render` runs are never the place to write; this
    copy is yours. It refuses to replace a file.

    \b
    Example:
      workbench notebook analyses/arrivals.ipynb --extract demo
    """
    from workbench.reports.starter import new_notebook

    written = new_notebook(path, extract_path)
    _console(stderr=False).print(f"Notebook written to {written}: open it in JupyterLab.", markup=False,
                                 highlight=False)


def _progress_batch(files, overrides, output_dir, jobs, periods=None):
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from workbench import reports

    console = _console()
    if not console.is_terminal:
        def note(outcome):
            status = "ok" if outcome.ok else "FAILED"
            console.print(f"{status}: {outcome.label}", markup=False, highlight=False)
        return reports.batch(files, overrides, output_dir, jobs, on_done=note, periods=periods)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(f"rendering {len(files)} file(s)", total=len(files))

        def start(count):
            bar.update(task, total=count, description=f"rendering {count} report(s)")

        def done(outcome):
            bar.advance(task)
            if not outcome.ok:
                bar.console.print(f"[red]failed:[/] {escape(outcome.label)}", highlight=False)
        return reports.batch(files, overrides, output_dir, jobs, on_done=done, periods=periods, on_start=start)


def _report_outcomes(outcomes) -> int:
    out = _console(stderr=False)
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        if o.ok:
            out.print(f"ok      {o.label} → {o.folder}", markup=False, highlight=False)
    if failed:
        err = _console()
        err.print(f"\n{len(failed)} of {len(outcomes)} report(s) failed:", markup=False)
        for o in failed:
            err.print(f"  {o.label}: {o.error}", markup=False, highlight=False)
    return 1 if failed else 0


@click.command("batch")
@click.argument("params_files", metavar="PARAMS.yaml...", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Reports rendered at the same time (each in its own process).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP + " Applies to every file.")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default=None, help=_OUTPUT_HELP)
@each_option
@resources_option
@handle_errors
def batch_command(params_files: tuple[str, ...], jobs: int, overrides: tuple[str, ...], output_dir: str | None,
                  resources_dir: str | None, each: str | None = None) -> None:
    """Render several parameter files; failures are collected and listed at the end.

    A file with 'each: centre' (or --each centre) is one report per centre, in folders
    <name>_<centre>; likewise per site.

    Exit code 0 when every report was rendered, 1 when some failed (the others are kept).

    \b
    Example: the detention return of every centre, two at a time:
      workbench batch parameters/detention_report.yaml --each centre --jobs 2
    """
    outcomes = _progress_batch(list(params_files), _with_each(_with_resources(overrides, resources_dir), each),
                               output_dir, jobs)
    sys.exit(_report_outcomes(outcomes))


def _as_of(ctx, param, value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (use YYYY-MM-DD).") from None


@click.command("due")
@click.argument("params_files", metavar="[PARAMS.yaml...]", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", callback=_as_of, default=None, metavar="DATE",
              help="The day to check on (YYYY-MM-DD; default: today).")
@click.option("--run", "run", is_flag=True, help="Render the reports that are due.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default=None, help=_OUTPUT_HELP)
@click.option("--send", "send", is_flag=True, help="Then e-mail the due periods' reports to --contacts "
                                                  "(see `workbench send`).")
@click.option("--contacts", "contacts_file", type=click.Path(dir_okay=False), default=None,
              help="Contact list for --send (default: parameters/contacts.yaml).")
@click.option("--smtp", "smtp_file", type=click.Path(dir_okay=False), default=None,
              help="Mail settings file for --send (else WORKBENCH_SMTP_* variables).")
@resources_option
@handle_errors
def due_command(params_files: tuple[str, ...], as_of: dt.date, run: bool, jobs: int, output_dir: str | None,
                send: bool = False, contacts_file: str | None = None, smtp_file: str | None = None,
                resources_dir: str | None = None) -> None:
    """List (or --run) the scheduled reports whose period has closed and that have no output yet.

    A parameter file is scheduled when it declares a cadence (monthly, quarterly,
    half-yearly, yearly) and, optionally, lag_days. Without PARAMS files, every
    scheduled file of ./parameters (with --resources DIR: of DIR/parameters) is checked.
    Running it twice renders nothing new.

    \b
    A daily cron line:
      30 6 * * *  cd /srv/workbench && .venv/bin/workbench due --run >> /var/log/workbench/due.log 2>&1
    """
    from workbench.reports import schedule

    from pathlib import Path

    folder = Path(resources_dir) / "parameters" if resources_dir else Path("parameters")
    files = list(params_files) or [str(p) for p in schedule.scheduled_files(folder)]
    entries = schedule.due(files, as_of, output_dir)
    out = _console(stderr=False)
    errors = [e for e in entries if e.error]
    skipped = [e for e in entries if not e.error and not e.done and e.skipped]
    pending = [e for e in entries if not e.error and not e.done and not e.skipped]
    done = [e for e in entries if not e.error and e.done]
    for e in errors:
        _console().print(f"error: {e.params_file}: {e.error}", markup=False, highlight=False)
    out.print(f"As of {as_of.isoformat()}: {len(pending)} report(s) due, {len(done)} already rendered"
              + (f", {len(skipped)} skipped." if skipped else "."), markup=False)
    for e in skipped:
        out.print(f"  skip  {e.params_file} {e.period}: {e.skipped}", markup=False, highlight=False)
    for e in pending:
        out.print(f"  due   {e.params_file} {e.period} → {e.folder}", markup=False, highlight=False)
    code = 0
    if run and pending:  # a file with `each:` is rendered once per period, for all its centres or sites
        todo = list(dict.fromkeys((str(e.params_file), e.period) for e in pending))
        outcomes = _progress_batch([f for f, _ in todo], _with_resources([], resources_dir),
                                   output_dir, jobs, periods=[p for _, p in todo])
        code = _report_outcomes(outcomes)
    if run and send:
        from workbench.cli.distribute import send_due

        code = max(code, send_due([e for e in entries if not e.error and not e.skipped], output_dir, contacts_file, smtp_file))
    sys.exit(1 if errors else code)


@click.command("diff")
@click.argument("run_a", metavar="RUN_A", type=click.Path(exists=True))
@click.argument("run_b", metavar="RUN_B", type=click.Path(exists=True))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N figures per section.")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@handle_errors
def diff_command(run_a: str, run_b: str, limit: int | None, as_json: bool) -> None:
    """Indicator-level differences between two runs (run folders or executed notebooks).

    Lists parameters and input files that differ, then every figure changed, added or
    removed, as old → new ("< k", "[c]", "[p]", "–" for withheld cells). Exit code 0 when the figures
    are the same, 1 when they differ.
    """
    import json
    from dataclasses import asdict

    from workbench.reports.diff import diff_runs, format_diff

    d = diff_runs(run_a, run_b)
    if as_json:
        click.echo(json.dumps(asdict(d), ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(format_diff(d, limit))
    sys.exit(0 if d.same else 1)
