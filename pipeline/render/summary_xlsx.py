"""Workbook for analysts: figures per reporting date, statuses and timeliness, with deterministic bytes."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.aggregate.model import ReportData
from pipeline.render.docx import atomic_write, normalise_zip, report_moment
from pipeline.render.kazakh import fmt_date_short, words

COUNT_FORMAT = "# ##0"
AMOUNT_FORMAT = "# ##0.0"
# Text starting with one of these would be read by Excel as a formula (formula injection).
_FORMULA_START = ("=", "+", "-", "@")
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _text_cell(ws: Worksheet, row: int, col: int, value: object) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    text = str(value)
    cell.value = text
    # openpyxl turns any string starting with "=" into a formula; force it back to a string.
    cell.data_type = "s"
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True


def _number_cell(ws: Worksheet, row: int, col: int, value: object, fmt: str) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    cell = ws.cell(row=row, column=col, value=float(value))  # type: ignore[arg-type]
    cell.number_format = fmt


def _figures_sheet(wb: Workbook, data: ReportData, date: Any) -> None:
    plan, w = data.plan, words()["xlsx"]
    ws = wb.create_sheet(date.isoformat())
    figures = [f for f in plan.figures if f.numeric]
    frame = data.history[date]
    ws.cell(row=1, column=1, value=w["unit"]).font = Font(bold=True)
    ws.cell(row=2, column=1, value=w["code"]).font = Font(bold=True)
    for j, fig in enumerate(figures, start=2):
        _text_cell(ws, 1, j, fig.label)
        _text_cell(ws, 2, j, fig.code)
        ws.cell(row=1, column=j).font = Font(bold=True)
        ws.cell(row=1, column=j).alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = 14
    ws.column_dimensions["A"].width = 24
    row = 3
    for unit in plan.units:
        _text_cell(ws, row, 1, unit.name)
        for j, fig in enumerate(figures, start=2):
            value = frame.at[unit.code, fig.code] if unit.code in frame.index and fig.code in frame.columns else None
            fmt = AMOUNT_FORMAT if fig.unit == "tenge" else COUNT_FORMAT
            # Amounts stay in tenge here: analysts need the exact figure, the format only groups thousands.
            _number_cell(ws, row, j, value, fmt)
        row += 1
    totals = data.totals_at(date)
    _text_cell(ws, row, 1, w["total"])
    ws.cell(row=row, column=1).font = Font(bold=True)
    for j, fig in enumerate(figures, start=2):
        fmt = AMOUNT_FORMAT if fig.unit == "tenge" else COUNT_FORMAT
        _number_cell(ws, row, j, totals.get(fig.code), fmt)
        ws.cell(row=row, column=j).font = Font(bold=True)
    ws.freeze_panes = "B3"


def _statuses_sheet(wb: Workbook, data: ReportData) -> None:
    plan, w = data.plan, words()["xlsx"]
    ws = wb.create_sheet(w["statuses_sheet"])
    ws.cell(row=1, column=1, value=w["unit"]).font = Font(bold=True)
    items = list(plan.items)
    for j, item in enumerate(items, start=2):
        _text_cell(ws, 1, j, item.code)
        ws.cell(row=1, column=j).font = Font(bold=True)
    text_codes = list(data.texts.columns)
    for k, code in enumerate(text_codes, start=len(items) + 2):
        _text_cell(ws, 1, k, plan.figure_by_code[code].label if code in plan.figure_by_code else code)
        ws.cell(row=1, column=k).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(k)].width = 40
    ws.column_dimensions["A"].width = 24
    for i, unit in enumerate(plan.units, start=2):
        _text_cell(ws, i, 1, unit.name)
        for j, item in enumerate(items, start=2):
            code = data.statuses.at[unit.code, item.code] if item.code in data.statuses.columns else None
            if isinstance(code, str) and code in plan.status_by_code:
                _text_cell(ws, i, j, plan.status_by_code[code].label)
            comment = data.comments.at[unit.code, item.code] if item.code in data.comments.columns else None
            if isinstance(comment, str) and comment:
                ws.cell(row=i, column=j).value = None
                label = plan.status_by_code[code].label if isinstance(code, str) and code in plan.status_by_code else ""
                _text_cell(ws, i, j, f"{label}: {comment}" if label else comment)
        for k, code in enumerate(text_codes, start=len(items) + 2):
            _text_cell(ws, i, k, data.texts.at[unit.code, code])
    ws.freeze_panes = "B2"


def _timeliness_sheet(wb: Workbook, data: ReportData) -> None:
    plan, w = data.plan, words()["xlsx"]
    states = words()["timeliness"]
    ws = wb.create_sheet(w["timeliness_sheet"])
    for j, head in enumerate([w["unit"], w["reporting_date"], w["state"], w["days_late"], w["file"]], start=1):
        ws.cell(row=1, column=j, value=head).font = Font(bold=True)
    order = {u.code: n for n, u in enumerate(plan.units)}
    rows = sorted(data.timeliness, key=lambda t: (t.date, order.get(t.unit, 99)))
    for i, t in enumerate(rows, start=2):
        unit = plan.unit_by_code.get(t.unit)
        _text_cell(ws, i, 1, unit.name if unit else t.unit)
        _text_cell(ws, i, 2, fmt_date_short(t.date))
        _text_cell(ws, i, 3, states[t.state] if t.state != "late" else states["late_total"])
        _number_cell(ws, i, 4, t.days_late, COUNT_FORMAT)
        _text_cell(ws, i, 5, t.file)
    for col, width in zip("ABCDE", (24, 18, 22, 12, 32)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"


def summary_bytes(data: ReportData) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for date in sorted(d for d in data.history if d <= data.date):
        _figures_sheet(wb, data, date)
    _statuses_sheet(wb, data)
    _timeliness_sheet(wb, data)
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
