"""Personal data of minors must not travel: ИИН-like numbers and lists of personal names are masked.

The one masking pass: ingest applies it to every text value, sheet name and file name before anything is
stored (the cache included), and `Problem.make` applies it to every value quoted in a message, so no later
stage ever holds the raw text. `mask(text) -> (masked text, changed)` is the whole interface.

What counts:
* an ИИН: 12 digits whose first six are a date (YYMMDD) and whose 7th is 0–6, written together or with
  up to three separators between digits — any space, tab or line break, invisible characters (zero-width
  space, word joiner, soft hyphen, BOM), any dash or minus sign, a dot or a slash — in ASCII or full-width
  (any Unicode) digits; in a number cell also when Excel dropped its leading zeros (born 2000–2009);
* a list of personal names (two or more), in the orders officials write them: «Иванов Иван», «Иванов И.И.»,
  «И.И. Иванов», «Иван Иванов», in capitals, in Latin transliteration («Ivanov I.», «Aidos Nurlanuly»), and
  Kazakh forms without a Russian ending («Жұмабай Айдос», «Сейітқали Бекмұхамбет», «Төлеубай Ә.»).
  One name alone (the executor, an official named in a comment) is not masked: it is not a list of
  children, and masking it would hide who to call. Phrases with a place or organisation word
  (data/privacy.yaml) are not names: «Х ауданы», «ЖШС "Ақниет"».
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache

MASK = "***"

# What people and programs put between the digits of a number: every space, tab and line break; the
# invisible characters (zero-width space/joiners, word joiner, soft hyphen, BOM, Mongolian vowel separator);
# every dash, hyphen and minus sign; dots and slashes.
_SEP_CHARS = (
    " \t\n\r\x0b\x0c\x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u200b-\u200d\u2060\ufeff\u00ad\u180e"
    "\\-\u2010-\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
    ".\u00b7\uff0e/\u2044\u2215\uff0f"
)
_SEP = f"[{_SEP_CHARS}]"
_GAP = f"{_SEP}{{0,3}}"
# A digit, then eleven more, each after at most three separators (« - », «\r\n»). Written together, it is an
# ИИН whatever stands around it; written with separators, only when no digit group continues it over one
# separator (so that «1 500 000 000 000» is a sum, not an ИИН).
_IIN_LIKE = (
    re.compile(r"(?<!\d)\d{12}(?!\d)"),
    re.compile(rf"(?<!\d)(?<!\d{_SEP})\d(?:{_GAP}\d){{11}}(?!{_SEP}?\d)"),
)

_UP = "A-ZА-ЯӘҒҚҢӨҰҮҺІЁ"
_LO = "a-zа-яәғқңөұүһіё"
_LETTER = f"[{_UP}{_LO}]"
# A name word: Title case or CAPITALS, optionally hyphenated (Мұхамед-Әли).
_WORD = rf"[{_UP}]{_LETTER}+(?:-[{_UP}]{_LETTER}+)?"
_ENDINGS = (
    "ов|ова|ев|ева|ёв|ёва|ин|ина|ын|ына|ұлы|улы|қызы|кызы|ский|ская|цкий|цкая|енко|бекова|баева|"
    # Kazakh names used as surnames without a Russian ending: Жұмабай, Төлеубай, Нұрбек, Сейітқали,
    # Бекмұхамбет, Ержан, Айгүл.
    "бай|бек|қали|ғали|кали|гали|әли|мұхамбет|мухамбет|мұхамед|мухамед|жан|гүл|гуль|"
    "ov|ova|ev|eva|in|ina|yn|yna|uly|kyzy|qyzy|skiy|skii|sky|skaya|enko|bay|bai|bek"
)
_SURNAME = rf"[{_UP}]{_LETTER}*?(?i:{_ENDINGS})(?!{_LETTER})"
_PATRONYMIC = rf"[{_UP}]{_LETTER}*?(?i:ович|евич|овна|евна|ична|инична|ovich|evich|ovna|evna)(?!{_LETTER})"
_INITIALS = rf"[{_UP}]\.[ \u00a0]?(?:[{_UP}]\.)?"
_PEOPLE = (
    # surname first: «Иванов Иван (Иванович)», «ИВАНОВ ИВАН», «Иванов И.И.»
    re.compile(rf"(?<!{_LETTER}){_SURNAME}\s+(?:{_INITIALS}|{_WORD}(?:\s+{_PATRONYMIC})?)"),
    # initials first, the official style: «И.И. Иванов», «И. Иванов»
    re.compile(rf"(?<!{_LETTER}){_INITIALS}\s?{_SURNAME}"),
    # given name first: «Айдар Сәрсенов», «Aidos Nurlanuly»
    re.compile(rf"(?<!{_LETTER}){_WORD}\s+{_SURNAME}"),
)
_WORDS = re.compile(rf"{_LETTER}+")


def looks_like_iin(digits: str) -> bool:
    """An ИИН starts with the birth date YYMMDD and its 7th digit encodes century and sex (1–6)."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    try:
        dt.date(2000 + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return digits[6] in "0123456"


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


@cache
def _not_a_person() -> frozenset[str]:
    from pipeline.texts import load_data  # ground floor too; loaded once

    return frozenset(w.casefold() for w in load_data("privacy.yaml")["not_a_person"])


def _is_person(phrase: str) -> bool:
    stop = _not_a_person()
    return not any(w.casefold() in stop for w in _WORDS.findall(phrase))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# Nothing to find without a digit or two capitals: most cells (statuses, one-sentence comments) stop here.
_MAYBE = re.compile(rf"\d|[{_UP}][^{_UP}]*[{_UP}]", re.DOTALL)


def find_personal_data(text: str) -> list[tuple[int, int]]:
    """Spans to mask: every ИИН-like number, and personal names when there are two or more (a list)."""
    if _MAYBE.search(text) is None:
        return []
    spans = [m.span() for pattern in _IIN_LIKE for m in pattern.finditer(text) if looks_like_iin(_digits(m.group()))]
    found = [[m.span() for m in pattern.finditer(text) if _is_person(m.group())] for pattern in _PEOPLE]
    people = _merge([span for spans_of in found for span in spans_of])
    # Two people written without a comma («Иванов Иван Петров Пётр») overlap under the other orders and
    # merge into one span: a list is two matches of one order as well as two separate spans.
    if len(people) >= 2 or max(len(spans_of) for spans_of in found) >= 2:
        spans.extend(people)
    return _merge(spans)


#: Answers of `mask` for short texts seen before in this process (text → (answer, masked), the answer None
#: when it is the text itself): readers and validation see the same statuses, units and stock phrases in
#: form after form, and finding personal data in one costs 2–50 µs. `mask` depends on the text alone.
_ANSWERS: dict[str, tuple[str | None, bool]] = {}
_ANSWERS_MAX = 4096
_ANSWER_CHARS = 256


def mask(text: str) -> tuple[str, bool]:
    known = _ANSWERS.get(text) if text.__class__ is str else None
    if known is not None:
        return (text if known[0] is None else known[0]), known[1]
    answer, masked = _mask(text)
    if text.__class__ is str and len(text) <= _ANSWER_CHARS:
        if len(_ANSWERS) >= _ANSWERS_MAX:
            _ANSWERS.clear()
        # An unchanged text is given back as the very object passed in, never an equal one cached earlier.
        _ANSWERS[text] = (None if answer is text else answer, masked)
    return answer, masked


def _mask(text: str) -> tuple[str, bool]:
    # NFC first: a name typed with combining marks (decomposed й, ё) is the same name.
    text = unicodedata.normalize("NFC", text)
    spans = find_personal_data(text)
    if not spans:
        return text, False
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out), True


def mask_number(value: int | float, *, amount: bool = False) -> bool:
    """A number cell that is an ИИН typed as a number. Excel drops the leading zeros: one for a child born
    2001–2009 (11 digits), two or three for one born in 2000 (10 or 9 digits: 00MMDD…). A number that
    short is taken for an ИИН only with the 7th digit of a 21st-century birth (5 or 6), so that amounts of
    that size are rarely mistaken for one.

    `amount`: the cell holds a sum of tenge. There 9 and 10 digits are what a region's help comes to
    (116 694 000 tenge reads as 2000-01-16 and a 6), so only 11 or 12 digits — 10 billion tenge and more,
    no unit's help — are taken for an ИИН."""
    if isinstance(value, bool):
        return False
    try:
        whole = int(value)
    except (OverflowError, ValueError):
        return False
    if whole != value or not (10**10 if amount else 10**8) <= whole < 10**12:
        return False
    digits = str(whole).zfill(12)
    return looks_like_iin(digits) and (whole >= 10**10 or digits[6] in "56")
