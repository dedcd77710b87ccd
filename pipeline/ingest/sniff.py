"""Decide what a file is from its bytes, never from its name, and refuse hostile zip containers.

Districts rename files, mail clients add or drop extensions, and a few test files are built to hurt the
reader. So the format is read from the leading bytes and the container's table of contents, and the
guards against zip bombs and XML entity tricks run here, before calamine ever sees the file.

Everything here is pure: bytes in, a `Verdict` out. It runs inside the isolated worker (olefile and
zipfile parse untrusted structures too), so a bug here also costs one file at most.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

#: Formats the extractor can read.
READABLE = frozenset({"xlsx", "xlsm", "xls", "ods"})

#: Zip guards. A real district form is ~20 KB zipped and well under 1 MB unzipped.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
# Repetitive sheet XML legitimately reaches ~120:1 (a 57 MB sheet in the corpus); deflate bombs sit near
# its 1032:1 ceiling. Small members compress absurdly well legitimately and cannot hurt anyway.
MAX_RATIO = 200
RATIO_MIN_MEMBER_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 20_000
XML_PROLOG_SCAN_BYTES = 64 * 1024  # a prolog longer than this is hostile on its face

# Short format names shown inside catalogue messages as {detail}. Format names, not prose.
D_CSV = "CSV"
D_TEXT = "мәтін"
D_XML = "XML"
D_HTML = "HTML"
D_GZIP = "gzip"
D_PDF = "PDF"
D_ZIP = "ZIP"
D_RAR = "RAR"
D_7Z = "7z"
D_IMAGE = "сурет"
D_WORD = "Word"
D_WORD_OLD = "Word (.doc)"
D_POWERPOINT = "PowerPoint"
D_ODT = "ODF"
D_XLSB = "Excel Binary (.xlsb)"
D_NUMBERS = "Apple Numbers"
D_SPREADSHEETML = "SpreadsheetML 2003"
D_FODS = "Flat ODS (.fods)"
D_GNUMERIC = "Gnumeric"
D_SYLK = "SYLK"
D_OLE = "OLE2"
D_UNKNOWN = "белгісіз"


@dataclass(frozen=True)
class Verdict:
    """`format` is set when the file may be read; otherwise `code` (a catalogue code) says why not."""

    format: str | None = None
    code: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    # The container's parsed directory, handed to the extractor so that the zip is parsed once per file
    # (parsing it costs about as much as everything else sniffing does). Over the same bytes, so it
    # holds no file open. Not part of the verdict's identity.
    archive: zipfile.ZipFile | None = field(default=None, compare=False, repr=False)


def _no(code: str, **params: object) -> Verdict:
    return Verdict(code=code, params=params)


def sniff(data: bytes) -> Verdict:
    if not data:
        return _no("file-empty")
    if data.startswith(ZIP_MAGIC) or data.startswith(EMPTY_ZIP_MAGIC):
        return _sniff_zip(data)
    if data.startswith(OLE_MAGIC):
        return _sniff_ole(data)
    old = _old_biff(data)
    if old:
        return _no("file-old-excel", detail=old)
    return _sniff_other(data)


# --- zip containers -------------------------------------------------------------------------------------


def _sniff_zip(data: bytes) -> Verdict:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        return _no("file-corrupt", detail=_short(exc))
    names = {i.filename for i in infos}
    if len(infos) > MAX_MEMBERS:
        return _no("file-bomb", ratio=len(infos))
    bomb = _bomb_ratio(infos)
    if bomb is not None:
        return _no("file-bomb", ratio=bomb)
    kind = _zip_kind(zf, names, data)
    if kind.format is None:
        return kind
    try:
        if _unsafe_xml(zf, infos, data):
            return _no("file-unsafe-xml")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: zipfile's answer to a member encrypted with zip's own password scheme.
        return _no("file-corrupt", detail=_short(exc))
    return Verdict(format=kind.format, archive=zf)


def _bomb_ratio(infos: list[zipfile.ZipInfo]) -> int | None:
    """The expansion ratio to report when the container would unzip to something absurd, else None."""
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNZIPPED_BYTES:
        return max(1, round(total / packed))
    for info in infos:
        if info.file_size >= RATIO_MIN_MEMBER_BYTES and info.file_size > MAX_RATIO * max(1, info.compress_size):
            return round(info.file_size / max(1, info.compress_size))
    return None


_CT_XLSX = (
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
_CT_XLSM = (
    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    b"application/vnd.ms-excel.template.macroEnabled.main+xml",
    b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
)
_CT_XLSB = b"application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_TEMPLATE_MIME = b"application/vnd.oasis.opendocument.spreadsheet-template"


def read_member(zf: zipfile.ZipFile, name: str, data: bytes, limit: int = -1) -> bytes:
    """`zf.open(name).read(limit)` (the whole member when limit < 0), with the same answer and errors.

    zipfile.open costs ~40 µs a member, as much as inflating a small part; a plainly stored or deflated
    member is cut out of `data` instead. Whatever the fast path would judge differently from zipfile
    (a local header naming another file, a short or undecodable stream, a wrong CRC or size) goes through
    zipfile, so that the error, and its text in file-corrupt, stay zipfile's own.
    """
    info = zf.getinfo(name)
    fast = _cut_member(info, data, limit)
    if fast is not None:
        return fast
    with zf.open(info) as fh:
        return fh.read(limit)


def _cut_member(info: zipfile.ZipInfo, data: bytes, limit: int) -> bytes | None:
    offset = info.header_offset
    # 0x1 encrypted, 0x20 patched data, 0x40 strong encryption: zipfile's to refuse, in its words.
    if (info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) or info.flag_bits & 0x61
            or data[offset : offset + 4] != ZIP_MAGIC):
        return None
    try:
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        raw_name = data[offset + 30 : offset + 30 + name_len]
        if raw_name.decode("utf-8" if info.flag_bits & 0x800 else "cp437") != info.orig_filename:
            return None
        start = offset + 30 + name_len + extra_len
        raw = data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            return None
        whole = limit < 0 or limit >= info.file_size
        if not whole:
            if limit == 0:
                return b""  # zlib reads max_length 0 as "no limit"
            if info.compress_type == zipfile.ZIP_STORED:
                return raw[:limit]
            return zlib.decompressobj(-15).decompress(raw, limit)
        if info.compress_type == zipfile.ZIP_STORED:
            out = raw
        else:
            # Bounded: a member inflating past its declared size fails the size check below
            # (no flush(), which would inflate the unconsumed rest without a bound).
            out = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
    except (zlib.error, struct.error, UnicodeDecodeError):
        return None
    # zipfile checks size and CRC when a read reaches the member's end; so does this.
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    return out


def _zip_kind(zf: zipfile.ZipFile, names: set[str], data: bytes) -> Verdict:
    lower = {n.lower(): n for n in names}
    try:
        if "[content_types].xml" in lower:
            ct = read_member(zf, lower["[content_types].xml"], data, 1 << 20)
            # Before the macro test: an .xlsb with macros also holds xl/vbaProject.bin, and its binary
            # workbook is a format calamine is not asked to read, not a corrupt xlsm.
            if (_CT_XLSB in ct or "xl/workbook.bin" in lower) and "xl/workbook.xml" not in lower:
                return _no("file-unsupported-format", detail=D_XLSB)
            if any(t in ct for t in _CT_XLSM) or "xl/vbaproject.bin" in lower:
                return Verdict(format="xlsm")
            if any(t in ct for t in _CT_XLSX):
                return Verdict(format="xlsx")
            if _CT_XLSB in ct or "xl/workbook.bin" in lower:
                return _no("file-unsupported-format", detail=D_XLSB)
            if b"wordprocessingml" in ct:
                return _no("file-not-spreadsheet", detail=D_WORD)
            if b"presentationml" in ct:
                return _no("file-not-spreadsheet", detail=D_POWERPOINT)
        # Some writers get the content types wrong; the workbook part itself is the stronger sign.
        if "xl/workbook.xml" in lower:
            return Verdict(format="xlsx")
        if "xl/workbook.bin" in lower:
            return _no("file-unsupported-format", detail=D_XLSB)
        if "mimetype" in lower or "content.xml" in lower:
            mime = read_member(zf, lower["mimetype"], data, 256).strip() if "mimetype" in lower else b""
            if mime in (_ODS_MIME, _ODS_TEMPLATE_MIME) or (not mime and "content.xml" in lower):
                if "meta-inf/manifest.xml" in lower:
                    manifest = read_member(zf, lower["meta-inf/manifest.xml"], data, 1 << 20)
                    if b"encryption-data" in manifest:
                        return _no("file-encrypted")
                return Verdict(format="ods")
            return _no("file-not-spreadsheet", detail=D_ODT)
        if any(n.endswith(".iwa") or n.startswith("index/") for n in lower) or "index.zip" in lower:
            return _no("file-unsupported-format", detail=D_NUMBERS)
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return _no("file-corrupt", detail=_short(exc))
    return _no("file-not-spreadsheet", detail=D_ZIP)


_DANGER = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_START = re.compile(rb"<[A-Za-z_]")


def _unsafe_xml(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], data: bytes) -> bool:
    """True when an XML part declares a DTD or entities (XXE, billion laughs).

    A DTD can only stand in the prolog, before the root element, so reading each part until the root
    element starts is enough; a prolog longer than `XML_PROLOG_SCAN_BYTES` counts as unsafe.
    """
    for info in infos:
        lname = info.filename.lower()
        if info.is_dir() or not (lname.endswith(".xml") or lname.endswith(".rels") or lname.endswith(".vml")):
            continue
        text = _member_head(zf, info, data, 4096)
        if text.startswith((b"\xff\xfe", b"\xfe\xff")) or text[:2] in (b"<\x00", b"\x00<"):
            text = _utf16(_member_head(zf, info, data, XML_PROLOG_SCAN_BYTES))
        elif not _ROOT_START.search(text) and len(text) >= 4096:
            text = _member_head(zf, info, data, XML_PROLOG_SCAN_BYTES)
        root = _ROOT_START.search(text)
        prolog = text[: root.start()] if root else text
        if _DANGER.search(prolog):
            return True
        if root is None and len(text) >= XML_PROLOG_SCAN_BYTES:
            return True
    return False


def _member_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes, limit: int) -> bytes:
    """The first `limit` unzipped bytes of a member.

    Deflated and stored members are cut straight out of the buffer (zipfile.open costs ~40 µs a member,
    which is most of the sniffing time for a small form); anything else goes through zipfile.
    """
    offset = info.header_offset
    if info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) and data[offset : offset + 4] == ZIP_MAGIC:
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        start = offset + 30 + name_len + extra_len
        raw = data[start : start + min(info.compress_size, limit * 1100 if limit else info.compress_size)]
        if info.flag_bits & 0x1:
            raise RuntimeError("encrypted zip member")
        if info.compress_type == zipfile.ZIP_STORED:
            return raw[:limit]
        return zlib.decompressobj(-15).decompress(raw, limit)
    with zf.open(info) as fh:
        return fh.read(limit)


def _utf16(raw: bytes) -> bytes:
    codec = "utf-16-be" if raw.startswith(b"\xfe\xff") or raw.startswith(b"\x00<") else "utf-16-le"
    return raw.decode(codec, errors="replace").encode("utf-8", errors="replace")


# --- OLE2 compound files ----------------------------------------------------------------------------------


def _sniff_ole(data: bytes) -> Verdict:
    import olefile  # installed with msoffcrypto-tool

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - olefile raises many kinds on a broken container
        return _no("file-corrupt", detail=_short(exc))
    try:
        streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except Exception as exc:  # noqa: BLE001
        return _no("file-corrupt", detail=_short(exc))
    finally:
        ole.close()
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        return _no("file-encrypted")
    if "workbook" in streams or "book" in streams:
        return _xls_encryption(data)
    if not streams:
        # A spreadsheet whose directory or FAT chain is broken (phpss__oleloop.xls lists nothing).
        return _no("file-corrupt", detail=D_OLE)
    if "worddocument" in streams:
        return _no("file-not-spreadsheet", detail=D_WORD_OLD)
    if "powerpoint document" in streams:
        return _no("file-not-spreadsheet", detail=D_POWERPOINT)
    return _no("file-not-spreadsheet", detail=D_OLE)


def _xls_encryption(data: bytes) -> Verdict:
    """msoffcrypto-tool sees XOR and RC4 xls encryption that calamine misreports."""
    import msoffcrypto

    try:
        encrypted = msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
    except Exception:  # noqa: BLE001 - its failure on a damaged file is calamine's to report precisely
        encrypted = False
    return _no("file-encrypted") if encrypted else Verdict(format="xls")


_BIFF_BOF = {0x0009: "BIFF2", 0x0209: "BIFF3", 0x0409: "BIFF4", 0x0809: "BIFF5"}


def _old_biff(data: bytes) -> str | None:
    """BIFF2–4 workbooks are bare record streams, not OLE files; calamine cannot read them."""
    if len(data) < 8:
        return None
    rec, length = struct.unpack_from("<HH", data, 0)
    if rec not in _BIFF_BOF or not 4 <= length <= 16:
        return None
    if rec == 0x0809:
        # A bare BIFF5+ stream outside OLE: version word 0x0500/0x0600. Still nothing calamine opens.
        version = struct.unpack_from("<H", data, 4)[0]
        return "BIFF5" if version == 0x0500 else "BIFF8" if version == 0x0600 else None
    return _BIFF_BOF[rec]


# --- everything else ------------------------------------------------------------------------------------


def _sniff_other(data: bytes) -> Verdict:
    head = data[:8192]
    if head.startswith(b"\x1f\x8b"):
        return _sniff_gzip(head)
    if head.startswith(b"%PDF"):
        return _no("file-not-spreadsheet", detail=D_PDF)
    if head.startswith((b"Rar!\x1a\x07",)):
        return _no("file-not-spreadsheet", detail=D_RAR)
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return _no("file-not-spreadsheet", detail=D_7Z)
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")):
        return _no("file-not-spreadsheet", detail=D_IMAGE)
    text = _as_text(head)
    if text is None:
        return _no("file-not-spreadsheet", detail=D_UNKNOWN)
    return _sniff_text(text, complete=len(data) <= len(head))


def _sniff_gzip(head: bytes) -> Verdict:
    # Decompress a bounded prefix only: the corpus holds a gzip bomb dressed as a Gnumeric file.
    try:
        inner = zlib.decompressobj(wbits=31).decompress(head, 4096)
    except zlib.error:
        inner = b""
    if b"gnumeric" in inner.lower():
        return _no("file-unsupported-format", detail=D_GNUMERIC)
    return _no("file-not-spreadsheet", detail=D_GZIP)


def _as_text(head: bytes) -> str | None:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace")
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte letter cut by the 8 KiB window
            return head[: exc.start].decode("utf-8")
    # Legacy single-byte encodings (cp1251, cp1252): mostly printable bytes means text.
    printable = sum(1 for b in head if b >= 0x20 or b in (9, 10, 13))
    return head.decode("latin-1") if printable >= 0.95 * len(head) else None


def _sniff_text(text: str, complete: bool = True) -> Verdict:
    start = text.lstrip()[:4096]
    low = start.lower()
    if low.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in low:
            return _no("file-unsupported-format", detail=D_SPREADSHEETML)
        if "opendocument.spreadsheet" in low or "urn:oasis:names:tc:opendocument" in low and "office:spreadsheet" in low:
            return _no("file-unsupported-format", detail=D_FODS)
        if "gnumeric" in low:
            return _no("file-unsupported-format", detail=D_GNUMERIC)
        if "<html" in low or low.startswith("<!doctype html") or "<table" in low:
            return _no("file-not-spreadsheet", detail=D_HTML)
        return _no("file-not-spreadsheet", detail=D_XML)
    if start.startswith("ID;"):
        return _no("file-unsupported-format", detail=D_SYLK)
    if _looks_like_csv(text[:4096], cut=not complete or len(text) > 4096):
        return _no("file-unsupported-format", detail=D_CSV)
    return _no("file-not-spreadsheet", detail=D_TEXT)


def _looks_like_csv(text: str, cut: bool) -> bool:
    """Two rows or more of one width (two fields or more) under some separator; quoted line breaks
    allowed. One line with a comma is a sentence, not a table."""
    lines = text.splitlines()
    if cut and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sniffing window
    for sep in (",", ";", "\t", "|"):
        try:
            rows = [r for r in csv.reader(lines, delimiter=sep) if any(f.strip() for f in r)]
        except csv.Error:
            continue
        widths = {len(r) for r in rows[:50]}
        if len(rows) >= 2 and len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def _short(exc: BaseException, limit: int = 120) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
