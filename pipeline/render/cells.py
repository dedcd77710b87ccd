"""Writing district text into an openpyxl cell: masked, XML-safe, within Excel's limit, and always text.

One place for every workbook this tool writes (summary.xlsx, the feedback workbooks). openpyxl turns any
string that starts with "=" into a live formula on assignment; a cell written here is a string cell, and
one that a spreadsheet program would re-read as a formula on edit also carries the quote prefix.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pipeline.privacy import mask
from pipeline.safe_text import starts_formula, xml_text

if TYPE_CHECKING:  # summary.xlsx has its own writer: only the feedback workbooks load openpyxl
    from openpyxl.cell.cell import Cell

# Excel refuses (and "repairs" away) a cell holding more characters than this.
MAX_CELL_CHARS = 32767


@cache
def safe_cell_text(text: str) -> str:
    """Any text as an xlsx cell may hold it: personal data masked, no control characters, within the limit.

    Cached: unit names, status labels and comments repeat across sheets and thousands of rows.
    """
    return xml_text(mask(text)[0])[:MAX_CELL_CHARS]


def put_text(cell: Cell, text: str) -> None:
    """Assign `text` made safe to a (normal-mode) cell as a string, never a formula."""
    safe = safe_cell_text(text)
    cell.value = safe
    cell.data_type = "s"  # after the assignment: openpyxl just made "=…" a formula
    if starts_formula(safe):
        cell.quotePrefix = True


def number_is_personal(value: object) -> bool:
    """A whole number whose digits read as an ИИН (typed as a number; a leading 0 of years 2000–2009 lost)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if value != value or not float(value).is_integer() or not 10**10 <= value < 10**12:
        return False
    return mask(f"{int(value):012d}")[1]
