"""Where things stand in the district form. Shared by the form writer and the reader.

The reader never relies on positions alone: it finds every row by the code in the code column and the
value column by its header («Мәні»), so rows moved or inserted by a district still read correctly. The
positions here are what the writer produces.
"""

from __future__ import annotations

from pipeline.plan.model import HEADER_FIELDS, Plan

FORM_SHEET = "Нысан"
INSTRUCTIONS_SHEET = "Нұсқаулық"
LISTS_SHEET = "Тізімдер"  # hidden sheet with the dropdown lists

CODE_COLUMN = 1  # A
LABEL_COLUMN = 2  # B
MEASURE_COLUMN = 3  # C
VALUE_COLUMN = 4  # D

#: Header texts of the value column the reader accepts (the writer uses the first).
VALUE_HEADERS: tuple[str, ...] = ("Мәні", "Значение", "Мәні (толтырыңыз)")

#: Row codes of the header fields and the form identity.
FORM_ID_CODE = "form.id"
HEADER_CODES: dict[str, str] = {name: f"form.{name}" for name in HEADER_FIELDS}
#: The row of a form written by `python -m pipeline export` from another report: the sha256 of that report's
#: manifest.json. Read when present (the manifest shows it), never judged; a blank form has no such row.
SOURCE_CODE = "form.source"


def form_id(plan: Plan) -> str:
    """The value in the form.id row: identifies campaign and form version."""
    return f"{plan.campaign.code}/v{plan.campaign.form_version}"


def defined_name(code: str) -> str:
    """Excel defined name for a row code (`form.unit` → `form_unit`, `III.2.status` → `item_III_2_status`)."""
    safe = code.replace(".", "_")
    return safe if safe[0].isalpha() and safe[0].islower() else f"item_{safe}"


def all_codes(plan: Plan) -> list[str]:
    """Every row code a form of this plan may hold, in form order."""
    codes = [FORM_ID_CODE, *HEADER_CODES.values()]
    for item in plan.items:
        codes.append(item.status_code)
        codes.extend(f.code for f in item.figures)
        codes.append(item.comment_code)
    return codes
