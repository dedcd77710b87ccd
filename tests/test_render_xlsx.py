"""Analysts' workbook: sheets per date, formulas never executed, deterministic bytes, valid number formats."""

from __future__ import annotations

import csv
import dataclasses
import re
import string
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.forms.libreoffice import convert, soffice_available
from pipeline.render import write_summary
from pipeline.render.cells import MAX_CELL_CHARS
from pipeline.render.summary_xlsx import TENGE_SCALE, number_format, summary_bytes
from render_factory import make_report_data

FORMULA = '=HYPERLINK("x")'
IIN = "050312312345"  # a valid-looking ИИН: born 12.03.2005, century/sex digit 3


def _numeric_codes(data) -> list[str]:
    return [f.code for f in data.plan.figures if f.numeric]


def _members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).decode("utf-8") for name in zf.namelist() if name.endswith(".xml")}


def test_summary_workbook(tmp_path: Path) -> None:
    data = make_report_data("2017-09-28", sponsors_text=FORMULA, comment="-1 " + FORMULA)
    path = write_summary(data, tmp_path / "summary.xlsx")
    wb = load_workbook(path)
    dates = [d.isoformat() for d in sorted(data.history)]
    assert wb.sheetnames[: len(dates)] == dates
    ws = wb[dates[-1]]
    assert ws.freeze_panes == "B3"
    assert ws.cell(row=3, column=1).value == data.plan.units[0].name
    total_row = 3 + len(data.plan.units)
    col = 2 + _numeric_codes(data).index("help_children")
    assert ws.cell(row=total_row, column=col).value == data.totals["help_children"]
    assert ws.cell(row=3, column=col).number_format == "#,##0"
    found = [c for row in wb.worksheets[len(dates)].iter_rows() for c in row if c.value == FORMULA]
    assert found, "the text value must be in the statuses sheet"
    assert all(c.data_type == "s" for c in found)
    assert all(c.data_type != "f" for s in wb.worksheets for row in s.iter_rows() for c in row)


def test_summary_is_deterministic(tmp_path: Path) -> None:
    a = write_summary(make_report_data("2017-08-17"), tmp_path / "a.xlsx").read_bytes()
    b = write_summary(make_report_data("2017-08-17"), tmp_path / "b.xlsx").read_bytes()
    assert a == b


# --- number formats ------------------------------------------------------------------------------------------

# One section of an OOXML number format as this workbook may use it: quoted literals, digit placeholders,
# "," (group separator) and "." (decimal point). A bare space (the old "# ##0") is a literal character, which
# LibreOffice printed as «54410 000.0».
_SECTION = re.compile(r'^(?:"[^"]*"|[#0,.])+$')


def _custom_formats(path: Path) -> dict[int, str]:
    styles = _members(path)["xl/styles.xml"]
    return {int(i): code.replace("&quot;", '"')
            for i, code in re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles)}


def test_number_formats_are_valid_and_group_thousands(tmp_path: Path) -> None:
    data = make_report_data("2017-08-17")
    path = write_summary(data, tmp_path / "summary.xlsx")
    formats = _custom_formats(path)
    assert formats, "the workbook must declare its number formats"
    for code in formats.values():
        for section in code.split(";"):
            assert _SECTION.match(section), code
        if "#" in code:
            assert "#,##0" in code, f"{code}: thousands not grouped"
    assert number_format("count") == "#,##0" and number_format("tenge") == "#,##0.0"
    ws = load_workbook(path)[data.date.isoformat()]
    codes = _numeric_codes(data)
    for code, fmt in (("help_children", "#,##0"), ("help_amount", "#,##0.0"), ("price_commission", '"иә";"иә";"жоқ"')):
        assert ws.cell(row=3, column=2 + codes.index(code)).number_format == fmt, code


def test_amount_columns_in_thousands_of_tenge_with_unit_in_header(tmp_path: Path) -> None:
    data = make_report_data("2017-08-17")
    ws = load_workbook(write_summary(data, tmp_path / "s.xlsx"))[data.date.isoformat()]
    codes = _numeric_codes(data)
    for fig in data.plan.figures:
        if not fig.numeric:
            continue
        column = 2 + codes.index(fig.code)
        head = ws.cell(row=1, column=column).value
        assert head.startswith(fig.label)
        assert head.endswith("мың теңге") == (fig.unit == "tenge"), head
        if fig.unit == "tenge":
            for row, unit in enumerate(data.plan.units, start=3):
                value = data.values.at[unit.code, fig.code]
                if value == value:
                    assert ws.cell(row=row, column=column).value == pytest.approx(value / TENGE_SCALE)


# comma-separated, UTF-8 (76), cell values "as shown" (the last token): what the analyst reads on screen.
CSV_AS_SHOWN = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"


@pytest.mark.skipif(not soffice_available(), reason="soffice not installed")
def test_libreoffice_shows_grouped_thousands(tmp_path: Path) -> None:
    """What an analyst sees: LibreOffice's own rendering of the cells (its CSV export, values as shown)."""
    data = make_report_data("2017-08-08")  # one date: the first sheet is the one exported
    path = write_summary(data, tmp_path / "summary.xlsx")
    shown = list(csv.reader(convert(path, tmp_path / "lo", CSV_AS_SHOWN).open(encoding="utf-8")))
    codes = _numeric_codes(data)
    total = shown[2 + len(data.plan.units)]
    amount = total[1 + codes.index("help_amount")]
    children = total[1 + codes.index("help_children")]
    assert data.totals["help_amount"] / TENGE_SCALE >= 1000 and data.totals["help_children"] >= 1000
    # Grouped by the locale's separator, exactly one decimal; no run of more than three digits.
    assert re.fullmatch(r"\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+[.,]\d", amount), amount
    assert re.fullmatch(r"\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+", children), children
    assert float(re.sub(r"\D", "", amount)) / 10 == pytest.approx(data.totals["help_amount"] / TENGE_SCALE, abs=0.05)
    first_unit = shown[2]
    assert first_unit[1 + codes.index("price_commission")] in ("иә", "жоқ")


# --- the department's own figures ------------------------------------------------------------------------------

def test_department_row_filled(tmp_path: Path) -> None:
    data = make_report_data("2017-08-17")
    wb = load_workbook(write_summary(data, tmp_path / "s.xlsx"))
    ws = wb[data.date.isoformat()]
    codes = _numeric_codes(data)
    row = 4 + len(data.plan.units)  # units from row 3, then the oblast total, then the department
    assert ws.cell(row=row, column=1).value == data.plan.department.name
    own = data.department.figures
    assert own, "the factory's department must report figures"
    for code, value in own.items():
        assert ws.cell(row=row, column=2 + codes.index(code)).value == value, code
    # Department-only columns (I.1, I.2) are no longer empty.
    dept_only = [f.code for i in data.plan.items_for("department") if "units" not in i.reported_by for f in i.figures]
    assert dept_only and all(ws.cell(row=row, column=2 + codes.index(c)).value is not None for c in dept_only)
    statuses = wb[wb.sheetnames[len(data.history)]]
    last = statuses.max_row
    assert statuses.cell(row=last, column=1).value == data.plan.department.name
    items = [i.code for i in data.plan.items]
    done = data.plan.status_by_code["done"].label
    assert statuses.cell(row=last, column=2 + items.index("I.1")).value == done


# --- district text ---------------------------------------------------------------------------------------------

def _assert_no_formula_anywhere(path: Path) -> None:
    members = _members(path)
    for name, xml in members.items():
        if name.startswith("xl/worksheets/"):
            assert "<f>" not in xml and "<f " not in xml, name
    wb = load_workbook(path)
    assert all(c.data_type != "f" for s in wb.worksheets for row in s.iter_rows() for c in row)


def test_district_text_is_masked_and_never_a_formula(tmp_path: Path) -> None:
    data = make_report_data("2017-08-17", sponsors_text="+7 701 " + IIN, comment=f"@SUM(A1)\x0b ИИН {IIN}")
    data = dataclasses.replace(
        data, timeliness=tuple(dataclasses.replace(t, file=f"=1+2 {IIN}.xlsx") if t.file else t for t in data.timeliness)
    )
    path = write_summary(data, tmp_path / "s.xlsx")
    raw = b"".join(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist())
    assert IIN.encode() not in raw
    assert b"\x0b" not in raw
    _assert_no_formula_anywhere(path)
    wb = load_workbook(path)
    texts = [c.value for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("=1+2") for t in texts) and any(t.startswith("+7 701") for t in texts)
    quoted = [c for s in wb.worksheets for row in s.iter_rows() for c in row
              if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert quoted and all(c.quotePrefix for c in quoted)


HOSTILE = st.one_of(
    st.sampled_from(["=1+2", "+1", "-1", "@A1", "=HYPERLINK(\"http://x\",\"y\")", "{{ x }}", "{% if %}",
                     "\u202eRTL\u200f", "\t=1", "\r\n=2", IIN, "И.И. Иванов, М.А. Петрова"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    st.text(alphabet=string.printable + "\x00\x01\x0b\x0c\x1f\ufffe", min_size=1, max_size=40),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=HOSTILE, suffix=HOSTILE, long=st.booleans())
def test_hostile_text_builds_and_is_never_a_formula(tmp_path_factory, prefix: str, suffix: str, long: bool) -> None:
    text = prefix + suffix + ("ж" * 40_000 if long else "")
    data = make_report_data("2017-08-08", sponsors_text=text, comment=suffix + prefix or "x")
    path = tmp_path_factory.mktemp("h") / "s.xlsx"
    path.write_bytes(summary_bytes(data))
    _assert_no_formula_anywhere(path)
    wb = load_workbook(path)
    longest = max(len(c.value) for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str))
    assert longest <= MAX_CELL_CHARS


def test_region_words_come_from_the_plan(tmp_path: Path) -> None:
    """The unit column's header and the units' total row name the plan's region words (here an invented
    region), never the 2017 oblast's; the total row is the units' sum and says so, the department follows."""
    import yaml

    from pipeline.plan import load_plan
    from pipeline.plan.load import DEFAULT_PLAN

    raw = yaml.safe_load(Path(DEFAULT_PLAN).read_text(encoding="utf-8"))
    raw["region"]["units"] = {"nominative": "сынақ аудандары", "genitive": "сынақ аудандарының", "header": "Сынақ ауданы"}
    raw["region"]["whole"] = {"locative": "сынақта", "by": "сынақ бойынша", "total": "Сынақ бойынша жиыны"}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    data = make_report_data("2017-08-17", load_plan(tmp_path / "plan.yaml"))
    wb = load_workbook(write_summary(data, tmp_path / "s.xlsx"))
    ws = wb[data.date.isoformat()]
    assert ws.cell(row=1, column=1).value == "Сынақ ауданы"
    total = ws.cell(row=3 + len(data.plan.units), column=1).value
    assert total == "Сынақ аудандары бойынша барлығы"
    assert ws.cell(row=4 + len(data.plan.units), column=1).value == raw["department"]["name"]
    texts = [c.value for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]
    for word in ("Облыс бойынша", "Аудан, қала", "Орал"):
        assert not any(word in t for t in texts if t not in {u["name"] for u in raw["units"]}), word
    assert wb.properties.creator == raw["department"]["name"]
