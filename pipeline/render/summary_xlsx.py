"""Workbook for analysts: figures per reporting date, statuses and timeliness, with deterministic bytes.

In Kazakh. Nothing of a campaign in its fixed words: the unit column's header, the units' total row and
the workbook's author come from the plan (`region.units`, `department.name`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pipeline.aggregate.model import ReportData
from pipeline.atomic import atomic_write
from pipeline.plan.model import Figure
from pipeline.render.cells import safe_cell_text
from pipeline.render.docx import report_moment
from pipeline.render.language import KAZAKH
from pipeline.render.reuse import OutputCache, frame_digest, key_of
from pipeline.render.xlsx_writer import Book, Cell, sheet_xml
from pipeline.safe_text import starts_formula
from pipeline.texts import load_data

NAME_WIDTH = 30  # «Облыстық білім басқармасы» in bold fits
FIGURE_WIDTH = 14
HEADER_CHARS_PER_LINE = 11  # bold Cyrillic in a 14-wide column, as LibreOffice wraps it
LINE_HEIGHT = 15  # points
# Amounts are shown in thousands of tenge, as in the report («мың теңге» in the header).
TENGE_SCALE = 1000.0

Row = list[Cell]


class _Cells:
    """Cells of one workbook as (value, style id) pairs: no object per cell, each style registered once.

    Every text cell is district text made safe (masked, XML-safe, within Excel's limit), always a string
    cell, and one that starts like a formula carries the quote prefix, so a program that re-evaluates the
    cell on edit still keeps it text."""

    def __init__(self, book: Book) -> None:
        self.book = book
        # Every style this workbook can use, registered up front in a fixed order: style ids (and with them
        # a sheet's XML) then depend on nothing but the sheet's own content, so a sheet can be reused.
        formats = sorted({str(f) for f in summary_words()["number_format"].values()})
        for bold in (False, True):
            for wrap in (False, True):
                for quote in (False, True):
                    book.style(bold, wrap, None, quote)
            for fmt in formats:
                book.style(bold, False, fmt, False)

    def text(self, value: object, *, bold: bool = False, wrap: bool = False) -> Cell:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = safe_cell_text(str(value))
        return (text, self.book.style(bold, wrap, None, starts_formula(text)))

    def number(self, value: object, fmt: str, *, bold: bool = False) -> Cell:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            # A totals row is bold across, blanks included, so a figure typed in later reads as a total.
            return (None, self.book.style(True)) if bold else None  # type: ignore[return-value]
        return (float(value), self.book.style(bold, False, fmt, False))  # type: ignore[arg-type]


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


def _figures_sheet(book: Book, cells: _Cells, data: ReportData, date: Any, reuse: OutputCache | None = None,
                   plan_repr: str = "") -> None:
    plan, w = data.plan, KAZAKH.words["xlsx"]
    frame = data.history[date]
    key = ""
    if reuse is not None:
        # Everything the sheet shows: its date's figures (the total is their sum), the department's own
        # figures that date, the plan's units and figures, and the workbook's style table.
        key = key_of("summary-sheet", [date, frame_digest(frame), data.department_at(date), plan_repr,
                                       book.signature()])
        xml = reuse.get(key)
        if xml is not None:
            book.add_sheet(date.isoformat(), xml)
            return
    figures = [f for f in plan.figures if f.numeric]
    formats = [number_format(fig.unit) for fig in figures]
    headers = [header(fig) for fig in figures]
    # A saved file's row does not grow for wrapped text on its own: the header row gets the height it needs.
    lines = max(math.ceil(len(h) / HEADER_CHARS_PER_LINE) for h in headers) if headers else 1
    rows: list[Row] = [
        [cells.text(plan.region.units.header, bold=True, wrap=True)] + [cells.text(h, bold=True, wrap=True) for h in headers],
        [cells.text(w["code"], bold=True)] + [cells.text(fig.code) for fig in figures],
    ]
    # One column at a time out of the frame: `frame.at` per unit × figure was the other half of the time.
    present = [fig.code in frame.columns for fig in figures]
    columns = [frame[fig.code].tolist() if ok else None for fig, ok in zip(figures, present)]
    position = {code: i for i, code in enumerate(frame.index.tolist())}
    for unit in plan.units:
        i = position.get(unit.code)
        row: Row = [cells.text(unit.name)]
        for fig, column, fmt in zip(figures, columns, formats):
            # Thousands of tenge keep every digit (a float, not rounded); the format only shows one decimal.
            row.append(cells.number(shown(fig, column[i]), fmt) if column is not None and i is not None
                       else None)
        rows.append(row)
    totals = data.totals_at(date)
    # The total of a yes/no column is the number of units that said yes: a count, not a word.
    total_formats = [number_format("count") if fig.unit == "yesno" else fmt for fig, fmt in zip(figures, formats)]
    # The units' sum: the department's own figures are on the next row, not in it (figures.csv's `oblast`).
    units_total = str(w["units_total"]).format(units=plan.region.units.nominative)
    rows.append([cells.text(units_total[:1].upper() + units_total[1:], bold=True)]
                + [cells.number(shown(fig, totals.get(fig.code)), fmt, bold=True)
                   for fig, fmt in zip(figures, total_formats)])
    # The department's own figures (the items it reports itself, and its share of those it reports with the
    # units) are not part of the units' total.
    own = data.department_at(date).figures
    rows.append([cells.text(plan.department.name, bold=True)]
                + [cells.number(shown(fig, own.get(fig.code)), fmt) for fig, fmt in zip(figures, formats)])
    widths = {1: NAME_WIDTH, **{j: FIGURE_WIDTH for j in range(2, len(figures) + 2)}}
    xml = sheet_xml(rows, freeze="B3", widths=widths, heights={1: LINE_HEIGHT * lines})
    if reuse is not None:
        reuse.put(key, xml)
    book.add_sheet(date.isoformat(), xml)


def _statuses_sheet(book: Book, cells: _Cells, data: ReportData) -> None:
    plan, w = data.plan, KAZAKH.words["xlsx"]
    items = list(plan.items)
    text_codes = list(data.texts.columns)
    widths = {1: NAME_WIDTH, **{k: 40 for k in range(len(items) + 2, len(items) + 2 + len(text_codes))}}
    rows: list[Row] = [
        [cells.text(plan.region.units.header, bold=True)]
        + [cells.text(item.code, bold=True) for item in items]
        + [cells.text(plan.figure_by_code[code].label if code in plan.figure_by_code else code, bold=True)
           for code in text_codes]
    ]
    # Plain dicts, read once: `DataFrame.at` per unit × item was most of this sheet's time at 1,667 units.
    statuses = data.statuses.to_dict()
    comments = data.comments.to_dict()
    texts = data.texts.to_dict()
    for unit in plan.units:
        row: Row = [cells.text(unit.name)]
        for item in items:
            code = statuses[item.code].get(unit.code) if item.code in statuses else None
            label = plan.status_by_code[code].label if isinstance(code, str) and code in plan.status_by_code else ""
            comment = comments[item.code].get(unit.code) if item.code in comments else None
            if isinstance(comment, str) and comment:
                row.append(cells.text(f"{label}: {comment}" if label else comment))
            else:
                row.append(cells.text(label) if label else None)
        row += [cells.text(texts[code].get(unit.code)) for code in text_codes]
        rows.append(row)
    department = data.department
    row = [cells.text(plan.department.name, bold=True)]
    for item in items:
        code = department.statuses.get(item.code)
        label = plan.status_by_code[code].label if code in plan.status_by_code else ""
        comment = department.comments.get(item.code)
        row.append(cells.text(f"{label}: {comment}" if label and comment else (comment or label or None)))
    rows.append(row)
    book.add_sheet(w["statuses_sheet"], sheet_xml(rows, freeze="B2", widths=widths))


def _timeliness_sheet(book: Book, cells: _Cells, data: ReportData) -> None:
    plan, w = data.plan, KAZAKH.words["xlsx"]
    states = KAZAKH.words["timeliness"]
    widths = dict(zip(range(1, 6), (24, 18, 22, 12, 32)))
    sheet: list[Row] = [[cells.text(head, bold=True)
                         for head in (plan.region.units.header, w["reporting_date"], w["state"], w["days_late"],
                                      w["file"])]]
    order = {u.code: n for n, u in enumerate(plan.units)}
    rows = sorted(data.timeliness, key=lambda t: (t.date, order.get(t.unit, 99)))
    short_dates: dict[Any, str] = {}
    for t in rows:
        unit = plan.unit_by_code.get(t.unit)
        if t.date not in short_dates:
            short_dates[t.date] = KAZAKH.table_date(t.date)
        sheet.append([
            cells.text(unit.name if unit else t.unit),
            cells.text(short_dates[t.date]),
            cells.text(states[t.state] if t.state != "late" else states["late_total"]),
            cells.number(t.days_late, number_format("days")),
            cells.text(t.file),
        ])
    book.add_sheet(w["timeliness_sheet"], sheet_xml(sheet, freeze="A2", widths=widths))


def summary_bytes(data: ReportData, reuse: OutputCache | None = None) -> bytes:
    """`reuse`: date sheets kept from earlier runs, used again when everything they show is unchanged."""
    book = Book()
    cells = _Cells(book)
    plan_repr = repr(data.plan) if reuse is not None else ""
    for date in sorted(d for d in data.history if d <= data.date):
        _figures_sheet(book, cells, data, date, reuse, plan_repr)
    _statuses_sheet(book, cells, data)
    _timeliness_sheet(book, cells, data)
    # Dated to the report, not to the moment of writing: the same data give the same bytes.
    return book.save(creator=data.plan.department.name, moment=report_moment(data.date))


def write_summary(data: ReportData, path: Path, reuse: OutputCache | None = None) -> Path:
    path = Path(path)
    atomic_write(path, summary_bytes(data, reuse))
    return path
