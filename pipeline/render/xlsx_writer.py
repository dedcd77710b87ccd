"""A small streaming .xlsx writer for summary.xlsx: rows of prepared (value, style) pairs straight to XML.

Why not openpyxl here: even in write-only mode it builds a cell object per value and serialises each
through lxml (~15 µs a cell); summary.xlsx has a sheet per reporting date with units × figures cells, so at
10,000 forms that was seconds of every run. This writer makes one f-string per cell. It writes only what
the analysts' workbook uses: inline strings, numbers, cell styles (bold, wrapped header, number format,
quote prefix), column widths, a row height, frozen panes and the document properties. Deterministic: the
same calls give the same bytes (fixed member order and timestamps).

A sheet's XML depends only on its rows and on the style ids, which are given out in the order styles are
first asked for; `Book.style` is therefore called for every style up front by the caller that wants to
reuse a sheet's XML across runs (see `pipeline.render.summary_xlsx`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

#: (bold, wrap, number format or None, quote prefix)
Style = tuple[bool, bool, str | None, bool]
#: One cell: None (nothing written), or (value, style id); a str value is text, a number is a number.
Cell = tuple[str | float, int] | None

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_TEXT_ESCAPES = {"\r": "&#13;"}


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_LETTERS = [column_letter(i) for i in range(1, 300)]


@dataclass
class SheetXml:
    name: str
    xml: bytes


class Book:
    def __init__(self) -> None:
        self._styles: dict[Style, int] = {(False, False, None, False): 0}
        self.sheets: list[SheetXml] = []

    def style(self, bold: bool = False, wrap: bool = False, fmt: str | None = None, quote: bool = False) -> int:
        key = (bold, wrap, fmt, quote)
        if key not in self._styles:
            self._styles[key] = len(self._styles)
        return self._styles[key]

    def signature(self) -> str:
        """The style table: a sheet's XML is valid in another book with the same signature."""
        return repr(sorted(self._styles.items(), key=lambda kv: kv[1]))

    def add_sheet(self, name: str, xml: bytes) -> None:
        self.sheets.append(SheetXml(name, xml))

    def save(self, *, creator: str, moment: dt.datetime) -> bytes:
        stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
        out = io.BytesIO()
        members = self._members(creator, moment)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 0
                info.external_attr = 0o600 << 16
                zf.writestr(info, data)
        return out.getvalue()

    def _members(self, creator: str, moment: dt.datetime) -> list[tuple[str, bytes]]:
        n = len(self.sheets)
        sheets = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, s in enumerate(self.sheets, 1))
        workbook = (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/>'
                    f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
                    f'<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, n + 1))
        rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1))
        types = (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'{overrides}'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            '</Types>')
        root_rels = (
            f'{_XML}<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_PKG}/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
            '</Relationships>')
        when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        who = escape(creator)
        core = (
            f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:creator>{who}</dc:creator><cp:lastModifiedBy>{who}</cp:lastModifiedBy>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            '</cp:coreProperties>')
        app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
               '<Application>mektepke-zhol pipeline</Application></Properties>')
        return [
            ("[Content_Types].xml", types.encode()),
            ("_rels/.rels", root_rels.encode()),
            ("docProps/app.xml", (_XML + app).encode()),
            ("docProps/core.xml", core.encode()),
            ("xl/_rels/workbook.xml.rels", f'{_XML}<Relationships xmlns="{_PKG}">{rels}</Relationships>'.encode()),
            ("xl/styles.xml", self._styles_xml().encode()),
            ("xl/workbook.xml", workbook.encode()),
            *((f"xl/worksheets/sheet{i}.xml", s.xml) for i, s in enumerate(self.sheets, 1)),
        ]

    def _styles_xml(self) -> str:
        formats: dict[str, int] = {}
        xfs = []
        for (bold, wrap, fmt, quote), _ in sorted(self._styles.items(), key=lambda kv: kv[1]):
            fmt_id = 0
            if fmt is not None:
                fmt_id = formats.setdefault(fmt, 164 + len(formats))
            attrs = f'numFmtId="{fmt_id}" fontId="{1 if bold else 0}" fillId="0" borderId="0" xfId="0"'
            if fmt is not None:
                attrs += ' applyNumberFormat="1"'
            if bold:
                attrs += ' applyFont="1"'
            if quote:
                attrs += ' quotePrefix="1"'
            if wrap:
                xfs.append(f'<xf {attrs} applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>')
            else:
                xfs.append(f"<xf {attrs}/>")
        num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for code, i in formats.items())
        return (
            f'{_XML}<styleSheet xmlns="{_MAIN}">'
            + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
            + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>")


def sheet_xml(rows: Iterable[Sequence[Cell]], *, freeze: str | None = None, widths: dict[int, float] | None = None,
              heights: dict[int, float] | None = None) -> bytes:
    """One worksheet. `freeze`: the top-left cell of the scrolling pane ("B3"); `widths`: column (1-based) →
    width; `heights`: row (1-based) → height in points."""
    parts = [f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
    parts.append(_view(freeze))
    parts.append('<sheetFormatPr defaultRowHeight="15"/>')
    if widths:
        parts.append("<cols>" + "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>'
                                        for c, w in sorted(widths.items())) + "</cols>")
    parts.append("<sheetData>")
    heights = heights or {}
    letters = _LETTERS
    for r, row in enumerate(rows, 1):
        height = heights.get(r)
        cells = []
        for c, cell in enumerate(row):
            if cell is None:
                continue
            value, style = cell
            ref = f"{letters[c]}{r}"
            s = f' s="{style}"' if style else ""
            if isinstance(value, str):
                cells.append(f'<c r="{ref}"{s} t="inlineStr"><is>{_text(value)}</is></c>')
            elif value is None or (isinstance(value, float) and not math.isfinite(value)):
                cells.append(f'<c r="{ref}"{s}/>')
            else:
                cells.append(f'<c r="{ref}"{s}><v>{_number(value)}</v></c>')
        head = f'<row r="{r}" ht="{height}" customHeight="1">' if height is not None else f'<row r="{r}">'
        parts.append(head + "".join(cells) + "</row>")
    parts.append("</sheetData>")
    parts.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    parts.append("</worksheet>")
    return "".join(parts).encode("utf-8")


def _number(value: float) -> str:
    """Shortest text that reads back as the same number; a whole number without «.0» (as Excel writes)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _text(value: str) -> str:
    text = escape(value, _TEXT_ESCAPES)
    if value != value.strip() or "\n" in value:
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _view(freeze: str | None) -> str:
    if not freeze or freeze == "A1":
        return '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    letters = freeze.rstrip("0123456789")
    row = int(freeze[len(letters):])
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    x, y = col - 1, row - 1
    split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
    pane = "bottomRight" if x and y else ("topRight" if x else "bottomLeft")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" '
            f'activePane="{pane}" state="frozen"/><selection pane="{pane}" activeCell="{freeze}" '
            f'sqref="{freeze}"/></sheetView></sheetViews>')
