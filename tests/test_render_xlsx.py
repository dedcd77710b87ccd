"""Analysts' workbook: sheets per date, formulas never executed, deterministic bytes."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from pipeline.render import write_summary
from render_factory import make_report_data

FORMULA = '=HYPERLINK("x")'


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
    col = 2 + [f.code for f in data.plan.figures if f.numeric].index("help_children")
    assert ws.cell(row=total_row, column=col).value == data.totals["help_children"]
    assert ws.cell(row=3, column=col).number_format == "# ##0"
    found = [c for row in wb.worksheets[len(dates)].iter_rows() for c in row if c.value == FORMULA]
    assert found, "the text value must be in the statuses sheet"
    assert all(c.data_type == "s" for c in found)
    assert all(c.data_type != "f" for s in wb.worksheets for row in s.iter_rows() for c in row)


def test_summary_is_deterministic(tmp_path: Path) -> None:
    a = write_summary(make_report_data("2017-08-17"), tmp_path / "a.xlsx").read_bytes()
    b = write_summary(make_report_data("2017-08-17"), tmp_path / "b.xlsx").read_bytes()
    assert a == b
