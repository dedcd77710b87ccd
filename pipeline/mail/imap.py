"""Reading the department's mailbox over IMAP: which messages are new, their bytes, and marking them handled.

A handled message is never deleted: it is moved into `done_folder` when the settings name one, else it
gets the keyword `$MzHandled` (servers without keywords: the \\Seen flag) and stays where it is. "New"
is simply "not handled", so a run that stops midway leaves the rest for the next one; the audit keeps a
message that was handled but not yet marked from being handled twice.
"""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator

from pipeline.mail.settings import ImapSettings, MailFault
from pipeline.mail.smtp import fault_of, tls_context

HANDLED = "$MzHandled"
#: UIDs per FETCH/STORE command: short command lines, bounded answers
CHUNK = 100
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def mailbox_name(name: str) -> str:
    """A folder name as IMAP wants it on the wire: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    text = "".join(out)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chunks(items: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _set(uids: Iterable[int]) -> str:
    return ",".join(str(u) for u in uids)


class ImapSession:
    def __init__(self, settings: ImapSettings) -> None:
        self.s = settings
        self.imap: imaplib.IMAP4 | None = None
        self.keywords = True
        self.can_move = False

    # --- connection ----------------------------------------------------------------------------------------
    def __enter__(self) -> ImapSession:
        s = self.s
        password = s.password()
        try:
            if s.tls == "implicit":
                self.imap = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=tls_context(s), timeout=s.timeout)
            else:
                self.imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    self.imap.starttls(ssl_context=tls_context(s))
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            self._drop()
            if isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
                raise MailFault("mail-tls-failed", server=s.label, detail=_text(exc)) from None
            raise fault_of(exc, s) from None
        try:
            secret = password.reveal()
            if secret.isascii():
                self.imap.login(s.user, secret)
            else:
                self.imap.authenticate("PLAIN", lambda _: f"\0{s.user}\0{secret}".encode("utf-8"))
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise fault_of(exc, s, "session") from None
        except imaplib.IMAP4.error:
            self._drop()
            raise MailFault("mail-login-failed", server=s.label, user=s.user) from None
        except OSError as exc:
            self._drop()
            raise fault_of(exc, s, "session") from None
        self._select()
        return self

    def _select(self) -> None:
        s, imap = self.s, self.imap
        assert imap is not None
        try:
            typ, _ = imap.select(mailbox_name(s.folder))
            if typ != "OK":
                raise MailFault("mail-folder-missing", server=s.label, folder=s.folder)
            flags = b" ".join(imap.response("PERMANENTFLAGS")[1] or [b""])
            self.keywords = b"\\*" in (flags or b"")
            self.can_move = "MOVE" in imap.capabilities
            if s.done_folder:
                typ, _ = imap.status(mailbox_name(s.done_folder), "(MESSAGES)")
                if typ != "OK":
                    raise MailFault("mail-folder-missing", server=s.label, folder=s.done_folder)
        except (imaplib.IMAP4.abort, OSError) as exc:
            self._drop()
            raise fault_of(exc, s, "session") from None
        except imaplib.IMAP4.error as exc:
            self._drop()
            raise MailFault("mail-server-error", server=s.label, detail=_text(exc)) from None
        except MailFault:
            self._drop()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.imap is not None:
            try:
                self.imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
        self._drop()

    def _drop(self) -> None:
        if self.imap is not None:
            try:
                self.imap.shutdown()
            except (OSError, imaplib.IMAP4.error, AttributeError):
                pass
        self.imap = None

    def _call(self, *args: str) -> list:
        """One UID command; a protocol or network fault becomes the run's coded message."""
        assert self.imap is not None
        try:
            typ, data = self.imap.uid(*args)
        except (imaplib.IMAP4.abort, OSError, socket.timeout) as exc:
            raise fault_of(exc, self.s, "session") from None
        except imaplib.IMAP4.error as exc:
            raise MailFault("mail-server-error", server=self.s.label, detail=_text(exc)) from None
        if typ != "OK":
            raise MailFault("mail-server-error", server=self.s.label, detail=_text(data))
        return data

    # --- messages ------------------------------------------------------------------------------------------
    def pending(self) -> list[int]:
        """UIDs of the messages not handled yet, oldest first."""
        if self.s.done_folder:
            criteria = "ALL"
        else:
            criteria = f"UNKEYWORD {HANDLED}" if self.keywords else "UNSEEN"
        data = self._call("SEARCH", criteria)
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    def sizes(self, uids: list[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for chunk in _chunks(uids, 500):
            for item in self._call("FETCH", _set(chunk), "(RFC822.SIZE)"):
                line = item[0] if isinstance(item, tuple) else item
                uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
                if uid and size:
                    out[int(uid.group(1))] = int(size.group(1))
        return out

    def fetch(self, uids: list[int], part: str = "BODY.PEEK[]") -> dict[int, bytes]:
        """The raw bytes of each message (`part` BODY.PEEK[HEADER] for the headers only); never marks them."""
        out: dict[int, bytes] = {}
        if not uids:
            return out
        for item in self._call("FETCH", _set(uids), f"({part})"):
            if isinstance(item, tuple) and len(item) == 2:
                uid = _UID.search(item[0])
                if uid:
                    out[int(uid.group(1))] = item[1]
        return out

    def mark_handled(self, uids: list[int]) -> None:
        for chunk in _chunks(sorted(uids)):
            if self.s.done_folder:
                target = mailbox_name(self.s.done_folder)
                if self.can_move:
                    self._call("MOVE", _set(chunk), target)
                else:
                    self._call("COPY", _set(chunk), target)
                    self._call("STORE", _set(chunk), "+FLAGS.SILENT", "(\\Deleted)")
                    try:
                        self._call("EXPUNGE", _set(chunk))
                    except MailFault:
                        assert self.imap is not None
                        self.imap.expunge()
            else:
                flag = HANDLED if self.keywords else "\\Seen"
                self._call("STORE", _set(chunk), "+FLAGS.SILENT", f"({flag})")


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:160]
