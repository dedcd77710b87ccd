"""Origin of templates/report.docx: run once, then staff edit the .docx in Word or LibreOffice.

    .venv/bin/python templates/make_template.py

Page set-up follows /work/shared/kazakh-report-style.md: A4, margins L30 R10 T20 B20 mm, Times New Roman
14 pt body (tables 12 pt, the wide district table 10 pt on a landscape page), single spacing, justified body
with a 1.25 cm first-line indent, page numbers centred in the header from page 2.

The number of columns of the district table is taken from the plan's key figures when the template is
made; a plan with other key figures needs the template made again (rendering then fails loudly on the
missing column instead of leaving a blank).
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

from pipeline.plan import load_plan  # noqa: E402
from pipeline.render.context import key_figures  # noqa: E402
from pipeline.render.docx import normalise_zip  # noqa: E402
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

    add("Адресат", 14, left=9.0)
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


def _pin_to_page_bottom(paragraph: Paragraph) -> None:
    """«Орынд.: …» stands bottom left of the last page: a paragraph frame anchored to the bottom margin.

    Consecutive paragraphs with the same frame share it, so the executor and phone lines stay together.
    (Set on the paragraphs themselves: LibreOffice ignores a frame given in a paragraph style.)
    """
    ppr = paragraph._p.get_or_add_pPr()
    frame = OxmlElement("w:framePr")
    for key, value in (("w", "6804"), ("hSpace", "0"), ("wrap", "around"), ("vAnchor", "margin"),
                       ("hAnchor", "margin"), ("xAlign", "left"), ("yAlign", "bottom")):
        frame.set(qn(f"w:{key}"), value)
    ppr.insert_element_before(
        frame, "w:widowControl", "w:numPr", "w:pBdr", "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr"
    )


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
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
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
    table._tbl.tblPr.append(mar)


def _repeat_header(row: object) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    el = OxmlElement("w:tblHeader")
    tr_pr.append(el)
    cant = OxmlElement("w:cantSplit")
    tr_pr.append(cant)


def _loop_row(table: Table, tag: str) -> None:
    row = table.add_row()
    row.cells[0].paragraphs[0].add_run(tag)


#: The timeliness table's last rows that stay on one page with its total row.
KEEP_ROWS = 3


def build(out: Path = OUT, language: str = "kk") -> Path:
    plan = load_plan()
    t = LANGUAGES[language].words["template"]
    doc = Document()
    _styles(doc)
    first = doc.sections[0]
    _page(first, landscape=False)
    first.different_first_page_header_footer = True
    _page_number(first.header.paragraphs[0])

    # Addressee, heading and title.
    _para(doc, "{%p for line in addressee_lines %}", "Адресат")
    _para(doc, "{{ line }}", "Адресат")
    _para(doc, "{%p endfor %}", "Адресат")
    _para(doc, "")
    _para(doc, "{{ heading }}", "Тақырып")
    _para(doc, "{{ title }}", "Тақырып")
    _para(doc, "")

    # Summary, then the plan sections item by item.
    _para(doc, "{%p for para in summary %}")
    _para(doc, "{{ para }}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p for section in sections %}")
    _para(doc, "{{ section.heading }}", "Бөлім")
    _para(doc, "{%p for item in section.entries %}")
    p = _para(doc, "", "Тармақ")
    p.add_run("{{ item.code }}.").bold = True
    p.add_run(" ")
    p.add_run("{{ item.title }}").italic = True
    _para(doc, "{%p for line in item.lines %}")
    _para(doc, "{{ line }}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endfor %}")

    # Final report only.
    _para(doc, "{%p if is_final %}")
    _para(doc, "{{ final.heading }}", "Бөлім")
    _para(doc, "{%p for line in final.lines %}")
    _para(doc, "{{ line }}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{{ final.honour_heading }}")
    _para(doc, "{%p for line in final.honour_lines %}")
    _para(doc, "{{ line }}")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endif %}")

    # Charts and the timeliness table follow the text on the same portrait pages: a page break here left
    # two thirds of a page blank. The table comes last: its rows flow over a page break, so the signature
    # follows it instead of standing alone on a page after two charts. The wide district table goes after
    # the signature, as an annex on a landscape page.
    _para(doc, "")
    _para(doc, "{%p for chart in charts %}", "Кесте")
    _para(doc, "{{ chart.image }}", "Кесте")
    _para(doc, "{%p endfor %}", "Кесте")
    _para(doc, "")
    _para(doc, "{{ timeliness.heading }}", "Бөлім")
    # The blank line under the heading keeps with the table too, or the heading can end a page alone.
    _para(doc, "").paragraph_format.keep_with_next = True
    table = doc.add_table(rows=2, cols=6)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    h1, h2 = table.rows[0].cells, table.rows[1].cells
    _cell_text(h1[0], t["timeliness_number"], "Кесте тақырып", bold=True)
    _cell_text(h1[1], t["timeliness_unit"], "Кесте тақырып", bold=True)
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
    # Two loops over the rows: the table may break over a page (kept whole it left half a page blank
    # after the charts, seen on 28 September), but its last rows stay with the total row, and the total
    # with the signature, so no page holds a total row alone (seen on 17 August).
    for loop, keep in ((f"{{%tr for row in timeliness.rows[:-{KEEP_ROWS}] %}}", False),
                       (f"{{%tr for row in timeliness.rows[-{KEEP_ROWS}:] %}}", True)):
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

    _para(doc, "")
    _para(doc, "")
    _pin_to_page_bottom(_para(doc, f"{t['executor']} {{{{ executor_name }}}}", "Орындаушы"))
    _pin_to_page_bottom(_para(doc, f"{t['phone']} {{{{ executor_phone }}}}", "Орындаушы"))

    # District table on a landscape page of its own.
    wide = doc.add_section(WD_SECTION.NEW_PAGE)
    _page(wide, landscape=True)
    wide.different_first_page_header_footer = False
    annex = _para(doc, t["annex_heading"], "Адресат")
    annex.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, "{{ district.heading }}", "Тақырып")
    _para(doc, "")
    figures = key_figures(plan)
    n_fig = len(figures)
    table = doc.add_table(rows=1, cols=2 + n_fig)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head = table.rows[0].cells
    _cell_text(head[0], "{{ district.number_header }}", "Кесте кең тақырып")
    _cell_text(head[1], "{{ district.unit_header }}", "Кесте кең тақырып")
    for i in range(n_fig):
        _cell_text(head[2 + i], f"{{{{ district.headers[{i}] }}}}", "Кесте кең тақырып")
        _vertical(head[2 + i])
    # Vertical headers, as in printed official tables: a 15 mm column cannot hold «Өткізілген» across.
    table.rows[0].height = Mm(42)
    table.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    _repeat_header(table.rows[0])
    _loop_row(table, "{%tr for row in district.rows %}")
    row = table.add_row().cells
    _cell_text(row[0], "{{ row.no }}", "Кесте кең")
    _cell_text(row[1], "{{ row.name }}", "Кесте кең", align=WD_ALIGN_PARAGRAPH.LEFT)
    for i in range(n_fig):
        _cell_text(row[2 + i], f"{{{{ row.cells[{i}] }}}}", "Кесте кең")
    _loop_row(table, "{%tr endfor %}")
    row = table.add_row().cells
    _cell_text(row[0], "", "Кесте кең")
    _cell_text(row[1], "{{ district.total.name }}", "Кесте кең", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for i in range(n_fig):
        _cell_text(row[2 + i], f"{{{{ district.total.cells[{i}] }}}}", "Кесте кең", bold=True)
    # Amounts («43 815,3») need more room than counts; the rest is shared by the count columns.
    name_w, no_w, amount_w = 36.0, 8.0, 21.0
    n_amount = sum(1 for f in figures if f.unit == "tenge")
    count_w = (BODY_WIDTH_LANDSCAPE - name_w - no_w - amount_w * n_amount) / max(n_fig - n_amount, 1)
    widths = [amount_w if f.unit == "tenge" else count_w for f in figures]
    _fixed_widths(table, [no_w, name_w] + widths)
    _cell_margins(table, 0.8)
    _para(doc, "{%p for note in district.notes %}", "Ескерту")
    _para(doc, "{{ note }}", "Ескерту")
    _para(doc, "{%p endfor %}", "Ескерту")

    props = doc.core_properties
    props.author = t["document_author"]
    props.title = t["document_title"]
    props.last_modified_by = t["document_author"]
    props.revision = 1
    fixed = dt.datetime(plan.campaign.year, 1, 1)
    props.created = props.modified = props.last_printed = fixed
    buf = io.BytesIO()
    doc.save(buf)
    # Fixed zip timestamps: making the template again without changes gives the same bytes (no git churn).
    out.write_bytes(normalise_zip(buf.getvalue(), fixed))
    return out


if __name__ == "__main__":
    for code, path in OUTPUTS.items():
        print(build(path, code))
