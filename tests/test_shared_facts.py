"""Both copies of a report ask the same language-free facts of one `ReportData`; `facts.shared()` computes each
once while the block runs, and nothing survives it."""

from __future__ import annotations

from pipeline.aggregate import facts
from pipeline.plan import load_plan
from pipeline.render.context import build_context
from tests.render_factory import make_report_data


def _data(index: int = 4):
    plan = load_plan()
    return make_report_data(plan.dates[index], plan)


def test_inside_and_outside_the_block_the_answers_are_the_same():
    data = _data()
    since = data.previous_date
    assert since is not None
    codes = [f.code for f in data.plan.figures if f.code in data.values.columns]
    plain = {c: facts.unit_changes(data, c, since) for c in codes}
    items = {i.code: facts.item_progress(data, i) for i in data.plan.items}
    with facts.shared():
        assert {c: facts.unit_changes(data, c, since) for c in codes} == plain
        assert {c: facts.unit_changes(data, c, since) for c in codes} == plain  # the second time from memory
        assert {i.code: facts.item_progress(data, i) for i in data.plan.items} == items
        assert facts.lowered_later(data, codes, since) == facts.lowered_later(data, codes, since)


def test_a_caller_that_edits_what_it_got_does_not_change_the_next_answer():
    data = _data()
    code = next(c for c in data.values.columns)
    with facts.shared():
        first = facts.column(data.values, code)
        expected = dict(first)
        first.clear()
        assert facts.column(data.values, code) == expected
        since = data.previous_date
        changes = facts.unit_changes(data, code, since)
        kept = list(changes)
        changes.append("edited")
        assert facts.unit_changes(data, code, since) == kept


def test_nothing_is_kept_after_the_block():
    data = _data()
    code = next(c for c in data.values.columns)
    unit = data.values.index[0]
    with facts.shared():
        before = facts.column(data.values, code)[unit]
    data.values.loc[unit, code] = 987654.0  # a frame changed between two runs of the same process
    assert facts.column(data.values, code)[unit] == 987654.0 != before
    with facts.shared():
        assert facts.column(data.values, code)[unit] == 987654.0


def test_both_contexts_built_inside_the_block_equal_those_built_alone():
    """What report.py does: the Kazakh and Russian contexts inside one block, against each built on its own."""
    for index in (1, 5):  # a middle date and the final (its campaign table asks lowered_later)
        data = _data(index)
        alone = {lang: build_context(data, language=lang) for lang in ("kk", "ru")}
        with facts.shared():
            together = {lang: build_context(data, language=lang) for lang in ("kk", "ru")}
        assert together == alone
