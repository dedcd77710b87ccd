"""The generated district form: codes, cells, protection, validation, defined names, reproducible bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from pipeline.forms import layout, write_all_forms, write_form
from pipeline.forms.build import build_form, form_file_name
from pipeline.forms.libreoffice import LibreOfficeError, convert, soffice_available
from pipeline.forms.zipfix import normalise_zip
from pipeline.plan import Plan

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "libreoffice"
VALUE = get_column_letter(layout.VALUE_COLUMN)


def expected_codes(plan: Plan, reporter: str) -> list[str]:
    codes = [layout.FORM_ID_CODE, *layout.HEADER_CODES.values()]
    for item in plan.items_for(plan.reporter_of(reporter)):
        codes += [item.status_code, *(f.code for f in item.figures), item.comment_code]
    return codes


def value_codes_openpyxl(path: Path) -> list[str]:
    ws = load_workbook(path)[layout.FORM_SHEET]
    return [
        ws.cell(row=r, column=layout.CODE_COLUMN).value
        for r in range(1, ws.max_row + 1)
        if ws.cell(row=r, column=layout.CODE_COLUMN).value is not None
    ]


def calamine_rows(path: Path) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(layout.FORM_SHEET).to_python(skip_empty_area=False)


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> dict[str, Path]:
    outdir = tmp_path_factory.mktemp("forms")
    paths = write_all_forms(plan, outdir)
    return {p.name: p for p in paths}


def test_one_form_per_unit_and_department(plan: Plan, forms: dict[str, Path]) -> None:
    expected = {form_file_name(plan, u.code) for u in plan.units} | {form_file_name(plan, plan.department.code)}
    assert set(forms) == expected


@pytest.mark.parametrize("reporter", ["oral", "zhanibek", "department"])
def test_every_row_code_once_openpyxl(plan: Plan, forms: dict[str, Path], reporter: str) -> None:
    codes = value_codes_openpyxl(forms[form_file_name(plan, reporter)])
    expected = expected_codes(plan, reporter)
    for code in expected:
        assert codes.count(code) == 1, code
    # Below the header rows, column A holds nothing but value codes and item codes (title rows).
    items = {i.code for i in plan.items}
    body = codes[codes.index(layout.HEADER_CODES["filled_date"]) + 2:]
    assert all(c in items or c in expected for c in body), body
    # Codes appear in plan order.
    assert [c for c in codes if c in expected] == expected


@pytest.mark.parametrize("reporter", ["oral", "department"])
def test_every_row_code_once_calamine(plan: Plan, forms: dict[str, Path], reporter: str) -> None:
    rows = calamine_rows(forms[form_file_name(plan, reporter)])
    column_a = [r[layout.CODE_COLUMN - 1] for r in rows if r]
    for code in expected_codes(plan, reporter):
        assert column_a.count(code) == 1, code
    by_code = {r[0]: r for r in rows if r and r[0]}
    assert by_code[layout.FORM_ID_CODE][layout.VALUE_COLUMN - 1] == layout.form_id(plan)
    header = next(r for r in rows if layout.VALUE_HEADERS[0] in r)
    assert header.index(layout.VALUE_HEADERS[0]) == layout.VALUE_COLUMN - 1


def test_unit_name_prefilled(plan: Plan, forms: dict[str, Path]) -> None:
    for unit in plan.units[:3]:
        ws = load_workbook(forms[form_file_name(plan, unit.code)])[layout.FORM_SHEET]
        assert ws[load_cell(ws, layout.HEADER_CODES["unit"])].value == unit.name
    ws = load_workbook(forms[form_file_name(plan, "department")])[layout.FORM_SHEET]
    assert ws[load_cell(ws, layout.HEADER_CODES["unit"])].value == plan.department.name


def load_cell(ws: object, code: str) -> str:
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):  # type: ignore[attr-defined]
        if cell.value == code:
            return f"{VALUE}{cell.row}"
    raise KeyError(code)


def test_department_form_holds_only_department_items(plan: Plan, forms: dict[str, Path]) -> None:
    codes = set(value_codes_openpyxl(forms[form_file_name(plan, plan.department.code)]))
    dept = plan.items_for("department")
    others = [i for i in plan.items if i not in dept]
    assert dept and others
    for item in dept:
        assert item.status_code in codes
    for item in others:
        assert item.status_code not in codes
        assert not any(f.code in codes for f in item.figures if all(f not in d.figures for d in dept))


def test_unit_form_holds_no_department_only_items(plan: Plan, forms: dict[str, Path]) -> None:
    codes = set(value_codes_openpyxl(forms[form_file_name(plan, "oral")]))
    for item in plan.items:
        assert (item.status_code in codes) == ("units" in item.reported_by)


def test_defined_names_point_at_value_cells(plan: Plan, forms: dict[str, Path]) -> None:
    wb = load_workbook(forms[form_file_name(plan, "akzhaiyk")])
    ws = wb[layout.FORM_SHEET]
    codes = expected_codes(plan, "akzhaiyk")
    assert len(wb.defined_names) >= len(codes)
    for code in codes:
        dn = wb.defined_names[layout.defined_name(code)]
        ((sheet, ref),) = list(dn.destinations)
        assert sheet == layout.FORM_SHEET
        column, row = ref.replace("$", "")[0], int(ref.replace("$", "")[1:])
        assert column == VALUE
        assert ws.cell(row=row, column=layout.CODE_COLUMN).value == code
    assert wb.defined_names["form_unit"].attr_text == f"'{layout.FORM_SHEET}'!${VALUE}$5"


def test_only_value_cells_unlocked_and_sheet_protected(plan: Plan, forms: dict[str, Path]) -> None:
    ws = load_workbook(forms[form_file_name(plan, "taskala")])[layout.FORM_SHEET]
    assert ws.protection.sheet
    assert not ws.protection.password  # people may unprotect if they really must
    value_rows = {
        r for r in range(1, ws.max_row + 1)
        if ws.cell(row=r, column=1).value in set(expected_codes(plan, "taskala")) - {layout.FORM_ID_CODE}
    }
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=layout.VALUE_COLUMN + 2):
        for cell in row:
            unlocked = cell.protection.locked is False
            expected = cell.column == layout.VALUE_COLUMN and cell.row in value_rows
            assert unlocked == expected, cell.coordinate


def test_data_validations(plan: Plan, forms: dict[str, Path]) -> None:
    ws = load_workbook(forms[form_file_name(plan, "oral")])[layout.FORM_SHEET]
    row_of = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}

    def validation(code: str) -> object:
        cell = f"{VALUE}{row_of[code]}"
        found = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
        assert len(found) == 1, code
        return found[0]

    lists = load_workbook(forms[form_file_name(plan, "oral")])[layout.LISTS_SHEET]
    assert lists.sheet_state == "hidden"

    def list_values(dv: object) -> list[object]:
        ref = dv.formula1.split("!")[1].replace("$", "")  # type: ignore[attr-defined]
        return [c.value for (c,) in lists[ref]]

    for fig in plan.figures:
        if fig.code not in row_of or fig.unit == "text":
            continue
        dv = validation(fig.code)
        if fig.unit == "count":
            assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")
        elif fig.unit == "tenge":
            assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
        elif fig.unit == "yesno":
            assert dv.type == "list"
            assert list_values(dv) == [plan.yes_no.yes.label, plan.yes_no.no.label]
    status = validation(plan.items_for("units")[0].status_code)
    assert status.type == "list" and list_values(status) == [s.label for s in plan.statuses]
    unit = validation(layout.HEADER_CODES["unit"])
    assert unit.type == "list" and set(list_values(unit)) >= {u.name for u in plan.units}
    assert validation(layout.HEADER_CODES["filled_date"]).type == "date"
    report = validation(layout.HEADER_CODES["report_date"])
    assert report.type == "list"
    assert [v.date() if isinstance(v, dt.datetime) else v for v in list_values(report)] == list(plan.dates)


def test_report_date_prefilled(plan: Plan, tmp_path: Path) -> None:
    path = write_form(plan, "syrym", tmp_path / "f.xlsx", report_date=plan.dates[2])
    ws = load_workbook(path)[layout.FORM_SHEET]
    value = ws[load_cell(ws, layout.HEADER_CODES["report_date"])].value
    assert value.date() == plan.dates[2]
    with pytest.raises(ValueError):
        write_form(plan, "syrym", tmp_path / "g.xlsx", report_date=dt.date(2017, 8, 9))
    assert not (tmp_path / "g.xlsx").exists()


def test_sheets_and_layout_contract(plan: Plan, forms: dict[str, Path]) -> None:
    wb = load_workbook(forms[form_file_name(plan, "oral")])
    assert wb.sheetnames[0] == layout.FORM_SHEET
    assert {layout.INSTRUCTIONS_SHEET, layout.LISTS_SHEET} <= set(wb.sheetnames)
    ws = wb[layout.FORM_SHEET]
    assert ws.freeze_panes is not None
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1


def test_same_plan_same_bytes(plan: Plan, tmp_path: Path, forms: dict[str, Path]) -> None:
    again = write_form(plan, "oral", tmp_path / form_file_name(plan, "oral"))
    first = forms[form_file_name(plan, "oral")].read_bytes()
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(first).digest()
    with zipfile.ZipFile(again) as z:
        assert {i.date_time for i in z.infolist()} == {(2017, 8, 1, 9, 0, 0)}


def test_unknown_reporter_rejected(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere"):
        write_form(plan, "nowhere", tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_write_is_whole_or_nothing(plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "form.xlsx"
    target.write_bytes(b"old")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("pipeline.forms.build.copy_normalised", broken)
    with pytest.raises(RuntimeError):
        write_form(plan, "oral", target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["form.xlsx"]


def test_normalise_zip_keeps_order_and_content(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "x", compress_type=zipfile.ZIP_STORED)
        z.writestr("b.xml", "<b/>")
        z.writestr("a.xml", "<a/>")
    normalise_zip(path, (2017, 8, 1, 0, 0, 0))
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["mimetype", "b.xml", "a.xml"]
        assert z.read("a.xml") == b"<a/>"
        assert z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert {i.date_time for i in z.infolist()} == {(2017, 8, 1, 0, 0, 0)}


def test_built_form_rows_match_file(plan: Plan, forms: dict[str, Path]) -> None:
    built = build_form(plan, "oral")
    ws = load_workbook(forms[form_file_name(plan, "oral")])[layout.FORM_SHEET]
    for code, row in built.rows.items():
        assert ws.cell(row=row.row, column=layout.CODE_COLUMN).value == code


# Files saved by LibreOffice (committed fixtures; made by tests/fixtures/make_fixtures.py).


@pytest.mark.parametrize("ext", ["xlsx", "xls", "ods"])
def test_libreoffice_fixtures_read_by_code(ext: str) -> None:
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    rows = calamine_rows(FIXTURES / f"akzhaiyk-2017-08-26.{ext}")
    got = {r[0]: r[layout.VALUE_COLUMN - 1] for r in rows if r and isinstance(r[0], str) and r[0]}
    for code, value in expected.items():
        actual = got[code]
        if isinstance(actual, (dt.date, dt.datetime)):
            actual = actual.isoformat()[:10]
        assert actual == value, code


@pytest.mark.libreoffice
@pytest.mark.skipif(not soffice_available(), reason="soffice not installed")
def test_libreoffice_round_trip_keeps_codes_and_names(plan: Plan, forms: dict[str, Path], tmp_path: Path) -> None:
    out = convert(forms[form_file_name(plan, "department")], tmp_path, "xlsx")
    assert out.parent == tmp_path and out.suffix == ".xlsx"
    wb = load_workbook(out)
    assert layout.defined_name(layout.HEADER_CODES["unit"]) in wb.defined_names
    codes = [c for c in value_codes_openpyxl(out) if c in expected_codes(plan, "department")]
    assert codes == expected_codes(plan, "department")


@pytest.mark.libreoffice
@pytest.mark.skipif(not soffice_available(), reason="soffice not installed")
def test_libreoffice_failure_is_clear(tmp_path: Path) -> None:
    with pytest.raises(LibreOfficeError, match="no such file"):
        convert(tmp_path / "missing.xlsx", tmp_path, "ods")


def test_libreoffice_fixtures_are_current(plan: Plan) -> None:
    """Fails when the plan or the sample generator changed: re-run tests/fixtures/make_fixtures.py."""
    from pipeline.tools.samples import sample_values

    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    values = sample_values(plan, "akzhaiyk", dt.date(2017, 8, 26), seed=2017)
    assert {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()} == expected


def test_blank_forms_are_named_in_cyrillic_after_the_unit(plan: Plan, forms: dict[str, Path]) -> None:
    """The district sees its name in Cyrillic everywhere: the blank form's file name too."""
    names = set(forms)
    for unit in plan.units:
        name = form_file_name(plan, unit.code)
        assert unit.name in name and name.endswith(".xlsx") and "/" not in name, name
        assert name in names
    assert form_file_name(plan, "terekti") == "Нысан - Теректі ауданы.xlsx"
    assert form_file_name(plan, plan.department.code) in names
    assert len(names) == len(plan.units) + 1  # no two units' names collapse into one file
    assert not any(n.startswith("nysan-") for n in names)
