"""E-mail: SMTP settings and credentials, the messages, and a connection that retries.

Settings come from the environment or from a settings file readable by its owner only
(``chmod 600``), never from a parameter file:

============================== ======================================================
``WORKBENCH_SMTP_HOST``        server name                 (file: ``host``)
``WORKBENCH_SMTP_PORT``        port (587 for STARTTLS, 465 for TLS)  (``port``)
``WORKBENCH_SMTP_SECURITY``    ``starttls`` (default) or ``tls``     (``security``)
``WORKBENCH_SMTP_USER``        login                       (``user``)
``WORKBENCH_SMTP_PASSWORD``    password, or ``WORKBENCH_SMTP_PASSWORD_FILE`` (owner-only file)
``WORKBENCH_MAIL_FROM``        sender address              (``from``)
``WORKBENCH_SMTP_CAFILE``      certificate authority to trust, when not the system's (``cafile``)
``WORKBENCH_SMTP_RETRY_WAITS`` seconds to wait before each new try, e.g. ``2,8,30`` (``retry_waits``)
============================== ======================================================

The connection is always encrypted (STARTTLS or implicit TLS, the certificate checked)
and authenticated. Temporary failures (4xx replies, a dropped connection) are retried
after the waits of ``retry_waits`` (default 2, 8 and 30 seconds: at most
:data:`MAX_RETRIES` tries more); a credential is never printed.
"""

from __future__ import annotations

import mimetypes
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from functools import cache
from pathlib import Path

import yaml

from workbench import safeyaml
from workbench.distribute.contacts import ContactList
from workbench.distribute.deliveries import Delivery
from workbench.exceptions import DistributionError

SECURITY = ("starttls", "tls")
ENV = {"host": "WORKBENCH_SMTP_HOST", "port": "WORKBENCH_SMTP_PORT", "security": "WORKBENCH_SMTP_SECURITY",
       "user": "WORKBENCH_SMTP_USER", "password": "WORKBENCH_SMTP_PASSWORD", "from": "WORKBENCH_MAIL_FROM",
       "cafile": "WORKBENCH_SMTP_CAFILE", "retry_waits": "WORKBENCH_SMTP_RETRY_WAITS"}
PASSWORD_FILE_ENV = "WORKBENCH_SMTP_PASSWORD_FILE"
RETRY_DELAYS = (2.0, 8.0, 30.0)
#: At most this many retries, each wait at most :data:`MAX_WAIT` seconds: a run must end.
MAX_RETRIES = 5
MAX_WAIT = 600.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str
    password: str = field(repr=False)
    sender: str = ""
    cafile: str | None = None
    timeout: float = 30.0
    retry_waits: tuple[float, ...] = RETRY_DELAYS


def _private_file(path: Path, what: str) -> str:
    if not path.is_file():
        raise DistributionError(f"{path}: no {what} there.")
    mode = path.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        raise DistributionError(f"{path}: the {what} can be read or changed by other users (permissions "
                                f"{mode & 0o777:o}); run `chmod 600 {path}`.")
    return path.read_text(encoding="utf-8")


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """SMTP settings from a settings file (owner-only) and the environment (which wins); all problems at once."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    if path is not None:
        try:
            data = safeyaml.load(_private_file(Path(path), "mail settings file")) or {}
        except yaml.YAMLError:
            raise DistributionError(f"{path}: not valid YAML.") from None
        unknown = sorted(set(data) - set(ENV))
        if unknown:
            raise DistributionError(f"{path}: unknown setting(s) {', '.join(unknown)}; use {', '.join(ENV)}.")
        values.update({k: _setting_text(v) for k, v in data.items() if v is not None})
    values.update({k: env[name] for k, name in ENV.items() if env.get(name)})
    if "password" not in values and env.get(PASSWORD_FILE_ENV):
        values["password"] = _private_file(Path(env[PASSWORD_FILE_ENV]), "password file").strip()
    problems = [f"{k} (set {ENV[k]}{' or ' + PASSWORD_FILE_ENV if k == 'password' else ''})"
                for k in ("host", "user", "password", "from") if not values.get(k)]
    security = values.get("security", "starttls").lower()
    if security not in SECURITY:
        problems.append(f"security '{security}' (use starttls or tls: mail is never sent unencrypted)")
    port = values.get("port", "465" if security == "tls" else "587")
    if not port.isdigit():
        problems.append(f"port '{port}' (a number, e.g. 587)")
    waits = parse_retry_waits(values.get("retry_waits"), problems)
    if problems:
        raise DistributionError("Mail settings missing or wrong: " + "; ".join(problems) + ". See "
                                "docs/distribution.md (credentials).")
    return SmtpSettings(values["host"], int(port), security, values["user"], values["password"], values["from"],
                        values.get("cafile"), retry_waits=waits)


def _setting_text(value) -> str:
    """A settings-file value as the environment would give it (a YAML list of waits becomes ``2,8,30``)."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_retry_waits(text: str | None, problems: list[str]) -> tuple[float, ...]:
    """The waits before each retry, from ``"2,8,30"`` (empty text or ``none``: no retry).

    Each wait is a number of seconds from 0 to :data:`MAX_WAIT`, at most :data:`MAX_RETRIES`
    of them; a problem is added to ``problems`` (and the default returned) otherwise.

    >>> parse_retry_waits("0, 0.5,8", []), parse_retry_waits(None, [])
    ((0.0, 0.5, 8.0), (2.0, 8.0, 30.0))
    >>> problems = []; _ = parse_retry_waits("2,-1,x", problems); problems
    ["retry_waits '2,-1,x' (wait -1 is negative; wait 'x' is not a number of seconds)"]
    """
    if text is None:
        return RETRY_DELAYS
    items = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    if [i.lower() for i in items] in ([], ["none"]):
        return ()
    waits, wrong = [], []
    for item in items:
        try:
            wait = float(item)
        except ValueError:
            wrong.append(f"wait '{item}' is not a number of seconds")
            continue
        if not wait == wait or wait in (float("inf"), float("-inf")):  # nan, inf
            wrong.append(f"wait '{item}' is not a number of seconds")
        elif wait < 0:
            wrong.append(f"wait {item} is negative")
        elif wait > MAX_WAIT:
            wrong.append(f"wait {item} is over {MAX_WAIT:g} seconds")
        else:
            waits.append(wait)
    if len(items) > MAX_RETRIES:
        wrong.append(f"{len(items)} waits, at most {MAX_RETRIES}")
    if wrong:
        problems.append(f"retry_waits '{text}' ({'; '.join(wrong)})")
        return RETRY_DELAYS
    return tuple(waits)


# --------------------------------------------------------------------------- messages

@cache
def _default_messages() -> dict:
    return yaml.safe_load((Path(__file__).with_name("messages.yaml")).read_text(encoding="utf-8"))["default"]


def _title(delivery: Delivery) -> str:
    html = delivery.run.file(".html")
    if html is not None and html.is_file():
        match = re.search(r"<title>(.*?)</title>", html.read_text(encoding="utf-8"), re.S)
        if match and match.group(1).strip():
            import html as html_mod

            return html_mod.unescape(match.group(1).strip())
    return delivery.run.report.replace("_", " ").capitalize()


def compose(delivery: Delivery, contacts: ContactList, sender: str, output_root: Path) -> EmailMessage:
    """The e-mail of one delivery: subject and body templated per report and language, files attached or linked."""
    from workbench.periods import parse_period

    lang = delivery.contact.language
    template = dict(_default_messages()[lang])
    for key in (delivery.run.report, delivery.run.name):
        template.update((contacts.messages.get(key) or {}).get(lang) or {})
    link = delivery.contact.delivery == "link"
    names = [p.name for p in delivery.files]
    links = [contacts.link_base + p.relative_to(output_root).as_posix() for p in delivery.files] if link else []
    label = parse_period(delivery.run.period).label(lang)
    title = _title(delivery)
    fields = {"name": delivery.contact.name, "title": title if label in title else f"{title} — {label}",
              "period": delivery.run.period, "period_label": label, "audience": delivery.run.audience,
              "attachments": "" if link else "".join(f"\n  - {n}" for n in names) + "\n",
              "links": "".join(f"\n  {u}" for u in links) + ("\n" if links else "")}
    try:
        subject = " ".join(template["subject"].format(**fields).split())  # one line, whatever the title holds
        body = template["body"].format(**fields)
    except (KeyError, IndexError, ValueError) as exc:  # checked when the list was read: a last guard
        raise DistributionError(f"{contacts.source}: the message of {delivery.run.report} ({lang}) uses an unknown "
                                f"field {exc}; use {', '.join('{' + f + '}' for f in fields)}.") from None
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((delivery.contact.name, delivery.contact.email))
    msg["Subject"] = subject
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    if not link:
        for path in delivery.files:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            main, sub = kind.split("/", 1)
            msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return msg


# --------------------------------------------------------------------------- sending

class TemporaryFailure(Exception):
    """The server or the network failed in a way worth trying again."""


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx reply)."""


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                         for c, m in exc.recipients.values())
        return (TemporaryFailure if all(400 <= c < 500 for c in codes) else PermanentFailure)(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        return (TemporaryFailure if 400 <= exc.smtp_code < 500 else PermanentFailure)(text)
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


class Mailer:
    """An authenticated, encrypted SMTP connection that reconnects and retries temporary failures."""

    def __init__(self, settings: SmtpSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.retry_delays = tuple(settings.retry_waits)
        self.sleep = sleep
        self.smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def connect(self) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                smtp.starttls(context=self._context())
            smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError:
            raise DistributionError(f"The mail server {s.host}:{s.port} refused the login of {s.user}; check the "
                                    "credentials (nothing was sent).") from None
        except ssl.SSLError as exc:
            raise DistributionError(f"No secure connection to {s.host}:{s.port} ({exc.reason}); check "
                                    "security, port and cafile.") from None
        except smtplib.SMTPNotSupportedError:
            raise DistributionError(f"{s.host}:{s.port} offers no STARTTLS or no login; use security: tls or "
                                    "another server.") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot reach {s.host}:{s.port} ({type(exc).__name__}: {exc})") from None
        self.smtp = smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.smtp = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, msg: EmailMessage) -> None:
        """Send one message; returns once the server accepted it, raises Temporary/PermanentFailure otherwise."""
        last: Exception | None = None
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                self.sleep(self.retry_delays[attempt - 1])
            try:
                if self.smtp is None:
                    self.connect()
                self.smtp.send_message(msg)  # type: ignore[union-attr]
                return
            except TemporaryFailure as exc:
                last = exc
            except (OSError, smtplib.SMTPException) as exc:
                last = _classify(exc)
                if isinstance(last, PermanentFailure):
                    raise last from None
                if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                    self.smtp = None
                else:
                    try:
                        self.smtp.rset()  # type: ignore[union-attr]
                    except (OSError, smtplib.SMTPException):
                        self.smtp = None
        raise TemporaryFailure(f"{last} (after {len(self.retry_delays) + 1} attempts)")
