"""Sending through a real SMTP server (aiosmtpd on a free local port): the report and the feedback, drafts by
default, STARTTLS with a certificate made here, login, every fault coded, exactly once even when killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.plan import Plan
from pipeline.report import run_report
from pipeline.tools.mailservers import SmtpServer, free_port

from .conftest import DATE, DEPT, REPO, address, write_contacts, write_settings

PASSWORD = "Сыр-пароль-7f3a!"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, forms: dict[str, Path], plan: Plan) -> Path:
    """An outbox with the report of 17.08: every unit's good form, Ақжайық's with an error."""
    root = tmp_path_factory.mktemp("published")
    inbox, outbox = root / "inbox", root / "outbox"
    inbox.mkdir()
    for unit in [u.code for u in plan.units] + [plan.department.code]:
        source = forms["akzhaiyk-bad"] if unit == "akzhaiyk" else forms[unit]
        shutil.copy(source, inbox / f"{unit}.xlsx")
    run_report(DATE.isoformat(), inbox=inbox, outbox=outbox, workers=1)
    return outbox


@pytest.fixture
def office(tmp_path: Path, published: Path, plan: Plan) -> Path:
    shutil.copytree(published, tmp_path / "outbox")
    (tmp_path / "inbox").mkdir()
    write_contacts(tmp_path, plan)
    return tmp_path


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--mail-settings", str(root / "mail.toml"),
                           "--inbox", str(root / "inbox"), "--outbox", str(root / "outbox")],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}, timeout=300)


def smtp_table(server: SmtpServer, **more: object) -> dict[str, object]:
    return {"host": "127.0.0.1", "port": server.port, "tls": "none", **more}


def parsed(data: bytes):  # noqa: ANN201
    return message_from_bytes(data, policy=policy.default)


def test_drafts_by_default_and_send_exactly_once(office: Path) -> None:
    write_settings(office)  # no [smtp]: the embedded default
    drafts = run(office, "mail", "send", "--date", DATE.isoformat())
    assert drafts.returncode == 0, drafts.stderr
    folder = office / "outbox" / DATE.isoformat() / "mail"
    report = parsed((folder / "report" / f"report-{DATE.isoformat()}.eml").read_bytes())
    assert report["X-Unsent"] == "1"  # Outlook opens it as a message to send
    assert [a.get_filename() for a in report.iter_attachments()] == [
        f"akparat-{DATE.isoformat()}.docx", f"akparat-{DATE.isoformat()}-ru.docx"]
    assert "deputy@akimat.example.kz" in report["To"] and DEPT in report["Cc"]
    [feedback] = sorted((folder / "feedback").iterdir())
    assert feedback.name.startswith("akzhaiyk-") and address("akzhaiyk") in parsed(feedback.read_bytes())["To"]
    refused = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
    assert refused.returncode == 2 and "[mail-smtp-not-configured]" in refused.stderr

    with SmtpServer() as smtp:
        write_settings(office, smtp=smtp_table(smtp))
        sent = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert sent.returncode == 0, sent.stderr
        assert len(smtp.received) == 2
        to_leadership = next(r for r in smtp.received if "deputy@akimat.example.kz" in r.recipients)
        assert sorted(to_leadership.recipients) == sorted(["deputy@akimat.example.kz", DEPT, "director@bilim.example.kz"])
        body = parsed(to_leadership.data)
        assert body["X-Unsent"] is None
        assert body["Subject"].startswith(plan_name_genitive())
        again = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert again.returncode == 0 and len(smtp.received) == 2  # nothing twice
        forced = run(office, "mail", "send", "--date", DATE.isoformat(), "--send", "--again")
        assert forced.returncode == 0 and len(smtp.received) == 4


def plan_name_genitive() -> str:
    from pipeline.plan import load_plan

    return load_plan().campaign.name_genitive


def test_starttls_with_login_and_a_password_file(office: Path) -> None:
    with SmtpServer(starttls=True, require_tls=True, user="bilim", password=PASSWORD) as smtp:
        secret = office / "smtp.pass"
        secret.write_text(PASSWORD + "\n", encoding="utf-8")
        os.chmod(secret, 0o644)
        write_settings(office, smtp=smtp_table(smtp, tls="starttls", user="bilim", password_file=str(secret),
                                               ca_file=str(smtp.cert)))
        open_file = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert open_file.returncode == 2 and "[mail-password-file-open]" in open_file.stderr
        os.chmod(secret, 0o600)
        sent = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert sent.returncode == 0, sent.stderr + sent.stdout
        assert len(smtp.received) == 2
        # Without the certificate named, the self-signed one is not trusted: a TLS failure, nothing sent.
        write_settings(office, smtp=smtp_table(smtp, tls="starttls", user="bilim", password_file=str(secret)))
        tls = run(office, "mail", "send", "--date", DATE.isoformat(), "--send", "--again")
        assert tls.returncode == 8 and "[mail-tls-failed]" in tls.stderr and "Traceback" not in tls.stderr
        assert len(smtp.received) == 2
        # A wrong password.
        write_settings(office, smtp=smtp_table(smtp, tls="starttls", user="bilim", password_env="MZ_TEST_SMTP",
                                               ca_file=str(smtp.cert)))
        wrong = run(office, "mail", "send", "--date", DATE.isoformat(), "--send", "--again",
                    env={"MZ_TEST_SMTP": "not-" + PASSWORD})
        assert wrong.returncode == 8 and "[mail-login-failed]" in wrong.stderr
        missing = run(office, "mail", "send", "--date", DATE.isoformat(), "--send", "--again", env={"MZ_TEST_SMTP": ""})
        assert missing.returncode == 2 and "[mail-password-missing]" in missing.stderr
    # The password is never shown or kept: not on the console, not in any file the runs wrote.
    for result in (open_file, sent, tls, wrong, missing):
        assert PASSWORD not in result.stdout + result.stderr
    for path in (office / "outbox").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_server_unreachable_oversize_and_refused_recipients(office: Path) -> None:
    write_settings(office, smtp={"host": "127.0.0.1", "port": free_port(), "tls": "none", "timeout_seconds": 5})
    down = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
    assert down.returncode == 8 and "[mail-server-unreachable]" in down.stderr and "Traceback" not in down.stderr
    # The server accepts at most 60 kB (it says so in EHLO SIZE) and refuses the deputy's address.
    with SmtpServer(size_limit=60_000, refuse=frozenset({"deputy@akimat.example.kz"})) as smtp:
        write_settings(office, smtp=smtp_table(smtp))
        result = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert result.returncode == 1, result.stderr
        assert "[mail-send-too-large]" in result.stdout  # the report with its charts: kept as a draft
        assert len(smtp.received) == 1 and smtp.received[0].recipients == [address("akzhaiyk")]
    with SmtpServer(refuse=frozenset({"deputy@akimat.example.kz"})) as smtp:
        write_settings(office, smtp=smtp_table(smtp))
        result = run(office, "mail", "send", "--date", DATE.isoformat(), "--send")
        assert result.returncode == 1, result.stderr  # sent, but someone must look at the refused address
        assert "[mail-recipient-refused]" in result.stdout
        [got] = smtp.received  # the report, to the department's list; the feedback went out before
        assert sorted(got.recipients) == sorted([DEPT, "director@bilim.example.kz"])


@pytest.mark.parametrize("moment", ["rcpt", "data"])
def test_killed_midway_every_message_delivered_exactly_once(tmp_path: Path, plan: Plan, moment: str) -> None:
    """13 reminders; the sender is killed (SIGKILL) while handing over the 5th — at its recipients (before the
    final dot: the server discards it) or after its final dot (the server has it, the sender never heard
    back). The rerun sends the rest: every unit's reminder arrives exactly once."""
    (tmp_path / "inbox").mkdir()
    write_contacts(tmp_path, plan)
    victim: dict[str, int] = {}
    count = {"rcpt": 0, "data": 0}

    def kill_at(kind: str):  # noqa: ANN202
        def hook(_: object) -> None:
            count[kind] += 1
            if kind == moment and count[kind] == 5 and "pid" in victim:
                os.kill(victim.pop("pid"), signal.SIGKILL)
        return hook

    with SmtpServer(on_rcpt=kill_at("rcpt"), on_data=kill_at("data")) as smtp:
        write_settings(tmp_path, smtp=smtp_table(smtp))
        args = [sys.executable, "-m", "pipeline", "remind", "--date", DATE.isoformat(), "--today", "2017-08-16",
                "--send", "--mail-settings", str(tmp_path / "mail.toml"), "--inbox", str(tmp_path / "inbox"),
                "--outbox", str(tmp_path / "outbox")]
        first = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim["pid"] = first.pid
        out, err = first.communicate(timeout=300)
        assert first.returncode == -signal.SIGKILL, (out, err)
        assert len(smtp.received) == (5 if moment == "data" else 4)
        second = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        if moment == "data":
            assert "[mail-send-unconfirmed]" in second.stdout  # said, not guessed
        third = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert third.returncode == 0
    delivered = sorted(r.recipients[0] for r in smtp.received)
    assert delivered == sorted(address(u.code) for u in plan.units)
    ids = [parsed(r.data)["Message-ID"] for r in smtp.received]
    assert len(set(ids)) == len(ids) == 13


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="soffice not installed")
def test_the_pdf_goes_with_the_report_when_one_was_made(tmp_path: Path, forms: dict[str, Path], plan: Plan) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for unit in [u.code for u in plan.units] + [plan.department.code]:
        shutil.copy(forms[unit], inbox / f"{unit}.xlsx")
    run_report(DATE.isoformat(), inbox=inbox, outbox=tmp_path / "outbox", workers=1, pdf=True)
    write_contacts(tmp_path, plan)
    write_settings(tmp_path)
    assert run(tmp_path, "mail", "send", "--date", DATE.isoformat()).returncode == 0
    draft = tmp_path / "outbox" / DATE.isoformat() / "mail" / "report" / f"report-{DATE.isoformat()}.eml"
    names = [a.get_filename() for a in parsed(draft.read_bytes()).iter_attachments()]
    assert names == [f"akparat-{DATE}.docx", f"akparat-{DATE}-ru.docx", f"akparat-{DATE}.pdf", f"akparat-{DATE}-ru.pdf"]
    assert "akparat-2017-08-17.pdf" in parsed(draft.read_bytes()).get_body(("plain",)).get_content()
