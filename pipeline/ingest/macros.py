"""Macros in an uploaded workbook: removed from the copy that is kept, or the file refused.

The pipeline never runs a macro, but a stored copy travels on (the department opens it, forwards it): a
VBA project must not ride along. What can be cut out cleanly is cut out and the copy keeps every value:

* .xlsx/.xlsm: the VBA project parts (`xl/vbaProject.bin`, its signatures, `xl/vbaData.xml`), their
  relationships and content types go; the workbook's content type becomes the plain (macro-free) one, so
  the copy is an ordinary .xlsx;
* .ods: the `Basic/` and `Scripts/` folders and their manifest entries go.

What cannot be cut out without rewriting the workbook — Excel 4.0 macro sheets (`xl/macrosheets/`, a
BOUNDSHEET of a macro sheet in an .xls) and any VBA in an .xls — is refused (`upload-macros-refused`).

Only the bytes the sniffer accepted come here (zip bombs and XML entity tricks were refused before), and
members are copied in chunks, so a large member is never held whole.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["none", "removed", "refused"]

_VBA_PARTS = re.compile(r"^xl/(vbaproject\.bin|vbaprojectsignature\w*\.bin|vbadata\.xml|_rels/vbaproject\.bin\.rels)$")
_ODS_SCRIPTS = ("basic/", "scripts/")
_MACRO_MAIN = re.compile(rb"application/vnd\.ms-excel\.(sheet|template)\.macroEnabled\.main\+xml")
_PLAIN_MAIN = {b"sheet": b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
               b"template": b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"}
_CT_ENTRY = re.compile(rb"<(?:Override|Default)\b[^>]*/>")
_REL = re.compile(rb"<Relationship\b[^>]*/>")
_MANIFEST_ENTRY = re.compile(rb"<manifest:file-entry\b[^>]*/>")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Macros:
    outcome: Outcome
    data: bytes  # what to store: the bytes as they came, or the copy without macros


def without_macros(data: bytes, fmt: str | None) -> Macros:
    """`fmt`: the sniffed format (xlsx, xlsm, xls, ods)."""
    try:
        if fmt in ("xlsx", "xlsm"):
            return _ooxml(data)
        if fmt == "ods":
            return _ods(data)
        if fmt == "xls":
            return Macros("refused" if _xls_has_macros(data) else "none", data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, struct.error):
        # The reader read it, so it is not broken in any way that matters for the values; a container
        # this tool cannot rewrite is not kept with whatever it may carry.
        return Macros("refused", data)
    return Macros("none", data)


def _ooxml(data: bytes) -> Macros:
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        names = [i.filename for i in zin.infolist()]
        lower = [n.lower() for n in names]
        if any(n.startswith("xl/macrosheets/") for n in lower):
            return Macros("refused", data)
        drop = {n for n, low in zip(names, lower) if _VBA_PARTS.match(low)}
        if not drop:
            return Macros("none", data)

        def edit(name: str, body: bytes) -> bytes:
            low = name.lower()
            if low == "[content_types].xml":
                body = _CT_ENTRY.sub(lambda m: b"" if _names_vba(m.group()) else m.group(), body)
                return _MACRO_MAIN.sub(lambda m: _PLAIN_MAIN[m.group(1)], body)
            if low == "xl/_rels/workbook.xml.rels":
                return _REL.sub(lambda m: b"" if _names_vba(m.group()) else m.group(), body)
            return body

        return Macros("removed", _rewritten(zin, drop, edit, {"[content_types].xml", "xl/_rels/workbook.xml.rels"}))


def _names_vba(tag: bytes) -> bool:
    low = tag.lower()
    return b"vbaproject" in low or b"vbadata" in low or b"ms-office.vbaproject" in low


def _ods(data: bytes) -> Macros:
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        names = [i.filename for i in zin.infolist()]
        drop = {n for n in names if n.lower().startswith(_ODS_SCRIPTS)}
        if not drop:
            return Macros("none", data)

        def edit(name: str, body: bytes) -> bytes:
            if name.lower() != "meta-inf/manifest.xml":
                return body
            return _MANIFEST_ENTRY.sub(
                lambda m: b"" if re.search(rb'full-path="(?i:basic|scripts)/', m.group()) else m.group(), body)

        return Macros("removed", _rewritten(zin, drop, edit, {"meta-inf/manifest.xml"}))


def _rewritten(zin: zipfile.ZipFile, drop: set[str], edit: object, small: set[str]) -> bytes:
    """The archive without the `drop` members; the few `small` XML parts passed through `edit`; every
    other member copied in chunks, in the same order (an ODS keeps `mimetype` first and stored)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            if info.filename.lower() in small:
                zout.writestr(copy, edit(info.filename, zin.read(info)))  # type: ignore[operator]
                continue
            with zin.open(info) as src, zout.open(copy, "w", force_zip64=info.file_size > 0x7FFFFFFF) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    return out.getvalue()


def _xls_has_macros(data: bytes) -> bool:
    """A VBA project storage, or a BOUNDSHEET record of an Excel 4.0 macro sheet (sheet type 1)."""
    import olefile

    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        entries = {"/".join(e).lower() for e in ole.listdir(streams=True, storages=True)}
        if any(e.split("/")[0] in ("_vba_project_cur", "_vba_project", "macros") for e in entries):
            return True
        stream = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
        raw = ole.openstream(stream).read() if stream else b""
    pos = 0
    while pos + 4 <= len(raw):
        rec, length = struct.unpack_from("<HH", raw, pos)
        if rec == 0x0085 and length >= 6 and raw[pos + 4 + 5] == 1:
            return True
        if rec == 0x000A:  # the end of the workbook globals: every BOUNDSHEET comes before it
            break
        pos += 4 + length
    return False
