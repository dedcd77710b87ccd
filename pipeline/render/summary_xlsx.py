"""Workbook for analysts: figures per reporting date, statuses and timeliness, with deterministic bytes."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipeline.aggregate.model import ReportData
from pipeline.atomic import atomic_write
from pipeline.plan.model import Figure
from pipeline.render.cells import safe_cell_text
from pipeline.render.docx import normalise_zip, report_moment
from pipeline.render.kazakh import fmt_date_short, words
from pipeline.safe_text import starts_formula
from pipeline.texts import load_data

NAME_WIDTH = 30  # «Облыстық білім басқармасы» in bold fits
FIGURE_WIDTH = 14
HEADER_CHARS_PER_LINE = 11  # bold Cyrillic in a 14-wide column, as LibreOffice wraps it
LINE_HEIGHT = 15  # points
# Amounts are shown in thousands of tenge, as in the report («мың теңге» in the header).
TENGE_SCALE = 1000.0
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_BOLD = Font(bold=True)
_HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")

Row = list[Cell | None]


class _Cells:
    """Write-only cells of one workbook, each style registered once and shared by every cell that uses it.

    The workbook is written in write-only mode (rows streamed, no cell objects kept); assigning a Font or a
    number format to each of tens of thousands of cells was most of the time of the old, cell-by-cell sheet.
    """

    def __init__(self, wb: Workbook) -> None:
        self._wb = wb
        self._styles: dict[tuple[bool, bool, str | None, bool], StyleArray] = {}

    def _style(self, ws: WriteOnlyWorksheet, bold: bool, wrap: bool, fmt: str | None, quote: bool) -> StyleArray:
        key = (bold, wrap, fmt, quote)
        if key not in self._styles:
            model = WriteOnlyCell(ws)
            if bold:
                model.font = _BOLD
            if wrap:
                model.alignment = _HEADER_ALIGNMENT
            if fmt is not None:
                model.number_format = fmt
            if quote:
                model.quotePrefix = True
            self._styles[key] = model._style
        return self._styles[key]

    def _styled(self, ws: WriteOnlyWorksheet, value: object, bold: bool, wrap: bool, fmt: str | None,
                quote: bool) -> Cell:
        cell = WriteOnlyCell(ws, value)
        if bold or wrap or fmt is not None or quote:
            # Shared, not copied: a write-only cell is streamed out as it is and never restyled.
            cell._style = self._style(ws, bold, wrap, fmt, quote)
        return cell

    def text(self, ws: WriteOnlyWorksheet, value: object, *, bold: bool = False, wrap: bool = False) -> Cell | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = safe_cell_text(str(value))
        # quotePrefix: a program that re-evaluates the cell on edit still keeps it text.
        cell = self._styled(ws, text, bold, wrap, None, starts_formula(text))
        # openpyxl turns any string starting with "=" into a formula; force it back to a string.
        cell.data_type = "s"
        return cell

    def number(self, ws: WriteOnlyWorksheet, value: object, fmt: str, *, bold: bool = False) -> Cell | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            # A totals row is bold across, blanks included, so a figure typed in later reads as a total.
            return self._styled(ws, None, True, False, None, False) if bold else None
        return self._styled(ws, float(value), bold, False, fmt, False)  # type: ignore[arg-type]


def summary_words() -> dict[str, Any]:
    return load_data("summary_xlsx.yaml")


def number_format(unit: str) -> str:
    return str(summary_words()["number_format"][unit])


def header(fig: Figure) -> str:
    return str(summary_words()["header"][fig.unit]).format(label=fig.label)


def shown(fig: Figure, value: object) -> object:
    """The cell value of a figure: amounts in thousands of tenge, the rest as they are."""
    if fig.unit == "tenge" and isinstance(value, (int, float)) and not math.isnan(value):
        return value / TENGE_SCALE
    return value


def _figures_sheet(wb: Workbook, cells: _Cells, data: ReportData, date: Any) -> None:
    plan, w = data.plan, words()["xlsx"]
    ws = wb.create_sheet(date.isoformat())
    figures = [f for f in plan.figures if f.numeric]
    formats = [number_format(fig.unit) for fig in figures]
    frame = data.history[date]
    # Write-only: the sheet view and column widths go out before the first row.
    ws.freeze_panes = "B3"
    ws.column_dimensions["A"].width = NAME_WIDTH
    for j in range(2, len(figures) + 2):
        ws.column_dimensions[get_column_letter(j)].width = FIGURE_WIDTH
    headers = [header(fig) for fig in figures]
    # A saved file's row does not grow for wrapped text on its own: the header row gets the height it needs.
    lines = max(math.ceil(len(h) / HEADER_CHARS_PER_LINE) for h in headers) if headers else 1
    ws.row_dimensions[1].height = LINE_HEIGHT * lines
    ws.append([cells.text(ws, w["unit"], bold=True, wrap=True)]
              + [cells.text(ws, h, bold=True, wrap=True) for h in headers])
    ws.append([cells.text(ws, w["code"], bold=True)] + [cells.text(ws, fig.code) for fig in figures])
    # One column at a time out of the frame: `frame.at` per unit × figure was the other half of the time.
    present = [fig.code in frame.columns for fig in figures]
    columns = [frame[fig.code].tolist() if ok else None for fig, ok in zip(figures, present)]
    position = {code: i for i, code in enumerate(frame.index)}
    for unit in plan.units:
        i = position.get(unit.code)
        row: Row = [cells.text(ws, unit.name)]
        for fig, column, fmt in zip(figures, columns, formats):
            # Thousands of tenge keep every digit (a float, not rounded); the format only shows one decimal.
            row.append(cells.number(ws, shown(fig, column[i]), fmt) if column is not None and i is not None
                       else None)
        ws.append(row)
    totals = data.totals_at(date)
    # The total of a yes/no column is the number of units that said yes: a count, not a word.
    total_formats = [number_format("count") if fig.unit == "yesno" else fmt for fig, fmt in zip(figures, formats)]
    ws.append([cells.text(ws, w["total"], bold=True)]
              + [cells.number(ws, shown(fig, totals.get(fig.code)), fmt, bold=True)
                 for fig, fmt in zip(figures, total_formats)])
    # The department's own figures (I.1, I.2 and its share of II.1–II.3) are not part of the units' total.
    own = data.department_at(date).figures
    ws.append([cells.text(ws, plan.department.name, bold=True)]
              + [cells.number(ws, shown(fig, own.get(fig.code)), fmt) for fig, fmt in zip(figures, formats)])


def _statuses_sheet(wb: Workbook, cells: _Cells, data: ReportData) -> None:
    plan, w = data.plan, words()["xlsx"]
    ws = wb.create_sheet(w["statuses_sheet"])
    items = list(plan.items)
    text_codes = list(data.texts.columns)
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = NAME_WIDTH
    for k in range(len(items) + 2, len(items) + 2 + len(text_codes)):
        ws.column_dimensions[get_column_letter(k)].width = 40
    ws.append(
        [cells.text(ws, w["unit"], bold=True)]
        + [cells.text(ws, item.code, bold=True) for item in items]
        + [cells.text(ws, plan.figure_by_code[code].label if code in plan.figure_by_code else code, bold=True)
           for code in text_codes]
    )
    # Plain dicts, read once: `DataFrame.at` per unit × item was most of this sheet's time at 1,667 units.
    statuses = data.statuses.to_dict()
    comments = data.comments.to_dict()
    texts = data.texts.to_dict()
    for unit in plan.units:
        row: Row = [cells.text(ws, unit.name)]
        for item in items:
            code = statuses[item.code].get(unit.code) if item.code in statuses else None
            label = plan.status_by_code[code].label if isinstance(code, str) and code in plan.status_by_code else ""
            comment = comments[item.code].get(unit.code) if item.code in comments else None
            if isinstance(comment, str) and comment:
                row.append(cells.text(ws, f"{label}: {comment}" if label else comment))
            else:
                row.append(cells.text(ws, label) if label else None)
        row += [cells.text(ws, texts[code].get(unit.code)) for code in text_codes]
        ws.append(row)
    department = data.department
    row = [cells.text(ws, plan.department.name, bold=True)]
    for item in items:
        code = department.statuses.get(item.code)
        label = plan.status_by_code[code].label if code in plan.status_by_code else ""
        comment = department.comments.get(item.code)
        row.append(cells.text(ws, f"{label}: {comment}" if label and comment else (comment or label or None)))
    ws.append(row)


def _timeliness_sheet(wb: Workbook, cells: _Cells, data: ReportData) -> None:
    plan, w = data.plan, words()["xlsx"]
    states = words()["timeliness"]
    ws = wb.create_sheet(w["timeliness_sheet"])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDE", (24, 18, 22, 12, 32)):
        ws.column_dimensions[col].width = width
    ws.append([cells.text(ws, head, bold=True)
               for head in (w["unit"], w["reporting_date"], w["state"], w["days_late"], w["file"])])
    order = {u.code: n for n, u in enumerate(plan.units)}
    rows = sorted(data.timeliness, key=lambda t: (t.date, order.get(t.unit, 99)))
    short_dates: dict[Any, str] = {}
    for t in rows:
        unit = plan.unit_by_code.get(t.unit)
        if t.date not in short_dates:
            short_dates[t.date] = fmt_date_short(t.date)
        ws.append([
            cells.text(ws, unit.name if unit else t.unit),
            cells.text(ws, short_dates[t.date]),
            cells.text(ws, states[t.state] if t.state != "late" else states["late_total"]),
            cells.number(ws, t.days_late, number_format("days")),
            cells.text(ws, t.file),
        ])


def summary_bytes(data: ReportData) -> bytes:
    wb = Workbook(write_only=True)
    cells = _Cells(wb)
    for date in sorted(d for d in data.history if d <= data.date):
        _figures_sheet(wb, cells, data, date)
    _statuses_sheet(wb, cells, data)
    _timeliness_sheet(wb, cells, data)
    moment = report_moment(data.date)
    author = words()["template"]["document_author"]
    wb.properties.creator = author
    wb.properties.lastModifiedBy = author
    wb.properties.created = moment
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps "modified" with the current time on save; pin it (and "created") to the report date.
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        core = zf.read("docProps/core.xml")
    core = _CORE_DATES.sub(lambda m: m.group(1) + stamp + m.group(3), core)
    return normalise_zip(buf.getvalue(), moment, replace={"docProps/core.xml": core})


def write_summary(data: ReportData, path: Path) -> Path:
    path = Path(path)
    atomic_write(path, summary_bytes(data))
    return path
