"""Validation of one form: codes and cells, not wording."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.validate import validate_forms
from pipeline.validate.dates import parse_date
from pipeline.validate.numbers import parse_number
from pipeline.privacy import mask
from pipeline.validate.units import UnitResolver
from tests.rawforms import GOOD, cell_of, raw_form


def _one(plan, **kwargs):
    raw = raw_form(plan, "f.xlsx", **kwargs)
    return raw, validate_forms(plan, [raw])[0]


def _codes(sub):
    return {(p.code, p.cell) for p in sub.problems}


def test_good_form_reads_typed_values(plan):
    raw, sub = _one(plan, values=GOOD)
    assert sub.unit == "akzhaiyk" and sub.report_date == dt.date(2017, 8, 17)
    assert sub.values["help_children"] == 120 and sub.values["price_commission"] == 1.0
    assert sub.statuses["I.5"] == "in_progress"
    assert not [p for p in sub.problems if p.severity == "error"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Акжайык", "akzhaiyk"), ("AKЖАИК", "akzhaiyk"), ("Акжаикский район", "akzhaiyk"),
     ("г. Уральск", "oral"), ("Орал қ.", "oral"), ("Бокей Ордасы", "bokeiorda"), ("Кaзтaлов ауданы", "kaztalov"),
     ("  шыңғырлау   ауданы ", "shyngyrlau"), ("Жангалинский р-н", "zhanakala"), ("Теректы", "terekti"),
     ("Бурлинский район", "borli"), ("Зеленов ауданы", "zelenov"), ("Каратобинский район", "karatobe")],
)
def test_unit_names_as_people_type_them(plan, typed, expected):
    assert UnitResolver(plan).resolve(typed).code == expected


def test_unknown_unit_lists_nearest(plan):
    raw, sub = _one(plan, unit="Жанақалинск", values=GOOD)
    problem = next(p for p in sub.problems if p.code == "unit-unknown")
    assert problem.cell == cell_of(raw, "form.unit")
    assert "Жаңақала ауданы" in dict(problem.params)["nearest"]
    assert sub.unit is None and not sub.identified


@pytest.mark.parametrize(
    ("date", "code"),
    [(None, "date-missing"), ("", "date-missing"), ("вчера", "date-invalid"), (dt.date(2017, 8, 18), "date-unknown")],
)
def test_report_date_problems(plan, date, code):
    raw, sub = _one(plan, date=date, filled=dt.date(2017, 8, 17), values=GOOD)
    assert (code, cell_of(raw, "form.report_date")) in _codes(sub)
    assert sub.report_date is None


@pytest.mark.parametrize(
    ("value", "code"),
    [("abc", "value-not-number"), (-5, "value-negative"), ("1.500", "value-ambiguous-number"),
     ("1,5 млн", "value-ambiguous-number"), (12.5, "value-not-whole"), (True, "value-not-number")],
)
def test_bad_counts_are_named_by_cell(plan, value, code):
    raw, sub = _one(plan, values={**GOOD, "raids": value})
    assert (code, cell_of(raw, "raids")) in _codes(sub)
    assert "raids" not in sub.values


@pytest.mark.parametrize(("value", "number"), [("1 500", 1500), ("1\u00a0500", 1500), ("1500 тг", 1500),
                                               ("2 000 теңге", 2000), ("1500,00", 1500), ("-", 0)])
def test_unambiguous_text_numbers_are_converted_with_warning(plan, value, number):
    raw, sub = _one(plan, values={**GOOD, "sponsors_involved": value})
    assert sub.values["sponsors_involved"] == number
    assert ("value-converted", cell_of(raw, "sponsors_involved")) in _codes(sub)


def test_required_missing_and_of_which_above_total(plan):
    values = {**GOOD, "help_children": None, "returned_to_school": 10}
    raw, sub = _one(plan, values=values)
    codes = _codes(sub)
    assert ("required-missing", cell_of(raw, "help_children")) in codes
    assert ("of-which-exceeds-total", cell_of(raw, "returned_to_school")) in codes
    assert "returned_to_school" not in sub.values and sub.values["out_of_school_found"] == 3


def test_formula_without_result_is_flagged_not_zero(plan):
    raw, sub = _one(plan, values={**GOOD, "raids": ""}, formulas={"raids"})
    assert ("value-formula-no-result", cell_of(raw, "raids")) in _codes(sub)
    assert "raids" not in sub.values


def test_status_and_yes_no_from_allowed_lists(plan):
    raw, sub = _one(plan, values={**GOOD, "I.5.status": "почти", "price_commission": "может"})
    assert ("status-invalid", cell_of(raw, "I.5.status")) in _codes(sub)
    assert ("yesno-invalid", cell_of(raw, "price_commission")) in _codes(sub)
    _, sub = _one(plan, values={**GOOD, "I.5.status": "Выполнено", "price_commission": "нет"})
    assert sub.statuses["I.5"] == "done" and sub.values["price_commission"] == 0


def test_paired_ratio_and_bound_rules(plan):
    raw, sub = _one(plan, values={**GOOD, "sponsor_children": 0, "help_amount": 99_000_000, "raids": 5000})
    codes = _codes(sub)
    assert ("amount-without-count", cell_of(raw, "sponsor_amount")) in codes
    assert ("ratio-out-of-range", cell_of(raw, "help_amount")) in codes
    assert ("value-above-bound", cell_of(raw, "raids")) in codes


def test_personal_data_masked_in_comments(plan):
    comment = "Тізім: Сәрсенов Айдар, Иванова М.К.; ЖСН 050317500123"
    raw, sub = _one(plan, values={**GOOD, "I.5.comment": comment})
    assert ("personal-data-masked", cell_of(raw, "I.5.comment")) in _codes(sub)
    assert "050317500123" not in sub.comments["I.5"] and "Сәрсенов" not in sub.comments["I.5"]


def test_one_name_or_a_company_is_not_masked():
    assert mask("«Ақ Жайық» ЖШС, «Бәйтерек» ЖК демеушілері")[1] is False
    assert mask("Тел. 87112501327, шот 123456789012")[1] is False  # not a date-shaped ИИН


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(dt.datetime(2017, 8, 17, 0, 0), dt.date(2017, 8, 17)), ("17.08.2017", dt.date(2017, 8, 17)),
     ("2017-08-17", dt.date(2017, 8, 17)), ("17/08/17", dt.date(2017, 8, 17)), (42964.0, dt.date(2017, 8, 17)),
     ("17.08.2017 ж.", dt.date(2017, 8, 17)), ("31.02.2017", None), ("soon", None), (5, None)],
)
def test_dates(raw, expected):
    assert parse_date(raw) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_grouped_numbers_read_back(n):
    grouped = f"{n:,}".replace(",", "\u00a0")
    parsed = parse_number(grouped)
    assert parsed.value == n
    if n >= 1000:
        assert parse_number(f"{n:,}".replace(",", " ")).value == n


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=999))
def test_one_separator_before_three_digits_is_ambiguous(a, b):
    assert parse_number(f"{a}.{b:03d}").outcome == "ambiguous"
    assert parse_number(f"{a},{b:03d}").outcome == "ambiguous"


def test_every_catalogue_code_is_emitted_somewhere_and_messages_format():
    import re
    from pathlib import Path

    from pipeline.problems import Problem, catalogue

    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("pipeline").rglob("*.py"))
    emitted = set(re.findall(r"[\"']([a-z]+(?:-[a-z0-9]+)+)[\"']", source))
    missing = [code for code in catalogue() if code not in emitted and not code.startswith("ignored-")]
    assert missing == []
    for code, entry in catalogue().items():
        params = {name: "x" for name in entry.placeholders}
        assert "?" not in Problem.make(code, "f.xlsx", **params).message.replace("?»", "")


def test_streaming_validation_equals_validate_forms(plan):
    from pipeline.validate import Validation

    raws = [raw_form(plan, f"f{i}.xlsx", values=GOOD) for i in range(4)]
    bad = raw_form(plan, "bad.xlsx", values={**GOOD, "help_children": "көп"})
    raws.insert(2, bad)
    validation = Validation(plan)
    for raw in raws[::2]:  # some seen on the way, in another order; the rest validated at the end
        validation.add(raw)
    subs = validation.results(raws)
    expected = validate_forms(plan, raws)
    assert [s.raw for s in subs] == raws
    assert [vars(s) for s in subs] == [vars(s) for s in expected]
    assert any(p.code == "value-not-number" for p in subs[2].problems)


@pytest.mark.parametrize("typed", ["9" * 400, 10 ** 300, 1e308, "1" + "0" * 40, -(10 ** 50), "-" + "9" * 330])
def test_a_number_no_one_can_mean_is_a_coded_error_never_a_value(plan, typed):
    """Issue 17: a count typed as hundreds of digits (int(inf) raised OverflowError on main) or a float
    near overflow is `value-out-of-range` in its cell, and the figure is not used (never in a total)."""
    raw, sub = _one(plan, values={**GOOD, "help_children": typed, "help_amount": typed})
    for code in ("help_children", "help_amount"):
        assert ("value-out-of-range", cell_of(raw, code)) in _codes(sub)
        assert code not in sub.values
    shown = next(dict(p.params)["value"] for p in sub.problems if p.code == "value-out-of-range")
    assert len(shown) < 40  # quoted briefly, not 400 digits


def test_the_sane_range_is_the_plans_and_a_large_honest_value_stays(plan):
    from dataclasses import replace

    raw, sub = _one(plan, values={**GOOD, "help_amount": 99_000_000_000})
    assert sub.values["help_amount"] == 99_000_000_000  # large (a warning's business), not impossible
    strict = replace(plan, rules=replace(plan.rules, impossible_above={"count": 100.0, "tenge": 1e12}))
    raw, sub = _one(strict, values=GOOD)  # help_children 120 > 100
    assert ("value-out-of-range", cell_of(raw, "help_children")) in _codes(sub)


@pytest.mark.parametrize("typed", ["бір мың", "екі жүз мың", "мың", "один млн"])
def test_a_number_in_words_is_not_a_number_not_ambiguous(typed):
    assert parse_number(typed).outcome == "not_number"


@pytest.mark.parametrize("typed", ["1,5 млн", "2 мың", "3 тыс"])
def test_digits_with_a_word_of_scale_stay_ambiguous(typed):
    assert parse_number(typed).outcome == "ambiguous"


@pytest.mark.parametrize("filled", [dt.date(2015, 8, 16), dt.date(2016, 8, 16), dt.date(2019, 8, 16),
                                    dt.date(2018, 1, 5), "16.08.2001"])
def test_a_fill_date_years_away_from_the_campaign_is_flagged_and_not_trusted(plan, filled):
    raw, sub = _one(plan, filled=filled, values=GOOD)
    assert ("filled-date-implausible", cell_of(raw, "form.filled_date")) in _codes(sub)
    assert sub.filled_date is None  # the file's own time orders it (Submission.arrival)


@pytest.mark.parametrize("filled", [dt.date(2017, 7, 25), dt.date(2017, 8, 16), dt.date(2017, 10, 20)])
def test_a_fill_date_near_the_campaign_is_trusted(plan, filled):
    raw, sub = _one(plan, filled=filled, values=GOOD)
    assert sub.filled_date == filled
    assert not [p for p in sub.problems if p.code.startswith("filled-date")]


def test_every_problem_code_has_a_russian_message_with_the_same_placeholders_and_no_kazakh_letters():
    """The portal's Russian page says each problem in Russian (issue 17): read from the catalogue file
    itself, not through the code that uses it."""
    import re
    from pathlib import Path

    import yaml

    raw = yaml.safe_load(Path("pipeline/data/problems.yaml").read_text(encoding="utf-8"))
    fields = re.compile(r"\{(\w+)\}")
    for code, entry in raw.items():
        ru = entry.get("message_ru")
        assert isinstance(ru, str) and ru.strip(), code
        assert set(fields.findall(ru)) == set(fields.findall(entry["message"])), code
        assert not re.search("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]", fields.sub("", ru)), (code, ru)
        assert re.search("[а-яё]", ru), code
