"""Sending drafts through SMTP (implicit TLS, STARTTLS, or plain to a server on this computer).

Only what a run may do with a server is here: connect, log in, hand over one message in the steps that
let the ledger know how far it got (see pipeline.mail.outgoing), and turn every way a server or a network
can fail into a coded message. The password goes to `login` and nowhere else.
"""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.mail.outgoing import UNSENT, Draft, Ledger
from pipeline.mail.settings import MailFault, Server, SmtpSettings
from pipeline.problems import Problem

CRLF = b"\r\n"
MB = 1_000_000


def tls_context(server: Server) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
    return context


def fault_of(exc: BaseException, server: Server, stage: str = "connect") -> MailFault:
    """A network or TLS failure as the run's coded message (never its traceback)."""
    detail = _detail(exc)
    if isinstance(exc, ssl.SSLError) or isinstance(exc, ssl.CertificateError):
        return MailFault("mail-tls-failed", server=server.label, detail=detail)
    if stage == "connect":
        return MailFault("mail-server-unreachable", server=server.label, detail=detail)
    return MailFault("mail-connection-lost", server=server.label, detail=detail)


def _detail(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(text.split())[:160]}"
    if isinstance(exc, socket.timeout):
        return "timeout"
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:160]


def _login(smtp: smtplib.SMTP, user: str, password: str) -> bool:
    """AUTH PLAIN or LOGIN with UTF-8 (smtplib's own login sends ASCII only: a Cyrillic password would
    fail with an exception instead of logging in); other mechanisms through smtplib."""
    mechanisms = smtp.esmtp_features.get("auth", "").upper().split()

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    if "PLAIN" in mechanisms:
        code, _ = smtp.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
        return code == 235
    if "LOGIN" in mechanisms:
        code, _ = smtp.docmd("AUTH", "LOGIN")
        if code == 334:
            code, _ = smtp.docmd(b64(user))
        if code == 334:
            code, _ = smtp.docmd(b64(password))
        return code == 235
    try:
        smtp.login(user, password)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, UnicodeEncodeError):
        return False
    return True


@dataclass
class Delivery:
    sent: list[Draft] = field(default_factory=list)
    skipped: list[Draft] = field(default_factory=list)  # sent before (or unconfirmed): not sent again
    failed: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class SmtpSession:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        s = self.settings
        password = s.password() if s.user else None  # a missing password is said before connecting
        try:
            if s.tls == "implicit":
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls_context(s))
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                self.smtp.ehlo()
                if s.tls == "starttls":
                    if not self.smtp.has_extn("starttls"):
                        raise MailFault("mail-tls-failed", server=s.label, detail="STARTTLS")
                    self.smtp.starttls(context=tls_context(s))
                    self.smtp.ehlo()
        except MailFault:
            self._drop()
            raise
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            self._drop()
            if isinstance(exc, smtplib.SMTPResponseException):
                raise MailFault("mail-server-error", server=s.label, detail=_detail(exc)) from None
            raise fault_of(exc, s) from None
        if s.user and password is not None:
            try:
                ok = _login(self.smtp, s.user, password.reveal())
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                self._drop()
                raise fault_of(exc, s, "session") from None
            except smtplib.SMTPException:
                ok = False
            if not ok:
                self._drop()
                raise MailFault("mail-login-failed", server=s.label, user=s.user) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None

    @property
    def size_limit(self) -> int:
        limit = self.settings.max_message_bytes
        assert self.smtp is not None
        announced = self.smtp.esmtp_features.get("size", "")
        if announced.strip().isdigit() and int(announced) > 0:
            limit = min(limit, int(announced))
        return limit

    def hand_over(self, sender: str, recipients: list[str], data: bytes,
                  on_commit: Callable[[], None]) -> dict[str, tuple[int, bytes]]:
        """MAIL, RCPT, DATA and the text; `on_commit()` just before the final dot. Returns the refused
        recipients (all refused raises SMTPRecipientsRefused)."""
        smtp = self.smtp
        assert smtp is not None
        options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        code, answer = smtp.mail(sender, options)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, answer, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for rcpt in recipients:
            code, answer = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, answer)
        if len(refused) == len(recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, answer = smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        body = re.sub(rb"(?:\r\n|\n|\r(?!\n))", CRLF, data)
        body = re.sub(rb"(?m)^\.", b"..", body)
        if not body.endswith(CRLF):
            body += CRLF
        smtp.send(body)
        on_commit()
        smtp.send(b"." + CRLF)
        code, answer = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        return refused


def deliver(drafts: list[Draft], settings: SmtpSettings, sender: str, ledger: Ledger, *, again: bool = False) -> Delivery:
    """Send each draft not sent before (all of them with `again`), one connection for the batch.

    A fault of the server or the network stops the batch with a MailFault once what was sent is recorded;
    a fault of one message (too large, recipients refused, an error answer) is its problem and the batch
    goes on."""
    result = Delivery()
    todo: list[Draft] = []
    for draft in drafts:
        state = ledger.state(draft.key)
        if not draft.recipients:
            continue  # a draft without an address stays a draft (its problem was said when it was written)
        if state == "sent" and not again:
            result.skipped.append(draft)
        elif state == "committing" and not again:
            result.skipped.append(draft)
            result.problems.append(Problem.make("mail-send-unconfirmed", _label(draft)))
        else:
            todo.append(draft)
    if not todo:
        return result
    with SmtpSession(settings) as session:
        for draft in todo:
            data = draft.path.read_bytes()
            if data.startswith(UNSENT):
                data = data[len(UNSENT):]
            limit = session.size_limit
            if len(data) > limit:
                result.failed.append(draft)
                result.problems.append(Problem.make("mail-send-too-large", _label(draft), size=_mb(len(data)),
                                                    limit=_mb(limit), draft=draft.path.name))
                continue
            ledger.mark(draft.key, "sending", message_id=draft.message_id, to=draft.recipients,
                        draft=str(draft.path))
            try:
                refused = session.hand_over(
                    sender, draft.recipients, data,
                    lambda d=draft: ledger.mark(d.key, "committing", message_id=d.message_id))
            except smtplib.SMTPRecipientsRefused as exc:
                ledger.mark(draft.key, "failed", code="mail-recipient-refused")
                result.failed.append(draft)
                result.problems.append(Problem.make("mail-recipient-refused", _label(draft),
                                                    recipients=", ".join(sorted(exc.recipients))))
                continue
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                code = "mail-send-too-large" if exc.smtp_code == 552 else "mail-send-failed"
                ledger.mark(draft.key, "failed", code=code)
                result.failed.append(draft)
                params = (dict(size=_mb(len(data)), limit=_mb(session.size_limit), draft=draft.path.name)
                          if code == "mail-send-too-large" else dict(detail=_detail(exc)))
                result.problems.append(Problem.make(code, _label(draft), **params))
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # The connection is gone: what the ledger says (sending / committing) is exactly what is
                # known; the next run sends the first again and reports the second.
                raise fault_of(exc, settings, "session") from None
            ledger.mark(draft.key, "sent", message_id=draft.message_id, to=draft.recipients)
            result.sent.append(draft)
            if refused:
                result.problems.append(Problem.make("mail-recipient-refused", _label(draft),
                                                    recipients=", ".join(sorted(refused))))
    return result


def _label(draft: Draft) -> str:
    return f"{draft.date.isoformat()}/mail/{draft.kind}/{draft.path.name}"


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",")
