"""Personal data of minors must not travel: ИИН-like numbers and lists of personal names are masked.

The children at risk behind items I.3–I.4 are named in the districts' own databases, not in this form;
when a comment carries them anyway, the pipeline masks them in every output and warns the district.
"""

from __future__ import annotations

import datetime as dt
import re

MASK = "***"

_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
# Surname endings common in Kazakh and Russian names; a surname followed by a capitalised given name or
# initials is a personal name.
_SURNAME = r"[А-ЯӘҒҚҢӨҰҮҺІЁ][а-яәғқңөұүһіё]+(?:ов|ова|ев|ева|ин|ина|ұлы|улы|қызы|кызы|ский|ская|бекова|баева)"
_PERSON = re.compile(
    rf"\b{_SURNAME}\s+(?:[А-ЯӘҒҚҢӨҰҮҺІЁ][а-яәғқңөұүһіё]+|[А-ЯӘҒҚҢӨҰҮҺІЁ]\.\s?(?:[А-ЯӘҒҚҢӨҰҮҺІЁ]\.)?)"
)


def looks_like_iin(digits: str) -> bool:
    """An ИИН starts with the birth date YYMMDD and its 7th digit encodes century and sex (1–6)."""
    try:
        dt.date(2000 + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return digits[6] in "0123456"


def find_personal_data(text: str) -> list[tuple[int, int]]:
    """Spans to mask: every ИИН-like number, and personal names when there are two or more (a list)."""
    spans = [m.span() for m in _TWELVE_DIGITS.finditer(text) if looks_like_iin(m.group())]
    people = [m.span() for m in _PERSON.finditer(text)]
    if len(people) >= 2:
        spans.extend(people)
    return sorted(spans)


def mask(text: str) -> tuple[str, bool]:
    spans = find_personal_data(text)
    if not spans:
        return text, False
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out), True
