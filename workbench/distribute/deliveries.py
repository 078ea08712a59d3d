"""Which rendered run goes to whom.

A rendered run is a folder ``<output>/<report>/<period>/<name>/`` with a
``manifest.json``; its audience and language are read from the manifest's parameters,
never from a file name. A run rendered with a threshold below its audience's k counts
as ``internal``.

For each recipient and each report they asked for (a report name such as
``activity_report`` matches every run of that notebook; a parameter-file name matches
that run only), and each period, the recipient gets the run in their language whose
audience is the least protected one they may receive — their own when it exists,
otherwise a more protected one — and never a less protected one: a ``public``
recipient only ever gets ``public`` outputs. :func:`plan` is pure: it reads manifests,
sends nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.distribute.contacts import PROTECTION, Contact, ContactList
from workbench.exceptions import DistributionError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RenderedRun:
    """A finished run as its manifest describes it."""

    folder: Path
    report: str
    name: str
    period: str
    audience: str
    language: str
    outputs: tuple[tuple[str, str], ...]

    def file(self, suffix: str) -> Path | None:
        for name, _ in self.outputs:
            if name.endswith(suffix):
                return self.folder / name
        return None

    def digest(self, files: Iterable[Path]) -> str:
        """One hash for the outputs sent (from the manifest's hashes), to tell versions apart."""
        hashes = dict(self.outputs)
        text = "\n".join(f"{p.name} {hashes[p.name]}" for p in sorted(files))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def effective_audience(parameters: dict[str, Any]) -> str:
    """The run's audience, or ``internal`` when its threshold is below that audience's k."""
    from workbench.disclosure.suppression import AUDIENCES

    audience = str(parameters.get("audience", "internal"))
    if audience not in PROTECTION:
        return "internal"
    k, threshold = AUDIENCES[audience], parameters.get("threshold")
    if k is not None and threshold is not None and int(threshold) < k:
        return "internal"
    return audience


def read_run(manifest: Path) -> RenderedRun:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        params = data["parameters"]
        return RenderedRun(manifest.parent, data["report"], params.get("name", data["report"]),
                           params["period"], effective_audience(params), params.get("language", "fr"),
                           tuple(sorted(data["outputs"].items())))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DistributionError(f"{manifest}: not a readable run manifest ({type(exc).__name__}: {exc}); "
                                "render the report again.") from None


def find_runs(output_dir: str | Path, periods: Iterable[str] | None = None) -> list[RenderedRun]:
    """Every finished run under ``output_dir`` (sorted by folder), optionally for some periods only."""
    root = Path(output_dir)
    wanted = set(periods) if periods is not None else None
    runs = []
    for manifest in sorted(root.glob(f"*/*/*/{MANIFEST}")):
        if any(part.startswith(".") for part in manifest.relative_to(root).parts):
            continue  # a run being written or replaced
        run = read_run(manifest)
        if wanted is None or run.period in wanted:
            runs.append(run)
    return runs


@dataclass(frozen=True)
class Delivery:
    """One run for one recipient: the files to attach (or link to)."""

    contact: Contact
    run: RenderedRun
    files: tuple[Path, ...]

    @property
    def digest(self) -> str:
        return self.run.digest(self.files)


@dataclass(frozen=True)
class Missing:
    """A report a recipient asked for with no run they may receive, for a period other runs have."""

    contact: Contact
    report: str
    period: str


def _matches(entry: str, run: RenderedRun) -> bool:
    return entry in (run.report, run.name)


def _files(contact: Contact, run: RenderedRun) -> tuple[Path, ...]:
    main = run.file(".pdf") or run.file(".html")
    files = [main] if main else []
    annex = run.file(".xlsx")
    if contact.annex and annex:
        files.append(annex)
    return tuple(files)


def plan(contacts: ContactList | Sequence[Contact], runs: Sequence[RenderedRun]) -> tuple[list[Delivery],
                                                                                          list[Missing]]:
    """Deliveries for every recipient, and what some asked for but may not receive (see the module)."""
    people = contacts.contacts if isinstance(contacts, ContactList) else tuple(contacts)
    deliveries: list[Delivery] = []
    missing: list[Missing] = []
    for contact in people:
        chosen: dict[tuple[str, str], list[RenderedRun]] = {}
        for entry in contact.reports:
            matching = [r for r in runs if _matches(entry, r)]
            for period in sorted({r.period for r in matching}):
                fit = [r for r in matching if r.period == period and r.language == contact.language
                       and contact.may_receive(r.audience)]
                if not fit:
                    missing.append(Missing(contact, entry, period))
                    continue
                best = min(PROTECTION.index(r.audience) for r in fit)
                for r in fit:
                    if PROTECTION.index(r.audience) == best:
                        chosen.setdefault((r.report, period), [])
                        if r not in chosen[(r.report, period)]:
                            chosen[(r.report, period)].append(r)
        for key in sorted(chosen):
            best = min(PROTECTION.index(r.audience) for r in chosen[key])
            for run in chosen[key]:
                if PROTECTION.index(run.audience) != best:
                    continue
                if not contact.may_receive(run.audience):  # the rule, checked once more where it matters
                    raise DistributionError(f"refusing to send {run.folder}: rendered for {run.audience}, "
                                            f"the recipient ({contact.where}) is {contact.audience}.")
                deliveries.append(Delivery(contact, run, _files(contact, run)))
    return deliveries, missing


def verify_files(delivery: Delivery) -> None:
    """Check that the files to send are those the manifest vouches for (same hashes)."""
    from workbench.reports.outputs import sha256

    hashes = dict(delivery.run.outputs)
    for path in delivery.files:
        if not path.is_file() or sha256(path) != hashes.get(path.name):
            raise DistributionError(f"{path}: missing or changed since the run's manifest was written; "
                                    "render the report again.")
