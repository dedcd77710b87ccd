"""Real mail servers for the tests and the benchmark (never imported by the product).

* `Dovecot`: Debian's dovecot-imapd started with a temporary configuration: users and passwords from a
  passwd-file, maildirs in a temporary folder, 127.0.0.1 on free ports, plain/STARTTLS and implicit TLS
  with a self-signed certificate made here.
* `SmtpServer`: aiosmtpd as a real SMTP server on a free local port, with or without STARTTLS and login;
  it keeps every message it accepted, and lets a test act at the moment a message's recipients or its
  data arrive (to kill a sender midway).
* `self_signed(folder)`: a certificate and key for 127.0.0.1/localhost (cryptography).
"""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1 and localhost, valid for a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def dovecot_missing() -> str | None:
    """Why Dovecot cannot be started here (None: it can)."""
    if not Path(DOVECOT).exists():
        return "dovecot is not installed (apt-get install dovecot-imapd; .ci/run does it)"
    return None


class Dovecot:
    """A private Dovecot: `start()`, `add_user(name, password)`, `append(user, password, messages)`, `stop()`."""

    def __init__(self, tls: bool = True, users: int = 40) -> None:
        # Under /tmp with 0755 on the way: the mail processes run as an unprivileged user when we are root.
        self.root = Path(tempfile.mkdtemp(prefix="mz-dovecot-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.tls = tls
        self.cert: Path | None = None
        self.key: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.passwd = self.root / "passwd"
        self.users: dict[str, str] = {}
        # Users made before start: Dovecot re-reads a changed passwd-file only now and then, so a user added
        # while it runs may be refused for a second or two.
        self._spare = [f"clerk{n:03d}" for n in range(users)]
        for name in self._spare:
            self.users[name] = secrets.token_hex(12)

    @property
    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _config(self) -> str:
        root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid())
        mail_uid, mail_gid = (65534, 65534) if root else (me.pw_uid, me.pw_gid)
        lines = [
            "protocols = imap", "listen = 127.0.0.1", f"base_dir = {self.root}/run", f"state_dir = {self.root}/state",
            f"log_path = {self.root}/dovecot.log", "disable_plaintext_auth = no", "auth_mechanisms = plain login",
            f"mail_location = maildir:{self.root}/mail/%u", "first_valid_uid = 1", "first_valid_gid = 1",
            "passdb {", "  driver = passwd-file", f"  args = scheme=PLAIN username_format=%u {self.passwd}", "}",
            "userdb {", "  driver = static", f"  args = uid={mail_uid} gid={mail_gid} home={self.root}/mail/%u", "}",
            "service imap-login {", "  chroot =",
            "  inet_listener imap {", "    address = 127.0.0.1", f"    port = {self.port}", "  }",
            "  inet_listener imaps {", "    address = 127.0.0.1", f"    port = {self.tls_port}",
            f"    ssl = {'yes' if self.tls else 'no'}", "  }", "}",
            "service anvil {", "  chroot =", "}",
            "service stats {", "  unix_listener stats-reader {", "    mode = 0666", "  }",
            "  unix_listener stats-writer {", "    mode = 0666", "  }", "}",
        ]
        if self.tls:
            lines += ["ssl = yes", f"ssl_cert = <{self.cert}", f"ssl_key = <{self.key}",
                      "ssl_dh = </usr/share/dovecot/dh.pem"]
        else:
            lines += ["ssl = no"]
        if not root:
            lines += [f"default_internal_user = {me.pw_name}", f"default_login_user = {me.pw_name}",
                      f"default_internal_group = {pwd.getpwuid(os.geteuid()).pw_name}"]
        return "\n".join(lines) + "\n"

    def start(self) -> Dovecot:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.root / "mail", 65534, 65534)
        if self.tls:
            self.cert, self.key = self_signed(self.root / "tls")
        self._write_passwd()
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config(), encoding="utf-8")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode("utf-8", "replace") if self.process.stderr else ""
                self.stop()
                raise RuntimeError(f"dovecot did not start: {err} {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def new_user(self) -> tuple[str, str]:
        """(user, password) of a user with an empty mailbox of its own."""
        if self._spare:
            name = self._spare.pop(0)
            return name, self.users[name]
        name, password = f"clerk{len(self.users):03d}", secrets.token_hex(12)
        self.users[name] = password
        self._write_passwd()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until Dovecot has read the new file
            try:
                self.client(name).logout()
                break
            except imaplib.IMAP4.error:
                time.sleep(0.5)
        return name, password

    def _write_passwd(self) -> None:
        body = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items())
        tmp = self.passwd.with_suffix(".tmp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, self.passwd)

    def client(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.login(user, self.users[user])
        return imap

    def create_folder(self, user: str, folder: str) -> None:
        imap = self.client(user)
        try:
            from pipeline.mail.imap import mailbox_name

            imap.create(mailbox_name(folder))
        finally:
            imap.logout()

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        from pipeline.mail.imap import mailbox_name

        imap = self.client(user)
        try:
            for raw in messages:
                typ, data = imap.append(mailbox_name(folder), None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data}")
        finally:
            imap.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[tuple[int, bytes, bytes]]:
        """(uid, flags, raw) of every message in the folder."""
        from pipeline.mail.imap import mailbox_name

        imap = self.client(user)
        try:
            imap.select(mailbox_name(folder), readonly=True)
            typ, data = imap.uid("SEARCH", "ALL")
            uids = data[0].split()
            out = []
            if uids:
                typ, data = imap.uid("FETCH", b",".join(uids).decode(), "(FLAGS BODY.PEEK[])")
                for item in data:
                    if isinstance(item, tuple):
                        import re

                        uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                        out.append((uid, flags.group(1) if flags else b"", item[1]))
            return sorted(out)
        finally:
            imap.logout()


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1: `with SmtpServer(starttls=True) as smtp: … smtp.received`."""

    starttls: bool = False
    require_tls: bool = False
    user: str = ""
    password: str = ""
    size_limit: int = 33_554_432
    on_rcpt: Callable[[str], None] | None = None
    on_data: Callable[[Received], None] | None = None
    refuse: frozenset[str] = frozenset()
    received: list[Received] = field(default_factory=list)
    port: int = 0
    cert: Path | None = None

    def __post_init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="mz-smtp-"))
        self._lock = threading.Lock()
        self.controller = None

    def __enter__(self) -> SmtpServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class Handler:
            async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):  # noqa: N802
                if address in server.refuse:
                    return "550 5.1.1 No such user"
                if server.on_rcpt is not None:
                    server.on_rcpt(address)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):  # noqa: N802
                got = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or b""))
                with server._lock:
                    server.received.append(got)
                if server.on_data is not None:
                    server.on_data(got)
                return "250 Message accepted for delivery"

        def authenticator(smtp, session, envelope, mechanism, auth_data):  # noqa: ANN001
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == server.user
                  and auth_data.password.decode() == server.password)
            return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

        context = None
        if self.starttls:
            self.cert, key = self_signed(self._folder / "tls")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
        self.port = free_port()
        kwargs: dict[str, object] = dict(hostname="127.0.0.1", port=self.port, data_size_limit=self.size_limit,
                                         decode_data=False)
        if context is not None:
            kwargs.update(tls_context=context, require_starttls=self.require_tls)
        if self.user:
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=bool(self.starttls))
        self.controller = Controller(Handler(), **kwargs)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.controller is not None:
            self.controller.stop()
        shutil.rmtree(self._folder, ignore_errors=True)


def outlook_message(sender: str, subject: str, attachment: tuple[str, bytes] | None, *, to: str = "mektep@example.kz") -> bytes:
    """A message as Outlook writes it: RFC 2047 subject, the attachment's Cyrillic name as RFC 2231
    parameters (for the benchmark; the tests write every mail program's style in tests/mail/mime.py)."""
    import base64
    import urllib.parse
    import uuid

    def b64(data: bytes) -> str:
        text = base64.b64encode(data).decode()
        return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))

    boundary = "_004_" + uuid.uuid4().hex
    word = "=?utf-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {word}\r\nDate: Wed, 16 Aug 2017 10:15:00 +0500\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@EXCH01.example.kz>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64("Нысан қоса беріліп отыр.".encode()) + "\r\n")
    if attachment is not None:
        name, data = attachment
        encoded = urllib.parse.quote(name.encode("utf-8"), safe="")
        head += (f"--{boundary}\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n"
                 f"Content-Disposition: attachment;\r\n\tfilename*=utf-8''{encoded}\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n" + b64(data) + "\r\n")
    return (head + f"--{boundary}--\r\n").encode()
