"""Kazakh forms of `render/language.py` (numbers, dates, unit lists, capitals), with the expectations written
out as a Kazakh reader writes them (kazakh-report-style.md). These were the tests of the twin module
`render/kazakh.py`, which the report no longer used; they now hold the code the report does use."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.render.language import KAZAKH, RUSSIAN

NBSP = "\u00a0"


def test_numbers() -> None:
    assert KAZAKH.count(1253) == f"1{NBSP}253"
    assert KAZAKH.count(float("nan")) == "–"
    assert KAZAKH.amount(40_338_512) == f"40{NBSP}338,5"
    assert KAZAKH.percent(12.5) == "12,5%"


def test_dates() -> None:
    d = dt.date(2017, 8, 17)
    assert KAZAKH.day(d, "as_of") == f"2017{NBSP}жылғы 17{NBSP}тамыздағы"
    assert KAZAKH.day(d, "full") == f"2017{NBSP}жылғы 17{NBSP}тамыз"
    assert KAZAKH.day(d, "on", year=False) == f"17{NBSP}тамызда"
    assert KAZAKH.day(dt.date(2017, 9, 28), "until", year=False) == f"28{NBSP}қыркүйекке"
    assert KAZAKH.day(dt.date(2017, 8, 1), "since", year=False) == f"1{NBSP}тамыздан"
    assert KAZAKH.table_date(d) == "2017\u202fж. 17 тамыз"  # summary.xlsx's timeliness sheet (CLDR's narrow nbsp)
    assert RUSSIAN.table_date(d) == "17 августа 2017\u202fг."


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_has_every_form(month: int) -> None:
    date = dt.date(2017, month, 1)
    forms = {KAZAKH.day(date, role, year=False) for role in ("as_of", "until", "since", "on", "full")}
    assert len(forms) == 5  # five different case forms of the month


def test_unit_lists(plan) -> None:
    u = plan.unit_by_code
    three = [u["akzhaiyk"], u["kaztalov"], u["syrym"]]
    assert KAZAKH.units(three, "place") == "Ақжайық, Казталов және Сырым аудандарында"
    assert KAZAKH.units([u["syrym"]], "place") == "Сырым ауданында"
    assert KAZAKH.units([u["oral"], u["syrym"]], "place") == "Орал қаласында және Сырым ауданында"
    assert KAZAKH.units([u["oral"], *three], "subject") == "Орал қаласы, Ақжайық, Казталов және Сырым аудандары"
    assert KAZAKH.units(three, "owner") == "Ақжайық, Казталов және Сырым аудандарының"


def test_initials_keep_the_surname_and_capitals_stay_where_they_belong() -> None:
    assert KAZAKH.nbsp_initials("З. Гумарова") == f"З.{NBSP}Гумарова"
    assert KAZAKH.lower_first("Көмек") == "көмек"
    assert KAZAKH.lower_first("БАҚ-та") == "БАҚ-та"
    assert KAZAKH.lower_first("Білім күніне дейін") == "Білім күніне дейін"  # a proper noun keeps its capital


@settings(derandomize=True)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.sampled_from(["#,##0", "#,##0.0"]))
def test_cached_babel_pattern_formats_as_format_decimal(value: float, pattern: str) -> None:
    assert KAZAKH._decimal(value, pattern) == format_decimal(value, format=pattern, locale="kk")
