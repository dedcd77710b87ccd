"""Origin of templates/report.docx: run once, then staff edit the .docx in Word or LibreOffice.

    .venv/bin/python templates/make_template.py

Page set-up follows /work/shared/kazakh-report-style.md: A4, margins L30 R10 T20 B20 mm, Times New Roman
14 pt body (tables 12 pt, the wide district table 10 pt on a landscape page), single spacing, justified body
with a 1.25 cm first-line indent, page numbers centred in the header from page 2.

Nothing of a campaign is written into the templates: every word of a plan (region, units, figures,
officials) comes through a docxtpl tag, so one template serves any plan. Tables whose columns depend on the
plan (the annex: one column per key figure; the final's campaign table: one per reporting date) loop over
their columns with docxtpl's `{%tc for %}` cells; render/docx.py then sets their column widths from the
context (render/tables.py decides them, with the split of the annex into tables that fit one page). Those
tables carry a caption (Word: Table Properties → Alt Text) that render/docx.py finds them by.

The executor («Орынд.: …», «Тел.: …») is a text box anchored in the signature's row, placed at the bottom
left of the page's text area with text kept above and below it: it is always on the signature's page (an
anchored shape goes where its anchor goes), and when the signature stands too low for it, the signature
moves to the next page with it instead of leaving it alone on an empty page (the paragraph frame it used to
be hung on the empty paragraphs after the signature, which could fall onto a page of their own).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from pipeline.render.docx import ANNEX_TABLE, CAMPAIGN_TABLE, normalise_zip  # noqa: E402
from pipeline.render.language import LANGUAGES  # noqa: E402

HERE = Path(__file__).resolve().parent
#: language → the template file it makes (the Russian copy has its own file, edited by staff separately).
OUTPUTS = {"kk": HERE / "report.docx", "ru": HERE / "report-ru.docx"}
OUT = OUTPUTS["kk"]
FONT = "Times New Roman"
PORTRAIT = (Mm(210), Mm(297))
MARGINS = {"left": Mm(30), "right": Mm(10), "top": Mm(20), "bottom": Mm(20)}
BODY_WIDTH_PORTRAIT = 170  # mm between margins
BODY_WIDTH_LANDSCAPE = 257


def _fonts(style_font: object, size: float, *, bold: bool = False) -> None:
    style_font.name = FONT  # type: ignore[attr-defined]
    style_font.size = Pt(size)  # type: ignore[attr-defined]
    style_font.bold = bold  # type: ignore[attr-defined]


def _rfonts_everywhere(style: object) -> None:
    # Word picks the font per script: without eastAsia/cs the Cyrillic may fall back to another face.
    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)


def _styles(doc: Document) -> None:
    normal = doc.styles["Normal"]
    _fonts(normal.font, 14)
    _rfonts_everywhere(normal)
    pf = normal.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    pf.first_line_indent = Cm(1.25)
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.widow_control = True

    def add(name: str, size: float, *, bold: bool = False, align: int = WD_ALIGN_PARAGRAPH.LEFT,
            indent: float | None = None, left: float | None = None, before: float = 0, keep: bool = False) -> None:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        _fonts(style.font, size, bold=bold)
        style.paragraph_format.alignment = align
        style.paragraph_format.first_line_indent = Cm(indent) if indent is not None else Cm(0)
        if left is not None:
            style.paragraph_format.left_indent = Cm(left)
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.keep_with_next = keep

    # The addressee stands in the right cell of the head table (beside the registration lines): no indent.
    add("Адресат", 14)
    add("Тақырып", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("Бөлім", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, keep=True)
    add("Тармақ", 14, indent=1.25, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=4, keep=True)
    add("Кесте", 12, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("Кесте кең", 10, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("Кесте кең тақырып", 9, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("Кесте тақырып", 11, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("Ескерту", 11, indent=1.25, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    add("Орындаушы", 10)
    add("Қолтаңба", 14)
    add("Тіркеу", 12)
    add("Сурет атауы", 12, align=WD_ALIGN_PARAGRAPH.CENTER)
    doc.styles["Сурет атауы"].paragraph_format.space_after = Pt(8)
    add("Кесте атауы", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, keep=True)
    add("Жалғасы", 11, align=WD_ALIGN_PARAGRAPH.RIGHT, keep=True)
    doc.styles["Жалғасы"].font.italic = True


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# The executor's text box: anchored (it moves with the signature row), at the bottom left of the text
# area, text kept above and below it (wrapTopAndBottom), its height growing with its text (spAutoFit).
# layoutInCell="0": positioned on the page, not inside the table cell that holds its anchor.
_EXECUTOR_BOX = """<w:r xmlns:w="{w}" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
 xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
 xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><w:drawing>
<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" behindDoc="0"
 locked="0" layoutInCell="0" allowOverlap="0"><wp:simplePos x="0" y="0"/>
<wp:positionH relativeFrom="margin"><wp:align>left</wp:align></wp:positionH>
<wp:positionV relativeFrom="margin"><wp:align>bottom</wp:align></wp:positionV>
<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>
<wp:docPr id="1" name="{name}"/><wp:cNvGraphicFramePr/>
<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>
<wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>
<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>
<wps:txbx><w:txbxContent>{paragraphs}</w:txbxContent></wps:txbx>
<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="b"><a:spAutoFit/></wps:bodyPr>
</wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>"""
EXECUTOR_BOX_MM = (100, 9)


def _executor_box(paragraph: Paragraph, lines: list[str], name: str) -> None:
    """The executor's lines in a text box anchored in `paragraph` (see the module's docstring)."""
    from xml.sax.saxutils import escape

    paragraphs = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="Орындаушы"/></w:pPr><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
        for line in lines)
    cx, cy = (int(Mm(v)) for v in EXECUTOR_BOX_MM)
    xml = _EXECUTOR_BOX.format(w=_W, cx=cx, cy=cy, name=escape(name), paragraphs=paragraphs)
    paragraph._p.append(etree.fromstring(xml))


def _page(section: object, *, landscape: bool) -> None:
    width, height = PORTRAIT
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT  # type: ignore[attr-defined]
    section.page_width, section.page_height = (height, width) if landscape else (width, height)  # type: ignore[attr-defined]
    for side, value in MARGINS.items():
        setattr(section, f"{side}_margin", value)
    section.header_distance = Mm(10)  # type: ignore[attr-defined]
    section.footer_distance = Mm(10)  # type: ignore[attr-defined]


def _page_number(paragraph: Paragraph) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Cm(0)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _para(doc: Document, text: str, style: str = "Normal") -> Paragraph:
    return doc.add_paragraph(text, style=style)


def _cell_text(cell: _Cell, text: str, style: str, *, bold: bool = False,
               align: int | None = None) -> None:
    p = cell.paragraphs[0]
    p.style = style
    if align is not None:
        p.alignment = align
    run = p.add_run(text)
    run.bold = bold or None
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _fixed_widths(table: Table, widths_mm: list[float]) -> None:
    table.autofit = False  # w:tblLayout fixed, in its place in w:tblPr
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)
    grid = table._tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_mm):
        col.set(qn("w:w"), str(int(Mm(w).twips)))


def _vertical(cell: _Cell) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    direction = OxmlElement("w:textDirection")
    direction.set(qn("w:val"), "btLr")
    tc_pr.append(direction)
    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT


def _cell_margins(table: Table, side_mm: float) -> None:
    # Word's default 1.9 mm either side wastes a quarter of a narrow column; words then break mid-word.
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(Mm(side_mm).twips)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.insert_element_before(mar, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def _caption(table: Table, name: str) -> None:
    """The table's caption (Word: Table Properties → Alt Text → Title): render/docx.py finds the tables
    whose columns come from the data by it."""
    el = OxmlElement("w:tblCaption")
    el.set(qn("w:val"), name)
    table._tbl.tblPr.insert_element_before(el, "w:tblDescription", "w:tblPrChange")


def _column_loop(cells: list[_Cell], items: str, value: str, style: str, *, bold: bool = False) -> None:
    """Three cells that docxtpl turns into one cell per element of `items`: `{%tc for %}`, the cell shown
    for each element, `{%tc endfor %}`."""
    _cell_text(cells[0], f"{{%tc for value in {items} %}}", style)
    _cell_text(cells[1], value, style, bold=bold)
    _cell_text(cells[2], "{%tc endfor %}", style)


def _repeat_header(row: object) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    el = OxmlElement("w:tblHeader")
    tr_pr.append(el)
    cant = OxmlElement("w:cantSplit")
    tr_pr.append(cant)


def _loop_row(table: Table, tag: str) -> None:
    """A row holding only a `{%tr %}` tag (docxtpl removes the row): one cell across the table, so the tag
    reads on one line in Word instead of a letter a line in the narrow № column."""
    row = table.add_row()
    cell = row.cells[0].merge(row.cells[-1]) if len(row.cells) > 1 else row.cells[0]
    cell.paragraphs[0].add_run(tag)


def _jinja_pattern(pattern: str, **fields: str) -> str:
    """A wording pattern with {placeholders} turned into docxtpl tags: «{number}-сурет.» → «{{ chart.number }}-сурет.»."""
    return pattern.format(**{k: f"{{{{ {v} }}}}" for k, v in fields.items()})


def _hidden_paragraph(paragraph: Paragraph) -> None:
    """A paragraph that takes (almost) no room: the section break after the signature must never be what
    falls onto a page of its own."""
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(1)
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    paragraph.paragraph_format.first_line_indent = Cm(0)
    # The paragraph mark's own size (1 pt): its line is as high as its mark.
    rpr = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "2")
    rpr.append(size)
    paragraph._p.get_or_add_pPr().insert_element_before(rpr, "w:sectPr", "w:pPrChange")


def _head(doc: Document) -> None:
    """Registration (top left: the outgoing number and date, style guide §9) beside the addressee (top
    right), in a borderless table so both start at the top of page 1."""
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    left.paragraphs[0].style = "Тіркеу"
    left.paragraphs[0].add_run("{%p for line in registration %}")
    left.add_paragraph("{{ line }}", style="Тіркеу")
    left.add_paragraph("{%p endfor %}", style="Тіркеу")
    # A cell must keep one paragraph when there are no lines (Word and LibreOffice drop a cell without one).
    left.add_paragraph("", style="Тіркеу")
    right.paragraphs[0].style = "Адресат"
    right.paragraphs[0].add_run("{%p for line in addressee_lines %}")
    right.add_paragraph("{{ line }}", style="Адресат")
    right.add_paragraph("{%p endfor %}", style="Адресат")
    _fixed_widths(head, [90, 80])
    _cell_margins(head, 0.0)


def _lines(doc: Document, loop: str, value: str, style: str = "Normal") -> None:
    _para(doc, f"{{%p for line in {loop} %}}", style)
    _para(doc, value, style)
    _para(doc, "{%p endfor %}", style)


def _campaign_table(doc: Document) -> None:
    """The final's table of the main figures over every reporting date (render/tables.py)."""
    _para(doc, "{%p if campaign_table %}")
    _para(doc, "{{ campaign_table.heading }}", "Кесте атауы")
    _para(doc, "{%p for part in campaign_table.tables %}")
    _para(doc, "").paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=4)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = table.rows[0].cells
    _cell_text(head[0], "{{ campaign_table.name_header }}", "Кесте тақырып", bold=True)
    _column_loop(head[1:], "part.headers", "{{ value }}", "Кесте тақырып", bold=True)
    _repeat_header(table.rows[0])
    _loop_row(table, "{%tr for row in part.rows %}")
    row = table.add_row().cells
    _cell_text(row[0], "{{ row.name }}", "Кесте", align=WD_ALIGN_PARAGRAPH.LEFT)
    _column_loop(row[1:], "row.cells", "{{ value }}", "Кесте")
    # A dozen rows: kept on one page (split, its last rows stood alone under a repeated header on 28 September).
    for cell in (*row, *table.rows[0].cells):
        for paragraph in cell.paragraphs:
            paragraph.paragraph_format.keep_with_next = True
    table.rows[-1]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    _loop_row(table, "{%tr endfor %}")
    _fixed_widths(table, [55, 38, 38, 39])
    _cell_margins(table, 1.0)
    _caption(table, CAMPAIGN_TABLE)
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p if campaign_table.caption %}", "Ескерту")
    _para(doc, "{{ campaign_table.caption }}", "Ескерту")
    _para(doc, "{%p endif %}", "Ескерту")
    _para(doc, "")
    _para(doc, "{%p endif %}")


def _timeliness_table(doc: Document, t: dict) -> None:
    _para(doc, "{{ timeliness.heading }}", "Бөлім")
    # The blank line under the heading keeps with the table too, or the heading can end a page alone.
    _para(doc, "").paragraph_format.keep_with_next = True
    table = doc.add_table(rows=2, cols=6)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    h1, h2 = table.rows[0].cells, table.rows[1].cells
    _cell_text(h1[0], t["timeliness_number"], "Кесте тақырып", bold=True)
    _cell_text(h1[1], "{{ timeliness.unit_header }}", "Кесте тақырып", bold=True)
    _cell_text(h1[2], "{{ timeliness.date_header }}", "Кесте тақырып", bold=True)
    _cell_text(h1[3], t["timeliness_so_far"], "Кесте тақырып", bold=True)
    _cell_text(h2[3], t["timeliness_on_time"], "Кесте тақырып")
    _cell_text(h2[4], t["timeliness_late"], "Кесте тақырып")
    _cell_text(h2[5], t["timeliness_missing"], "Кесте тақырып")
    for i in range(3):
        h1[i].merge(h2[i])
    h1[3].merge(h1[5])
    _repeat_header(table.rows[0])
    _repeat_header(table.rows[1])
    # Three loops over the rows (render/tables.py KEEP_ROWS): the table may break over a page (kept whole it
    # left half a page blank after the charts, seen on 28 September), but its first rows stay with its
    # header (a header and one row at a page's foot, seen on 26 August), its last rows with the total row,
    # and the total with the signature, so no page holds a total row alone (seen on 17 August).
    for loop, keep in (("{%tr for row in timeliness.rows_first %}", True),
                       ("{%tr for row in timeliness.rows_middle %}", False),
                       ("{%tr for row in timeliness.rows_last %}", True)):
        _loop_row(table, loop)
        row = table.add_row().cells
        for i, key in enumerate(["no", "name", "state", "on_time", "late", "missing"]):
            align = WD_ALIGN_PARAGRAPH.LEFT if key in ("name", "state") else None
            _cell_text(row[i], f"{{{{ row.{key} }}}}", "Кесте", align=align)
            row[i].paragraphs[0].paragraph_format.keep_with_next = keep
        table.rows[-1]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        _loop_row(table, "{%tr endfor %}")
    row = table.add_row().cells
    for i, key in enumerate(["", "name", "state", "on_time", "late", "missing"]):
        text = f"{{{{ timeliness.total.{key} }}}}" if key else ""
        align = WD_ALIGN_PARAGRAPH.LEFT if key in ("name", "state") else None
        _cell_text(row[i], text, "Кесте", bold=True, align=align)
        # The total row goes with the signature: a page holding the signature alone was seen on 28 September.
        row[i].paragraphs[0].paragraph_format.keep_with_next = True
    _fixed_widths(table, [9, 44, 45, 24, 24, 24])
    _cell_margins(table, 1.0)


def _signature(doc: Document, t: dict) -> None:
    _para(doc, "").paragraph_format.keep_with_next = True
    # The annex line stays with the signature, and the signature row never splits over a page break (the
    # position's first line on one page, the second and the name on the next, was seen on 28 September).
    _para(doc, "{{ annex_line }}").paragraph_format.keep_with_next = True
    _para(doc, "").paragraph_format.keep_with_next = True
    sign = doc.add_table(rows=1, cols=2)
    sign.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = sign.rows[0].cells
    left.paragraphs[0].style = "Қолтаңба"
    left.paragraphs[0].add_run("{%p for line in signatory_position %}")
    left.add_paragraph("{{ line }}", style="Қолтаңба")
    left.add_paragraph("{%p endfor %}", style="Қолтаңба")
    right.paragraphs[0].style = "Қолтаңба"
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    right.paragraphs[0].add_run("{{ signatory_name }}")
    right.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    _fixed_widths(sign, [110, 60])
    # Anchored in the signature's row: the executor goes wherever the signature goes (module docstring).
    _executor_box(right.paragraphs[0], [f"{t['executor']} {{{{ executor_name }}}}",
                                        f"{t['phone']} {{{{ executor_phone }}}}"], t["executor"].rstrip(".:"))


def _annex(doc: Document) -> None:
    """The key figures by unit, on landscape pages: one table per page-wide group of columns
    (render/tables.py splits them; render/docx.py sets the widths)."""
    _para(doc, "{{ annex.heading }}", "Тақырып")
    _para(doc, "")
    _para(doc, "{%p for table in annex.tables %}")
    _para(doc, "{%p if table.continued %}", "Жалғасы")
    _para(doc, "{{ table.continued }}", "Жалғасы")
    _para(doc, "{%p endif %}", "Жалғасы")
    table = doc.add_table(rows=1, cols=5)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = table.rows[0].cells
    _cell_text(head[0], "{{ annex.number_header }}", "Кесте кең тақырып")
    _cell_text(head[1], "{{ annex.unit_header }}", "Кесте кең тақырып")
    _column_loop(head[2:], "table.headers", "{{ value }}", "Кесте кең тақырып")
    # Vertical headers, as in printed official tables: a 15 mm column cannot hold «Өткізілген» across.
    _vertical(head[3])
    table.rows[0].height = Mm(42)
    table.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    _repeat_header(table.rows[0])
    _loop_row(table, "{%tr for row in table.rows %}")
    row = table.add_row().cells
    _cell_text(row[0], "{{ row.no }}", "Кесте кең")
    _cell_text(row[1], "{{ row.name }}", "Кесте кең", align=WD_ALIGN_PARAGRAPH.LEFT)
    _column_loop(row[2:], "row.cells", "{{ value }}", "Кесте кең")
    table.rows[-1]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    _loop_row(table, "{%tr endfor %}")
    row = table.add_row().cells
    _cell_text(row[0], "", "Кесте кең")
    _cell_text(row[1], "{{ table.total.name }}", "Кесте кең", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _column_loop(row[2:], "table.total.cells", "{{ value }}", "Кесте кең", bold=True)
    table.rows[-1]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    _fixed_widths(table, [8, 36, 71, 71, 71])
    _cell_margins(table, 0.8)
    _caption(table, ANNEX_TABLE)
    _para(doc, "")
    _para(doc, "{%p endfor %}")
    _lines(doc, "annex.notes", "{{ line }}", "Ескерту")


def build(out: Path = OUT, language: str = "kk") -> Path:
    t = LANGUAGES[language].words["template"]
    doc = Document()
    _styles(doc)
    first = doc.sections[0]
    _page(first, landscape=False)
    first.different_first_page_header_footer = True
    _page_number(first.header.paragraphs[0])

    _head(doc)
    _para(doc, "")
    _para(doc, "{{ heading }}", "Тақырып")
    _para(doc, "{{ title }}", "Тақырып")
    _para(doc, "")

    # Page 1: the results, then what needs the reader's attention (its heading only when there is
    # something under it), then the one data-quality paragraph.
    _lines(doc, "summary", "{{ line }}")
    _para(doc, "{%p if attention.lines %}")
    _para(doc, "{{ attention.heading }}", "Бөлім")
    _lines(doc, "attention.lines", "{{ line }}")
    _para(doc, "{%p endif %}")
    _lines(doc, "quality", "{{ line }}")

    # The plan sections item by item.
    _para(doc, "{%p for section in sections %}")
    _para(doc, "{{ section.heading }}", "Бөлім")
    _para(doc, "{%p for item in section.entries %}")
    p = _para(doc, "", "Тармақ")
    p.add_run("{{ item.code }}.").bold = True
    p.add_run(" ")
    p.add_run("{{ item.title }}").italic = True
    _lines(doc, "item.lines", "{{ line }}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endfor %}")

    # Final report only: its results, the campaign over its dates, whom to honour.
    _para(doc, "{%p if is_final %}")
    _para(doc, "{{ final.heading }}", "Бөлім")
    _lines(doc, "final.lines", "{{ line }}")
    _campaign_table(doc)
    _para(doc, "{{ final.honour_heading }}")
    _lines(doc, "final.honour_lines", "{{ line }}")
    _para(doc, "{%p endif %}")

    # Charts and the timeliness table follow the text on the same portrait pages: a page break here left
    # two thirds of a page blank. Each chart is numbered and captioned under its image («1-сурет. …»); the
    # text refers to it by that number. The timeliness table comes last: its rows flow over a page break,
    # so the signature follows it instead of standing alone on a page after two charts.
    _para(doc, "")
    _para(doc, "{%p for chart in charts %}", "Кесте")
    _para(doc, "{{ chart.image }}", "Кесте").paragraph_format.keep_with_next = True
    _para(doc, _jinja_pattern(t["figure_caption"], number="chart.number", caption="chart.caption"), "Сурет атауы")
    _para(doc, "{%p endfor %}", "Кесте")
    _timeliness_table(doc, t)
    _signature(doc, t)

    # The annex on landscape pages of its own. The section break's paragraph takes no room, so it never
    # makes a page of its own after the signature.
    wide = doc.add_section(WD_SECTION.NEW_PAGE)
    _hidden_paragraph(doc.paragraphs[-1])
    _page(wide, landscape=True)
    wide.different_first_page_header_footer = False
    annex = _para(doc, t["annex_heading"], "Адресат")
    annex.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _annex(doc)

    props = doc.core_properties
    # Set for each report at rendering (render/docx.py: the plan's campaign and department); a template
    # holds no campaign.
    props.author = props.last_modified_by = props.title = ""
    props.revision = 1
    fixed = dt.datetime(2000, 1, 1)
    props.created = props.modified = props.last_printed = fixed
    buf = io.BytesIO()
    doc.save(buf)
    # Fixed zip timestamps: making the template again without changes gives the same bytes (no git churn).
    out.write_bytes(normalise_zip(buf.getvalue(), fixed))
    return out


if __name__ == "__main__":
    for code, path in OUTPUTS.items():
        print(build(path, code))
