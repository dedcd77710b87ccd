"""District text made safe for each kind of output: one place, used by every writer.

Text from a district workbook (comments, file and sheet names, values quoted in messages) is data, never
markup or a formula: spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` (also in CSV),
XML 1.0 cannot carry most control characters (openpyxl and python-docx refuse them), and a file name may
hold separators or bytes that are not valid UTF-8.
"""

from __future__ import annotations

import re
import unicodedata

# XML 1.0 allows \t \n \r among the C0 controls; the rest (and the surrogates, U+FFFE/U+FFFF) break the file.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_FILE_UNSAFE = re.compile(r"[^\w.\- ]+")


def xml_text(text: str) -> str:
    """Text any XML-based document (docx, xlsx) can hold: illegal control characters become spaces."""
    return _XML_ILLEGAL.sub(" ", text)


def starts_formula(text: str) -> bool:
    return text.startswith(_FORMULA_START)


def csv_cell(text: str) -> str:
    """A CSV field Excel and LibreOffice show as text: a leading formula character gets an apostrophe."""
    text = xml_text(text)
    return "'" + text if starts_formula(text) else text


def encodes_as_utf8(text: str) -> bool:
    """False for a name that held bytes which are not UTF-8 (os.fsdecode keeps them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def file_name_part(text: str, limit: int = 60) -> str:
    """A piece of a file name: letters (Cyrillic kept), digits, dot, dash and space; never a path."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = unicodedata.normalize("NFC", text)
    cleaned = _FILE_UNSAFE.sub("_", text).strip(" ._")
    return cleaned[:limit] or "_"
