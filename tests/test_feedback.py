"""Feedback workbooks and issues.csv under attack: personal data, formulas, same-named files, exception text.

One report run over a hostile inbox (planted ИИН and name lists in cells, comments, formulas, a sheet
title, document properties and a page header; two districts' `Нысан.xlsx` in different folders; a file
named like a formula; a broken zip; .ods/.xls copies carrying `=HYPERLINK(…)` text), then every output is
read back byte by byte.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import json
import os
import re
import string
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.comments import Comment

from pipeline.forms import write_form
from pipeline.forms.layout import FORM_SHEET
from pipeline.forms.libreoffice import convert, soffice_available
from pipeline.problems import Problem
from pipeline.render.feedback import feedback_name, feedback_text, fills, shows_personal_data, write_feedback
from pipeline.report import run_report
from pipeline.safe_text import starts_formula
from pipeline.tools.samples import fill_form, sample_values
from pipeline.verdicts import FileVerdict
from rawforms import raw_form

REPO = Path(__file__).resolve().parent.parent
AUG17 = dt.date(2017, 8, 17)
IIN = "050312312345"  # born 12.03.2005; typed as text
IIN_NUMBER = 951231312345  # born 31.12.2095 by the check's reading; typed as a number
NAMES = "Иванов Иван, Петрова Мария"
PERSONAL = (IIN, str(IIN_NUMBER), "Иванов Иван", "Петрова Мария")
FORMULA_NAME = f"=1+2 {IIN}.xlsx"
HYPERLINK = '=HYPERLINK("http://evil.example/x","click")'
INPUT_FILL = "FFF2CC"  # the form's input cells (pipeline/forms/build.py)


def _filled(plan, unit: str, path: Path, **override: object) -> Path:
    template = write_form(plan, unit, path.with_suffix(".template.xlsx"), AUG17)
    values = sample_values(plan, unit, AUG17)
    values.update(leaflets="1.500")  # ambiguous: an error the district must fix → a feedback workbook
    values.update(override)
    path.parent.mkdir(parents=True, exist_ok=True)
    fill_form(template, path, values)
    template.unlink()
    return path


def _plant(path: Path) -> None:
    """Personal data and live formulas wherever a district can type them."""
    wb = load_workbook(path)
    ws = wb[FORM_SHEET]
    ws["H2"] = f"ИИН {IIN}"
    ws["H3"] = "қараңыз"
    ws["H3"].comment = Comment(f"Тізім: {NAMES}; ИИН {IIN}", NAMES)
    ws["H4"] = HYPERLINK
    ws["H5"] = f'="ИИН {IIN}"'
    ws["H6"] = IIN_NUMBER
    ws["H7"] = "=SUM(H6:H6)"
    ws.oddHeader.center.text = f"ИИН {IIN}"
    extra = wb.create_sheet(IIN)
    extra["A1"] = NAMES
    wb.properties.creator = NAMES
    wb.properties.title = IIN
    wb.save(path)


def _typed_as_text(path: Path, texts: set[str]) -> None:
    """Cells holding `texts` as text, as a clerk's apostrophe-prefixed entry is saved (not formulas)."""
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in texts:
                    cell.data_type = "s"
    wb.save(path)


@pytest.fixture(scope="module")
def run(plan, tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    outbox = tmp_path_factory.mktemp("outbox")
    a = _filled(plan, "akzhaiyk", inbox / "a" / "Нысан.xlsx", **{"I.5.comment": f"Балалар: {IIN}, {NAMES}"})
    _plant(a)
    _filled(plan, "borli", inbox / "b" / "Нысан.xlsx")
    _filled(plan, "taskala", inbox / FORMULA_NAME)  # at the root: the listed name starts with "="
    (inbox / "e").mkdir()
    (inbox / "e" / "broken.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40 + b"not a zip")
    (inbox / "e" / "broken.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 100)
    # A file whose date cannot be read belongs to the reporting date after it arrived: arrive on 16 August.
    arrived = dt.datetime(2017, 8, 16, 10, 0).timestamp()
    for broken in ("broken.xlsx", "broken.xls"):
        os.utime(inbox / "e" / broken, (arrived, arrived))
    converted: dict[str, str] = {}
    if soffice_available():
        work = tmp_path_factory.mktemp("lo")
        for unit, target in (("zhanibek", "ods"), ("zelenov", "xls")):
            source = _filled(plan, unit, work / f"{unit}.xlsx",
                             **{"I.5.comment": HYPERLINK, "form.executor": "=1+2", "I.6.comment": f"ИИН {IIN}"})
            _typed_as_text(source, {HYPERLINK, "=1+2"})
            produced = convert(source, inbox / "d", target)
            converted[unit] = produced.relative_to(inbox).as_posix()
    result = run_report("2017-08-17", inbox=inbox, outbox=outbox,
                        plan_path=REPO / "pipeline/data/plans/mektepke-zhol-2017.yaml")
    folder = outbox / "2017-08-17"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return inbox, folder, manifest, result, converted


def _feedback_of(folder: Path, manifest: dict, name: str) -> Path:
    entry = next(i for i in manifest["inputs"] if i["file"] == name)
    return folder / entry["feedback"]


def _decoded_members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return [html.unescape(zf.read(n).decode("utf-8", "replace")) for n in zf.namelist()]


def _sheet_formulas(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        xml = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    return [html.unescape(f) for x in xml for f in re.findall(r"<f(?: [^>]*)?>([^<]*)</f>", x)]


# --- file names and the manifest --------------------------------------------------------------------------------

def test_same_named_files_in_two_folders_get_their_own_feedback(run, plan) -> None:
    _, folder, manifest, _, _ = run
    a, b = _feedback_of(folder, manifest, "a/Нысан.xlsx"), _feedback_of(folder, manifest, "b/Нысан.xlsx")
    assert a != b and a.is_file() and b.is_file()
    assert "Нысан" in a.name and "Нысан" in b.name  # Cyrillic kept
    for path, name, unit in ((a, "a/Нысан.xlsx", "akzhaiyk"), (b, "b/Нысан.xlsx", "borli")):
        wb = load_workbook(path)
        assert name in wb[str(feedback_text()["sheet"])]["A1"].value
        assert path.name.startswith(f"{unit}-2017-08-17-")
        # the copy is the district's own workbook: its unit cell names its own unit
        form = wb[FORM_SHEET]
        assert any(c.value == plan.unit_by_code[unit].name for row in form.iter_rows() for c in row)
    written = sorted(p.name for p in (folder / "feedback").iterdir())
    assert len(written) == len({i["feedback"] for i in manifest["inputs"] if "feedback" in i})


def test_feedback_name_is_safe_and_unique_per_path(plan) -> None:
    raw = raw_form(plan, "x/Нысан.xlsx")
    names = {feedback_name(FileVerdict(dataclasses.replace(raw, name=n), None, [], "rejected"))
             for n in ("x/Нысан.xlsx", "y/Нысан.xlsx", "Нысан.xlsx", f"{FORMULA_NAME}", "a/../\udcff.xlsx")}
    assert len(names) == 5
    for name in names:
        assert "/" not in name and IIN not in name and not starts_formula(name)
        assert name.encode("utf-8")  # a name that is not valid UTF-8 became one that is


# --- personal data -------------------------------------------------------------------------------------------------

def test_no_planted_personal_data_in_feedback_summary_or_csv(run) -> None:
    _, folder, manifest, _, _ = run
    checked = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in (".xlsx", ".csv"):
            continue
        texts = _decoded_members(path) if path.suffix == ".xlsx" else [path.read_text(encoding="utf-8-sig")]
        for text in texts:
            for planted in PERSONAL:
                assert planted not in text, (path.name, planted)
        assert IIN not in path.name
        checked += 1
    assert checked >= 5  # summary, two csv, at least two feedback workbooks
    assert not shows_personal_data(_feedback_of(folder, manifest, "a/Нысан.xlsx").read_bytes())


def test_planted_workbook_is_sent_back_as_its_scrubbed_copy(run) -> None:
    _, folder, manifest, _, _ = run
    wb = load_workbook(_feedback_of(folder, manifest, "a/Нысан.xlsx"))
    form = wb[FORM_SHEET]
    assert form["H2"].value == "ИИН ***"
    assert form["H3"].value == "қараңыз" and "***" in form["H3"].comment.text
    assert form["H6"].value == "***"
    assert wb.properties.creator != NAMES and IIN not in (wb.properties.title or "")
    assert IIN not in wb.sheetnames and any(name.startswith("___") for name in wb.sheetnames)


# --- formulas ---------------------------------------------------------------------------------------------------------

def test_copy_keeps_plain_arithmetic_and_turns_text_formulas_into_text(run) -> None:
    _, folder, manifest, _, _ = run
    path = _feedback_of(folder, manifest, "a/Нысан.xlsx")
    formulas = _sheet_formulas(path)
    assert "SUM(H6:H6)" in formulas  # the district's own arithmetic still works
    assert all('"' not in f and "HYPERLINK" not in f.upper() for f in formulas), formulas
    form = load_workbook(path)[FORM_SHEET]
    for cell in ("H4", "H5"):
        assert form[cell].data_type == "s" and form[cell].value.startswith("=") and form[cell].quotePrefix
    assert form["H4"].hyperlink is None


@pytest.mark.skipif(not soffice_available(), reason="soffice not installed")
@pytest.mark.parametrize("unit", ["zhanibek", "zelenov"])
def test_rebuilt_from_ods_and_xls_never_assigns_text_as_formula(run, unit: str) -> None:
    _, folder, manifest, _, converted = run
    path = _feedback_of(folder, manifest, converted[unit])
    assert _sheet_formulas(path) == []
    wb = load_workbook(path)
    cells = [c for row in wb[FORM_SHEET].iter_rows() for c in row]
    hostile = [c for c in cells if c.value in (HYPERLINK, "=1+2")]
    assert len(hostile) == 2 and all(c.data_type == "s" and c.quotePrefix for c in hostile)
    assert not any(IIN in text for text in _decoded_members(path))


def test_issues_csv_fields_are_masked_and_never_formulas(run) -> None:
    _, folder, _, _, _ = run
    raw = (folder / "issues.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(raw.splitlines()))
    assert IIN not in raw
    named = [r for r in rows if r["file"].startswith("'=1+2")]
    assert named, "the file named like a formula is listed, quoted"
    assert all(not starts_formula(value) for r in rows for value in r.values())


# --- what districts read ------------------------------------------------------------------------------------------------

def test_no_exception_text_in_messages(run) -> None:
    _, folder, _, _, _ = run
    rows = list(csv.DictReader((folder / "issues.csv").read_text(encoding="utf-8-sig").splitlines()))
    broken = [r for r in rows if r["file"] in ("e/broken.xlsx", "e/broken.xls")]
    assert {r["code"] for r in broken} <= {"file-corrupt", "file-not-spreadsheet"} and len(broken) == 2
    for r in broken:
        assert not re.search(r"[A-Za-z]{3,}", r["message"]) or r["code"] != "file-corrupt", r["message"]
        assert "Error" not in r["message"] and "zip file" not in r["message"]


def test_comments_are_kazakh_only_and_warning_fill_is_not_input_yellow(run, plan, tmp_path) -> None:
    _, folder, manifest, result, _ = run
    path = _feedback_of(folder, manifest, "a/Нысан.xlsx")
    wb = load_workbook(path)
    codes = {p.code for f in result.files for p in f.problems}
    author = str(feedback_text()["author"]).format(department=plan.department.name)
    ours = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.comment is not None and c.comment.author == author]
    assert ours
    for cell in ours:
        assert not any(code in cell.comment.text for code in codes), cell.comment.text
        assert cell.fill.fgColor.rgb[-6:] in feedback_text()["fill"].values()
    # a warning alone: its fill is the warning colour, never the yellow of the cells to fill in
    verdict = next(f for f in result.files if f.raw.name == "b/Нысан.xlsx")
    cell = next(p.cell for p in verdict.problems if p.code == "value-ambiguous-number")
    warned = dataclasses.replace(verdict, problems=[
        Problem.make("value-converted", verdict.raw.name, FORM_SHEET, cell, figure="x", value="1 500", number="1500")])
    inbox = run[0]
    written = write_feedback(plan, [warned], tmp_path, inbox)[verdict.raw.name]
    fill = load_workbook(written)[FORM_SHEET][cell].fill.fgColor.rgb
    assert fill.endswith(feedback_text()["fill"]["warning"]) and not fill.endswith(INPUT_FILL)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def test_fill_colours_are_far_apart() -> None:
    colours = {**{k: str(v) for k, v in feedback_text()["fill"].items()}, "input": INPUT_FILL}
    assert set(fills()) == {"error", "warning"}
    names = sorted(colours)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = sum((x - y) ** 2 for x, y in zip(_rgb(colours[a]), _rgb(colours[b]))) ** 0.5
            assert distance > 60, (a, b, distance)


# --- hostile text everywhere (property) ---------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from(["=1+2", "+1", "-1", "@A1", HYPERLINK, "{{ x }}", "{% if %}", "\u202eRTL\u200f", "\t=1",
                     f"ИИН {IIN}", NAMES, "x" * 40_000]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
    st.text(alphabet=string.printable + "\x00\x01\x0b\x0c\x1f\ufffe", min_size=1, max_size=30),
)


@pytest.fixture(scope="module")
def base_form(plan, tmp_path_factory) -> Path:
    return _filled(plan, "akzhaiyk", tmp_path_factory.mktemp("base") / "base.xlsx")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(text=HOSTILE, other=HOSTILE, fmt=st.sampled_from(["xlsx", "ods"]))
def test_hostile_text_in_every_text_cell_builds_and_is_never_a_formula(plan, base_form, tmp_path_factory,
                                                                      text: str, other: str, fmt: str) -> None:
    inbox, out = tmp_path_factory.mktemp("in"), tmp_path_factory.mktemp("out")
    name = "f.xlsx"
    wb = load_workbook(base_form)
    ws = wb[FORM_SHEET]
    clean = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", "", text)  # what an xlsx can hold at all
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.column > 2:
                cell.value = clean  # openpyxl makes "=…" a formula, as a district's Excel would
    ws["D20"].comment = Comment(clean or "x", clean or "x")
    wb.save(inbox / name)
    values = {"I.5.comment": text, "form.executor": other, "leaflets": other}
    raw = dataclasses.replace(raw_form(plan, name, values=values), format=fmt)
    problems = [Problem.make("value-ambiguous-number", name, FORM_SHEET, "D20", figure=other, value=text),
                Problem.make("value-converted", name, other, "D21", figure=text, value=other, number="1")]
    path = write_feedback(plan, [FileVerdict(raw, None, problems, "rejected")], out, inbox)[name]
    formulas = _sheet_formulas(path)
    assert all('"' not in f and "HYPERLINK" not in f.upper() for f in formulas), formulas
    wb = load_workbook(path)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert len(cell.value) <= 32767
                    assert cell.data_type != "f" or not re.search(r'"|HYPERLINK', cell.value.upper())
    assert IIN not in "".join(_decoded_members(path))


@pytest.mark.parametrize("code", ["file-corrupt", "file-unreadable"])
def test_reader_exception_text_never_reaches_the_message(code: str) -> None:
    """Ingest keeps the exception text in the problem's `detail` (for developers); districts never read it."""
    problem = Problem.make(code, "x.xlsx", detail="BadZipFile: File is not a zip file")
    assert dict(problem.params)["detail"].startswith("BadZipFile")
    assert not re.search(r"[A-Za-z]", problem.message), problem.message
