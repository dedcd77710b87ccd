"""Every message the department sends: written as a ready .eml draft first, sent (when asked) exactly once.

Drafts live in `outbox/<DATE>/mail/<kind>/…eml` (Outlook opens one as a message to send — it carries
`X-Unsent: 1` — and Thunderbird as a message to forward or edit); the ledger `outbox/.mail/sent.jsonl`
records each message by a key that says what it is (`reply:<message>`, `remind:<date>:<unit>:before`,
`report:<date>`, `feedback:<sha256 of the district's file>`), never by its text.

Sending one message, so that a run killed at any instant never sends it twice:

    ledger: sending     (before MAIL FROM)        killed here → nothing was delivered: sent again next run
    SMTP: MAIL, RCPT, DATA, the message text
    ledger: committing  (before the final «.»)    killed here → the server may have it: not sent again;
    SMTP: «.» → 250                               the run says so (mail-send-unconfirmed), --again resends
    ledger: sent

A server accepts a message only with the final dot, so the one uncertain moment is between that dot and
the ledger line after the server's answer; it is reported, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path

from pipeline.atomic import atomic_write
from pipeline.mail.journal import JsonLines, mail_dir, stamp
from pipeline.mail.clock import local_now
from pipeline.problems import Problem
from pipeline.publish import outbox_lock

SENT_FILE = "sent.jsonl"
MAIL_SUBFOLDER = "mail"
UNSENT = b"X-Unsent: 1\r\n"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_part(text: str, limit: int = 40) -> str:
    return _SAFE.sub("-", text).strip("-.")[:limit] or "x"


class Ledger:
    """What happened to each outgoing message, by key. States: sending, committing, sent, failed."""

    def __init__(self, outbox: Path) -> None:
        self.log = JsonLines(mail_dir(outbox) / SENT_FILE)
        self._states: dict[str, str] | None = None
        self._sent: dict[str, int] = {}

    def _load(self) -> dict[str, str]:
        if self._states is None:
            self._states = {}
            for record in self.log.records():
                key, state = str(record.get("key", "")), str(record.get("state", ""))
                if key and state:
                    self._states[key] = state
                    if state == "sent":
                        self._sent[key] = self._sent.get(key, 0) + 1
        return self._states

    def state(self, key: str) -> str | None:
        return self._load().get(key)

    def times_sent(self, key: str) -> int:
        self._load()
        return self._sent.get(key, 0)

    def mark(self, key: str, state: str, **info: object) -> None:
        self.log.append({"key": key, "state": state, "time": stamp(local_now()), **info})
        self._load()[key] = state
        if state == "sent":
            self._sent[key] = self._sent.get(key, 0) + 1

    def records(self) -> list[dict[str, object]]:
        return list(self.log.records())


@dataclass
class Draft:
    key: str
    kind: str  # reply | remind | report | feedback
    date: dt.date
    path: Path
    recipients: list[str]
    message_id: str
    #: written afresh in this run (False: kept as it was, because it was sent already)
    written: bool = True
    problems: list[Problem] = field(default_factory=list)


def draft_folder(outbox: Path, date: dt.date, kind: str) -> Path:
    return Path(outbox) / date.isoformat() / MAIL_SUBFOLDER / kind


def new_message(sender: str, to: list[str], cc: list[str], subject: str, *, reply_to: str = "") -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    if sender:
        message["From"] = sender
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1].strip(">") if "@" in sender else "mektepke-zhol.local"
    message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    # Our letters answer nobody's auto-reply and tell auto-responders to keep quiet (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    return message


def recipients_of(message: EmailMessage) -> list[str]:
    found = getaddresses([str(v) for h in ("To", "Cc") for v in message.get_all(h, [])])
    return [address for _, address in found if address]


def write_drafts(outbox: Path, ledger: Ledger, items: list[tuple[str, str, dt.date, str, EmailMessage]],
                 *, again: bool = False) -> list[Draft]:
    """items: (key, kind, date, file name, message). A message already sent (or handed over without a
    confirmation) keeps its draft as it was sent, unless `again`. Written under the outbox lock: a report
    being published for that date is never raced."""
    drafts: list[Draft] = []
    with outbox_lock(outbox):
        for key, kind, date, name, message in items:
            path = draft_folder(outbox, date, kind) / name
            done = ledger.state(key) in ("sent", "committing")
            if done and not again:
                drafts.append(Draft(key, kind, date, path, recipients_of(message), str(message["Message-ID"]),
                                    written=False))
                continue
            atomic_write(path, UNSENT + message.as_bytes(policy=policy.SMTP))
            drafts.append(Draft(key, kind, date, path, recipients_of(message), str(message["Message-ID"])))
    return drafts
