"""Build RawForm objects by hand, so validation and aggregation are tested apart from the reader."""

from __future__ import annotations

import datetime as dt
import hashlib

from pipeline.forms.layout import FORM_ID_CODE, HEADER_CODES, form_id
from pipeline.ingest.model import RawCell, RawForm
from pipeline.plan import Plan

SHEET = "Нысан"


def raw_form(
    plan: Plan,
    name: str,
    *,
    unit: object = "Ақжайық ауданы",
    date: object = dt.date(2017, 8, 17),
    filled: object = None,
    values: dict[str, object] | None = None,
    mtime: float = 1_500_000_000.0,
    formulas: set[str] = frozenset(),
) -> RawForm:
    """A form whose rows stand in plan order from row 3; `values` maps row code → cell value."""
    cells: dict[str, RawCell] = {}
    header = {FORM_ID_CODE: form_id(plan), HEADER_CODES["unit"]: unit, HEADER_CODES["report_date"]: date,
              HEADER_CODES["filled_date"]: filled if filled is not None else date,
              HEADER_CODES["executor"]: "А. Сәрсенова", HEADER_CODES["phone"]: "8 (7112) 50-13-27"}
    row = 3
    for code, value in header.items():
        cells[code] = RawCell(SHEET, f"D{row}", value)
        row += 1
    for code, value in (values or {}).items():
        cells[code] = RawCell(SHEET, f"D{row}", value, formula_without_value=code in formulas)
        row += 1
    digest = hashlib.sha256(name.encode()).hexdigest()
    return RawForm(name=name, sha256=digest, size=1000, mtime=mtime, format="xlsx", cells=cells,
                   has_defined_names=True)


def cell_of(raw: RawForm, code: str) -> str:
    return raw.cells[code].cell


GOOD = {
    "I.5.status": "орындалу үстінде",
    "help_children": 120, "sponsor_children": 80, "help_amount": 1_500_000, "sponsor_amount": 900_000,
    "fund_amount": 600_000, "sponsors_involved": 12, "raids": 4, "out_of_school_found": 3,
    "returned_to_school": 2, "price_commission": "иә", "I.5.comment": "Көмек көрсетілді",
}
