"""Feedback workbooks the department can send straight back to a district.

For each file with problems the district can fix in the workbook (not lateness or a later correction,
see `NOT_IN_WORKBOOK`): a copy of the district's own workbook with every problem cell highlighted and
a Kazakh comment on it, and a first sheet listing all problems. An .xlsx/.xlsm is copied as it is; an .xls
or .ods (which openpyxl cannot write back) is rebuilt as a fresh form filled with the values that were
read, and its problem cells are found by row code. The inbox is only ever read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from pipeline.forms import BuiltForm, build_form, fixed_timestamp, save_workbook
from pipeline.forms.layout import FORM_SHEET
from pipeline.plan.model import Plan
from pipeline.texts import load_data
from pipeline.problems import Problem
from pipeline.verdicts import FileVerdict

FILLS = {
    "error": PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE"),
    "warning": PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C"),
}
# Problems of timing or of which file was chosen: the district cannot fix them in the workbook, so on
# their own they are no reason to send it back (issues.csv and manifest.json still carry them).
NOT_IN_WORKBOOK = frozenset({"submission-late", "submission-superseded", "submission-after-date"})
MESSAGE_CHARS_PER_LINE = 70  # what fits in the 80-wide message column, measured in LibreOffice
_A1 = re.compile(r"^[A-Z]{1,3}[1-9][0-9]*$")


def feedback_text() -> dict[str, object]:
    return load_data("feedback.yaml")


def write_feedback(plan: Plan, files: Iterable[FileVerdict], outdir: Path, inbox: Path) -> dict[str, Path]:
    """Write the feedback workbooks; returns inbox file name → feedback workbook."""
    written: dict[str, Path] = {}
    for verdict in files:
        problems = [p for p in verdict.problems if p.severity in ("error", "warning")]
        if not needs_feedback(problems) or verdict.raw.format is None or not verdict.raw.cells:
            continue  # nothing to fix in the workbook, or nothing readable to send back; issues.csv has it
        workbook = _open_copy(inbox / verdict.raw.name) if verdict.raw.format in ("xlsx", "xlsm") else None
        if workbook is None:
            built = _rebuilt(plan, verdict)
            workbook = built.workbook
            problems = _moved_to_rebuilt(built, verdict, problems)
        _mark(workbook, problems)
        _problem_sheet(workbook, verdict, problems)
        written[verdict.raw.name] = save_workbook(workbook, outdir / _feedback_name(verdict), fixed_timestamp(plan))
    return written


def needs_feedback(problems: Iterable[Problem]) -> bool:
    """A workbook goes back only for an error or warning the district can correct in it."""
    return any(p.severity in ("error", "warning") and p.code not in NOT_IN_WORKBOOK for p in problems)


def _feedback_name(verdict: FileVerdict) -> str:
    sub = verdict.submission
    unit = sub.unit if sub and sub.unit else "unknown"
    date = sub.report_date.isoformat() if sub and sub.report_date else "nodate"
    stem = re.sub(r"[^\w.-]+", "_", Path(verdict.raw.name).stem)[:60]
    return f"{unit}-{date}-{stem}.xlsx"


def _open_copy(path: Path) -> Workbook | None:
    try:
        return load_workbook(path, keep_links=False)
    except Exception:  # noqa: BLE001 - a hostile file may break openpyxl in any way; a rebuilt form serves
        return None


def _rebuilt(plan: Plan, verdict: FileVerdict) -> BuiltForm:
    sub = verdict.submission
    reporter = sub.unit if sub and sub.unit else plan.units[0].code
    built = build_form(plan, reporter, sub.report_date if sub else None)
    ws = built.workbook[FORM_SHEET]
    for code, raw_cell in verdict.raw.cells.items():
        if code not in built.rows or raw_cell.empty:
            continue
        value = raw_cell.value
        if isinstance(value, (dt.time, dt.timedelta)):
            value = str(value)
        ws[built.cell(code)] = value
    return built


def _moved_to_rebuilt(built: BuiltForm, verdict: FileVerdict, problems: list[Problem]) -> list[Problem]:
    """Problem cells of an .xls/.ods point at the original layout; re-point them by row code."""
    code_at = {(c.sheet, c.cell): code for code, c in verdict.raw.cells.items()}
    moved = []
    for p in problems:
        code = code_at.get((p.sheet, p.cell)) if p.cell else None
        if code and code in built.rows:
            moved.append(Problem(p.code, p.file, FORM_SHEET, built.cell(code), p.params))
        else:
            moved.append(p)
    return moved


def _mark(workbook: Workbook, problems: list[Problem]) -> None:
    author = str(feedback_text()["author"])
    by_cell: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        if p.sheet in workbook.sheetnames and p.cell and _A1.match(p.cell):
            by_cell.setdefault((p.sheet, p.cell), []).append(p)
    for (sheet, cell), here in by_cell.items():
        target = workbook[sheet][cell]
        severity = "error" if any(p.severity == "error" for p in here) else "warning"
        try:
            target.fill = FILLS[severity]
            text = "\n".join(f"[{p.code}] {p.message}" for p in here)
            target.comment = Comment(text, author, width=320, height=160)
        except AttributeError:
            continue  # a merged cell's inner part cannot carry a comment; the list sheet still names it


def _problem_sheet(workbook: Workbook, verdict: FileVerdict, problems: list[Problem]) -> None:
    text = feedback_text()
    ws = workbook.create_sheet(str(text["sheet"]), 0)
    workbook.active = 0
    ws["A1"] = str(text["title"]).format(file=verdict.raw.name)
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"] = str(text["intro"])
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.merge_cells("A2:E2")
    ws.row_dimensions[2].height = 45
    headers = list(text["columns"])  # type: ignore[arg-type]
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=4, column=col, value=header)
        cell.font = Font(bold=True)
    severity_words = text["severity"]  # type: ignore[assignment]
    for i, p in enumerate(problems, start=1):
        row = 4 + i
        values = [i, "!".join(x for x in (p.sheet, p.cell) if x) or "—", severity_words[p.severity], p.code, p.message]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.data_type = "s" if isinstance(value, str) else cell.data_type
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=row, column=3).fill = FILLS[p.severity]
        # Spreadsheet programs do not grow rows for wrapped text on their own when printing a saved file.
        ws.row_dimensions[row].height = 15 * (1 + len(p.message) // MESSAGE_CHARS_PER_LINE)
    for col, width in zip("ABCDE", (5, 14, 12, 26, 80)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A5"
    ws.merge_cells("A1:E1")
    # Printed to be sent back: landscape, all columns on one page width.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
