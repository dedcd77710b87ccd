"""Selection (supersede, after-date), timeliness, cross-file rules and the pandas totals."""

from __future__ import annotations

import datetime as dt
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.aggregate import aggregate, figures_table, select
from pipeline.validate import validate_forms
from pipeline.aggregate.across import check_across
from tests.rawforms import GOOD, cell_of, raw_form

AUG8, AUG17, AUG26 = dt.date(2017, 8, 8), dt.date(2017, 8, 17), dt.date(2017, 8, 26)


def _selection(plan, raws, date):
    subs = validate_forms(plan, raws)
    return subs, select(plan, subs, date)


def test_later_fill_date_supersedes_and_after_date_is_not_used(plan):
    first = raw_form(plan, "a1.xlsx", date=AUG17, filled=AUG17, values={**GOOD, "raids": 4})
    fix = raw_form(plan, "a2.xlsx", date=AUG17, filled=dt.date(2017, 8, 19), values={**GOOD, "raids": 6})
    later = raw_form(plan, "a3.xlsx", date=AUG26, values={**GOOD, "raids": 9})
    subs, sel = _selection(plan, [fix, first, later], AUG17)
    assert sel.used["akzhaiyk"][AUG17].name == "a2.xlsx"
    assert sel.superseded == {"a1.xlsx": "a2.xlsx"}
    assert sel.after_date == {"a3.xlsx"}
    codes = {(p.code, p.file) for p in sel.problems}
    assert ("submission-superseded", "a1.xlsx") in codes and ("submission-after-date", "a3.xlsx") in codes
    # timeliness follows the first arrival: the on-time original, not the later correction
    row = next(t for t in sel.timeliness if t.unit == "akzhaiyk" and t.date == AUG17)
    assert row.state == "on_time"
    assert aggregate(plan, sel).values.loc["akzhaiyk", "raids"] == 6


def test_same_fill_date_falls_back_to_file_time(plan):
    old = raw_form(plan, "z.xlsx", values=GOOD, mtime=1000.0)
    new = raw_form(plan, "a.xlsx", values=GOOD, mtime=2000.0)
    _, sel = _selection(plan, [old, new], AUG17)
    assert sel.used["akzhaiyk"][AUG17].name == "a.xlsx"


def test_timeliness_on_time_late_missing_and_stale_units(plan):
    raws = [
        raw_form(plan, "ak8.xlsx", date=AUG8, values=GOOD),
        raw_form(plan, "ak17.xlsx", date=AUG17, filled=dt.date(2017, 8, 20), values=GOOD),
        raw_form(plan, "oral8.xlsx", unit="Орал қаласы", date=AUG8, values=GOOD),
    ]
    subs, sel = _selection(plan, raws, AUG17)
    state = {(t.unit, t.date): (t.state, t.days_late) for t in sel.timeliness}
    assert state[("akzhaiyk", AUG8)] == ("on_time", 0)
    assert state[("akzhaiyk", AUG17)] == ("late", 3)
    assert state[("oral", AUG17)] == ("missing", 0)
    assert state[("syrym", AUG8)] == ("missing", 0)
    assert ("submission-late", "ak17.xlsx") in {(p.code, p.file) for p in sel.problems}
    data = aggregate(plan, sel)
    assert data.source_dates["oral"] == AUG8 and data.stale_units() == ["oral"]
    assert data.values.loc["oral", "help_children"] == GOOD["help_children"]  # carried forward


def test_running_total_that_fell_names_both_files(plan):
    before = raw_form(plan, "b8.xlsx", date=AUG8, values={**GOOD, "raids": 10})
    after = raw_form(plan, "b17.xlsx", date=AUG17, values={**GOOD, "raids": 7})
    _, sel = _selection(plan, [before, after], AUG17)
    problems = [p for p in check_across(plan, sel) if p.code == "total-decreased"]
    assert [(p.file, p.cell) for p in problems] == [("b17.xlsx", cell_of(after, "raids"))]
    assert dict(problems[0].params)["previous_file"] == "b8.xlsx"


def test_help_per_child_outlier_against_other_units(plan):
    names = ["Орал қаласы", "Ақжайық ауданы", "Сырым ауданы", "Теректі ауданы", "Тасқала ауданы"]
    raws = [raw_form(plan, f"u{i}.xlsx", unit=n, values=GOOD) for i, n in enumerate(names)]
    odd = raw_form(plan, "odd.xlsx", unit="Казталов ауданы",
                   values={**GOOD, "help_children": 20, "help_amount": 1_900_000})
    _, sel = _selection(plan, [*raws, odd], AUG17)
    assert {(p.code, p.file) for p in check_across(plan, sel)} == {("ratio-outlier", "odd.xlsx")}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50_000), min_size=13, max_size=13),
       st.sets(st.integers(min_value=0, max_value=12), max_size=5))
def test_oblast_total_is_the_sum_of_units(plan, children, absent):
    raws = [
        raw_form(plan, f"{u.code}.xlsx", unit=u.name, values={**GOOD, "help_children": n, "sponsor_children": 0})
        for i, (u, n) in enumerate(zip(plan.units, children)) if i not in absent
    ]
    _, sel = _selection(plan, raws, AUG17)
    data = aggregate(plan, sel)
    table = figures_table(data)
    rows = table[table.figure == "help_children"].set_index("unit")["value"]
    expected = sum(n for i, n in enumerate(children) if i not in absent)
    assert rows["oblast"] == (expected if len(absent) < 13 else rows["oblast"])
    assert rows.drop("oblast").sum() == rows["oblast"]
    assert list(data.values.index) == [u.code for u in plan.units]


def test_a_figure_rejected_in_a_correction_is_taken_from_the_newest_earlier_file_of_the_date(plan):
    """Issue 17: a newer file of a date with a wrong cell must not lose the value the district had right in
    an earlier file of the same date; the newer file says where the value came from."""
    first = raw_form(plan, "a1.xlsx", filled=AUG17, mtime=1000.0,
                     values={**GOOD, "help_children": 100, "raids": 4})
    second = raw_form(plan, "a2.xlsx", filled=AUG17, mtime=2000.0,
                      values={**GOOD, "help_children": 120, "raids": "бір мың"})
    third = raw_form(plan, "a3.xlsx", filled=dt.date(2017, 8, 18), mtime=3000.0,
                     values={**GOOD, "help_children": "көп", "raids": "бес", "sponsor_children": 80})
    subs, sel = _selection(plan, [third, first, second], AUG17)
    assert sel.used["akzhaiyk"][AUG17].name == "a3.xlsx"
    values = aggregate(plan, sel).values.loc["akzhaiyk"]
    assert values["help_children"] == 120  # the newest earlier file where it is valid (a2), not a1's 100
    assert values["raids"] == 4  # a2's raids is rejected as well: a1's
    taken = {(p.cell, dict(p.params)["earlier"], dict(p.params)["value"]) for p in sel.problems
             if p.code == "value-from-earlier-file"}
    assert taken == {(cell_of(third, "help_children"), "a2.xlsx", "120"), (cell_of(third, "raids"), "a1.xlsx", "4")}
    assert all(p.file == "a3.xlsx" for p in sel.problems if p.code == "value-from-earlier-file")
    # the cached submission itself is untouched: the rejected figure is still missing there
    assert "help_children" not in next(s for s in subs if s.name == "a3.xlsx").values
    # the file with the wrong cell still has its error: the district must still correct it
    third_sub = next(s for s in subs if s.name == "a3.xlsx")
    assert any(p.code == "value-not-number" and p.cell == cell_of(third, "help_children") for p in third_sub.problems)


def test_a_figure_missing_or_rejected_by_its_relation_is_not_taken_from_an_earlier_file(plan):
    first = raw_form(plan, "a1.xlsx", filled=AUG17, mtime=1000.0, values={**GOOD, "sponsor_children": 80, "raids": 4})
    blank = {k: v for k, v in GOOD.items() if k != "raids"}
    second = raw_form(plan, "a2.xlsx", filled=dt.date(2017, 8, 18), mtime=2000.0,
                      values={**blank, "help_children": 50, "sponsor_children": 60})
    _, sel = _selection(plan, [first, second], AUG17)
    values = aggregate(plan, sel).values.loc["akzhaiyk"]
    # sponsor_children 60 > help_children 50 is a relation, not the cell: a1's 80 would be no fix
    assert values["sponsor_children"] != values["sponsor_children"]  # NaN
    assert values["raids"] != values["raids"]  # left blank, not rejected: a blank is the district's answer
    assert not [p for p in sel.problems if p.code == "value-from-earlier-file"]


def _as_csv_text(value: object) -> str:
    """How figures.csv writes a cell of figures_table: empty for none, whole numbers without '.0'."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def test_streamed_figures_rows_are_the_tables_rows():
    """Issue 20: figures.csv is written from `figure_rows` (no long pandas table); the rows are the ones of
    `figures_table` — every unit, the oblast total and the department — on dates with carried and missing
    units, a department row and fractional amounts."""
    from pipeline.aggregate.build import FIGURE_COLUMNS, figure_rows
    from tests.render_factory import make_report_data

    for date in ("2017-08-08", "2017-08-17", "2017-09-28"):
        data = make_report_data(date)
        table = figures_table(data)
        expected = [[_as_csv_text(record[c]) for c in FIGURE_COLUMNS] for record in table.to_dict("records")]
        rows = list(figure_rows(data))
        assert rows == expected, date
        assert {r[3] for r in rows} >= {"reported", ""}
        assert any(r[0] == "oblast" and r[5] for r in rows)


@given(st.lists(st.one_of(st.integers(-50, 50).map(float), st.floats(0.001, 1e9, allow_nan=False)),
                min_size=2, max_size=40), st.data())
def test_the_median_of_the_others_equals_the_median_of_the_list_without_the_unit(values, data):
    """Outliers compare each unit with the median of the others; the fast way (one sort) must give what
    statistics.median gives on the list without that unit, duplicates and even counts included."""
    from pipeline.aggregate.across import median_without

    i = data.draw(st.integers(0, len(values) - 1))
    others = values[:i] + values[i + 1:]
    assert median_without(sorted(values), values[i]) == statistics.median(others)
