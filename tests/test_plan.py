"""The plan file: the seed's 21 items, the calendar, and mistakes that must stop with the key named."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pipeline.plan import DEFAULT_PLAN, PlanError, load_plan

PLAN_TEXT = DEFAULT_PLAN.read_text(encoding="utf-8")


def test_plan_holds_the_seed_items_and_calendar(plan):
    assert [s.code for s in plan.sections] == ["I", "II"]
    assert [i.code for i in plan.sections[0].items] == [f"I.{n}" for n in range(1, 15)]
    assert [i.code for i in plan.sections[1].items] == [f"II.{n}" for n in range(1, 8)]
    assert plan.dates == (
        dt.date(2017, 8, 8), dt.date(2017, 8, 17), dt.date(2017, 8, 26),
        dt.date(2017, 9, 7), dt.date(2017, 9, 18), dt.date(2017, 9, 28),
    )
    assert [d.kind for d in plan.reporting_dates] == ["interim"] * 5 + ["final"]
    assert len(plan.units) == 13 and plan.units[0].code == "oral"
    assert plan.addressee.name_dative == "М. Тоқжановқа"
    assert {i.code for i in plan.items_for("department")} >= {"I.1", "I.2"}
    assert "I.1" not in {i.code for i in plan.items_for("units")}
    assert not plan.item_by_code["I.14"].due_by(plan.final_date)


def test_of_which_parents_exist_and_share_the_unit(plan):
    for figure in plan.figures:
        if figure.of:
            assert plan.figure_by_code[figure.of].unit == figure.unit


def test_no_latin_letter_inside_a_cyrillic_word_in_plan():
    assert not re.findall(r"\w*(?:[А-Яа-яӘәҒғҚқҢңӨөҰұҮүҺһІі][A-Za-z]|[A-Za-z][А-Яа-яӘәҒғҚқҢңӨөҰұҮүҺһІі])\w*", PLAN_TEXT)


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in PLAN_TEXT
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN_TEXT.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("    kind: city", "    knd: city", "units[oral].knd"),
        ("of: help_amount}", "of: help_amont}", "items[I.5].figures[fund_amount].of"),
        ("code: akzhaiyk", "code: oral", "duplicate code 'oral'"),
        ("{code: raids,", "{code: home_visits,", "duplicate code 'home_visits'"),
        ("unit: count, key: true, required: true,", "unit: pieces, key: true, required: true,", "unit"),
        ("  - {date: 2017-09-28, kind: final}", "  - {date: 2017-10-28, kind: final}", "outside"),
        ("rules:\n", "rules:\n  colour: red\n", "rules.colour: unknown key"),
        ("campaign:\n", "campaign:\n  year: 2018\n", "duplicate key 'year'"),
        # What the report says must name figures that exist, in a form they have.
        ("{sponsor_amount} мың теңге.\"\n      ru", "{sponsor_amont} мың теңге.\"\n      ru", "report.summary[0].kk"),
        ("{raids.nominative}", "{raids.dative}", "'raids' has no 'dative'"),
        ("numerator: help_amount", "numerator: help_children", "report.per_head.numerator"),
        ("compare: [help_children,", "compare: [sponsors_to_honour,", "report.compare"),
        ("  utc_offset: 5\n", "  utc_offset: 50\n", "utc_offset"),
        ("  unit_noun: {subject: әкімдік, place: әкімдікте}", "  unit_noun: {subject: әкімдік}", "unit_noun"),
        ("not_yet: \"{units} комиссия", "not_yet: \"{unit} комиссия", "{unit}"),
        ("about_reporting: true", "about_reporting: maybe", "about_reporting"),
    ],
)
def test_plan_mistakes_name_the_key(tmp_path, old, new, named):
    with pytest.raises(PlanError) as err:
        load_plan(_broken(tmp_path, old, new))
    assert named in str(err.value)


def test_plan_that_is_not_yaml(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("campaign: [unclosed", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(path)


TEST_PLANS = sorted((Path(__file__).parent / "plans").glob("*.yaml"))


@pytest.mark.parametrize("path", TEST_PLANS, ids=lambda p: p.name)
def test_the_test_plans_load(path):
    plan = load_plan(path)
    assert plan.region.name and plan.report.summary and plan.report.per_head is not None
    assert any(item.about_reporting for item in plan.items)
