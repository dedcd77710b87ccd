"""Read one file into a `RawForm`: sniff, guard, parse with calamine, find the form's rows by code.

Runs inside an isolated worker process (see isolate.py): calamine can abort the whole process on a
hostile file, so nothing here tries to survive that; it only turns ordinary failures into problems.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.forms.layout import SOURCE_CODE, VALUE_HEADERS, VALUE_COLUMN, CODE_COLUMN, all_codes
from pipeline.ingest.model import CellValue, RawCell, RawForm
from pipeline.ingest.sniff import READABLE, Verdict, _short, read_member, sniff
from pipeline.plan.model import Plan
from pipeline.privacy import MASK, mask, mask_number
from pipeline.problems import Problem
from pipeline.safe_text import encodes_as_utf8, xml_text

HASH_CHUNK = 1 << 20
_VALUE_OFFSET = VALUE_COLUMN - CODE_COLUMN
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class ReadSpec:
    """What a worker needs from the plan: plain data, cheap to pickle for `spawn` workers."""

    codes: frozenset[str]
    max_file_bytes: int
    max_cells: int
    #: The rows that hold sums of tenge (`pipeline.privacy.mask_number(amount=True)`).
    amounts: frozenset[str] = frozenset()

    @classmethod
    def from_plan(cls, plan: Plan) -> ReadSpec:
        # The provenance row of an exported form is read too (the manifest shows it); nothing judges it.
        return cls(frozenset([*all_codes(plan), SOURCE_CODE]), plan.limits.max_file_bytes, plan.limits.max_cells,
                   frozenset(f.code for f in plan.figures if f.unit == "tenge"))


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    size: int
    mtime: float


def file_facts(path: Path, max_bytes: int | None = None) -> FileFacts:
    """Hash by streaming, so that even a large file gets a stable identity.

    Only regular files are opened (a FIFO would block the open, a device never end), and without
    blocking; a file over `max_bytes` is not read at all (sha256 ""), so a link to a 20 GB sparse file
    costs a stat, not minutes of hashing outside the reader's time limit.
    """
    fd = _open_regular(path)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if max_bytes is not None and st.st_size > max_bytes:
            return FileFacts("", st.st_size, st.st_mtime)
        digest = hashlib.sha256()
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return FileFacts(digest.hexdigest(), st.st_size, st.st_mtime)


class NotRegularFile(OSError):
    """A FIFO, device, socket or directory where a file was expected."""


def _open_regular(path: Path | str) -> int:
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for ever; harmless for regular files.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"not a regular file: {stat.filemode(st.st_mode)}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_path(path: str, name: str, spec: ReadSpec) -> RawForm:
    """Never raises for a bad file; an `OSError` on the path itself becomes file-unreadable."""
    try:
        with os.fdopen(_open_regular(path), "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > spec.max_file_bytes:
                return too_large(name, FileFacts("", st.st_size, st.st_mtime), spec)
            data = fh.read(spec.max_file_bytes + 1)
    except NotRegularFile:
        return _failed(name, FileFacts("", 0, 0.0), None, Problem.make("file-not-regular", name))
    except OSError as exc:
        return _failed(name, FileFacts("", 0, 0.0), None, Problem.make("file-unreadable", name, detail=_short(exc)))
    facts = FileFacts(hashlib.sha256(data).hexdigest(), len(data), st.st_mtime)
    if len(data) > spec.max_file_bytes:  # grew while being read
        return too_large(name, FileFacts("", len(data), st.st_mtime), spec)
    try:
        return read_bytes(data, name, facts, spec, path=path)
    except MemoryError:
        return _failed(name, facts, None, Problem.make("file-reader-crashed", name, detail="MemoryError"))
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the batch
        return _failed(name, facts, None, Problem.make("file-corrupt", name, detail=_short(exc)))


def too_large(name: str, facts: FileFacts, spec: ReadSpec) -> RawForm:
    """Refused by its size alone: never read, never hashed (sha256 "")."""
    return _failed(name, facts, None, Problem.make(
        "file-too-large", name, size=_mb(facts.size), limit=_mb(spec.max_file_bytes),
    ))


def read_bytes(data: bytes, name: str, facts: FileFacts, spec: ReadSpec, path: str | None = None) -> RawForm:
    verdict = sniff(data)
    if verdict.format is None:
        assert verdict.code is not None
        return _failed(name, facts, None, Problem.make(verdict.code, name, **verdict.params))
    return _extract(data, name, facts, spec, verdict, path)


def _failed(name: str, facts: FileFacts, fmt: str | None, problem: Problem) -> RawForm:
    return RawForm(name, facts.sha256, facts.size, facts.mtime, fmt, problems=(problem,))


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


# --- calamine ---------------------------------------------------------------------------------------------


_CELL_LIMIT = re.compile(r"cell limit exceeded \((\d+) cells")


def _calamine_problem(exc: BaseException, name: str, max_cells: int) -> Problem:
    import python_calamine as pc

    if isinstance(exc, pc.PasswordError):
        return Problem.make("file-encrypted", name)
    text = str(exc).lower()
    limit = _CELL_LIMIT.search(text)
    if limit:
        # calamine's own guard against absurd repeat counts (ods) or row numbers.
        return Problem.make("file-too-many-cells", name, cells=int(limit.group(1)), limit=max_cells)
    if "password" in text or "encrypt" in text:
        return Problem.make("file-encrypted", name)
    return Problem.make("file-corrupt", name, detail=_short(exc))


#: The extension calamine's from_path needs to pick the parser for each sniffed format.
_SUFFIX = {"xlsx": ".xlsx", "xlsm": ".xlsm", "xls": ".xls", "ods": ".ods"}
_SAME_PARSER = {".xlsx": "x", ".xlsm": "x", ".xlam": "x", ".xls": "b", ".xla": "b", ".ods": "o"}


def _open_workbook(data: bytes, fmt: str, path: str | None) -> Any:
    """Open with the parser of the sniffed format.

    from_path picks the parser by extension and reports the real failure (ZipError, XmlError, ...);
    from_filelike tries every parser and says only "Cannot detect file format". So a file whose
    extension is wrong is copied to a temporary file (never in the inbox) with the right one.
    """
    import python_calamine as pc

    want = _SAME_PARSER[_SUFFIX[fmt]]
    # A path that is not valid UTF-8 (a name from a Windows zip) cannot cross into calamine: copy it too.
    if path is not None and _SAME_PARSER.get(Path(path).suffix.lower()) == want and encodes_as_utf8(path):
        return pc.CalamineWorkbook.from_path(path)
    with tempfile.TemporaryDirectory(prefix="mz-ingest-") as tmp:
        copy = Path(tmp) / f"file{_SUFFIX[fmt]}"
        copy.write_bytes(data)
        return pc.CalamineWorkbook.from_path(str(copy))


def _extract(data: bytes, name: str, facts: FileFacts, spec: ReadSpec, verdict: Verdict,
             path: str | None) -> RawForm:
    import python_calamine as pc

    fmt = verdict.format
    assert fmt in READABLE
    parts = _XlsxParts.of(data, verdict) if fmt in ("xlsx", "xlsm") else None
    if fmt == "xls":
        at_open = xls_cells_at_open(data)
        if at_open > spec.max_cells * XLS_OPEN_FACTOR:
            # calamine builds every sheet of an .xls when it opens it: refuse it unopened.
            return _failed(name, facts, fmt, Problem.make(
                "file-too-many-cells", name, cells=at_open, limit=spec.max_cells,
            ))
    try:
        wb = _open_workbook(data, fmt, path)
    except Exception as exc:  # noqa: BLE001 - calamine's exception classes plus the odd ValueError
        return _failed(name, facts, fmt, _calamine_problem(exc, name, spec.max_cells))

    found: dict[str, list[RawCell]] = {}
    skipped: list[tuple[str, int]] = []
    budget = spec.max_cells
    try:
        with wb:
            for meta in wb.sheets_metadata:
                if meta.typ != pc.SheetTypeEnum.WorkSheet:
                    continue
                # A sheet is read as the dense rectangle from A1 (what to_python(skip_empty_area=False)
                # allocates). One whose rectangle does not fit what is left of the budget — a note with one
                # stray cell far away — is skipped, never allocated: for an .xlsx its extent comes from the
                # zip before calamine loads the sheet (an .xls is built whole at open: xls_cells_at_open).
                ahead = parts.extent(meta.name, budget) if parts is not None else None
                if ahead is not None and ahead > budget:
                    skipped.append((meta.name, ahead))
                    continue
                sheet = wb.get_sheet_by_name(meta.name)
                end = sheet.end
                if end is None:
                    continue
                cells = (end[0] + 1) * (end[1] + 1)
                if cells > budget:
                    skipped.append((meta.name, cells))
                    continue
                budget -= cells
                _scan_sheet(sheet, spec.codes, found)
    except Exception as exc:  # noqa: BLE001
        return _failed(name, facts, fmt, _calamine_problem(exc, name, spec.max_cells))

    if not found:
        if skipped:  # the form may be in a sheet too large to read
            return _failed(name, facts, fmt, Problem.make(
                "file-too-many-cells", name, cells=max(c for _, c in skipped), limit=spec.max_cells,
            ))
        return _failed(name, facts, fmt, Problem.make("form-not-found", name))

    details = _Details.for_format(fmt, data, verdict, parts)
    cells: dict[str, RawCell] = {}
    duplicates: dict[str, tuple[RawCell, ...]] = {}
    for code, hits in found.items():
        if len(hits) == 1:  # nearly every code: no duplicate to judge
            cell = hits[0]
            cells[code] = details.enrich(cell) if _may_be_formula_or_error(cell) else cell
            continue
        hits = [details.enrich(c) if _may_be_formula_or_error(c) else c for c in hits]
        cells[code] = hits[0]
        if len({_same_key(c) for c in hits}) > 1:
            duplicates[code] = tuple(hits)
    cells, duplicates, sheet_problems = made_safe(name, cells, duplicates, spec.amounts)
    problems: tuple[Problem, ...] = sheet_problems
    for sheet_name, count in skipped:
        problems += (Problem.make("file-sheet-skipped", name, skipped=mask(xml_text(sheet_name))[0], cells=count),)
    if details.has_defined_names is False:
        problems += (Problem.make("form-defined-names-lost", name),)
    return RawForm(
        name, facts.sha256, facts.size, facts.mtime, fmt,
        cells=cells, duplicates=duplicates,
        has_defined_names=bool(details.has_defined_names), problems=problems,
    )


# --- the one place district text enters the pipeline --------------------------------------------------------


def made_safe(name: str, cells: dict[str, RawCell], duplicates: dict[str, tuple[RawCell, ...]],
              amounts: frozenset[str] = frozenset(),
              ) -> tuple[dict[str, RawCell], dict[str, tuple[RawCell, ...]], tuple[Problem, ...]]:
    """Every value and sheet name as every later stage (and the cache) will hold it: characters XML cannot
    carry become spaces, and personal data is masked (the cell remembers it was, for the warning). `amounts`:
    the codes of rows holding sums of tenge, where a number of 9 or 10 digits is a sum, not an ИИН."""
    sheets: dict[str, str] = {}
    problems: list[Problem] = []

    def sheet_of(raw: str) -> str:
        if raw not in sheets:
            safe, masked = mask(xml_text(raw))
            sheets[raw] = safe
            if masked:
                problems.append(Problem.make("personal-data-in-name", name, safe))
        return sheets[raw]

    def clean(cell: RawCell, amount: bool = False) -> RawCell:
        value, masked = cell.value, False
        if isinstance(value, str):
            value, masked = mask(xml_text(value))
        elif isinstance(value, (int, float)) and mask_number(value, amount=amount):
            value, masked = MASK, True
        sheet = sheets[cell.sheet] if cell.sheet in sheets else sheet_of(cell.sheet)
        if not masked and value is cell.value and sheet == cell.sheet:
            return cell
        return RawCell(sheet, cell.cell, value, cell.formula_without_value,
                       None if cell.error is None else xml_text(cell.error), masked)

    safe_cells = {code: clean(c, code in amounts) for code, c in cells.items()}
    safe_dups = {code: tuple(clean(c, code in amounts) for c in cs) for code, cs in duplicates.items()}
    return safe_cells, safe_dups, tuple(problems)


# A cell the way every spreadsheet program writes it: `r` first, no namespace prefix; the last group tells
# a format-only cell (`<c r="Z9" s="1"/>`, `<c r="Z9" s="1"></c>`), which calamine does not keep.
_CELL_TAG = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(/>|></c>|>)')
_FORMAT_ONLY = (b"/>", b"></c>")
# Anything else that may be a cell (a prefix, `r` later or missing, single quotes): the careful pattern.
_ANY_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/>|></(?:\w+:)?c>|>)")
_REF = re.compile(rb"\br\s*=\s*[\"']([A-Za-z]{1,3})([0-9]{1,7})[\"']")
#: An .xls is built whole, every sheet's rectangle of real cells, when calamine opens it; up to this many
#: times the cell limit (4,000,000 cells, ~128 MB, at the default 200,000) it is opened and a side sheet too
#: large to read is skipped as in an .xlsx; beyond it the file is refused unopened.
XLS_OPEN_FACTOR = 20


#: A cell address beyond column Z or row 999, written the usual way (`<c r="AA1"`, `<c r="B1000"`).
_FAR_REF = re.compile(rb'<c r="(?:[A-Z]{2,3}[0-9]|[A-Z][0-9]{4,})')
#: What sends `cells_bound` to the exact count, in one pass: a cell tag not written `<c r="` (`<c>`, `<c s=…`)
#: or one whose address is far (`_FAR_REF`); the literal `<c` prefix keeps the search at memchr speed (the
#: three counts and the far search it replaces cost ~2.5 times as much on a form sheet).
_UNUSUAL_OR_FAR = re.compile(rb'<c(?:>| (?!r="(?![A-Z]{2,3}[0-9]|[A-Z][0-9]{4,})))')
_PREFIXED_CELL = re.compile(rb":c ")
#: What a sheet without such an address holds at most, counted from A1: rows 1–999, columns A–Z.
NEAR_CELLS = 999 * 26


def cells_bound(xml: bytes) -> int:
    """An upper bound of `real_cells` that costs one pass of a literal search: a form sheet has no cell
    beyond Z999, so the exact count (which builds every address) is needed only when one is there, or when
    a cell tag is written unusually (a namespace prefix, `r` not first, no `r`)."""
    # Same test as `xml.count(b"<c ") + xml.count(b"<c>") == xml.count(b'<c r="') and b":c " not in xml
    # and _FAR_REF.search(xml) is None`: no `<c>`, every `<c ` is `<c r="` and none of those is far.
    if _UNUSUAL_OR_FAR.search(xml) is None and _PREFIXED_CELL.search(xml) is None:
        return NEAR_CELLS
    return real_cells(xml)


def real_cells(xml: bytes) -> int:
    """The rectangle from A1 to the farthest cell with a value in a sheet part, read from its XML (a stray
    cell at XFD1048576 counts however small the sheet's declared dimension)."""
    tags = _CELL_TAG.findall(xml)
    if len(tags) == xml.count(b"<c ") + xml.count(b"<c>") and b":c " not in xml:
        refs = [(col, row) for col, row, end in tags if end not in _FORMAT_ONLY]  # every cell tag accounted for
    else:
        refs, unplaced = [], 0
        for m in _ANY_CELL.finditer(xml):
            if m.group(2) != b">":
                continue  # format only
            ref = _REF.search(m.group(1))
            if ref is None:
                unplaced += 1
            else:
                refs.append((ref.group(1).upper(), ref.group(2)))
        if unplaced:
            # Cells placed by order alone: bounded by the rows times every cell (a generous upper bound).
            rows = max(1, len(re.findall(rb"<(?:\w+:)?row\b", xml)))
            return rows * (len(refs) + unplaced)
    if not refs:
        return 0
    rows = max(map(int, (r for _, r in refs)))
    cols = max(_column_number(c.decode("ascii")) for c in {c for c, _ in refs})
    return rows * cols


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper()[:4]:
        number = number * 26 + ord(ch) - 64
    return max(number, 1)


#: BIFF records that give a cell a value (calamine keeps these; BLANK/MULBLANK are formats only).
_XLS_VALUE_RECORDS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x0205, 0x0006, 0x00D6, 0x00BD})


def xls_cells_at_open(data: bytes) -> int:
    """What calamine allocates when it opens an .xls: for every sheet, the rectangle from its first to its
    last cell with a value, read from the BIFF records of the workbook stream (0 when they cannot be
    read: calamine then answers for the file itself)."""
    try:
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            stream = next(s for s in ("Workbook", "Book", "WORKBOOK", "BOOK") if ole.exists(s))
            raw = ole.openstream(stream).read()
    except Exception:  # noqa: BLE001 - a damaged container is calamine's (or the sniffer's) to report
        return 0
    total = 0
    pos = 0
    extent: list[int] | None = None  # first row, first col, last row, last col of the current sheet
    while pos + 4 <= len(raw):
        rec, length = struct.unpack_from("<HH", raw, pos)
        body = raw[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if rec == 0x0809:  # BOF: a substream (the globals, then each sheet) begins
            extent = None
        elif rec == 0x000A:  # EOF of a substream
            if extent is not None:
                total += (extent[2] - extent[0] + 1) * (extent[3] - extent[1] + 1)
            extent = None
        elif rec in _XLS_VALUE_RECORDS and len(body) >= 4:
            row, first = struct.unpack_from("<HH", body, 0)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if rec == 0x00BD and len(body) >= 6 else first
            if extent is None:
                extent = [row, first, row, last]
            else:
                extent = [min(extent[0], row), min(extent[1], first), max(extent[2], row), max(extent[3], last)]
    return total


class _XlsxParts:
    """The workbook's sheet parts by sheet name, each member unzipped once and shared by the size guard
    and the formula/error details."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile) -> None:
        self.data = data
        self.zip = archive
        self.names = {n.lower(): n for n in archive.namelist()}
        self.workbook = self.read(self.names["xl/workbook.xml"])
        rels_name = self.names.get("xl/_rels/workbook.xml.rels")
        rels: dict[str, str] = {}
        if rels_name:
            for m in _REL_TAG.finditer(self.read(rels_name)):
                at = _attrs(m.group(1))
                if "Id" in at and "Target" in at:
                    rels[at["Id"]] = at["Target"]
        self.part: dict[str, str] = {}
        for m in _SHEET_TAG.finditer(self.workbook):
            at = _attrs(m.group(1))
            target = rels.get(at.get("r:id", at.get("id", "")), "")
            if not target or "name" not in at:
                continue
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            self.part[_xml_unescape(at["name"])] = os.path.normpath(target).replace("\\", "/").lower()
        self._xml: dict[str, bytes] = {}

    @classmethod
    def of(cls, data: bytes, verdict: Verdict) -> _XlsxParts | None:
        try:
            archive = verdict.archive or zipfile.ZipFile(io.BytesIO(data))
            return cls(data, archive)
        except Exception:  # noqa: BLE001 - calamine reports a broken workbook part precisely
            return None

    def read(self, member: str) -> bytes:
        return read_member(self.zip, member, self.data)

    def sheet_xml(self, sheet: str) -> bytes:
        if sheet not in self._xml:
            member = self.names.get(self.part.get(sheet, ""))
            self._xml[sheet] = self.read(member) if member else b""
        return self._xml[sheet]

    def extent(self, sheet: str, within: int) -> int | None:
        """The rectangle from A1 the sheet would be read as, to its farthest cell with a value (what the
        sheet declares in `<dimension>` is not trusted either way: calamine allocates by the real cells,
        and a format-only cell far away does not count) — or a cheaper upper bound when that fits `within`.
        None when the part cannot be found or read."""
        if sheet not in self.part:
            return None
        try:
            xml = self.sheet_xml(sheet)
            bound = cells_bound(xml)
            return bound if bound <= within else real_cells(xml)
        except Exception:  # noqa: BLE001 - a broken part is calamine's to report precisely
            return None


def _may_be_formula_or_error(cell: RawCell) -> bool:
    """calamine gives '' for an error cell and for a formula never computed; a number, a date or ordinary
    text is the cell's own value, so only empty (or '#…') values need the look into the raw file."""
    value = cell.value
    return value is None or (isinstance(value, str) and (not value.strip() or value.lstrip().startswith("#")))


def _same_key(cell: RawCell) -> tuple[str, Any, bool]:
    value = cell.value
    if value is None or (isinstance(value, str) and not value.strip()):
        value = ""
    elif isinstance(value, str):
        value = value.strip()
    return (type(value).__name__, value, cell.formula_without_value)


def _scan_sheet(sheet: Any, codes: frozenset[str], found: dict[str, list[RawCell]]) -> None:
    rows: list[list[CellValue]] = sheet.to_python(skip_empty_area=False)
    hits: list[tuple[str, int, int]] = []
    value_col: int | None = None
    # The hot loop of a read (~600 cells a form): exact-class test instead of isinstance, and the
    # header test only until the header is found.
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value.__class__ is not str or not value:
                if not isinstance(value, str) or not value:  # a str subclass is still text
                    continue
            text = value.strip()
            if text in codes:
                hits.append((text, r, c))
            elif value_col is None and text in VALUE_HEADERS:
                value_col = c
    if not hits:
        return
    merged = _merged_lookup(sheet)
    # One name object for every cell of the sheet (calamine makes a new one at each `sheet.name`): the
    # pickle to the parent then carries it once.
    name = sheet.name
    for code, r, c in hits:
        col = value_col if value_col is not None else c + _VALUE_OFFSET
        vr, vc = merged.get((r, col), (r, col))
        row = rows[vr] if vr < len(rows) else []
        value = row[vc] if vc < len(row) else None
        found.setdefault(code, []).append(_plain_cell(name, a1(vr, vc), value))


def _plain_cell(sheet: str, ref: str, value: CellValue) -> RawCell:
    """`RawCell(sheet, ref, value)`, filled in one dict update instead of the frozen __init__'s
    object.__setattr__ per field (as `RawCell.from_dict` does): the same object, made ~90 times a form."""
    cell = object.__new__(RawCell)
    cell.__dict__.update(sheet=sheet, cell=ref, value=value, formula_without_value=False, error=None, masked=False)
    return cell


def _merged_lookup(sheet: Any) -> dict[tuple[int, int], tuple[int, int]]:
    """Covered cell → top-left cell of its merged range (xlsx/xls only; calamine has none for ods)."""
    try:
        ranges = sheet.merged_cell_ranges or []
    except Exception:  # noqa: BLE001 - merge info is a nicety, the values stand without it
        return {}
    lookup: dict[tuple[int, int], tuple[int, int]] = {}
    for (r0, c0), (r1, c1) in ranges:
        if (r1 - r0 + 1) * (c1 - c0 + 1) > 10_000:
            continue  # a giant merge is nothing a form row needs; don't build a huge map for it
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    lookup[(r, c)] = (r0, c0)
    return lookup


def a1(row: int, col: int) -> str:
    if col < 26 and row < 9999:  # a form's cells: A1 … Z9999, no division needed
        return f"{_LETTERS[col]}{row + 1}"
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


# --- what calamine does not tell: formulas without results, error cells, defined names -----------------


class _Details:
    """Per-format look into the raw file for the cells we return, and for defined names.

    `has_defined_names` is None when the format gives no cheap answer (then nothing is reported).
    """

    has_defined_names: bool | None = None

    @staticmethod
    def for_format(fmt: str, data: bytes, verdict: Verdict, parts: _XlsxParts | None = None) -> _Details:
        try:
            if fmt in ("xlsx", "xlsm") and parts is not None:
                return _XlsxDetails(parts)
            if fmt in ("xlsx", "xlsm", "ods"):
                # sniff parsed the zip directory already; parsing it again cost ~0.2 ms a file
                archive = verdict.archive or zipfile.ZipFile(io.BytesIO(data))
                if fmt == "ods":
                    return _OdsDetails(data, archive)
                return _XlsxDetails(_XlsxParts(data, archive))
            if fmt == "xls":
                return _XlsDetails(data)
        except Exception:  # noqa: BLE001 - calamine read it; extras must not turn a good read into a failure
            pass
        return _Details()

    def enrich(self, cell: RawCell) -> RawCell:
        return cell


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*?)/?>")
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*?)/?>")
_ATTR = re.compile(rb"([\w:]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)


_HAS_F = re.compile(rb"<(?:\w+:)?f\b")
_V = re.compile(rb"<(?:\w+:)?v\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?v>)", re.DOTALL)


def _attrs(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        key = m.group(1).decode("utf-8", "replace")
        val = (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode("utf-8", "replace")
        out[key] = val
        out.setdefault(key.rsplit(":", 1)[-1], val)
    return out


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


class _XlsxDetails(_Details):
    def __init__(self, parts: _XlsxParts) -> None:
        self._parts = parts
        # Excel's own names (print area, filter database) survive a copy-paste; only ours count.
        self.has_defined_names = re.search(rb"<(?:\w+:)?definedName\b[^>]*\bname=\"(?!_xlnm\.)", parts.workbook) is not None
        self._plain: dict[str, bool] = {}  # sheet → holds neither formulas nor error cells

    def _sheet_xml(self, sheet: str) -> bytes:
        return self._parts.sheet_xml(sheet)

    def _cell_facts(self, sheet: str, ref: str) -> tuple[bool, str | None] | None:
        """(formula without value, error text) of one cell, looked up by its address.

        Only the few empty cells a form returns get here, so finding each one's `r="D12"` with bytes.find
        (memchr speed) beats parsing every cell of the sheet.
        """
        xml = self._sheet_xml(sheet)
        if sheet not in self._plain:
            self._plain[sheet] = not _may_hold_formula_or_error(xml)
        if self._plain[sheet]:
            return None
        for needle in (f'r="{ref}"'.encode(), f"r='{ref}'".encode(), f'r="{ref.lower()}"'.encode()):
            pos = xml.find(needle)
            while pos > 0:
                if xml[pos - 1 : pos].isspace():
                    start = xml.rfind(b"<", 0, pos)
                    m = _CELL.match(xml, start) if start >= 0 else None
                    if m is not None and _attrs(m.group(1)).get("r", "").upper() == ref:
                        return _formula_or_error(m)
                pos = xml.find(needle, pos + 1)
        return None

    def enrich(self, cell: RawCell) -> RawCell:
        hit = self._cell_facts(cell.sheet, cell.cell)
        if hit is None:
            return cell
        no_value, error = hit
        return RawCell(cell.sheet, cell.cell, cell.value, formula_without_value=no_value, error=error)


def _may_hold_formula_or_error(xml: bytes) -> bool:
    """One cheap pass that settles most sheets: no formula and no error cell in them.

    `f>` ends every formula element that has a body (`</f>`, `</x:f>`); a self-closed shared formula
    (`<f t="shared" si="0"/>`) always has its master, with a body, in the same sheet. `f>` occurs nowhere
    else in sheet XML (`>` in text and attributes is escaped). Each needle is searched by its own
    compiled literal pattern: sheet XML is full of `>`, which slows bytes.find's skip loop (the three
    cost 125 µs on a form sheet with re, 190 µs with bytes.find); one regex with alternation ~0.7 ms.
    """
    return any(needle.search(xml) is not None for needle in _FORMULA_OR_ERROR_NEEDLES)


_FORMULA_OR_ERROR_NEEDLES = (re.compile(rb"f>"), re.compile(rb'"e"'), re.compile(rb"'e'"))


def _formula_or_error(m: re.Match[bytes]) -> tuple[bool, str | None] | None:
    body = m.group(2)
    if not body:
        return None
    at = _attrs(m.group(1))
    v = _V.search(body)
    v_text = (v.group(1) or b"").strip() if v else b""
    no_value = _HAS_F.search(body) is not None and not v_text
    error = v_text.decode("utf-8", "replace") if at.get("t") == "e" and v_text else None
    return (no_value, error) if no_value or error else None


class _OdsDetails(_Details):
    """ODS: formulas without `office:value`, error results, and named ranges, from content.xml."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile) -> None:
        self._content = read_member(archive, "content.xml", data)
        self.has_defined_names = re.search(rb"<table:named-(range|expression)\b", self._content) is not None
        self._cells: dict[str, dict[str, tuple[bool, str | None]]] | None = None

    def _index(self) -> dict[str, dict[str, tuple[bool, str | None]]]:
        if self._cells is not None:
            return self._cells
        from defusedxml.ElementTree import iterparse  # the DTD check ran already; belt and braces

        t = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
        o = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
        cells: dict[str, dict[str, tuple[bool, str | None]]] = {}
        sheet: dict[str, tuple[bool, str | None]] = {}
        row = col = 0
        row_repeat = 1
        for event, el in iterparse(io.BytesIO(self._content), events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == t + "table":
                    sheet = cells.setdefault(el.get(t + "name", ""), {})
                    row = 0
                elif tag == t + "table-row":
                    col = 0
                    row_repeat = int(el.get(t + "number-rows-repeated", "1") or 1)
                continue
            if tag in (t + "table-cell", t + "covered-table-cell"):
                repeat = int(el.get(t + "number-columns-repeated", "1") or 1)
                formula = el.get(t + "formula")
                if formula is not None and repeat == 1:
                    has_value = any(el.get(o + k) is not None for k in ("value", "date-value", "time-value", "boolean-value", "string-value"))
                    text = "".join(el.itertext()).strip()
                    error = text if text.startswith("#") and not has_value else None
                    if not has_value and (not text or error):
                        sheet[a1(row, col)] = (not text, error)
                col += repeat
                el.clear()
            elif tag == t + "table-row":
                row += row_repeat
                el.clear()
        self._cells = cells
        return cells

    def enrich(self, cell: RawCell) -> RawCell:
        hit = self._index().get(cell.sheet, {}).get(cell.cell)
        if hit is None:
            return cell
        return RawCell(cell.sheet, cell.cell, cell.value, formula_without_value=hit[0], error=hit[1])


class _XlsDetails(_Details):
    """xls: only whether the workbook globals hold NAME records. Formula results are not inspected:
    Excel always stores a result in FORMULA records, and scripts rarely write xls."""

    def __init__(self, data: bytes) -> None:
        import olefile

        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            stream = next(s for s in ("Workbook", "Book", "WORKBOOK", "BOOK") if ole.exists(s))
            raw = ole.openstream(stream).read()
        pos = 0
        self.has_defined_names = False
        while pos + 4 <= len(raw):
            rec, length = struct.unpack_from("<HH", raw, pos)
            if rec == 0x0018:
                self.has_defined_names = True
                break
            if rec == 0x000A:  # EOF of the globals substream: names come before it
                break
            pos += 4 + length
