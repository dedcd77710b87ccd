"""An attachment's file name as districts' mail programs write it, decoded to the name the sender saw.

Outlook writes Cyrillic names as RFC 2231 parameters (`filename*0*=utf-8''%D0%A2…`, continued over
lines); webmail and Thunderbird as RFC 2047 words (`=?UTF-8?B?…?=`, `=?utf-8?Q?…?=`), quoted or not,
split into several words, sometimes in windows-1251 or KOI8-R; some programs put raw UTF-8 (or raw
windows-1251) bytes in the header. Python's parser handles the standard forms; the rest is read here from
the raw header. The result is only ever text for people (masked, printable): never a path.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from email.header import decode_header
from email.message import Message

from pipeline.ingest.inbox import safe_name

MAX_NAME = 200
#: single-byte Cyrillic code pages tried, in order, for raw bytes that are not UTF-8
LEGACY = ("cp1251", "koi8-r")
_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_PARAM = re.compile(
    r"""(?:^|;)\s*(?P<name>file)?name(?:\*(?P<index>\d+))?(?P<star>\*)?\s*=\s*
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;]*))""",
    re.IGNORECASE | re.VERBOSE,
)


def attachment_name(part: Message) -> str:
    """The decoded file name ('' when the part names none). Never raises."""
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a hostile header may break the parser in any way
        name = None
    if name and "\ufffd" not in name and not _WORD.search(name) and _printable(name):
        return name
    for header in ("content-disposition", "content-type"):
        raw = _raw_header(part, header)
        if raw:
            found = _from_params(raw, "filename" if header == "content-disposition" else "name")
            if found:
                return found
    return name or ""


def shown_name(name: str) -> tuple[str, bool]:
    """(the name as every output may show it: last path part, printable, masked; whether it was masked)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", "".join(ch if ch.isprintable() else " " for ch in base)).strip()
    text, masked = safe_name(base[:MAX_NAME])
    return text, masked


def decode_words(text: str) -> str:
    """RFC 2047 words (any charset Python knows, adjacent words joined) and raw bytes in a header value."""
    text = bytes_text(text)
    if "=?" not in text:
        return text
    try:
        pieces = decode_header(text)
    except Exception:  # noqa: BLE001
        return text
    out = []
    for value, charset in pieces:
        if isinstance(value, str):
            out.append(value)
            continue
        out.append(_decode(value, charset))
    joined = "".join(out)
    return joined


def bytes_text(text: str) -> str:
    """A header read with surrogateescape holds raw bytes as lone surrogates: UTF-8, else a legacy page."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    return _decode(raw, None)


def _decode(raw: bytes, charset: str | None) -> str:
    for codec in ([charset] if charset else []) + ["utf-8", *LEGACY]:
        try:
            return raw.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("utf-8", "replace")


def _raw_header(part: Message, name: str) -> str:
    try:
        for key, value in part.raw_items():
            if key.lower() == name:
                return re.sub(r"\r?\n[ \t]", " ", str(value))
    except Exception:  # noqa: BLE001
        return ""
    return ""


def _from_params(raw: str, wanted: str) -> str:
    """The `wanted` parameter of a raw header: RFC 2231 (continued, charset'lang'%XX), quoted or bare,
    with RFC 2047 words and raw bytes decoded."""
    pieces: dict[int, tuple[bool, str]] = {}
    plain = ""
    for match in _PARAM.finditer(raw):
        if bool(match.group("name")) != (wanted == "filename"):
            continue
        value = match.group("quoted")
        value = value.replace('\\"', '"').replace("\\\\", "\\") if value is not None else (match.group("token") or "").strip()
        if match.group("index") is None and not match.group("star"):
            plain = plain or value
            continue
        index = int(match.group("index") or 0)
        pieces[index] = (bool(match.group("star")), value)
    if pieces:
        charset = None
        out: list[bytes] = []
        for n, (extended, value) in sorted(pieces.items()):
            if extended:
                if n == 0 and value.count("'") >= 2:
                    charset, _, value = value.split("'", 2)
                out.append(urllib.parse.unquote_to_bytes(value))
            else:
                out.append(bytes_text(value).encode("utf-8"))
        text = _decode(b"".join(out), charset or None)
        return decode_words(text)
    return decode_words(plain) if plain else ""


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch == " " for ch in text)
