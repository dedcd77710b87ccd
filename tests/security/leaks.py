"""Read back every byte a run left under a folder, as a person or a program could see it, and find planted
personal data in it: zip members (docx, xlsx) unpacked, XML character references (&#1048;) decoded,
Unicode folded (full-width digits), and digits looked for across the separators people type in an ИИН."""

from __future__ import annotations

import html
import io
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path

#: The planted ИИН (a valid date-shaped one: 17.03.2005, 7th digit 5) and its spellings.
IIN = "050317500123"
IIN_SPELLINGS = (
    IIN,
    "050317 500123",
    "0503-1750-0123",
    "050317\u00a0500\u00a0123",
    "０５０３１７５００１２３",
    "05 03 17 50 01 23",
)
#: Lists of names as officials, clerks and transliterating systems write them.
NAME_LISTS = (
    "И.И. Иванов, М.А. Петрова",
    "Иванов Иван, Петрова Мария",
    "Айдар Иманғалиев, Марат Ахметов",
    "ИВАНОВ ИВАН, ПЕТРОВА МАРИЯ",
    "Ivanov Ivan, Petrova Maria",
)
#: Surnames of the lists: none may appear anywhere (case-folded).
SURNAMES = ("иванов", "петрова", "иманғалиев", "ахметов", "ivanov", "petrova")

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2013.]")


def texts(root: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every file under root, zip members and SQLite rows included, recursively."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield from _texts(str(path.relative_to(root)), path.read_bytes())


def _texts(where: str, data: bytes) -> Iterator[tuple[str, str]]:
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    yield from _texts(f"{where}!{info.filename}", zf.read(info))
                    yield f"{where}!name", info.filename
            return
        except zipfile.BadZipFile:
            pass
    if data[:16] == b"SQLite format 3\x00":
        yield from _sqlite(where, data)
    yield where, _decode(data)


def _sqlite(where: str, data: bytes) -> Iterator[tuple[str, str]]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".sqlite") as tmp:
        tmp.write(data)
        tmp.flush()
        conn = sqlite3.connect(tmp.name)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    yield f"{where}!{table}", " ".join(str(v) for v in row)
        finally:
            conn.close()


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", "replace")
    # Twice: an entity may itself be escaped (&amp;#1048;).
    text = html.unescape(html.unescape(text))
    return unicodedata.normalize("NFKC", text)


def leaks(root: Path) -> list[str]:
    """Where the planted ИИН (any spelling) or any planted surname shows up under root."""
    found = []
    for where, text in texts(root):
        flat = _SEPARATORS.sub("", text)
        if IIN in flat:
            found.append(f"{where}: ИИН")
        low = text.casefold()
        found.extend(f"{where}: {name}" for name in SURNAMES if name in low)
    return found
