"""Generate the district form (.xlsx) from the plan.

The form is the only thing the districts see of the pipeline, so it carries its own guard rails: every row
has its code in column A (the reader finds rows by code, not by position), only the value cells are
unlocked, and Excel data validation catches a typed letter in a number cell before the file is sent.
The words come from data/form_text.yaml; the codes and columns from layout.py.
"""

from __future__ import annotations

import datetime as dt
import io
from copy import copy
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from pipeline.atomic import atomic_write
from pipeline.forms import layout
from pipeline.forms.zipfix import copy_normalised
from pipeline.plan.model import Item, Plan
from pipeline.safe_text import file_name_part
from pipeline.texts import load_data


#: What a value cell holds; decides its validation and number format.
ValueKind = Literal["form_id", "unit", "date", "report_date", "text", "count", "tenge", "yesno", "status"]
RowKind = Literal["header", "status", "figure", "comment"]

#: Row numbers of the fixed part; the item rows follow the table header.
TITLE_ROW = 1
SUBTITLE_ROW = 2
HINT_ROW = 3
FIRST_HEADER_ROW = 4
DATE_FORMAT = "DD.MM.YYYY"
NUMBER_FORMATS: dict[str, str] = {"count": "#,##0", "tenge": "#,##0.00", "text": "@", "date": DATE_FORMAT}
COLUMN_WIDTHS: dict[int, float] = {
    layout.CODE_COLUMN: 22,
    layout.LABEL_COLUMN: 72,
    layout.MEASURE_COLUMN: 14,
    layout.VALUE_COLUMN: 26,
}

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # pale yellow: "fill me"
_FIXED_FILL = PatternFill("solid", fgColor="E7E6E6")  # grey: prefilled and locked
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_ITEM_FILL = PatternFill("solid", fgColor="F2F2F2")
_WRAP = Alignment(wrap_text=True, vertical="top")
_UNLOCKED = Protection(locked=False)


_FORMAT_OF: dict[str, str] = {
    "report_date": "date", "unit": "text", "form_id": "text", "status": "text", "yesno": "text",
}


class _Styler:
    """Apply a named combination of styles to cells.

    Setting font, fill, border… one by one makes openpyxl hash each style object for every cell, which made
    building a form take ~50 ms; the first cell of each combination is styled normally and the rest copy
    its style index array.
    """

    def __init__(self) -> None:
        self._done: dict[str, Any] = {}

    def __call__(self, cell: Any, key: str, **attrs: Any) -> None:
        if key in self._done:
            cell._style = copy(self._done[key])
            return
        for name, value in attrs.items():
            setattr(cell, name, value)
        self._done[key] = copy(cell._style)


@dataclass(frozen=True)
class FormRow:
    """One value row of a generated form."""

    code: str
    row: int
    kind: RowKind
    value_kind: ValueKind


@dataclass
class BuiltForm:
    """A form in memory: the workbook and where each code's value cell is."""

    workbook: Workbook
    rows: dict[str, FormRow]
    reporter_code: str

    def cell(self, code: str) -> str:
        """A1 address of the value cell of `code`."""
        return f"{get_column_letter(layout.VALUE_COLUMN)}{self.rows[code].row}"


def form_text() -> dict[str, Any]:
    """The form wording (data/form_text.yaml)."""
    return load_data("form_text.yaml")


def fixed_timestamp(plan: Plan) -> dt.datetime:
    """The time stamped into every generated workbook: the campaign start, so output depends on the plan only."""
    return dt.datetime.combine(plan.campaign.starts, dt.time(9, 0))


def form_file_name(plan: Plan, reporter_code: str) -> str:
    """The blank form's file name, in Cyrillic after the unit (as the district sees its name everywhere
    else), e.g. «Нысан - Х ауданы.xlsx»; the pattern is in form_text.yaml."""
    name = file_name_part(reporter_name(plan, reporter_code), limit=80)
    return str(form_text()["file_name"]).format(reporter=name)


def reporter_name(plan: Plan, reporter_code: str) -> str:
    if reporter_code == plan.department.code:
        return plan.department.name
    try:
        return plan.unit_by_code[reporter_code].name
    except KeyError:
        known = ", ".join([u.code for u in plan.units] + [plan.department.code])
        raise ValueError(f"unknown reporting unit {reporter_code!r} (known: {known})") from None


def items_of(plan: Plan, reporter_code: str) -> tuple[Item, ...]:
    reporter_name(plan, reporter_code)  # validates the code
    return plan.items_for(plan.reporter_of(reporter_code))


def _fmt_date(d: dt.date) -> str:
    return d.strftime("%d.%m.%Y")


def _placeholders(plan: Plan, reporter_code: str) -> dict[str, str]:
    return {
        "campaign": plan.campaign.name,
        "year": str(plan.campaign.year),
        "reporter": reporter_name(plan, reporter_code),
        "department": plan.department.name_dative or plan.department.name,
        "rhythm": plan.campaign.rhythm,
        "start": _fmt_date(plan.campaign.starts),
        "end": _fmt_date(plan.campaign.ends),
        "dates": ", ".join(_fmt_date(d.date) for d in plan.reporting_dates if d.kind == "interim"),
        "final_date": _fmt_date(plan.final_date),
        "executor": plan.executor.name,
        "phone": plan.executor.phone,
    }


class _Lists:
    """The hidden sheet of dropdown values; returns the range formula of each list."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.column = 0
        self.ranges: dict[str, str] = {}

    def add(self, key: str, header: str, values: Iterable[object], number_format: str | None = None) -> None:
        self.column += 1
        col = self.column
        letter = get_column_letter(col)
        self.ws.cell(row=1, column=col, value=header).font = Font(bold=True)
        n = 0
        for n, value in enumerate(values, start=1):
            cell = self.ws.cell(row=1 + n, column=col, value=value)
            if number_format:
                cell.number_format = number_format
        self.ws.column_dimensions[letter].width = 28
        self.ranges[key] = f"{quote_sheetname(self.ws.title)}!${letter}$2:${letter}${1 + n}"


class _Validations:
    """One DataValidation per kind of value, each covering all its cells (keeps the file small)."""

    def __init__(self, plan: Plan, lists: _Lists) -> None:
        text = form_text()["validation"]
        year = plan.campaign.year
        date_range = (f"DATE({year - 1},1,1)", f"DATE({year + 1},12,31)")

        def listed(key: str) -> Callable[[], DataValidation]:
            return lambda: DataValidation(
                type="list", formula1=lists.ranges[key], allow_blank=True,
                errorTitle=text["list_title"], error=text["list_error"],
            )

        self._factories: dict[str, Callable[[], DataValidation]] = {
            "count": lambda: DataValidation(
                type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                errorTitle=text["count_title"], error=text["count_error"],
            ),
            "tenge": lambda: DataValidation(
                type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                errorTitle=text["tenge_title"], error=text["tenge_error"],
            ),
            "date": lambda: DataValidation(
                type="date", operator="between", formula1=date_range[0], formula2=date_range[1],
                allow_blank=True, errorTitle=text["date_title"], error=text["date_error"],
            ),
            "status": listed("statuses"),
            "yesno": listed("yes_no"),
            "unit": listed("units"),
            "report_date": listed("dates"),
        }
        self.made: dict[str, DataValidation] = {}

    def add(self, kind: str, cell: str) -> None:
        if kind not in self._factories:
            return
        if kind not in self.made:
            dv = self._factories[kind]()
            dv.showErrorMessage = True
            self.made[kind] = dv
        self.made[kind].add(cell)


def build_form(plan: Plan, reporter_code: str, report_date: dt.date | None = None) -> BuiltForm:
    """Build the form workbook for one unit (or the department) in memory."""
    text = form_text()
    measures: dict[str, str] = text["measures"]
    values = _placeholders(plan, reporter_code)
    items = items_of(plan, reporter_code)
    if report_date is not None and report_date not in plan.dates:
        raise ValueError(f"{report_date} is not a reporting date of the plan")

    wb = Workbook()
    ws = wb.active
    ws.title = layout.FORM_SHEET
    instructions = wb.create_sheet(layout.INSTRUCTIONS_SHEET)
    lists = _Lists(wb.create_sheet(layout.LISTS_SHEET))
    lists.ws.sheet_state = "hidden"
    lists.add("statuses", text["list_headers"]["statuses"], [s.label for s in plan.statuses])
    lists.add("yes_no", text["list_headers"]["yes_no"], [plan.yes_no.yes.label, plan.yes_no.no.label])
    lists.add("units", text["list_headers"]["units"], [u.name for u in plan.units] + [plan.department.name])
    lists.add("dates", text["list_headers"]["dates"], plan.dates, DATE_FORMAT)
    validations = _Validations(plan, lists)

    for col, width in COLUMN_WIDTHS.items():
        ws.column_dimensions[get_column_letter(col)].width = width

    # Title block: merged across the table so it prints centred.
    last_col = get_column_letter(layout.VALUE_COLUMN)
    for row, key, font in (
        (TITLE_ROW, "title", Font(bold=True, size=13)),
        (SUBTITLE_ROW, "subtitle", Font(bold=True, size=11)),
        (HINT_ROW, "hint", Font(italic=True, size=10, color="C00000")),
    ):
        cell = ws.cell(row=row, column=1, value=text[key].format(**values))
        cell.font = font
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.merge_cells(f"A{row}:{last_col}{row}")
        ws.row_dimensions[row].height = 32 if row != HINT_ROW else 18

    rows: dict[str, FormRow] = {}
    style = _Styler()

    def value_row(row: int, code: str, label: str, measure: str, kind: RowKind, value_kind: ValueKind,
                  indent: int = 0, bold: bool = False, italic: bool = False) -> None:
        style(ws.cell(row=row, column=layout.CODE_COLUMN, value=code), "plain", border=_BORDER, alignment=_WRAP)
        style(
            ws.cell(row=row, column=layout.LABEL_COLUMN, value=label), f"label:{indent}:{bold}:{italic}",
            border=_BORDER, font=Font(bold=bold, italic=italic),
            alignment=Alignment(wrap_text=True, vertical="top", indent=indent),
        )
        style(ws.cell(row=row, column=layout.MEASURE_COLUMN, value=measure), "plain", border=_BORDER,
              alignment=_WRAP)
        cell = ws.cell(row=row, column=layout.VALUE_COLUMN)
        fmt = NUMBER_FORMATS.get(_FORMAT_OF.get(value_kind, value_kind), "General")
        if value_kind == "form_id":
            style(cell, "fixed", border=_BORDER, alignment=_WRAP, fill=_FIXED_FILL, number_format=fmt)
        else:
            style(cell, f"value:{fmt}", border=_BORDER, alignment=_WRAP, fill=_INPUT_FILL, protection=_UNLOCKED,
                  number_format=fmt)
        validations.add(value_kind, cell.coordinate)
        _fit_height(ws, row, label, indent)
        rows[code] = FormRow(code=code, row=row, kind=kind, value_kind=value_kind)

    # Header rows: the form's identity and who filled it (the plan may name its units' row: «Облыс (қала)»).
    labels = dict(text["header_labels"])
    if plan.region.unit_label:
        labels[layout.HEADER_CODES["unit"]] = plan.region.unit_label
    header_kinds: dict[str, tuple[ValueKind, str]] = {
        layout.FORM_ID_CODE: ("form_id", measures["text"]),
        layout.HEADER_CODES["unit"]: ("unit", measures["list"]),
        layout.HEADER_CODES["report_date"]: ("report_date" if report_date is None else "date", measures["date"]),
        layout.HEADER_CODES["executor"]: ("text", measures["text"]),
        layout.HEADER_CODES["phone"]: ("text", measures["text"]),
        layout.HEADER_CODES["filled_date"]: ("date", measures["date"]),
    }
    row = FIRST_HEADER_ROW
    for code, (value_kind, measure) in header_kinds.items():
        value_row(row, code, labels[code], measure, "header", value_kind, bold=True)
        row += 1
    ws.cell(row=rows[layout.FORM_ID_CODE].row, column=layout.VALUE_COLUMN, value=layout.form_id(plan))
    ws.cell(row=rows[layout.HEADER_CODES["unit"]].row, column=layout.VALUE_COLUMN, value=values["reporter"])
    if report_date is not None:
        ws.cell(row=rows[layout.HEADER_CODES["report_date"]].row, column=layout.VALUE_COLUMN, value=report_date)

    # Table header.
    row += 1
    table_header_row = row
    heads = text["table_headers"]
    for col, value in (
        (layout.CODE_COLUMN, heads["code"]),
        (layout.LABEL_COLUMN, heads["label"]),
        (layout.MEASURE_COLUMN, heads["measure"]),
        (layout.VALUE_COLUMN, layout.VALUE_HEADERS[0]),
    ):
        cell = ws.cell(row=row, column=col, value=value)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    # Item blocks, in plan order.
    for item in items:
        row += 1
        ws.cell(row=row, column=layout.CODE_COLUMN, value=item.code)
        ws.cell(row=row, column=layout.LABEL_COLUMN, value=item.title)
        for col in range(1, layout.VALUE_COLUMN + 1):
            style(ws.cell(row=row, column=col), "item", font=Font(bold=True), fill=_ITEM_FILL, border=_BORDER,
                  alignment=_WRAP)
        _fit_height(ws, row, item.title, bold=True)
        row += 1
        value_row(row, item.status_code, text["status_label"], measures["list"], "status", "status")
        for fig in item.figures:
            row += 1
            # "Of which" figures are indented and italic, so the hierarchy shows on screen and on paper.
            value_row(row, fig.code, fig.label, measures[fig.unit], "figure", fig.unit,
                      indent=2 if fig.of else 0, italic=fig.of is not None)
        row += 1
        value_row(row, item.comment_code, text["comment_label"], measures["text"], "comment", "text")
        # Room for two lines: comments wrap, and a generated file's rows are not re-measured everywhere.
        ws.row_dimensions[row].height = 30

    for dv in validations.made.values():
        ws.add_data_validation(dv)
    for code, form_row in rows.items():
        ref = f"{quote_sheetname(ws.title)}!${get_column_letter(layout.VALUE_COLUMN)}${form_row.row}"
        name = layout.defined_name(code)
        wb.defined_names[name] = DefinedName(name, attr_text=ref)

    ws.freeze_panes = ws.cell(row=table_header_row + 1, column=1)
    ws.print_title_rows = f"{table_header_row}:{table_header_row}"
    _print_setup(ws)
    ws.protection.sheet = True  # no password: a district may unprotect if it really must
    _write_instructions(instructions, plan, reporter_code)

    props = wb.properties
    props.creator = plan.department.name
    props.lastModifiedBy = plan.department.name
    props.title = text["title"].format(**values)
    props.subject = reporter_name(plan, reporter_code)
    props.identifier = layout.form_id(plan)
    props.created = props.modified = fixed_timestamp(plan)
    return BuiltForm(workbook=wb, rows=rows, reporter_code=reporter_code)


def _fit_height(ws: Worksheet, row: int, label: str, indent: int = 0, bold: bool = False) -> None:
    """Set the height of a row whose label wraps.

    Spreadsheet programs do not always re-measure wrapped rows of a generated file (LibreOffice headless,
    printing), so long titles would overflow; an estimate from the label length is good enough.
    """
    per_line = (COLUMN_WIDTHS[layout.LABEL_COLUMN] - 2 * indent) / (1.12 if bold else 1.0)
    lines = max(1, -(-len(label) // int(per_line)))
    if lines > 1:
        ws.row_dimensions[row].height = 15 * lines + 2


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6


def _write_instructions(ws: Worksheet, plan: Plan, reporter_code: str) -> None:
    text = form_text()
    values = _placeholders(plan, reporter_code)
    ws.column_dimensions["A"].width = 5
    ws.column_dimensions["B"].width = 100
    ws.cell(row=1, column=2, value=text["instructions_title"]).font = Font(bold=True, size=13)
    for n, line in enumerate(text["instructions"], start=1):
        ws.cell(row=n + 2, column=1, value=n).alignment = _WRAP
        ws.cell(row=n + 2, column=2, value=line.format(**values)).alignment = _WRAP
    _print_setup(ws)


def save_workbook(wb: Workbook, path: Path, stamp: dt.datetime) -> Path:
    """Save whole-or-nothing with reproducible bytes (fixed document dates and zip timestamps)."""
    # openpyxl's save_workbook() overwrites `modified` with the current time; its writer does not.
    wb.properties.created = wb.properties.modified = stamp
    # Built uncompressed in memory and compressed once while fixing the timestamps.
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True)).save()

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(fh, "w", allowZip64=True) as dst:
            copy_normalised(src, dst, stamp.timetuple()[:6], compress_type=zipfile.ZIP_DEFLATED)

    return atomic_write(Path(path), write)


def write_form(plan: Plan, reporter_code: str, path: Path, report_date: dt.date | None = None) -> Path:
    """Write the form of one unit (or of the department, `plan.department.code`) to `path`."""
    built = build_form(plan, reporter_code, report_date)
    return save_workbook(built.workbook, Path(path), fixed_timestamp(plan))


def write_all_forms(plan: Plan, outdir: Path) -> list[Path]:
    """One form per unit and one for the department, named after it in Cyrillic (`form_file_name`)."""
    outdir = Path(outdir)
    codes = [u.code for u in plan.units] + [plan.department.code]
    return [write_form(plan, code, outdir / form_file_name(plan, code)) for code in codes]
