"""Round trip through a real spreadsheet program: forms filled, saved by LibreOffice, read to the same figures."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.forms.build import write_form
from pipeline.forms.libreoffice import convert, soffice_available
from pipeline.ingest import read_files
from pipeline.report import run_report
from pipeline.tools.samples import fill_form, sample_values
from pipeline.validate import validate_forms

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "libreoffice"


def _expected_numbers(plan, values: dict[str, object]) -> dict[str, float]:
    out = {}
    for code, value in values.items():
        figure = plan.figure_by_code.get(code)
        if figure is None or not figure.numeric:
            continue
        out[code] = (1.0 if value == plan.yes_no.yes.label else 0.0) if figure.unit == "yesno" else float(value)
    return out


def test_libreoffice_saved_xlsx_xls_ods_read_to_identical_figures(plan):
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    paths = sorted(FIXTURES.glob("akzhaiyk-2017-08-26.*"))
    assert {p.suffix for p in paths} == {".xlsx", ".xls", ".ods"}
    subs = validate_forms(plan, read_files(plan, paths, root=FIXTURES))
    numbers = _expected_numbers(plan, expected)
    for sub in subs:
        assert sub.raw.format == sub.name.rsplit(".", 1)[1]
        assert [p.code for p in sub.problems if p.severity == "error"] == [], sub.name
        assert sub.unit == "akzhaiyk" and sub.report_date == dt.date(2017, 8, 26)
        assert sub.values == numbers, sub.name
    assert subs[0].statuses == subs[1].statuses == subs[2].statuses
    assert subs[0].comments == subs[1].comments == subs[2].comments


@pytest.mark.libreoffice
@pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) is not installed")
def test_report_from_forms_saved_by_libreoffice_equals_what_was_filled(plan, tmp_path):
    date = dt.date(2017, 8, 17)
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    inbox.mkdir()
    work.mkdir()
    filled: dict[str, dict[str, object]] = {}
    for unit, target in (("oral", "xlsx"), ("syrym", "xls"), ("terekti", "ods")):
        blank = write_form(plan, unit, work / f"blank-{unit}.xlsx")
        values = sample_values(plan, unit, date)
        source = work / f"{unit}.xlsx"
        fill_form(blank, source, values)
        out = work / target
        out.mkdir()
        converted = convert(source, out, target)
        (inbox / f"{unit} мәлімет.{target}").write_bytes(converted.read_bytes())
        filled[unit] = values
    result = run_report(date.isoformat(), inbox=inbox, outbox=tmp_path / "outbox")
    rows = list(csv.DictReader((result.folder / "figures.csv").open(encoding="utf-8-sig")))
    got = {(r["unit"], r["figure"]): r["value"] for r in rows}
    for unit, values in filled.items():
        for code, number in _expected_numbers(plan, values).items():
            assert float(got[(unit, code)]) == number, (unit, code)
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(i["format"] for i in manifest["inputs"]) == ["ods", "xls", "xlsx"]
    assert all(i["status"] == "used" for i in manifest["inputs"])
