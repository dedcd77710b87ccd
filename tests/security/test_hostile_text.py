"""Security suite: hostile text never stops the report, the .docx shows it literally, and no spreadsheet or
CSV cell of an output starts a formula.

Expectations are written here, not borrowed from the code under test:
* the characters that make a spreadsheet program evaluate a cell are a fixed list (OWASP, "CSV Injection":
  `=`, `+`, `-`, `@`, tab, carriage return), and a cell is judged by what openpyxl and the csv module read
  back from the written file;
* what a .docx can show of a text is the XML 1.0 `Char` production, written out below.

The reports go through the same pass as ingest (`made_safe`), then validation, selection, aggregation and
`write_outputs` — the real writers, into a real folder — and, for the copy of a real .xlsx, a whole
`run_report` over an inbox. Hypothesis runs derandomized (a fixed seed): CI sees the same examples each time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import zipfile
from pathlib import Path
from xml.dom import minidom

import openpyxl
import pytest
from docx import Document
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from pipeline.plan import load_plan
from tests.security.hostile_run import AUG8, build_report, build_report_with, text_codes

#: Every character that starts a formula when a spreadsheet program opens or re-edits a cell or CSV field.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: What follows it in the table: a bare sum, a function with a link, a DDE call.
PAYLOADS = ("1+2", 'HYPERLINK("http://x.example/a","клик")', "cmd|' /C calc'!A0")

FRAGMENTS = [
    "{{ x }}", "{%", "%}", "{% if x %}", "}}", "{#", "{{", "=", "+", "-", "@", "=1+2", '=HYPERLINK("http://x","y")',
    "@SUM(A1)", "<", ">", "&", "&amp;", "&#1048;", "]]>", "<w:t>", '"', "'", "\x00", "\x0b", "\x0c", "\x1f", "\t",
    "\r\n", "\n", "\ufffe", "\ud800", "\u202e", "\u200b", "Ақжайық", "ЖШС «Ақниет»", " ", "  ", "%", "%s", "{0}",
    "\\", "/", "..", "NaN", "None", "1 500",
]
hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), min_size=1, max_size=8).map("".join)
# Each example is a whole report (~3 s, charts included); no shrinking, which would re-run dozens of them:
# a failing example is reported as generated.
SLOW = settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PLAN = load_plan()  # not a fixture: hypothesis would print the whole plan with every failing example


def _report(texts: dict[str, str], text: str) -> Path:
    return build_report_with(PLAN, Path(tempfile.mkdtemp(prefix="mz-hostile-")) / "out", texts, text)[0]


# --- what a spreadsheet program would evaluate ---------------------------------------------------------------


def _evaluated_cells(path: Path) -> list[str]:
    """Cells a spreadsheet program would evaluate: a formula cell, or a text cell that starts like one
    without the quote prefix (which keeps it text when a person edits it)."""
    bad = []
    workbook = openpyxl.load_workbook(path)
    for ws in workbook:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith(FORMULA_START)
                                          and not (c.data_type == "s" and c.quotePrefix)):
                    bad.append(f"{path.name}!{ws.title}!{c.coordinate}: {c.value!r}")
    return bad


def _csv_fields(data: bytes) -> list[str]:
    return [f for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for f in row]


def _texts_in(path: Path) -> set[str]:
    return {c.value for ws in openpyxl.load_workbook(path) for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}


def test_the_formula_table_covers_every_starting_character():
    assert len({c + p for c in FORMULA_START for p in PAYLOADS}) == len(FORMULA_START) * len(PAYLOADS)
    assert len(text_codes(PLAN)) >= len(FORMULA_START) * len(PAYLOADS)  # one text cell for each


def test_no_xlsx_or_csv_cell_starts_a_formula():
    """A deterministic table: every formula-starting character with each payload, each in its own text cell
    of one district's form, and the first one in its file name, a status, a number and another file's unit
    and date cells. Every cell of summary.xlsx and of the feedback workbook, and every field of issues.csv."""
    table = [c + p for c in FORMULA_START for p in PAYLOADS]
    texts = dict(zip(text_codes(PLAN), table))
    folder = _report(texts, table[0])
    feedback = sorted(folder.glob("feedback/*.xlsx"))
    assert feedback, "the hostile form gets a feedback workbook"
    assert _evaluated_cells(folder / "summary.xlsx") == []
    assert [bad for path in feedback for bad in _evaluated_cells(path)] == []
    fields = _csv_fields((folder / "issues.csv").read_bytes())
    assert [f for f in fields if f.startswith(FORMULA_START)] == []
    # Not vacuous: every planted text reached the feedback workbook, as text; the CSV quotes them too.
    shown = set().union(*(_texts_in(path) for path in feedback))
    assert [t for t in table if t not in shown] == []
    assert any(f.startswith("'" + table[0]) for f in fields)


@pytest.fixture(scope="module")
def real_copy(tmp_path_factory) -> tuple[Path, list[str]]:
    """A real .xlsx form as a district saves it — text cells typed with a leading apostrophe (text starting
    with each formula character), a live HYPERLINK formula and a plain sum — through a whole report run:
    its feedback workbook is a copy of that very file."""
    from pipeline.forms.build import write_form
    from pipeline.report import run_report
    from pipeline.tools.samples import fill_form, find_rows, find_value_column, sample_values

    tmp = tmp_path_factory.mktemp("real")
    inbox = tmp / "inbox"
    inbox.mkdir()
    blank = write_form(PLAN, "kaztalov", tmp / "blank.xlsx")
    values = sample_values(PLAN, "kaztalov", AUG8)
    values["help_children"] = "1.500"  # an ambiguous number: a problem the district can fix, so a feedback copy
    form = inbox / "Казталов 08.08.xlsx"
    fill_form(blank, form, values)
    workbook = openpyxl.load_workbook(form)
    ws = workbook.worksheets[0]
    rows, column = find_rows(ws), find_value_column(ws)
    planted = [c + p for c in FORMULA_START for p in PAYLOADS]
    for code, text in zip(text_codes(PLAN), planted):
        cell = ws.cell(row=rows[code], column=column)
        cell.value = text
        cell.data_type = "s"  # a text cell, as Excel stores '=1+2
        cell.quotePrefix = True
    ws["H1"] = '=HYPERLINK("http://x.example/a","клик")'
    ws["H2"] = "=SUM(D5:D9)"
    workbook.save(form)
    run_report(AUG8.isoformat(), inbox=inbox, outbox=tmp / "outbox")
    return tmp / "outbox" / AUG8.isoformat(), planted


def test_no_cell_of_the_copy_of_a_real_xlsx_starts_a_formula(real_copy):
    folder, planted = real_copy
    (copy,) = folder.glob("feedback/*.xlsx")
    workbook = openpyxl.load_workbook(copy)
    assert workbook.worksheets[0].title != "Мәселелер" or len(workbook.worksheets) > 1
    form = next(ws for ws in workbook.worksheets if ws["H1"].value is not None)
    # The district's plain arithmetic stays live (documented); the function with a link does not.
    assert form["H2"].data_type == "f" and form["H2"].value == "=SUM(D5:D9)"
    assert form["H1"].data_type == "s" and form["H1"].quotePrefix
    assert [b for b in _evaluated_cells(copy) if not b.endswith("'=SUM(D5:D9)'")] == []
    assert [t for t in planted if t not in _texts_in(copy)] == []  # every planted text is in the copy, as text
    fields = _csv_fields((folder / "issues.csv").read_bytes())
    assert [f for f in fields if f.startswith(FORMULA_START)] == []


_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(texts=st.lists(st.tuples(st.sampled_from(("", *FORMULA_START)), st.text(max_size=12)).map("".join),
                      min_size=1, max_size=20))
def test_every_text_written_to_a_cell_or_csv_field_stays_text(texts):
    """The three writers a district's text reaches, many texts at a time: an openpyxl cell of a feedback
    workbook (`put_text`), the streaming writer of summary.xlsx, and a field of issues.csv."""
    from pipeline.problems import Problem
    from pipeline.render.cells import put_text
    from pipeline.render.summary_xlsx import _Cells
    from pipeline.render.xlsx_writer import Book, sheet_xml
    from pipeline.report import ISSUE_COLUMNS, _issue_row, _write_csv

    with tempfile.TemporaryDirectory(prefix="mz-cells-") as tmp:
        normal = openpyxl.Workbook()
        for i, text in enumerate(texts, start=1):
            put_text(normal.active.cell(row=i, column=1), text)
        normal.save(Path(tmp) / "feedback.xlsx")
        book = Book()
        cells = _Cells(book)
        book.add_sheet("S", sheet_xml([[cells.text(t)] for t in texts]))
        (Path(tmp) / "summary.xlsx").write_bytes(book.save(creator="test", moment=dt.datetime(2017, 8, 8)))
        for name in ("feedback.xlsx", "summary.xlsx"):
            assert _evaluated_cells(Path(tmp) / name) == [], name
        # A district's text in every field of issues.csv it can reach: the file name, the sheet, a quoted value.
        problems = [Problem.make("value-ambiguous-number", t, t, "C7", value=t) for t in texts]
        _write_csv(Path(tmp) / "issues.csv", [_issue_row(p) for p in problems], ISSUE_COLUMNS)
        rows = list(csv.reader(io.StringIO((Path(tmp) / "issues.csv").read_bytes().decode("utf-8-sig"), newline="")))
    assert len(rows) == len(texts) + 1  # the header and one row each: no text broke a row apart
    assert [f for row in rows for f in row if f.startswith(FORMULA_START)] == []


# --- the .docx shows the text, literally ---------------------------------------------------------------------


def _docx_words(path: Path) -> str:
    return " ".join(" ".join(p.text for p in Document(str(path)).paragraphs).split())


def _visible(text: str) -> str:
    """What an XML document can hold of `text`: characters outside XML 1.0's `Char` shown as spaces; words
    as the report joins them (whitespace runs as one space), quoted as the district wrote them («…»), without
    the sentence's own full stop."""
    return " ".join(_XML_CHAR.sub(" ", text).split()).rstrip(".").strip()


@SLOW
@given(text=hostile)
def test_report_builds_and_the_docx_is_well_formed_and_literal(text):
    # Text without personal data (that is masked, and tested in test_masking.py): fewer than 11 digits and
    # fewer than two capitalised words.
    assume(sum(c.isdigit() for c in text) < 11)
    assume(len(re.findall(r"(?<!\w)[^\W\d_a-zа-яёәғқңөұүһі]\w+", text)) < 2)
    folder, _ = build_report(PLAN, Path(tempfile.mkdtemp(prefix="mz-hostile-")) / "out", text)
    docx = next(folder.glob("akparat-*.docx"))
    with zipfile.ZipFile(docx) as zf:
        for name in zf.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                minidom.parseString(zf.read(name))  # well-formed, or this raises
    expected = _visible(text)
    if expected:
        assert expected in _docx_words(docx)
