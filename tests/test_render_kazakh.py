"""Kazakh formatting: Babel numbers and dates, month case forms and unit lists from kazakh.yaml."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.plan import load_plan
from pipeline.render import kazakh as kz

NBSP = "\u00a0"


def test_numbers() -> None:
    assert kz.fmt_count(1253) == f"1{NBSP}253"
    assert kz.fmt_count(float("nan")) == "–"
    assert kz.fmt_thousand_tenge(40_338_512) == f"40{NBSP}338,5"
    assert kz.fmt_percent(12.5) == "12,5%"


def test_change() -> None:
    assert kz.fmt_change(11_250, 10_000) == f"+1{NBSP}250 (+12,5%)"
    assert kz.fmt_change(9_000, 10_000).endswith("(-10,0%)")
    assert kz.fmt_change(5, 0) == "+5"  # no percent from zero
    assert kz.fmt_change(2_000_000, 1_000_000, amount=True).startswith(f"+1{NBSP}000,0 ")


def test_dates() -> None:
    d = dt.date(2017, 8, 17)
    assert kz.fmt_date(d) == "2017 жылғы 17 тамыз"
    assert kz.date_case(d, "attributive") == "2017 жылғы 17 тамыздағы"
    assert kz.day_month(d, "locative") == "17 тамызда"
    assert kz.until(dt.date(2017, 9, 28)) == "28 қыркүйекке дейін"
    assert kz.day_month(dt.date(2017, 8, 1), "ablative") == "1 тамыздан"


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_has_every_form(month: int) -> None:
    for case in ("nominative", "locative", "attributive", "dative", "ablative"):
        assert kz.month_form(month, case)  # type: ignore[arg-type]


def test_unit_lists() -> None:
    plan = load_plan()
    u = plan.unit_by_code
    three = [u["akzhaiyk"], u["kaztalov"], u["syrym"]]
    assert kz.unit_list(three, "locative") == "Ақжайық, Казталов және Сырым аудандарында"
    assert kz.unit_list([u["syrym"]], "locative") == "Сырым ауданында"
    assert kz.unit_list([u["oral"], u["syrym"]], "locative") == "Орал қаласында және Сырым ауданында"
    assert kz.unit_list([u["oral"], *three], "nominative") == "Орал қаласы, Ақжайық, Казталов және Сырым аудандары"


def test_initials_keep_the_surname() -> None:
    assert kz.nbsp_initials("З. Гумарова") == f"З.{NBSP}Гумарова"
    assert kz.lower_first("Көмек") == "көмек"
    assert kz.lower_first("БАҚ-та") == "БАҚ-та"


from hypothesis import given
from hypothesis import strategies as st


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.sampled_from(["#,##0", "#,##0.0"]))
def test_cached_babel_pattern_formats_as_format_decimal(value: float, pattern: str) -> None:
    from babel.numbers import format_decimal

    from pipeline.render.kazakh import _decimal

    assert _decimal(value, pattern) == format_decimal(value, format=pattern, locale="kk")
