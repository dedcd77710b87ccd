"""Reading dates from form cells: real date cells, Excel serial numbers, and the usual typed forms."""

from __future__ import annotations

import datetime as dt
import re

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DMY = re.compile(r"^(\d{1,2})[./\-](\d{1,2})[./\-](\d{2}|\d{4})(?:\s*ж\.?|\s*г\.?)?$")
_YMD = re.compile(r"^(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def parse_date(raw: object) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        # A date typed into a cell formatted as a number arrives as the Excel serial day.
        if 20000 <= raw <= 80000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(raw))
        return None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if m := _YMD.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        if year < 100:
            year += 2000
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
