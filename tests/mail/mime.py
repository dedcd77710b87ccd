"""The messages districts really send, written byte for byte as their mail programs write them (not through
Python's email package, which would only ever produce its own style)."""

from __future__ import annotations

import base64
import io
import urllib.parse
import uuid
import zipfile

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _b64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def _word_b(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def _word_q(text: str) -> str:
    return "=?utf-8?Q?" + "".join(
        ch if ch.isascii() and ch.isalnum() else "".join(f"={b:02X}" for b in ch.encode("utf-8")) for ch in text
    ) + "?="


def _rfc2231(name: str, chunk: int = 30) -> str:
    """Outlook/Exchange: filename*0*=utf-8''…; filename*1*=… (continued over folded lines)."""
    encoded = urllib.parse.quote(name.encode("utf-8"), safe="")
    parts = [encoded[i : i + chunk] for i in range(0, len(encoded), chunk)]
    # a %XX escape never split across parts
    fixed: list[str] = []
    carry = ""
    for p in parts:
        p = carry + p
        cut = p.rfind("%")
        if cut >= len(p) - 2 and cut != -1:
            carry, p = p[cut:], p[:cut]
        else:
            carry = ""
        fixed.append(p)
    if carry:
        fixed.append(carry)
    out = []
    for i, p in enumerate(fixed):
        prefix = "utf-8''" if i == 0 else ""
        out.append(f"filename*{i}*={prefix}{p}")
    return ";\r\n\t".join(out)


def attachment_headers(name: str, style: str, ctype: str = XLSX_TYPE) -> str:
    """Content-Type/Disposition of an attachment named `name` in one mail program's style."""
    if style == "outlook":  # RFC 2231 continuations in the disposition, RFC 2047 in name=
        return (f'Content-Type: {ctype}; name="{_word_b(name)}"\r\n'
                f"Content-Description: {_word_b(name)}\r\n"
                f"Content-Disposition: attachment;\r\n\t{_rfc2231(name)};\r\n\tsize=1234;\r\n"
                '\tcreation-date="Wed, 16 Aug 2017 09:12:00 GMT"\r\n')
    if style == "webmail-b":  # mail.kz / Gmail: RFC 2047 B in quotes
        return f'Content-Type: {ctype}; name="{_word_b(name)}"\r\nContent-Disposition: attachment; filename="{_word_b(name)}"\r\n'
    if style == "webmail-q":  # Q encoding, unquoted in name=, split words in filename
        half = len(name) // 2
        return (f"Content-Type: {ctype}; name={_word_q(name)}\r\n"
                f'Content-Disposition: attachment; filename="{_word_q(name[:half])} {_word_q(name[half:])}"\r\n')
    if style == "raw-utf8":  # a program that puts UTF-8 bytes straight into the header
        return f'Content-Type: {ctype}; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"\r\n'
    if style == "cp1251-2047":
        return f'Content-Type: {ctype}\r\nContent-Disposition: attachment; filename="{_word_b(name, "windows-1251")}"\r\n'
    if style == "name-only":  # no Content-Disposition at all, the name only on Content-Type
        return f'Content-Type: {ctype}; name="{_word_b(name)}"\r\n'
    raise ValueError(style)


def message(sender: str, subject: str, attachments: list[tuple[str, bytes, str]] = (), *, to: str = "mektep@bilim.example.kz",
            message_id: str | None = None, extra_headers: str = "", body: str = "Сәлеметсіз бе! Нысан қоса беріліп отыр.",
            ctype_override: dict[int, str] | None = None) -> bytes:
    """attachments: (name, bytes, style)."""
    boundary = "_004_" + uuid.uuid4().hex
    alt = "_000_" + uuid.uuid4().hex
    mid = message_id or f"<{uuid.uuid4().hex}@EXCH01.akimat.example.kz>"
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {_word_b(subject)}\r\n"
            f"Date: Wed, 16 Aug 2017 10:15:00 +0500\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n"
            f"X-Mailer: Microsoft Outlook 16.0\r\n{extra_headers}"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n')
    parts = [
        f"--{boundary}\r\nContent-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n"
        f"--{alt}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(body.encode()).decode() + "\r\n"
        f"--{alt}\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(f"<html><body><p>{body}</p></body></html>".encode()).decode() + f"\r\n--{alt}--\r\n"
    ]
    for i, (name, data, style) in enumerate(attachments):
        ctype = (ctype_override or {}).get(i, XLSX_TYPE)
        if style == "raw-utf8":
            headers = attachment_headers(name, style, ctype).encode("utf-8")
        else:
            headers = attachment_headers(name, style, ctype).encode("ascii")
        parts.append((f"--{boundary}\r\n".encode() + headers + b"Content-Transfer-Encoding: base64\r\n\r\n"
                      + _b64(data) + b"\r\n").decode("utf-8") if style != "raw-utf8" else
                     (f"--{boundary}\r\n".encode() + headers + b"Content-Transfer-Encoding: base64\r\n\r\n"
                      + _b64(data) + b"\r\n").decode("utf-8"))
    return head.encode() + "".join(parts).encode("utf-8") + f"--{boundary}--\r\n".encode()


class _DosInfo(zipfile.ZipInfo):
    __slots__ = ()

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's own name
        return self.filename.encode("cp866"), self.flag_bits & ~0x800


def zip_of(members: list[tuple[str, bytes]], *, cp866: bool = False) -> bytes:
    """A zip; with `cp866`, names as Windows Explorer («Send to → Compressed folder») writes them: in the
    OEM code page, without the UTF-8 flag."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = (_DosInfo if cp866 else zipfile.ZipInfo)(name, date_time=(2017, 8, 16, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def winmail_dat() -> bytes:
    """The start of a TNEF stream as Outlook writes winmail.dat (signature 0x223E9F78, key, attributes)."""
    return b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00" + b"\x00" * 200


def tnef_message(sender: str, subject: str) -> bytes:
    boundary = "----=_TNEF_" + uuid.uuid4().hex
    return (f"From: {sender}\r\nTo: mektep@bilim.example.kz\r\nSubject: {_word_b(subject)}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@EXCH01>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nНысан қоса беріліп отыр.\r\n"
            f'--{boundary}\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
            'Content-Disposition: attachment; filename="winmail.dat"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + _b64(winmail_dat()).decode() + f"\r\n--{boundary}--\r\n").encode()


def plain_message(sender: str, subject: str, body: str = "Есепті кейін жіберемін.", extra_headers: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: mektep@bilim.example.kz\r\nSubject: {_word_b(subject)}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@mail.kz>\r\nMIME-Version: 1.0\r\n{extra_headers}"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + _b64(body.encode()).decode() + "\r\n").encode()
