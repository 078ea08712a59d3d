"""The send log: what was sent to whom, so that a re-run sends nothing twice.

One JSON object per line, appended and flushed to disk after every message::

    {"at": "2026-01-20T06:30:12+00:00", "report": "activity_report", "name": "activity_report_en",
     "period": "2025-Q4", "audience": "partner", "language": "en", "outputs": "3f0c…",
     "recipient": "9b1e4a…", "result": "sent"}

``outputs`` is a hash of the files sent (from the run's manifest), so a report rendered
again with other figures is a new version and is sent again. ``recipient`` is a keyed
fingerprint (HMAC-SHA-256 with a local key) of the lower-cased address: it tells
recipients apart without revealing them — the log never holds a name or an address.
A message is logged ``sent`` only once the server has accepted it; a failure is logged
``failed`` with the reason (addresses replaced by their fingerprint), and the next run
tries it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from pathlib import Path

from workbench.distribute.deliveries import Delivery
from workbench.exceptions import DistributionError

KEY_ENV = "WORKBENCH_SEND_KEY"
DEFAULT_KEY = Path("~/.config/workbench/send.key")
LOG_NAME = "send-log.jsonl"


def key_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(KEY_ENV) or DEFAULT_KEY).expanduser()


def load_key(path: str | Path | None = None, create: bool = True) -> bytes:
    """The local key of recipient fingerprints (made on first use, readable by its owner only)."""
    from workbench.prepare.pseudonymise import init_key, read_key

    where = key_path(path)
    if create and not where.exists():
        init_key(where)
    return read_key(where)


def fingerprint(address: str, key: bytes) -> str:
    """A keyed fingerprint of an address: the same address gives the same 16 hex digits.

    >>> fingerprint("Amal@Example.org", bytes(32)) == fingerprint("amal@example.org", bytes(32))
    True
    """
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()[:16]


class SendLog:
    """The log file of a reports folder, read once and appended to as messages go."""

    def __init__(self, path: str | Path, key: bytes) -> None:
        self.path = Path(path)
        self.key = key
        self.sent: set[tuple[str, str, str, str]] = set()
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    if entry["result"] == "sent":
                        self.sent.add((entry["name"], entry["period"], entry["outputs"], entry["recipient"]))
                except (ValueError, KeyError, TypeError):
                    raise DistributionError(f"{self.path}, line {number}: not a send-log entry; the log is "
                                            "damaged (fix or remove that line).") from None

    def recipient(self, delivery: Delivery) -> str:
        return fingerprint(delivery.contact.email, self.key)

    def _key(self, delivery: Delivery) -> tuple[str, str, str, str]:
        return (delivery.run.name, delivery.run.period, delivery.digest, self.recipient(delivery))

    def was_sent(self, delivery: Delivery) -> bool:
        return self._key(delivery) in self.sent

    def scrub(self, text: str, delivery: Delivery) -> str:
        """A server's message with the recipient's address and name replaced by the fingerprint."""
        for secret in (delivery.contact.email, delivery.contact.email.lower(), delivery.contact.name):
            if secret:
                text = text.replace(secret, f"recipient {self.recipient(delivery)}")
        return text

    def record(self, delivery: Delivery, result: str, error: str | None = None) -> None:
        entry = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "report": delivery.run.report, "name": delivery.run.name, "period": delivery.run.period,
                 "audience": delivery.run.audience, "language": delivery.run.language,
                 "outputs": delivery.digest, "recipient": self.recipient(delivery), "result": result}
        if error:
            entry["error"] = self.scrub(error, delivery)[:300]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if result == "sent":
            self.sent.add(self._key(delivery))
