"""Reading numbers that people typed, sometimes as text.

Decided on purpose (and documented in the README):
- a real number cell is taken as it is;
- text is accepted when it can be read only one way, with a `value-converted` warning:
  `1 500` / `1 500,5` (space, no-break or thin space between groups of three), `1500,00` and `1500,5`
  (decimal comma), `1500.50` (a dot followed by other than three digits), `1.500.000` / `1,500,000`
  (the same separator between several groups of three), a trailing `тг`, `теңге`, `тенге`, `₸`, `KZT`;
  a lone dash (`-`, `–`, `—`) is the common way to write nothing, read as 0;
- `1.500` and `1,500` (one separator followed by exactly three digits) are rejected as ambiguous: the
  separator may be a decimal point or a thousands separator. So are words of scale (`1,5 млн`, `2 мың`),
  which nobody should have to guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["number", "converted", "ambiguous", "not_number", "empty"]

_SPACES = re.compile(r"[\s\u00a0\u2007\u2009\u202f]+")
_CURRENCY = re.compile(r"(?:тг\.?|теңге|тенге|₸|kzt|tg)$", re.IGNORECASE)
_SCALE_WORDS = re.compile(r"(млн|млрд|мың|тыс|mln|k)\b", re.IGNORECASE)
_DASHES = {"-", "–", "—", "‐"}
_DIGIT = re.compile(r"\d")

_PLAIN = re.compile(r"^[+-]?\d+$")
_SPACE_GROUPS = re.compile(r"^[+-]?\d{1,3}( \d{3})+(,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DECIMAL_DOT = re.compile(r"^[+-]?\d+\.\d+$")
_MULTI_DOT_GROUPS = re.compile(r"^[+-]?\d{1,3}(\.\d{3}){2,}$")
_MULTI_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3}){2,}$")
_ONE_SEP_THREE = re.compile(r"^[+-]?\d{1,3}[.,]\d{3}$")


@dataclass(frozen=True)
class ParsedNumber:
    outcome: Outcome
    value: float | None = None


def parse_number(raw: object) -> ParsedNumber:
    if raw is None:
        return ParsedNumber("empty")
    if isinstance(raw, bool):
        return ParsedNumber("not_number")
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):  # NaN or infinity
            return ParsedNumber("not_number")
        return ParsedNumber("number", float(raw))
    if not isinstance(raw, str):
        return ParsedNumber("not_number")
    text = raw.strip()
    if not text:
        return ParsedNumber("empty")
    if text in _DASHES:
        return ParsedNumber("converted", 0.0)
    text = _SPACES.sub(" ", text)
    text = _CURRENCY.sub("", text).strip()
    if _SCALE_WORDS.search(text):
        # «1,5 млн» could be read two ways; «бір мың» (a number in words) is no number at all.
        return ParsedNumber("ambiguous" if _DIGIT.search(text) else "not_number")
    if _PLAIN.match(text):
        return ParsedNumber("converted", float(text))
    if _SPACE_GROUPS.match(text):
        return ParsedNumber("converted", float(text.replace(" ", "").replace(",", ".")))
    if _ONE_SEP_THREE.match(text):
        return ParsedNumber("ambiguous")
    if _MULTI_DOT_GROUPS.match(text):
        return ParsedNumber("converted", float(text.replace(".", "")))
    if _MULTI_COMMA_GROUPS.match(text):
        return ParsedNumber("converted", float(text.replace(",", "")))
    if _DECIMAL_COMMA.match(text):
        return ParsedNumber("converted", float(text.replace(",", ".")))
    if _DECIMAL_DOT.match(text):
        return ParsedNumber("converted", float(text))
    if re.search(r"\d", text) and re.fullmatch(r"[\d\s.,+-]+", text):
        return ParsedNumber("ambiguous")
    return ParsedNumber("not_number")
