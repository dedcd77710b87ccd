"""One raw e-mail → what a district sent: its sender, subject and the files attached, each sorted out.

Nothing here raises because of a message's content (a malformed message is a message with a problem),
and nothing is judged by a name or a declared type where the bytes can say: an attachment is a form
to check when its bytes are a spreadsheet container (or a damaged one, which the check then names); a
.zip is opened and its members sorted the same way; Outlook's winmail.dat (TNEF) is recognised and
answered; a PDF cover letter or a signature image is noted and left. Every name is decoded
(`pipeline.mail.names`) and masked before it is kept anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import compat32
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Literal

from pipeline.ingest.sniff import OLE_MAGIC, ZIP_MAGIC, D_ZIP, sniff
from pipeline.mail.names import attachment_name, bytes_text, decode_words, shown_name
from pipeline.privacy import mask
from pipeline.problems import Problem
from pipeline.safe_text import xml_text

MB = 1_000_000
TNEF_MAGIC = b"\x78\x9f\x3e\x22"
#: a zip attachment: at most this many members are looked at (a district zips a handful of forms)
MAX_ZIP_MEMBERS = 100
_SPREADSHEET_SUFFIX = re.compile(r"\.(xlsx|xlsm|xls|ods|xlsb|xltx|csv)$", re.IGNORECASE)
_AUTO_FROM = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)

Kind = Literal["form", "skipped", "refused"]


@dataclass
class Attachment:
    name: str  # as the sender named it, decoded, masked and printable ("" when it had none)
    name_masked: bool
    data: bytes
    kind: Kind  # form: to be checked; skipped: not a spreadsheet (noted); refused: a problem says why
    problem: Problem | None = None
    container: str = ""  # the zip it came out of (shown name)
    #: of the bytes as they came (also kept for a refused file whose bytes are not)
    sha256: str = ""
    size: int = -1

    def __post_init__(self) -> None:
        if not self.sha256:
            self.sha256 = hashlib.sha256(self.data).hexdigest()
        if self.size < 0:
            self.size = len(self.data)

    @property
    def label(self) -> str:
        """How the attachment is named in messages: «архив.zip / Нысан.xlsx»."""
        own = self.name or "—"
        return f"{self.container} / {own}" if self.container else own


@dataclass
class Incoming:
    key: str  # sha256 of the raw message: the same message is the same key in every run
    size: int
    sender: str = ""  # the From address, lower case
    sender_name: str = ""  # masked
    reply_to: str = ""
    subject: str = ""  # decoded, masked, printable
    message_id: str = ""  # masked, for records
    message_id_raw: str = ""  # as sent, for In-Reply-To only
    date: dt.datetime | None = None
    auto: bool = False  # an automatic message (bounce, auto-reply, list): never answered
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # about the message itself
    uid: int = 0

    @property
    def label(self) -> str:
        return self.subject or self.message_id or self.key[:12]

    @property
    def answer_to(self) -> str:
        """Replies go to the From address (the one the contacts file knows), never to a Reply-To that could
        send a district's workbook anywhere."""
        return self.sender


def header_summary(raw_headers: bytes, size: int, key: str) -> Incoming:
    """An Incoming from the headers alone (a message too large to download)."""
    incoming = Incoming(key=key, size=size)
    try:
        _headers(message_from_bytes(raw_headers, policy=compat32), incoming)
    except Exception:  # noqa: BLE001
        pass
    return incoming


def parse_message(raw: bytes, *, max_attachment_bytes: int) -> Incoming:
    incoming = Incoming(key=hashlib.sha256(raw).hexdigest(), size=len(raw))
    try:
        # compat32: the raw header values (decoded here, by pipeline.mail.names), at a third of the cost of the
        # newer policy's header objects.
        message = message_from_bytes(raw, policy=compat32)
        _headers(message, incoming)
        _attachments(message, incoming, max_attachment_bytes)
        if _broken(message) and not any(a.kind == "form" for a in incoming.attachments):
            incoming.problems.append(Problem.make("mail-message-malformed", incoming.label))
    except Exception:  # noqa: BLE001 - whatever a hostile message does, it is one message with a problem
        incoming.problems.append(Problem.make("mail-message-malformed", incoming.label))
    if not incoming.problems and not any(a.kind == "form" for a in incoming.attachments):
        found = ", ".join(a.label for a in incoming.attachments) or "—"
        incoming.problems.append(Problem.make("mail-no-spreadsheet", incoming.label, found=found))
    return incoming


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001
        value = None
    if value is None:
        return ""
    try:
        text = decode_words(bytes_text(str(value)))
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(xml_text(text).split())


def _headers(message: Message, incoming: Incoming) -> None:
    sender = getaddresses([_header(message, "from")])
    name, address = sender[0] if sender else ("", "")
    incoming.sender = address.strip().lower() if "@" in address else ""
    incoming.sender_name = mask(name)[0][:100]
    reply = getaddresses([_header(message, "reply-to")])
    incoming.reply_to = reply[0][1].strip().lower() if reply and "@" in reply[0][1] else ""
    incoming.subject = mask(_header(message, "subject"))[0][:200]
    raw_id = _header(message, "message-id")[:300]
    incoming.message_id = mask(raw_id)[0]
    incoming.message_id_raw = raw_id if raw_id.startswith("<") and raw_id.endswith(">") and raw_id.isascii() else ""
    try:
        incoming.date = parsedate_to_datetime(_header(message, "date"))
    except (TypeError, ValueError, IndexError):
        incoming.date = None
    auto = _header(message, "auto-submitted").lower()
    precedence = _header(message, "precedence").lower()
    incoming.auto = bool(
        (auto and auto != "no") or precedence in ("bulk", "junk", "list") or _header(message, "list-id")
        or _header(message, "x-autoreply") or _header(message, "x-autorespond")
        or _AUTO_FROM.match(incoming.sender) or message.get_content_type() == "multipart/report"
    )


def _broken(message: Message) -> bool:
    return any(bool(getattr(part, "defects", None)) for part in message.walk())


def _attachments(message: Message, incoming: Incoming, limit: int) -> None:
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        raw_name = attachment_name(part)
        if not raw_name:
            disposition = (part.get_content_disposition() or "").lower()
            if ctype.startswith("text/") or ctype.startswith("message/") or (
                    ctype.startswith("image/") and disposition != "attachment"):
                continue  # the body, an inline signature image: not an attachment
        name, masked = shown_name(raw_name)
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            data = b""
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", "surrogateescape")
        incoming.attachments.extend(classify(name, masked, data, limit, ctype))


def classify(name: str, masked: bool, data: bytes, limit: int, ctype: str = "", container: str = "") -> list[Attachment]:
    """What to do with one attached file (a zip gives its members)."""
    label = f"{container} / {name}" if container else (name or "—")
    if ctype == "application/ms-tnef" or name.lower() == "winmail.dat" or data.startswith(TNEF_MAGIC):
        return [Attachment(name, masked, data, "refused", Problem.make("mail-winmail-dat", label), container)]
    if len(data) > limit:
        problem = Problem.make("mail-attachment-too-large", label, size=_mb(len(data)), limit=_mb(limit))
        return [Attachment(name, masked, b"", "refused", problem, container,
                           sha256=hashlib.sha256(data).hexdigest(), size=len(data))]
    if data.startswith(OLE_MAGIC):
        return [Attachment(name, masked, data, "form", None, container)]  # read in the isolated reader
    verdict = sniff(data)
    if verdict.format is not None:
        return [Attachment(name, masked, data, "form", None, container)]
    detail = str(verdict.params.get("detail", ""))
    if verdict.code == "file-not-spreadsheet" and detail == D_ZIP and data.startswith(ZIP_MAGIC):
        if container:  # a zip inside a zip is not opened
            return [Attachment(name, masked, b"", "skipped", Problem.make("mail-attachment-not-spreadsheet", label,
                                                                           detail=D_ZIP), container)]
        return _unzip(name, masked, data, limit)
    if verdict.code == "file-not-spreadsheet" and not _SPREADSHEET_SUFFIX.search(name):
        problem = Problem.make("mail-attachment-not-spreadsheet", label, detail=detail)
        return [Attachment(name, masked, b"", "skipped", problem, container)]
    if verdict.code in ("file-bomb", "file-corrupt") and name.lower().endswith(".zip"):
        return [Attachment(name, masked, b"", "refused", Problem.make("mail-zip-unreadable", label), container)]
    # A damaged or unsupported spreadsheet: the check names what is wrong with it, as for the inbox.
    return [Attachment(name, masked, data, "form", None, container)]


def _unzip(name: str, masked: bool, data: bytes, limit: int) -> list[Attachment]:
    label = name or "—"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return [Attachment(name, masked, b"", "refused", Problem.make("mail-zip-unreadable", label))]
    out: list[Attachment] = []
    members = [i for i in infos if not _junk_member(i.filename)]
    if len(members) > MAX_ZIP_MEMBERS:
        return [Attachment(name, masked, b"", "refused", Problem.make("mail-zip-unreadable", label))]
    for info in members:
        inner, inner_masked = shown_name(_member_name(info))
        inner_label = f"{label} / {inner}"
        if info.flag_bits & 0x1:
            out.append(Attachment(inner, inner_masked or masked, b"", "refused",
                                  Problem.make("mail-zip-unreadable", inner_label), label))
            continue
        if info.file_size > limit:
            out.append(Attachment(inner, inner_masked or masked, b"", "refused", Problem.make(
                "mail-attachment-too-large", inner_label, size=_mb(info.file_size), limit=_mb(limit)), label,
                sha256=f"crc32:{info.CRC:08x}:{info.file_size}", size=info.file_size))
            continue
        try:
            with archive.open(info) as fh:
                content = fh.read(limit + 1)
        except Exception:  # noqa: BLE001 - a damaged member (bad CRC, bad stream, unknown method)
            out.append(Attachment(inner, inner_masked or masked, b"", "refused",
                                  Problem.make("mail-zip-unreadable", inner_label), label))
            continue
        out.extend(classify(inner, inner_masked or masked, content, limit, container=label))
    if not out:
        out.append(Attachment(name, masked, b"", "skipped",
                              Problem.make("mail-attachment-not-spreadsheet", label, detail=D_ZIP)))
    return out


def _junk_member(path: str) -> bool:
    """Folders and files archivers add beside the real ones (macOS resource forks, Office lock files)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return path.startswith("__MACOSX/") or base.startswith("._") or base.startswith("~$") or not base


def _member_name(info: zipfile.ZipInfo) -> str:
    """A zip made on Windows stores names in the OEM code page (cp866 for Cyrillic) unless flagged UTF-8;
    some tools write UTF-8 without the flag."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.orig_filename.encode("cp437", "replace")
    for codec in ("utf-8", "cp866"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",")
