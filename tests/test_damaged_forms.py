"""The real form as people damage it: still read by row codes, or a coded error where it is ambiguous."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from pipeline.forms.build import write_form
from pipeline.ingest import read_files
from pipeline.report import run_report
from pipeline.tools.samples import fill_form, sample_values
from pipeline.validate import validate_forms

DATE = dt.date(2017, 8, 17)


@pytest.fixture(scope="module")
def filled(plan, tmp_path_factory) -> tuple[Path, dict[str, float]]:
    work = tmp_path_factory.mktemp("damaged")
    blank = write_form(plan, "kaztalov", work / "blank.xlsx")
    path = work / "filled.xlsx"
    fill_form(blank, path, sample_values(plan, "kaztalov", DATE))
    [sub] = validate_forms(plan, read_files(plan, [path]))
    assert sub.identified and sub.values
    return path, sub.values


def _read(plan, path: Path):
    [sub] = validate_forms(plan, read_files(plan, [path], root=path.parent))
    return sub


def _damage(filled_path: Path, tmp_path: Path, change) -> Path:
    wb = openpyxl.load_workbook(filled_path)
    change(wb)
    out = tmp_path / "damaged.xlsx"
    wb.save(out)
    return out


def test_inserted_blank_and_hidden_rows(plan, filled, tmp_path):
    path, values = filled

    def change(wb):
        ws = wb["Нысан"]
        ws.protection.sheet = False
        ws.insert_rows(15, amount=3)
        ws.insert_rows(30, amount=1)
        for row in range(20, 24):
            ws.row_dimensions[row].hidden = True

    sub = _read(plan, _damage(path, tmp_path, change))
    assert sub.values == values and sub.unit == "kaztalov"


def test_renamed_sheet_and_moved_value_column(plan, filled, tmp_path):
    path, values = filled

    def change(wb):
        ws = wb["Нысан"]
        ws.title = "Лист1"
        ws.insert_cols(3, amount=2)  # the «Мәні» header moves with its column

    sub = _read(plan, _damage(path, tmp_path, change))
    assert sub.values == values
    assert {c.sheet for c in sub.raw.cells.values()} == {"Лист1"}


def test_sheet_copied_into_a_new_workbook_loses_defined_names(plan, filled, tmp_path):
    path, values = filled
    source = openpyxl.load_workbook(path)["Нысан"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Мәлімет"
    for row in source.iter_rows():
        for cell in row:
            if cell.value is not None:
                ws.cell(row=cell.row, column=cell.column, value=cell.value)
    out = tmp_path / "copy.xlsx"
    wb.save(out)
    sub = _read(plan, out)
    assert sub.values == values
    assert "form-defined-names-lost" in {p.code for p in sub.problems}


def test_a_row_pasted_twice_with_another_value_is_ambiguous(plan, filled, tmp_path):
    path, values = filled

    def change(wb):
        ws = wb["Нысан"]
        row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "raids")
        ws.cell(ws.max_row + 2, 1, "raids")
        ws.cell(ws.max_row, 4, int(values["raids"]) + 7)
        ws.cell(row, 4).value = values["raids"]

    sub = _read(plan, _damage(path, tmp_path, change))
    problem = next(p for p in sub.problems if p.code == "form-ambiguous-code")
    assert problem.severity == "error" and problem.sheet == "Нысан"
    assert "raids" not in sub.values
    assert {k: v for k, v in values.items() if k != "raids"} == sub.values


def test_personal_data_never_reaches_the_report_or_summaries(plan, filled, tmp_path):
    from docx import Document

    path, _ = filled
    iin = "050317500123"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill_form(path, inbox / "Казталов.xlsx",
              {"I.4.comment": f"Анықталған балалар: Жұмабаев Ерлан, Қайратова Мөлдір, ЖСН {iin}"})
    result = run_report(DATE.isoformat(), inbox=inbox, outbox=tmp_path / "outbox")
    codes = {(p.code, p.file) for p in result.problems}
    assert ("personal-data-masked", "Казталов.xlsx") in codes
    text = "\n".join(p.text for p in Document(result.folder / f"akparat-{DATE}.docx").paragraphs)
    for name in ("issues.csv", "figures.csv", "manifest.json"):
        text += (result.folder / name).read_text(encoding="utf-8-sig")
    summary = openpyxl.load_workbook(result.folder / "summary.xlsx")
    text += "\n".join(str(c.value) for ws in summary for row in ws.iter_rows() for c in row if c.value is not None)
    assert iin not in text and "Жұмабаев" not in text and "Қайратова" not in text
