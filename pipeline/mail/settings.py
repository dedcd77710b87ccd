"""The mail settings file (`mail.toml`): servers, the sender's address, the schedule; checked before use.

Every mistake is named with its key and said in the console's language (wording: data/mail.yaml
`check`). The password is never in the file: it comes from an environment variable or from a file only
its owner may read, is read when a connection is made, and travels as a `Secret` whose text is «***»
(so a repr in a log or an exception never shows it).

Without a settings file the mail commands still work as drafts: nothing is fetched or sent, every message
is written as an .eml file for a person to send.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import stat
import tomllib
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from pipeline.errors import EXIT, RunStopped
from pipeline.messages import current_lang
from pipeline.texts import load_data

TLS_MODES = ("implicit", "starttls", "none")
MB = 1_000_000
DEFAULT_CONTACTS = "contacts.yaml"


class MailFault(RunStopped):
    """A mail job that cannot go on (settings, server, password): a code of `run:` in messages.yaml."""

    def __init__(self, code: str, exit_code: int | None = None, **params: object) -> None:
        super().__init__(code, EXIT["mail_fault"] if exit_code is None else exit_code, **params)


def words(section: str) -> dict[str, Any]:
    """A section of data/mail.yaml in the console's language."""
    return load_data("mail.yaml")[current_lang()][section]


@dataclass(frozen=True)
class Secret:
    """A password: its text is never shown by repr/str; `reveal()` is called where it is sent."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: str
    user: str = ""
    password_env: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    max_message_bytes: int = 50 * MB

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"

    def password(self) -> Secret:
        """Read at the moment of use: a rotated password needs no restart of `serve`."""
        if self.password_file is not None:
            return Secret(read_password_file(self.password_file))
        if self.password_env:
            value = os.environ.get(self.password_env)
            if not value:
                raise MailFault("mail-password-missing", EXIT["usage"], name=self.password_env)
            return Secret(value)
        return Secret("")


@dataclass(frozen=True)
class ImapSettings(Server):
    folder: str = "INBOX"
    #: move handled messages into this folder; empty: flag them with `HANDLED_KEYWORD` and leave them
    done_folder: str = ""


@dataclass(frozen=True)
class SmtpSettings(Server):
    pass


@dataclass(frozen=True)
class Schedule:
    fetch_minutes: int = 5
    reply: bool = True
    #: scheduled jobs send through SMTP only when true; otherwise they write drafts
    send: bool = False
    remind_at: dt.time = dt.time(9, 0)
    remind_days_before: int = 1
    remind_days_after: int = 1
    report_drafts: bool = True
    retry_minutes: int = 15


@dataclass(frozen=True)
class MailSettings:
    path: Path | None
    sender: str = ""  # the From of every message ("Name <address>"); empty: the mail program fills it in
    reply_to: str = ""
    contacts_path: Path | None = None
    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None
    schedule: Schedule = Schedule()

    @property
    def sender_address(self) -> str:
        return getaddresses([self.sender])[0][1] if self.sender else ""

    @property
    def inbox_address(self) -> str:
        """Where districts send their forms (named in reminders)."""
        for value in (self.reply_to, self.sender):
            if value:
                return getaddresses([value])[0][1]
        return ""


def read_password_file(path: Path) -> str:
    """The first line of a file that only its owner can read (mode 600 or 400)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077 or st.st_uid != os.geteuid():
            raise MailFault("mail-password-file-open", EXIT["usage"], path=path)
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MailFault("mail-password-file-unreadable", EXIT["usage"], path=path,
                        detail=exc.strerror or type(exc).__name__) from None
    except UnicodeDecodeError:
        raise MailFault("mail-password-file-unreadable", EXIT["usage"], path=path, detail="UTF-8") from None
    value = text.splitlines()[0] if text else ""
    if not value:
        raise MailFault("mail-password-file-unreadable", EXIT["usage"], path=path, detail="0")
    return value


def load_settings(path: Path, *, required: bool = False) -> MailSettings:
    """A missing file that was not asked for by name gives the defaults: no servers, drafts only, the
    contacts from `contacts.yaml` beside where the settings would be."""
    if not Path(path).exists():
        if required:
            raise MailFault("mail-settings-missing", EXIT["usage"], path=path)
        return MailSettings(path=None, contacts_path=Path(path).parent / DEFAULT_CONTACTS)
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MailFault("mail-settings-invalid", EXIT["usage"], path=path, detail=str(getattr(exc, "strerror", "") or exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise MailFault("mail-settings-invalid", EXIT["usage"], path=path, detail=str(exc)) from None
    checker = _Checker(path)
    settings = checker.settings(data)
    if checker.problems:
        raise MailFault("mail-settings-invalid", EXIT["usage"], path=path,
                        detail="".join(f"\n  {key}: {message}" for key, message in checker.problems))
    assert settings is not None
    return settings


class _Checker:
    """Collects every mistake (key path, message) instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[str, str]] = []
        self.w = words("check")

    def say(self, key: str, message: str, **values: object) -> None:
        self.problems.append((key, str(self.w[message]).format(**values)))

    def table(self, data: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        for extra in sorted(set(data) - allowed):
            self.say(f"{key}.{extra}" if key else extra, "unknown_key", allowed=", ".join(sorted(allowed)))
        return data

    def get(self, data: dict[str, Any], prefix: str, name: str, kind: type, default: Any) -> Any:
        value = data.get(name, default)
        key = f"{prefix}.{name}" if prefix else name
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.say(key, "not_integer", value=value)
            return default
        if kind is bool and not isinstance(value, bool):
            self.say(key, "not_bool", value=value)
            return default
        if kind is str and not isinstance(value, str):
            self.say(key, "not_text", value=value)
            return default
        return value

    def within(self, key: str, value: int, low: int, high: int) -> int:
        if not low <= value <= high:
            self.say(key, "out_of_range", value=value, low=low, high=high)
        return value

    def file(self, key: str, text: str) -> Path | None:
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.path.parent / path
        return path

    def address(self, key: str, text: str) -> str:
        if text and "@" not in (getaddresses([text])[0][1] or ""):
            self.say(key, "bad_address", value=text)
        return text

    def settings(self, data: dict[str, Any]) -> MailSettings | None:
        top = {"from", "reply_to", "contacts", "imap", "smtp", "schedule"}
        self.table(data, "", top)
        sender = self.address("from", self.get(data, "", "from", str, ""))
        reply_to = self.address("reply_to", self.get(data, "", "reply_to", str, ""))
        contacts = self.file("contacts", self.get(data, "", "contacts", str, DEFAULT_CONTACTS))
        imap = smtp = None
        if "imap" in data:
            imap = self.server(data["imap"], "imap", ImapSettings, {"folder", "done_folder"}, 993)
        if "smtp" in data:
            smtp = self.server(data["smtp"], "smtp", SmtpSettings, set(), 587)
            if not sender:
                self.say("from", "sender_needed")
        schedule = self.schedule(data.get("schedule", {}))
        return MailSettings(self.path, sender, reply_to, contacts, imap, smtp, schedule)

    def server(self, data: Any, prefix: str, cls: type, extra: set[str], default_port: int) -> Any:
        if not isinstance(data, dict):
            self.say(prefix, "not_table")
            return None
        common = {"host", "port", "tls", "user", "password_env", "password_file", "ca_file", "timeout_seconds",
                  "max_message_mb"}
        self.table(data, prefix, common | extra)
        host = self.get(data, prefix, "host", str, "")
        if not host:
            self.say(f"{prefix}.host", "required")
        port = self.within(f"{prefix}.port", self.get(data, prefix, "port", int, default_port), 1, 65535)
        tls = self.get(data, prefix, "tls", str, "implicit" if prefix == "imap" else "starttls")
        if tls not in TLS_MODES:
            self.say(f"{prefix}.tls", "bad_tls", value=tls, allowed=", ".join(TLS_MODES))
        elif tls == "none" and host and not _loopback(host):
            self.say(f"{prefix}.tls", "plain_remote", host=host)
        user = self.get(data, prefix, "user", str, "")
        env = self.get(data, prefix, "password_env", str, "")
        pfile = self.file(f"{prefix}.password_file", self.get(data, prefix, "password_file", str, ""))
        if env and pfile:
            self.say(f"{prefix}.password_file", "two_passwords")
        if user and not (env or pfile):
            self.say(f"{prefix}.password_env", "password_needed")
        if pfile is not None and not pfile.is_file():
            self.say(f"{prefix}.password_file", "no_file", path=pfile)
        ca = self.file(f"{prefix}.ca_file", self.get(data, prefix, "ca_file", str, ""))
        if ca is not None and not ca.is_file():
            self.say(f"{prefix}.ca_file", "no_file", path=ca)
        timeout = self.within(f"{prefix}.timeout_seconds", self.get(data, prefix, "timeout_seconds", int, 30), 1, 600)
        size = self.within(f"{prefix}.max_message_mb", self.get(data, prefix, "max_message_mb", int, 50), 1, 500)
        values: dict[str, Any] = dict(host=host, port=port, tls=tls, user=user, password_env=env,
                                      password_file=pfile, ca_file=ca, timeout=float(timeout),
                                      max_message_bytes=size * MB)
        if "folder" in extra:
            folder = self.get(data, prefix, "folder", str, "INBOX")
            if not folder:
                self.say(f"{prefix}.folder", "required")
            values["folder"] = folder or "INBOX"
            values["done_folder"] = self.get(data, prefix, "done_folder", str, "")
        return cls(**values)

    def schedule(self, data: Any) -> Schedule:
        if not isinstance(data, dict):
            self.say("schedule", "not_table")
            return Schedule()
        d = Schedule()
        self.table(data, "schedule", {"fetch_minutes", "reply", "send", "remind_at", "remind_days_before",
                                      "remind_days_after", "report_drafts", "retry_minutes"})
        at_text = self.get(data, "schedule", "remind_at", str, "09:00")
        try:
            hours, minutes = (int(x) for x in at_text.split(":"))
            at = dt.time(hours, minutes)
        except ValueError:
            self.say("schedule.remind_at", "bad_time", value=at_text)
            at = d.remind_at
        return Schedule(
            fetch_minutes=self.within("schedule.fetch_minutes",
                                      self.get(data, "schedule", "fetch_minutes", int, d.fetch_minutes), 1, 1440),
            reply=self.get(data, "schedule", "reply", bool, d.reply),
            send=self.get(data, "schedule", "send", bool, d.send),
            remind_at=at,
            remind_days_before=self.within("schedule.remind_days_before", self.get(
                data, "schedule", "remind_days_before", int, d.remind_days_before), 0, 30),
            remind_days_after=self.within("schedule.remind_days_after", self.get(
                data, "schedule", "remind_days_after", int, d.remind_days_after), 0, 30),
            report_drafts=self.get(data, "schedule", "report_drafts", bool, d.report_drafts),
            retry_minutes=self.within("schedule.retry_minutes",
                                      self.get(data, "schedule", "retry_minutes", int, d.retry_minutes), 1, 1440),
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
