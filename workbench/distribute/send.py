"""Sending rendered reports to a contact list: plan, skip what the log says was sent, send, log.

>>> result = send_reports(load_contacts("parameters/contacts.yaml"), "reports", dry_run=True)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.distribute.contacts import ContactList
from workbench.distribute.deliveries import Delivery, Missing, find_runs, plan, verify_files
from workbench.distribute.mail import Mailer, PermanentFailure, SmtpSettings, TemporaryFailure, compose
from workbench.distribute.sendlog import LOG_NAME, SendLog
from workbench.exceptions import DistributionError, WorkbenchError


@dataclass
class SendResult:
    """What a run of :func:`send_reports` did (counts and fingerprints only, no address)."""

    planned: list[Delivery] = field(default_factory=list)
    skipped: list[Delivery] = field(default_factory=list)
    sent: list[Delivery] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    not_tried: list[Delivery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_tried and not self.missing


def describe(d: Delivery) -> str:
    return f"{d.run.name} {d.run.period} ({d.run.audience}, {d.run.language})"


def send_reports(contacts: ContactList, output_dir: str | Path, *, periods: Iterable[str] | None = None,
                 settings: SmtpSettings | None = None, dry_run: bool = False, log_path: str | Path | None = None,
                 key: bytes | None = None, say: Callable[[str], None] = lambda m: None) -> SendResult:
    """Send every planned delivery that the send log does not list as sent.

    A dry run composes every message (so a template error shows now) and reports it
    through ``say`` — recipient, subject, files — without connecting or logging.
    Delivery failures are collected in the result; a connection that stays down after
    the retries stops the run (the rest is ``not_tried``), and nothing is logged as sent
    that the server did not accept.
    """
    from workbench.distribute.sendlog import load_key

    root = Path(output_dir)
    deliveries, missing = plan(contacts, find_runs(root, periods))
    result = SendResult(planned=deliveries, missing=missing)
    log = SendLog(Path(log_path) if log_path else root / LOG_NAME, key if key is not None else load_key())
    todo = []
    for d in deliveries:
        (result.skipped if log.was_sent(d) else todo).append(d)
    if dry_run:
        for d in todo:
            msg = compose(d, contacts, settings.sender if settings else "(sender)", root)
            files = ", ".join(p.name for p in d.files)
            how = "link to" if d.contact.delivery == "link" else "attach"
            say(f"would send {describe(d)} to {d.contact.name} <{d.contact.email}>: “{msg['Subject']}”, "
                f"{how} {files}")
        return result
    if not todo:
        return result
    if settings is None:
        raise DistributionError("No mail settings: give --smtp FILE or set the WORKBENCH_SMTP_* variables.")
    with Mailer(settings) as mailer:
        for i, d in enumerate(todo):
            try:
                verify_files(d)
                mailer.send(compose(d, contacts, settings.sender, root))
            except PermanentFailure as exc:
                log.record(d, "failed", str(exc))
                result.failed.append((d, log.scrub(str(exc), d)))
                say(f"FAILED  {describe(d)} → {log.recipient(d)}: {log.scrub(str(exc), d)}")
                continue
            except TemporaryFailure as exc:
                log.record(d, "failed", str(exc))
                result.failed.append((d, log.scrub(str(exc), d)))
                result.not_tried = todo[i + 1:]
                say(f"FAILED  {describe(d)} → {log.recipient(d)}: {log.scrub(str(exc), d)}; stopping, "
                    f"{len(result.not_tried)} message(s) left for the next run")
                break
            except WorkbenchError as exc:
                result.failed.append((d, str(exc)))
                say(f"FAILED  {describe(d)} → {log.recipient(d)}: {exc}")
                continue
            log.record(d, "sent")
            result.sent.append(d)
            say(f"sent    {describe(d)} → {log.recipient(d)}")
    return result
