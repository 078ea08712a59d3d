"""E-mailing reports to a contact list, against a real SMTP server on 127.0.0.1.

The server is aiosmtpd with login required over TLS, on a self-signed certificate made
here with openssl (the client trusts it through WORKBENCH_SMTP_CAFILE, never by turning
verification off). ``workbench due --run --send`` renders the demo reports for several
audiences and languages with papermill, then sends; the tests read what arrived.
"""

from __future__ import annotations

import email
import json
import os
import socket
import subprocess
from email import policy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from workbench.cli.main import main

aiosmtpd = pytest.importorskip("aiosmtpd")

USER, PASSWORD = "reports", "s3cret-pass"
AS_OF = "2026-01-20"
RUNS = {  # parameter file -> what it renders
    "act_fr_partner": {"report": "activity_report", "name": "activity_report", "audience": "partner", "language": "fr"},
    "act_en_partner": {"report": "activity_report", "name": "activity_report_en", "audience": "partner",
                       "language": "en", "formats": ["html", "pdf"]},
    "act_fr_internal": {"report": "activity_report", "name": "activity_report_internal", "audience": "internal",
                        "language": "fr", "formats": ["html", "pdf"]},
    "det_fr_public": {"report": "detention_report", "name": "detention_report", "audience": "public", "language": "fr",
                      "formats": ["html", "pdf"]},
}
CONTACTS = [
    {"name": "Coordination", "email": "coord@example.org", "audience": "internal", "language": "fr",
     "reports": ["activity_report"]},
    {"name": "Partner Sfax", "email": "sfax@example.org", "audience": "partner", "language": "fr",
     "reports": ["activity_report"], "annex": "yes"},
    {"name": "Donor desk", "email": "donor@example.org", "audience": "partner", "language": "en",
     "reports": ["activity_report"]},
    {"name": "Ministry", "email": "ministry@example.org", "audience": "public", "language": "fr",
     "reports": ["detention_report"]},
]
#: What each recipient must get: exactly these attachments.
EXPECTED = {
    "coord@example.org": {"activity_report_internal_2025-Q4.pdf"},
    "sfax@example.org": {"activity_report_2025-Q4.pdf", "activity_report_2025-Q4.xlsx"},
    "donor@example.org": {"activity_report_en_2025-Q4.pdf"},
    "ministry@example.org": {"detention_report_2025-Q4.pdf"},
}


# --------------------------------------------------------------------------- a real SMTP server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Records every accepted message; ``fail_after`` makes it refuse everything after n messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.fail_after: int | None = None
        self.temporary_failures = 0

    async def handle_DATA(self, server, session, envelope):
        if self.temporary_failures:
            self.temporary_failures -= 1
            return "451 4.3.0 try again later"
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            return "554 5.3.0 the server is failing"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def received(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for m in self.messages:
            address = email.utils.parseaddr(m["To"])[1]
            out.setdefault(address, set()).update(p.get_filename() for p in m.iter_attachments())
        return out


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(params=["starttls", "tls"])
def smtp(request, certificate, tmp_path):
    """A running server (STARTTLS on a plain port, or implicit TLS) and the environment that reaches it."""
    import ssl

    from aiosmtpd.controller import Controller

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    common = {"hostname": "127.0.0.1", "port": port, "authenticator": _authenticator, "auth_require_tls": True}
    if request.param == "tls":
        # The whole connection is TLS here, but aiosmtpd only counts STARTTLS as TLS for AUTH.
        controller = Controller(inbox, ssl_context=context, **{**common, "auth_require_tls": False})
    else:
        controller = Controller(inbox, tls_context=context, require_starttls=True, **common)
    controller.start()
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    env = {"WORKBENCH_SMTP_HOST": "127.0.0.1", "WORKBENCH_SMTP_PORT": str(port),
           "WORKBENCH_SMTP_SECURITY": request.param, "WORKBENCH_SMTP_USER": USER,
           "WORKBENCH_SMTP_PASSWORD_FILE": str(password_file), "WORKBENCH_MAIL_FROM": "reports@example.org",
           "WORKBENCH_SMTP_CAFILE": str(cert), "WORKBENCH_SEND_KEY": str(tmp_path / "keys" / "send.key")}
    yield inbox, env
    controller.stop()


# --------------------------------------------------------------------------- rendered runs

@pytest.fixture(scope="module")
def params_dir(report_extract, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("send-params")
    for stem, values in RUNS.items():
        data = {"extract": str(report_extract), "period": "2025-Q4", "cadence": "quarterly", "lag_days": 15,
                **values}
        (folder / f"{stem}.yaml").write_text(yaml.safe_dump(data))
    (folder / "contacts.yaml").write_text(yaml.safe_dump({"contacts": CONTACTS}, allow_unicode=True))
    return folder


@pytest.fixture(scope="module")
def rendered(params_dir, tmp_path_factory) -> Path:
    """The four parameter files rendered once by ``workbench due --run`` (copied per test)."""
    out = tmp_path_factory.mktemp("send-reports") / "reports"
    result = CliRunner().invoke(main, ["due", *map(str, sorted(params_dir.glob("act_*.yaml"))),
                                       str(params_dir / "det_fr_public.yaml"), "--as-of", AS_OF, "--run",
                                       "--jobs", "2", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _reports(rendered: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "reports"
    shutil.copytree(rendered, out)
    return out


def _due_send(params_dir: Path, out: Path, env: dict, contacts: Path | None = None):
    files = [str(p) for p in sorted(params_dir.glob("*_*.yaml"))]
    return CliRunner().invoke(main, ["due", *files, "--as-of", AS_OF, "--run", "--send", "--output-dir", str(out),
                                     "--contacts", str(contacts or params_dir / "contacts.yaml")], env=env)


# --------------------------------------------------------------------------- tests

@pytest.mark.slow
def test_due_run_send_gives_each_recipient_their_audience_and_language(smtp, params_dir, rendered, tmp_path):
    inbox, env = smtp
    out = _reports(rendered, tmp_path)
    result = _due_send(params_dir, out, env)
    assert result.exit_code == 0, result.output
    assert inbox.received() == EXPECTED
    for m in inbox.messages:
        address = email.utils.parseaddr(m["To"])[1]
        contact = next(c for c in CONTACTS if c["email"] == address)
        for part in m.iter_attachments():  # the bytes sent are the run's, and the run's audience fits
            run = next(p.parent for p in out.rglob(part.get_filename()))
            manifest = json.loads((run / "manifest.json").read_text())
            assert part.get_content() == (run / part.get_filename()).read_bytes()
            assert manifest["parameters"]["language"] == contact["language"]
            order = ["internal", "partner", "public"]
            assert order.index(manifest["parameters"]["audience"]) >= order.index(contact["audience"])
        assert ("T4 2025" if contact["language"] == "fr" else "Q4 2025") in m["Subject"]
    log = (out / "send-log.jsonl").read_text()
    assert len(log.splitlines()) == 4 and all(json.loads(x)["result"] == "sent" for x in log.splitlines())
    for c in CONTACTS:  # the log holds fingerprints, never an address or a name
        assert c["email"] not in log and c["name"] not in log
    assert "example.org" not in result.output

    again = _due_send(params_dir, out, env)  # a re-run sends nothing
    assert again.exit_code == 0, again.output
    assert len(inbox.messages) == 4
    assert "4 already sent" in again.output


@pytest.mark.slow
def test_a_server_failing_midway_leaves_a_log_the_next_run_completes(smtp, params_dir, rendered, tmp_path):
    inbox, env = smtp
    out = _reports(rendered, tmp_path)
    inbox.fail_after = 2
    first = _due_send(params_dir, out, env)
    assert first.exit_code == 1, first.output
    assert len(inbox.messages) == 2
    entries = [json.loads(x) for x in (out / "send-log.jsonl").read_text().splitlines()]
    assert [e["result"] for e in entries].count("sent") == 2
    assert [e["result"] for e in entries].count("failed") == 2
    assert all("example.org" not in json.dumps(e) for e in entries)

    inbox.fail_after = None
    second = _due_send(params_dir, out, env)
    assert second.exit_code == 0, second.output
    assert inbox.received() == EXPECTED
    assert len(inbox.messages) == 4  # nobody got anything twice


@pytest.mark.slow
def test_temporary_failures_are_retried_after_the_configured_waits(smtp, params_dir, rendered, tmp_path):
    inbox, env = smtp
    out = _reports(rendered, tmp_path)
    args = ["send", "--output-dir", str(out), "--contacts", str(params_dir / "contacts.yaml")]
    inbox.temporary_failures = 2  # two 451 replies: two retries (with no wait) get the message through
    result = CliRunner().invoke(main, args, env={**env, "WORKBENCH_SMTP_RETRY_WAITS": "0,0"})
    assert result.exit_code == 0, result.output
    assert inbox.received() == EXPECTED

    out = _reports(rendered, tmp_path / "again")
    before = len(inbox.messages)
    inbox.temporary_failures = 2  # one retry is not enough: the run stops, nothing is logged as sent
    result = CliRunner().invoke(main, args[:2] + [str(out)] + args[3:], env={**env, "WORKBENCH_SMTP_RETRY_WAITS": "0"})
    assert result.exit_code == 1, result.output
    assert "after 2 attempts" in result.output and "3 message(s) left for the next run" in result.output
    assert len(inbox.messages) == before
    entries = [json.loads(x) for x in (out / "send-log.jsonl").read_text().splitlines()]
    assert [e["result"] for e in entries] == ["failed"]
    result = CliRunner().invoke(main, args[:2] + [str(out)] + args[3:], env={**env, "WORKBENCH_SMTP_RETRY_WAITS": "none"})
    assert result.exit_code == 0, result.output  # the next run sends all four
    assert len(inbox.messages) == before + 4


def test_retry_waits_are_validated_with_every_problem_at_once(tmp_path):
    from workbench.distribute.mail import MAX_RETRIES, load_settings
    from workbench.exceptions import DistributionError

    base = {"WORKBENCH_SMTP_HOST": "127.0.0.1", "WORKBENCH_SMTP_USER": USER, "WORKBENCH_SMTP_PASSWORD": PASSWORD,
            "WORKBENCH_MAIL_FROM": "r@example.org"}
    assert load_settings(environ=base).retry_waits == (2.0, 8.0, 30.0)
    assert load_settings(environ={**base, "WORKBENCH_SMTP_RETRY_WAITS": "0, 1.5"}).retry_waits == (0.0, 1.5)
    assert load_settings(environ={**base, "WORKBENCH_SMTP_RETRY_WAITS": "none"}).retry_waits == ()
    with pytest.raises(DistributionError) as err:
        load_settings(environ={**base, "WORKBENCH_SMTP_RETRY_WAITS": "2,-1,soon,1e9,nan,1", "WORKBENCH_SMTP_HOST": ""})
    message = str(err.value)
    for part in ("host (set WORKBENCH_SMTP_HOST)", "wait -1 is negative", "wait 'soon' is not a number",
                 "wait 1e9 is over 600 seconds", "wait 'nan' is not a number", f"6 waits, at most {MAX_RETRIES}"):
        assert part in message, message
    assert PASSWORD not in message
    settings = tmp_path / "smtp.yaml"  # in a settings file: a list or the same text
    settings.write_text(f"host: 127.0.0.1\nuser: {USER}\npassword: {PASSWORD}\nfrom: r@example.org\n"
                        "retry_waits: [0, 5]\n")
    settings.chmod(0o600)
    assert load_settings(settings, environ={}).retry_waits == (0.0, 5.0)


@pytest.mark.slow
def test_dry_run_prints_what_would_go_to_whom_and_sends_nothing(smtp, params_dir, rendered, tmp_path):
    inbox, env = smtp
    out = _reports(rendered, tmp_path)
    result = CliRunner().invoke(main, ["send", "--dry-run", "--output-dir", str(out), "--contacts",
                                       str(params_dir / "contacts.yaml")], env=env)
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("would send")]
    assert len(lines) == 4
    for address, files in EXPECTED.items():
        mine = [x for x in lines if f"<{address}>" in x]
        assert {f for x in mine for f in files if f in x} == files
    assert inbox.messages == [] and not (out / "send-log.jsonl").exists()


@pytest.mark.slow
def test_bad_contact_lists_give_every_problem_and_send_nothing(smtp, params_dir, rendered, tmp_path):
    inbox, env = smtp
    out = _reports(rendered, tmp_path)
    bad = tmp_path / "contacts.csv"
    bad.write_text("name;email;audience;language;reports\n"
                   "Coordination;coord@example.org;;fr;activity_report\n"
                   "Partner;not-an-address;partner;fr;activity_report\n"
                   "Donor;donor@example.org;partner;en;activity_reprot\n")
    result = _due_send(params_dir, out, env, contacts=bad)
    assert result.exit_code == 2, result.output
    assert "row 2, column audience: missing" in result.output
    assert "row 3, column email: not a valid address" in result.output
    assert "row 4, column reports: unknown report 'activity_reprot' (did you mean activity_report?)" in result.output
    assert "Traceback" not in result.output and "not-an-address" not in result.output
    assert inbox.messages == [] and not (out / "send-log.jsonl").exists()


def test_a_recipient_never_gets_a_less_protected_audience(tmp_path):
    from workbench.distribute.contacts import Contact
    from workbench.distribute.deliveries import RenderedRun, plan

    def run(name, audience, lang="fr"):
        return RenderedRun(tmp_path / name, "activity_report", name, "2025-Q4", audience, lang,
                           ((f"{name}.pdf", "0"),))

    runs = [run("a_internal", "internal"), run("a_partner", "partner"), run("a_en", "partner", "en")]
    public = Contact("P", "p@example.org", "public", "fr", ("activity_report",))
    partner = Contact("Q", "q@example.org", "partner", "fr", ("activity_report",))
    internal = Contact("R", "r@example.org", "internal", "fr", ("activity_report",))
    deliveries, missing = plan([public, partner, internal], runs)
    got = {d.contact.name: d.run.name for d in deliveries}
    assert got == {"Q": "a_partner", "R": "a_internal"}
    assert [(m.contact.name, m.report) for m in missing] == [("P", "activity_report")]


def test_a_lowered_threshold_counts_as_internal():
    from workbench.distribute.deliveries import effective_audience

    assert effective_audience({"audience": "public", "threshold": 3}) == "internal"
    assert effective_audience({"audience": "partner", "threshold": 10}) == "partner"


def test_credentials_never_come_from_a_readable_file(tmp_path):
    from workbench.distribute.mail import load_settings
    from workbench.exceptions import DistributionError

    settings = tmp_path / "smtp.yaml"
    settings.write_text(f"host: 127.0.0.1\nuser: {USER}\npassword: {PASSWORD}\nfrom: r@example.org\n")
    settings.chmod(0o644)
    with pytest.raises(DistributionError, match="chmod 600") as err:
        load_settings(settings, environ={})
    assert PASSWORD not in str(err.value)
    settings.chmod(0o600)
    s = load_settings(settings, environ={})
    assert (s.port, s.security) == (587, "starttls") and PASSWORD not in repr(s)
    with pytest.raises(DistributionError, match="never sent unencrypted"):
        load_settings(settings, environ={"WORKBENCH_SMTP_SECURITY": "none"})


def test_the_demo_contact_list_is_valid():
    from workbench import resources
    from workbench.distribute import load_contacts

    contacts = load_contacts(resources.packaged("parameters") / "contacts.yaml")
    assert {c.audience for c in contacts.contacts} == {"internal", "partner", "public"}
    assert all(c.email.endswith("@example.org") for c in contacts.contacts)
    assert "@" not in repr(contacts.contacts[0])


def test_bad_messages_in_a_contact_list_are_problems_found_with_the_others(tmp_path):
    from workbench.distribute import load_contacts
    from workbench.exceptions import DistributionError

    bad = tmp_path / "contacts.yaml"
    bad.write_text(yaml.safe_dump({"contacts": [CONTACTS[0], {**CONTACTS[1], "language": "de"}], "messages": {
        "activity_report": {"fr": {"subject": "{titel} — {period}", "body": "Bonjour {name} {"},
                            "en": {"subject": "Report\n{title}", "greeting": "Hi"},
                            "es": {"subject": "{title}"}},
        "activity_reprot": {"fr": {"subject": "{title}"}},
        "detention_report": "no templates"}}, allow_unicode=True))
    with pytest.raises(DistributionError) as err:
        load_contacts(bad)
    message = str(err.value)
    for part in ("contact 2, column language: 'de' is not one of fr, en, ar, nl",
                 "messages, activity_report, fr, subject: unknown field {titel} (did you mean {title}?)",
                 "messages, activity_report, fr, body: a '{' or '}' without its pair",
                 "messages, activity_report, en, greeting: unknown key; use subject and body",
                 "messages, activity_report, en, subject: a subject is one line",
                 "messages, activity_report: 'es' is not one of fr, en, ar, nl",
                 "messages, activity_reprot: unknown report 'activity_reprot' (did you mean activity_report?)",
                 "messages, detention_report: expected a subject and body per language"):
        assert part in message, message
    assert "8 problem(s)" in message and "nothing was sent" in message
    assert "sfax@example.org" not in message


@pytest.mark.parametrize("lang", ["fr", "en", "ar", "nl"])
def test_every_language_has_a_message_and_every_field_fills_in(lang, tmp_path):
    from workbench.distribute.contacts import MESSAGE_FIELDS, Contact, ContactList
    from workbench.distribute.deliveries import Delivery, RenderedRun
    from workbench.distribute.mail import compose

    run_dir = tmp_path / "activity_report" / "2025-Q4" / "activity_report"
    run_dir.mkdir(parents=True)
    pdf = run_dir / "activity_report_2025-Q4.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")
    (run_dir / "activity_report_2025-Q4.html").write_text("<title>Rapport\n  d'activité</title>")
    run = RenderedRun(run_dir, "activity_report", "activity_report", "2025-Q4", "partner", lang,
                      ((pdf.name, "0"), ("activity_report_2025-Q4.html", "0")))
    contact = Contact("Amal", "amal@example.org", "partner", lang, ("activity_report",))
    every = " ".join("{" + f + "}" for f in MESSAGE_FIELDS)
    custom = ContactList((contact,), tmp_path / "contacts.yaml",
                         messages={"activity_report": {lang: {"subject": "{title} {period}", "body": every}}})
    default = ContactList((contact,), tmp_path / "contacts.yaml")
    for contacts in (default, custom):
        msg = compose(Delivery(contact, run, (pdf,)), contacts, "reports@example.org", tmp_path)
        assert "\n" not in msg["Subject"] and "Rapport d'activité" in msg["Subject"]
        body = msg.get_body().get_content()
        assert "Amal" in body and pdf.name in body and "{" not in body
        assert [p.get_filename() for p in msg.iter_attachments()] == [pdf.name]
