"""Command-line shells over :mod:`workbench.distribute`: ``workbench send`` and ``workbench publish``.

Exit codes: 0 done; 1 some messages failed or a recipient had no output they may
receive (the send log says what went); 2 refused (bad contact list, mail settings,
folders): nothing sent or published.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workbench.periods import LANGUAGES

from workbench.cli.common import _console, handle_errors

CONTACTS_HELP = "Contact list (YAML, CSV or Excel sheet; default: parameters/contacts.yaml)."


def register(group: click.Group) -> None:
    for command in (send_command, publish_command):
        group.add_command(command)


def _known_reports(output_dir: Path) -> set[str]:
    from workbench.distribute.deliveries import find_runs
    from workbench.reports.params import REPORTS
    from workbench.reports.schedule import scheduled_files

    names = set(REPORTS) | {p.stem for p in Path("parameters").glob("*.y*ml")}
    names |= {p.stem for p in scheduled_files("parameters")}
    if output_dir.is_dir():
        names |= {r.name for r in find_runs(output_dir)}
    return names


def send(contacts_file: str | None, output_dir: str, periods: list[str] | None, dry_run: bool,
         smtp_file: str | None, log_file: str | None) -> int:
    """Send the rendered runs of ``output_dir`` to a contact list; returns the exit code."""
    from workbench.distribute import load_contacts
    from workbench.distribute.mail import load_settings
    from workbench.distribute.send import send_reports

    root = Path(output_dir)
    contacts = load_contacts(contacts_file or "parameters/contacts.yaml", _known_reports(root))
    settings = None if dry_run else load_settings(smtp_file)
    out = _console(stderr=False)

    def say(message: str) -> None:
        out.print(message, markup=False, highlight=False)

    result = send_reports(contacts, root, periods=periods, settings=settings, dry_run=dry_run, log_path=log_file,
                          say=say)
    err = _console()
    for m in result.missing:
        err.print(f"no output for {m.contact.where} ({m.contact.audience}, {m.contact.language}): {m.report} "
                  f"{m.period} was not rendered for an audience they may receive in their language.",
                  markup=False, highlight=False)
    todo = len(result.planned) - len(result.skipped)
    verb = "would send" if dry_run else "sent"
    say(f"{len(result.planned)} message(s) planned, {len(result.skipped)} already sent, {verb} "
        f"{todo if dry_run else len(result.sent)}, failed {len(result.failed)}, left {len(result.not_tried)}.")
    return 0 if result.ok else 1


@click.command("send")
@click.option("--contacts", "contacts_file", type=click.Path(dir_okay=False), default=None, help=CONTACTS_HELP)
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Folder of rendered reports.")
@click.option("--period", "-p", "periods", multiple=True, help="Only runs of this period (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would go to whom; send and log nothing.")
@click.option("--smtp", "smtp_file", type=click.Path(dir_okay=False), default=None,
              help="Mail settings file readable by its owner only (else WORKBENCH_SMTP_* variables).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), default=None,
              help="Send log (default: OUTPUT/send-log.jsonl).")
@handle_errors
def send_command(contacts_file, output_dir, periods, dry_run, smtp_file, log_file) -> None:
    """E-mail rendered reports to a contact list, each recipient their audience's and language's outputs.

    A recipient never gets an output rendered for a less protected audience than theirs
    (internal < partner < public); the audience is read from each run's manifest. What
    was sent is kept in the send log, so running it again sends nothing twice and
    completes a run that failed midway.

    \b
    Examples:
      workbench send --dry-run
      workbench send --contacts parameters/contacts.yaml --period 2025-Q4
    """
    sys.exit(send(contacts_file, output_dir, list(periods) or None, dry_run, smtp_file, log_file))


@click.command("publish")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Folder of rendered reports.")
@click.option("--site", "site_dir", type=click.Path(file_okay=False), default="site", show_default=True,
              help="The publication folder to (re)build.")
@click.option("--audience", type=click.Choice(["public", "partner"]), default="public", show_default=True,
              help="Who the folder is for: it holds only outputs at least as protected.")
@click.option("--extract", "extract_path", default=None,
              help="Case extract for the static dashboards (without it, the site has none).")
@click.option("--lang", "languages", multiple=True, type=click.Choice(LANGUAGES),
              help="Languages of the dashboards (default: fr and en).")
@handle_errors
def publish_command(output_dir, site_dir, audience, extract_path, languages) -> None:
    """Build a static, offline publication folder: an index of the published reports and static dashboards.

    The folder works from any web host or shared drive, needs no server or kernel, and
    is rebuilt byte for byte from the same inputs.

    \b
    Example:
      workbench publish --output-dir reports --extract demo --site site
    """
    from workbench.distribute.site import build_site

    console = _console(stderr=False)
    site = build_site(output_dir, site_dir, audience=audience, extract=extract_path,
                      languages=tuple(languages) or ("fr", "en"),
                      log=lambda m: console.print(m, markup=False, highlight=False))
    console.print(f"Publication folder written to {site} (open {site / 'index.html'})", markup=False,
                  highlight=False)


def send_due(entries, output_dir: str | None, contacts_file: str | None, smtp_file: str | None) -> int:
    """``workbench due --run --send``: send the runs of the due periods (done or just rendered), per output folder."""
    roots: dict[Path, set[str]] = {}
    for e in entries:
        roots.setdefault(Path(e.folder).parent.parent.parent, set()).add(e.period)
    code = 0
    for root, periods in sorted(roots.items()):
        if root.is_dir():
            code = max(code, send(contacts_file, str(root), sorted(periods), False, smtp_file, None))
    return code
