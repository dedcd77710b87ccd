"""Kazakh formatting of numbers, dates and unit lists for the report.

Numbers and the nominative date come from Babel `kk`; the case forms of months and the plural nouns of unit
lists come from `pipeline/data/kazakh.yaml`, because Babel has no case forms and grammar endings must not
be computed by gluing suffixes onto values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from pipeline.plan.model import Unit
from pipeline.texts import load_data

LOCALE = "kk"
WORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "kazakh.yaml"
NBSP = "\u00a0"

MonthCase = Literal["nominative", "locative", "attributive", "dative", "ablative"]
UnitCase = Literal["nominative", "genitive", "dative", "locative", "ablative"]

# An initial («З.») followed by a space: the space must not break the line between initial and surname.
_INITIAL_SPACE = re.compile(r"(?<!\w)(\w\.)[ \t]+(?=\w)")


def load_words(path: Path = WORDS_PATH) -> dict[str, Any]:
    return load_data(path.name, path.parent)


def words() -> dict[str, Any]:
    return load_words(WORDS_PATH)


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@cache
def _pattern(pattern: str) -> NumberPattern:
    # format_decimal parses its pattern and looks up the locale on every call; a report formats thousands
    # of numbers, so both are done once.
    return parse_pattern(pattern)


@cache
def _locale() -> Locale:
    return Locale.parse(LOCALE)


def _decimal(value: float, pattern: str) -> str:
    """Babel `kk` formatting, as `format_decimal(value, format=pattern, locale="kk")` gives it."""
    return _pattern(pattern).apply(value, _locale())


def fmt_count(value: float | int | None) -> str:
    """«1 253»: whole number, no-break space between thousands; «–» when the value is missing."""
    if is_missing(value):
        return words()["numbers"]["no_value"]
    return _decimal(round(float(value)), "#,##0")


def fmt_thousand_tenge(tenge: float | int | None) -> str:
    """An amount in tenge shown in thousands with one decimal: 40 338 512 → «40 338,5»."""
    if is_missing(tenge):
        return words()["numbers"]["no_value"]
    return _decimal(float(tenge) / 1000.0, "#,##0.0")


def fmt_percent(percent: float) -> str:
    """12.5 → «12,5%» (the argument is already in percent, not a ratio)."""
    return _decimal(percent, "#,##0.0") + "%"


def _signed(text: str, value: float) -> str:
    # Babel puts a minus on negatives but never a plus; a change reads better with its sign either way.
    return text if value < 0 else "+" + text


def fmt_change(new: float | None, old: float | None, *, amount: bool = False) -> str:
    """Signed change with percent: «+1 250 (+12,5%)»; amounts in thousand tenge with the unit word.

    The percent is left out when the old value is zero or missing (growth from nothing has no percent).
    """
    new_v = 0.0 if is_missing(new) else float(new)
    old_v = 0.0 if is_missing(old) else float(old)
    diff = new_v - old_v
    if amount:
        absolute = _signed(fmt_thousand_tenge(diff), diff) + " " + words()["numbers"]["amount_unit"]
    else:
        absolute = _signed(fmt_count(diff), diff)
    if old_v == 0:
        return absolute
    pct = diff / old_v * 100.0
    return f"{absolute} ({_signed(fmt_percent(pct), pct)})"


def fmt_date(date: dt.date) -> str:
    """«2017 жылғы 17 тамыз»."""
    return format_date(date, words()["dates"]["full_pattern"], locale=LOCALE)


def fmt_date_short(date: dt.date) -> str:
    """Babel's long format «2017 ж. 17 тамыз»: fine in tables, not in running text or the title."""
    return format_date(date, "long", locale=LOCALE)


def month_form(month: int, case: MonthCase) -> str:
    return words()["months"][month][case]


def day_month(date: dt.date, case: MonthCase) -> str:
    """«17 тамыздағы», «28 қыркүйекке», «1 тамыздан»: the ending sits on the month, never on the number."""
    return f"{date.day} {month_form(date.month, case)}"


def date_case(date: dt.date, case: MonthCase) -> str:
    """«2017 жылғы 17 тамыздағы»."""
    year = words()["dates"]["year_of"].format(year=date.year)
    return f"{year} {day_month(date, case)}"


def until(date: dt.date, *, with_year: bool = False) -> str:
    """«28 қыркүйекке дейін»."""
    head = date_case(date, "dative") if with_year else day_month(date, "dative")
    return f"{head} {words()['dates']['until']}"


def nbsp_initials(name: str) -> str:
    """«З. Гумарова» → «З.\u00a0Гумарова», so a line never breaks between the initial and the surname."""
    return _INITIAL_SPACE.sub(lambda m: m.group(1) + NBSP, name)


def lower_first(text: str) -> str:
    """«Көмек …» → «көмек …»; «БАҚ-та …» and «‹Қызу …» stay as they are."""
    if not text[:1].isalpha() or text[1:2].isupper():
        # An acronym («БАҚ-та») or a quotation keeps its capital.
        return text
    return text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(parts: Sequence[str]) -> str:
    conj = words()["lists"]["and"]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {conj} " + parts[-1]


def _unit_form(unit: Unit, case: UnitCase) -> str:
    return unit.name if case == "nominative" else getattr(unit.cases, case)


def unit_list(units: Sequence[Unit], case: UnitCase = "locative") -> str:
    """«Ақжайық, Казталов және Сырым аудандарында»; «Орал қаласында, Ақжайық және Сырым аудандарында».

    Units keep the order given. Units of one kind share the plural noun; a single unit of a kind keeps its
    own case form from the plan; each city stands apart with its own form.
    """
    plural = words()["lists"]["plural"]
    groups: list[str] = []
    cities = [u for u in units if u.kind == "city"]
    districts = [u for u in units if u.kind == "district"]
    groups.extend(_unit_form(u, case) for u in cities)
    if len(districts) == 1:
        groups.append(_unit_form(districts[0], case))
    elif districts:
        groups.append(_join([u.short for u in districts]) + " " + plural["district"][case])
    if len(groups) <= 1:
        return "".join(groups)
    # A multi-district group already carries «және»; a second one between groups would read twice.
    if len(districts) > 1:
        return ", ".join(groups)
    return _join(groups)
