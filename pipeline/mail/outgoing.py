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
import io
import os
import re
import uuid
from dataclasses import dataclass, field
from email import encoders
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from pathlib import Path

from pipeline.atomic import fsync_dir
from pipeline.mail.journal import JsonLines, mail_dir, stamp
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
        self.log.append({"key": key, "state": state, "time": stamp(dt.datetime.now(dt.timezone.utc)), **info})
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


class Letter:
    """One outgoing message, written with the email package's long-tested compat32 generator: Python's
    newer header folder drops the space between two encoded words of a long Cyrillic subject («Дорогав
    школу»), the older `Header` encoder keeps it."""

    def __init__(self, sender: str, to: list[str], cc: list[str], subject: str, *, reply_to: str = "") -> None:
        self.sender, self.to, self.cc, self.subject, self.reply_to = sender, list(to), list(cc), subject, reply_to
        domain = getaddresses([sender])[0][1].rsplit("@", 1)[-1] if "@" in sender else "report-pipeline.local"
        self.message_id = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
        self.headers: list[tuple[str, str]] = [
            # Our letters answer nobody's auto-reply and ask auto-responders to keep quiet (RFC 3834).
            ("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"),
        ]
        self.text = ""
        self.attachments: list[tuple[str, bytes, str, str]] = []

    @property
    def recipients(self) -> list[str]:
        return [address for _, address in getaddresses(self.to + self.cc) if address]

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != name.lower()] + [(name, value)]

    def attach(self, data: bytes, maintype: str, subtype: str, filename: str) -> None:
        self.attachments.append((filename, data, maintype, subtype))

    def as_bytes(self) -> bytes:
        body = MIMEText(self.text, "plain", "utf-8")
        if self.attachments:
            root: Message = MIMEMultipart("mixed")
            root.attach(body)
            for filename, data, maintype, subtype in self.attachments:
                part = MIMEBase(maintype, subtype)
                part.set_payload(data)
                encoders.encode_base64(part)
                part.set_param("name", ("utf-8", "", filename))
                part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
                root.attach(part)
        else:
            root = body
        if self.sender:
            root["From"] = _addresses([self.sender])
        if self.to:
            root["To"] = _addresses(self.to)
        if self.cc:
            root["Cc"] = _addresses(self.cc)
        if self.reply_to:
            root["Reply-To"] = _addresses([self.reply_to])
        root["Subject"] = Header(self.subject, "utf-8", header_name="Subject")
        root["Date"] = formatdate(localtime=False)
        root["Message-ID"] = self.message_id
        for name, value in self.headers:
            root[name] = value
        buffer = io.BytesIO()
        BytesGenerator(buffer, policy=compat32.clone(linesep="\r\n")).flatten(root)
        return buffer.getvalue()


def _addresses(values: list[str]) -> str:
    """Address headers: each display name as one RFC 2047 word, the addresses as they are."""
    return ", ".join(formataddr((name, address), charset="utf-8") for name, address in getaddresses(values) if address)


def new_message(sender: str, to: list[str], cc: list[str], subject: str, *, reply_to: str = "") -> Letter:
    return Letter(sender, to, cc, subject, reply_to=reply_to)


def write_drafts(outbox: Path, ledger: Ledger, items: list[tuple[str, str, dt.date, str, Letter]],
                 *, again: bool = False) -> list[Draft]:
    """items: (key, kind, date, file name, message). A message already sent (or handed over without a
    confirmation) keeps its draft as it was sent, unless `again`. Written under the outbox lock: a report
    being published for that date is never raced."""
    drafts: list[Draft] = []
    folders: set[Path] = set()
    with outbox_lock(outbox):
        for key, kind, date, name, message in items:
            path = draft_folder(outbox, date, kind) / name
            done = ledger.state(key) in ("sent", "committing")
            if done and not again:
                drafts.append(Draft(key, kind, date, path, message.recipients, message.message_id, written=False))
                continue
            _replace(path, UNSENT + message.as_bytes())
            folders.add(path.parent)
            drafts.append(Draft(key, kind, date, path, message.recipients, message.message_id))
        for folder in folders:  # the renames made durable once per folder, not once per draft
            fsync_dir(folder)
    return drafts


def _replace(path: Path, data: bytes) -> None:
    """`atomic_write` without its folder fsync (done once for the batch by the caller)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # created by open(): 0666 less the umask, like any document
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
