"""Feedback workbooks the department can send straight back to a district.

For each file with problems the district can fix in the workbook (not lateness or a later correction,
see `NOT_IN_WORKBOOK`): a copy of the district's own workbook with every problem cell highlighted and
a Kazakh comment on it, and a first sheet listing all problems. An .xlsx/.xlsm is copied with every text
masked (see `_scrub`); an .xls or .ods (which openpyxl cannot write back), or an .xlsx it cannot open or
whose copy still shows personal data, is rebuilt as a fresh form filled with the values that were read,
and its problem cells are found by row code. The inbox is only ever read.

Everything a district typed reaches these workbooks as text (pipeline.render.cells.put_text): masked,
XML-safe and never a live formula.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipeline.forms.layout import FORM_SHEET
from pipeline.plan.model import Plan
from pipeline.privacy import MASK, mask
from pipeline.problems import Problem
from pipeline.atomic import atomic_write
from pipeline.render.cells import number_is_personal, put_text, safe_cell_text
from pipeline.render.reuse import OutputCache, key_of
from pipeline.safe_text import file_name_part
from pipeline.texts import load_data
from pipeline.verdicts import FileVerdict

if TYPE_CHECKING:
    # openpyxl is imported where a workbook is really written: a run whose files need no feedback (a
    # re-run after one good file) does not load it.
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell

    from pipeline.forms import BuiltForm
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.worksheet import Worksheet

# Problems of timing or of which file was chosen: the district cannot fix them in the workbook, so on
# their own they are no reason to send it back (issues.csv and manifest.json still carry them).
NOT_IN_WORKBOOK = frozenset({"submission-late", "submission-superseded", "submission-after-date"})
MESSAGE_CHARS_PER_LINE = 70  # what fits in the 80-wide message column, measured in LibreOffice
_A1 = re.compile(r"^[A-Z]{1,3}[1-9][0-9]*$")
# A district's formula stays live in its copy only when it is plain arithmetic over cells: no text literal
# (which could carry personal data or a lure) and no function but these. Anything else becomes its text.
_SAFE_FUNCTIONS = frozenset({"SUM", "ROUND", "MIN", "MAX", "AVERAGE", "ABS", "COUNT", "COUNTA", "IF", "IFERROR"})
_FUNCTION = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")
_SHEET_TITLE_UNSAFE = re.compile(r"[\[\]:*?/\\]")
_SHEET_TITLE_CHARS = 31
_XML_TEXT = re.compile(r">([^<]+)<|=\"([^\"]*)\"")
STEM_CHARS = 40
TAG_CHARS = 8


def feedback_text() -> dict[str, Any]:
    return load_data("feedback.yaml")


def fills() -> dict[str, PatternFill]:
    from openpyxl.styles import PatternFill

    colours = feedback_text()["fill"]
    # Opaque (alpha FF): an ARGB of 00… is read as transparent by some programs.
    return {severity: PatternFill("solid", start_color=f"FF{rgb}", end_color=f"FF{rgb}")
            for severity, rgb in colours.items()}


def write_feedback(plan: Plan, files: Iterable[FileVerdict], outdir: Path, inbox: Path,
                   reuse: OutputCache | None = None) -> dict[str, Path]:
    """Write the feedback workbooks; returns inbox file name → feedback workbook. `reuse`: workbooks kept
    from earlier runs, keyed by the whole verdict (the file's bytes by sha256, its name, its submission and
    problems), the plan and the code and wording that make them (see `pipeline.render.reuse`)."""
    written: dict[str, Path] = {}
    plan_repr = repr(plan) if reuse is not None else ""
    for verdict in files:
        problems = [p for p in verdict.problems if p.severity in ("error", "warning")]
        if not needs_feedback(problems) or verdict.raw.format is None or not verdict.raw.cells:
            continue  # nothing to fix in the workbook, or nothing readable to send back; issues.csv has it
        path = outdir / feedback_name(verdict)
        key = key_of("feedback", [verdict, plan_repr]) if reuse is not None else ""
        kept = reuse.get(key) if reuse is not None else None
        if kept is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, kept)
            written[verdict.raw.name] = path
            continue
        if verdict.raw.format in ("xlsx", "xlsm") and _write_copy(plan, _source(verdict, inbox), verdict, problems, path):
            written[verdict.raw.name] = path
        else:
            built = _rebuilt(plan, verdict)
            moved = _moved_to_rebuilt(built, verdict, problems)
            _mark(built.workbook, moved, plan.department.name)
            _problem_sheet(built.workbook, verdict, moved, plan.department.name)
            from pipeline.forms import fixed_timestamp, save_workbook

            written[verdict.raw.name] = save_workbook(built.workbook, path, fixed_timestamp(plan))
        if reuse is not None:
            reuse.put(key, path.read_bytes())
    return written


def needs_feedback(problems: Iterable[Problem]) -> bool:
    """A workbook goes back only for an error or warning the district can correct in it."""
    return any(p.severity in ("error", "warning") and p.code not in NOT_IN_WORKBOOK for p in problems)


def _source(verdict: FileVerdict, inbox: Path) -> Path:
    """The district's own file on disk: its listed name may have been masked or made valid UTF-8."""
    return Path(verdict.raw.source) if verdict.raw.source else inbox / verdict.raw.name


def feedback_name(verdict: FileVerdict) -> str:
    """`<unit>-<date>-<stem>-<tag>.xlsx`: the tag (from the inbox-relative path) keeps two districts'
    `Нысан.xlsx` in different subfolders apart; the stem is masked and made a safe file name part."""
    sub = verdict.submission
    unit = sub.unit if sub and sub.unit else "unknown"
    date = sub.report_date.isoformat() if sub and sub.report_date else "nodate"
    stem = file_name_part(mask(PurePosixPath(verdict.raw.name).stem)[0], STEM_CHARS)
    # The listed name may be masked (two names differing only in an ИИН list alike), so the file's own
    # sha256 joins it; surrogateescape: a name that is not valid UTF-8 still hashes.
    key = f"{verdict.raw.name}\n{verdict.raw.sha256}".encode("utf-8", "surrogateescape")
    tag = hashlib.sha256(key).hexdigest()[:TAG_CHARS]
    return f"{unit}-{date}-{stem}-{tag}.xlsx"


# --- the copy of the district's own xlsx ---------------------------------------------------------------------

def _write_copy(plan: Plan, source: Path, verdict: FileVerdict, problems: list[Problem], path: Path) -> bool:
    """The district's workbook, scrubbed and marked; False when it cannot be opened, written or made clean."""
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(source, keep_links=False)
        titles = _scrub(workbook)
        here = [Problem(p.code, p.file, titles.get(p.sheet, p.sheet) if p.sheet else None, p.cell, p.params)
                for p in problems]
        _mark(workbook, here, plan.department.name)
        _problem_sheet(workbook, verdict, here, plan.department.name)
        from pipeline.forms import fixed_timestamp, save_workbook

        save_workbook(workbook, path, fixed_timestamp(plan))
    except Exception:  # noqa: BLE001 - a hostile file may break openpyxl in any way; a rebuilt form serves
        path.unlink(missing_ok=True)
        return False
    if shows_personal_data(path.read_bytes()):
        # Something the scrub does not know (a chart title, a drawing) still carries personal data.
        path.unlink()
        return False
    return True


def _scrub(workbook: Workbook) -> dict[str, str]:
    """Mask every text the district typed, turn unsafe formulas into text; returns old → new sheet titles."""
    from openpyxl.cell.cell import MergedCell

    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell, MergedCell):
                    _scrub_cell(cell)
        _scrub_sheet_texts(ws)
    props = workbook.properties
    for name in ("creator", "title", "subject", "description", "keywords", "category", "lastModifiedBy",
                 "identifier", "contentStatus", "version", "revision", "language"):
        value = getattr(props, name, None)
        if isinstance(value, str):
            setattr(props, name, safe_cell_text(value))
    for prop in list(workbook.custom_doc_props.props):
        if isinstance(getattr(prop, "value", None), str):
            prop.value = safe_cell_text(prop.value)
    for holder in [workbook.defined_names, *(ws.defined_names for ws in workbook.worksheets)]:
        for key in list(holder):
            text = holder[key].attr_text or ""
            if '"' in text or mask(text)[1]:
                del holder[key]  # a name holding a text constant, not a cell reference: district data
    return _retitle(workbook)


def _scrub_cell(cell: Cell) -> None:
    value = cell.value
    if cell.hyperlink is not None:
        cell.hyperlink = None  # a link the district set leads anywhere (file://, a lure); the text stays
    if cell.comment is not None:
        from openpyxl.comments import Comment

        old = cell.comment
        cell.comment = Comment(safe_cell_text(old.text or ""), safe_cell_text(old.author or ""),
                               width=old.width, height=old.height)
    if isinstance(value, str):
        if cell.data_type == "f" and _plain_formula(value):
            return
        put_text(cell, value)
    elif hasattr(value, "text"):  # ArrayFormula / DataTableFormula: shown as its text, never run
        put_text(cell, str(value.text or ""))
    elif number_is_personal(value):
        put_text(cell, MASK)


def _plain_formula(formula: str) -> bool:
    if '"' in formula or mask(formula)[1]:
        return False
    return all(name.upper() in _SAFE_FUNCTIONS for name in _FUNCTION.findall(formula))


def _scrub_sheet_texts(ws: Worksheet) -> None:
    hf = ws.HeaderFooter
    for part in (hf.oddHeader, hf.oddFooter, hf.evenHeader, hf.evenFooter, hf.firstHeader, hf.firstFooter):
        for side in (part.left, part.center, part.right):
            if side.text:
                side.text = safe_cell_text(side.text)
    for validation in ws.data_validations.dataValidation:
        for name in ("prompt", "promptTitle", "error", "errorTitle"):
            value = getattr(validation, name)
            if isinstance(value, str):
                setattr(validation, name, safe_cell_text(value))
        for name in ("formula1", "formula2"):
            value = getattr(validation, name)
            if isinstance(value, str) and mask(value)[1]:
                setattr(validation, name, None)


def _retitle(workbook: Workbook) -> dict[str, str]:
    """Sheet titles are district text too: masked, with the characters a title may not hold replaced."""
    renames: dict[str, str] = {}
    taken = set(workbook.sheetnames)
    for sheet in workbook._sheets:  # chart sheets included
        old = sheet.title
        new = _SHEET_TITLE_UNSAFE.sub("_", safe_cell_text(old))[:_SHEET_TITLE_CHARS] or "_"
        if new == old:
            continue
        base, n = new, 1
        while new in taken:
            n += 1
            new = f"{base[: _SHEET_TITLE_CHARS - len(str(n)) - 1]}_{n}"
        taken.discard(old)
        taken.add(new)
        sheet.title = new
        renames[old] = new
    return renames


def shows_personal_data(xlsx: bytes) -> bool:
    """Does any text or attribute of any XML member of the workbook hold what `mask` would mask?

    Each text node and attribute value is checked on its own (as a cell is), XML entities decoded.
    """
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        for name in zf.namelist():
            if not name.endswith((".xml", ".rels", ".vml")):
                continue
            xml = zf.read(name).decode("utf-8", "replace")
            for text, attribute in _XML_TEXT.findall(xml):
                if mask(html.unescape(text or attribute))[1]:
                    return True
    return False


# --- the rebuilt form (.xls, .ods, or an xlsx that cannot be copied) ------------------------------------------

def _rebuilt(plan: Plan, verdict: FileVerdict) -> BuiltForm:
    sub = verdict.submission
    reporter = sub.unit if sub and sub.unit else plan.units[0].code
    from pipeline.forms import build_form

    built = build_form(plan, reporter, sub.report_date if sub else None)
    ws = built.workbook[FORM_SHEET]
    for code, raw_cell in verdict.raw.cells.items():
        if code not in built.rows or raw_cell.empty:
            continue
        cell = ws[built.cell(code)]
        value = raw_cell.value
        if isinstance(value, (dt.time, dt.timedelta)):
            value = str(value)
        if isinstance(value, str):
            put_text(cell, value)  # `=HYPERLINK(…)` read from an .ods stays the text it was
        elif number_is_personal(value):
            put_text(cell, MASK)
        else:
            cell.value = value
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


# --- marks and the list of problems ------------------------------------------------------------------------

def _mark(workbook: Workbook, problems: list[Problem], department: str) -> None:
    from openpyxl.comments import Comment

    author = str(feedback_text()["author"]).format(department=department)
    colours = fills()
    by_cell: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        if p.sheet in workbook.sheetnames and p.cell and _A1.match(p.cell):
            by_cell.setdefault((p.sheet, p.cell), []).append(p)
    for (sheet, cell), here in by_cell.items():
        target = workbook[sheet][cell]
        severity = "error" if any(p.severity == "error" for p in here) else "warning"
        try:
            target.fill = colours[severity]
            # Kazakh only: the codes are for the department and stand in their own column of the list sheet.
            text = safe_cell_text("\n".join(p.message for p in here))
            target.comment = Comment(text, author, width=320, height=160)
        except AttributeError:
            continue  # a merged cell's inner part cannot carry a comment; the list sheet still names it


def _problem_sheet(workbook: Workbook, verdict: FileVerdict, problems: list[Problem], department: str) -> None:
    from openpyxl.styles import Alignment, Font

    text = feedback_text()
    colours = fills()
    ws = workbook.create_sheet(str(text["sheet"]), 0)
    workbook.active = 0
    put_text(ws["A1"], str(text["title"]).format(file=verdict.raw.name))
    ws["A1"].font = Font(bold=True, size=12)
    put_text(ws["A2"], str(text["intro"]).format(department=department))
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.merge_cells("A2:E2")
    ws.row_dimensions[2].height = 45
    headers = list(text["columns"])
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=4, column=col)
        put_text(cell, header)
        cell.font = Font(bold=True)
    severity_words = text["severity"]
    for i, p in enumerate(problems, start=1):
        row = 4 + i
        place = "!".join(x for x in (p.sheet, p.cell) if x) or "—"
        message = safe_cell_text(p.message)
        values: list[object] = [i, place, severity_words[p.severity], p.code, message]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col)
            if isinstance(value, str):
                put_text(cell, value)
            else:
                cell.value = value
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=row, column=3).fill = colours[p.severity]
        # Spreadsheet programs do not grow rows for wrapped text on their own when printing a saved file.
        ws.row_dimensions[row].height = 15 * (1 + len(message) // MESSAGE_CHARS_PER_LINE)
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
