"""Sample submissions: coverage, consistency of the figures, read-back by code, determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipeline.forms import layout, write_form
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan
from pipeline.tools.samples import SampleSet, fill_form, find_rows, generate_samples, sample_values

SEED = 2017


PLANS_DIR = Path(__file__).parent / "plans"
#: The bundled plan and the test plans: the generator must serve any plan.
PLAN_FILES = {"2017": DEFAULT_PLAN, "next-year": PLANS_DIR / "next-year.yaml",
              "other-oblast": PLANS_DIR / "other-oblast.yaml"}


@pytest.fixture(scope="module", params=sorted(PLAN_FILES))
def any_plan(request: pytest.FixtureRequest) -> Plan:
    return load_plan(PLAN_FILES[request.param])


@pytest.fixture(scope="module")
def any_samples(tmp_path_factory: pytest.TempPathFactory, any_plan: Plan) -> SampleSet:
    return generate_samples(any_plan, tmp_path_factory.mktemp("samples"), seed=SEED)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> SampleSet:
    return generate_samples(plan, tmp_path_factory.mktemp("samples"), seed=SEED)


def reporters(plan: Plan) -> list[str]:
    return [u.code for u in plan.units] + [plan.department.code]


def read_by_code(path: Path) -> dict[str, object]:
    """Value column by row code, as calamine reads it (dates as date, blanks as '')."""
    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_name(layout.FORM_SHEET).to_python(skip_empty_area=False)
    out: dict[str, object] = {}
    for row in rows:
        if row and isinstance(row[0], str) and row[0] and len(row) >= layout.VALUE_COLUMN:
            value = row[layout.VALUE_COLUMN - 1]
            out[row[0]] = value.date() if isinstance(value, dt.datetime) else value
    return out


def test_every_unit_and_date_has_a_file_except_the_missing(any_plan: Plan, any_samples: SampleSet) -> None:
    plan, samples = any_plan, any_samples
    assert 1 <= len(samples.missing) <= 2
    assert all(unit != plan.department.code for unit, _ in samples.missing)
    for reporter in reporters(plan):
        for date in plan.dates:
            found = [f for f in samples.files if f.unit == reporter and f.report_date == date]
            assert len(found) == (0 if (reporter, date) in samples.missing else 1), (reporter, date)
    assert len(samples.files) == len(reporters(plan)) * len(plan.dates) - len(samples.missing)
    names = [f.path.name for f in samples.files]
    assert len(set(names)) == len(names)
    on_disk = sorted(p.name for p in samples.outdir.iterdir() if not p.name.startswith("."))
    assert on_disk == sorted(names)


def test_late_files_recorded(any_samples: SampleSet) -> None:
    samples = any_samples
    assert samples.late
    late_units = {u for u, _ in samples.late}
    assert 1 <= len(late_units) <= 2
    for f in samples.files:
        assert ((f.unit, f.report_date) in samples.late) == f.late
        delta = (f.filled_date - f.report_date).days
        assert (1 <= delta <= 3) if f.late else (-2 <= delta <= 0)
        assert f.values[layout.HEADER_CODES["filled_date"]] == f.filled_date
        assert f.values[layout.HEADER_CODES["report_date"]] == f.report_date


def test_file_times_are_the_filled_day_on_the_campaigns_clock(any_plan: Plan, any_samples: SampleSet) -> None:
    # A file's time says when it was sent; on the department's own clock (UTC+5 or +6) it is that very day.
    zone = dt.timezone(dt.timedelta(hours=any_plan.campaign.utc_offset))
    for f in any_samples.files:
        assert dt.datetime.fromtimestamp(f.path.stat().st_mtime, tz=zone).date() == f.filled_date


def test_running_totals_never_fall(any_plan: Plan, any_samples: SampleSet) -> None:
    plan, samples = any_plan, any_samples
    monotonic = {f.code for f in plan.figures if f.unit in plan.rules.monotonic_units}
    checked = 0
    for reporter in reporters(plan):
        files = sorted((f for f in samples.files if f.unit == reporter), key=lambda f: f.report_date)
        for before, after in zip(files, files[1:]):
            for code in monotonic & set(before.values):
                assert after.values.get(code, 0) >= before.values[code], (reporter, after.report_date, code)
                checked += 1
    assert checked > 200


def test_parts_never_above_their_whole(any_plan: Plan, any_samples: SampleSet) -> None:
    plan = any_plan
    wholes: dict[str, list[str]] = {}
    for fig in plan.figures:
        if fig.of:
            wholes.setdefault(fig.of, []).append(fig.code)
    assert wholes
    for f in any_samples.files:
        for whole, parts in wholes.items():
            if whole in f.values:
                assert sum(f.values.get(p, 0) for p in parts) <= f.values[whole], (f.path.name, whole)


def test_magnitudes_are_realistic(any_plan: Plan, any_samples: SampleSet) -> None:
    # shared/domain.md: a rural district helps hundreds to ~1,500 children with a few million tenge, the
    # centre city thousands with tens of millions; over ~100,000 tenge a child is implausible.
    plan, samples = any_plan, any_samples
    head = plan.report.per_head
    assert head is not None
    children_code, amount_code = head.denominator, head.numerator
    parts = [f.code for f in plan.figures if f.of == amount_code]
    for unit in plan.units:
        f = samples.get(unit.code, plan.final_date)
        assert f is not None
        children, amount = f.values[children_code], f.values[amount_code]
        assert 3_000 <= amount / children <= 30_000
        assert 0.25 <= f.values[parts[0]] / amount <= 0.75
        if unit.kind == "city":
            assert 2_000 <= children <= 10_000 and 10_000_000 <= amount < 100_000_000
        else:
            assert 100 <= children <= 1_500 and 500_000 <= amount < 25_000_000
    for f in samples.files:
        if children_code in f.values:
            assert 1_000 <= f.values[amount_code] / f.values[children_code] <= 100_000
        for code, bound in plan.rules.max_values.items():
            assert f.values.get(code, 0) <= bound, (f.path.name, code)


def test_every_figure_of_the_plan_is_filled(any_plan: Plan, any_samples: SampleSet) -> None:
    """`make demo PLAN=…` shows every figure: each figure whose item falls within the campaign has a value
    in some unit's final form (counts and amounts above zero), yes/no figures both answers over the dates."""
    plan, samples = any_plan, any_samples
    final = [f for f in samples.files if f.report_date == plan.final_date]
    for fig in plan.figures:
        item = plan.item_of_figure[fig.code]
        if not item.due_by(plan.final_date):
            continue
        values = [f.values[fig.code] for f in final if fig.code in f.values]
        assert values, fig.code
        if fig.unit in ("count", "tenge"):
            assert max(values) > 0, fig.code


def test_statuses_follow_the_items_dates(any_plan: Plan, any_samples: SampleSet) -> None:
    plan, samples = any_plan, any_samples
    labels = {s.code: s.label for s in plan.statuses}
    _, still_open = samples.still_open
    for reporter in reporters(plan):
        files = sorted((f for f in samples.files if f.unit == reporter), key=lambda f: f.report_date)
        for item in plan.items_for(plan.reporter_of(reporter)):
            column = [f.values[item.status_code] for f in files]
            assert set(column) <= set(labels.values())
            # «мерзімі келмеген» exactly on the dates before the item is due, never after.
            due = [item.due_by(f.report_date) for f in files]
            assert [v == labels["not_due"] for v in column] == [not d for d in due], (reporter, item.code)
            if labels["done"] in column:
                first = column.index(labels["done"])
                assert set(column[first:]) == {labels["done"]}, (reporter, item.code)
    # An item with a deadline inside the campaign: most units say it is done in the first report after it.
    for item in plan.items_for("units"):
        if item.due is None or not plan.dates[0] < item.due < plan.final_date or item.code == samples.still_open[0]:
            continue
        after = next(d for d in plan.dates if d > item.due)
        said = [f.values[item.status_code] for f in samples.files if f.report_date == after and f.unit != plan.department.code]
        assert said.count(labels["done"]) >= 0.6 * len(said), (item.code, after)
    final = [f.values[it.status_code] for f in samples.files if f.report_date == plan.final_date
             for it in plan.items_for(plan.reporter_of(f.unit)) if it.due_by(plan.final_date)]
    assert final.count(labels["done"]) > len(final) / 2


def test_the_demos_situations(any_plan: Plan, any_samples: SampleSet) -> None:
    """A unit never fills one figure; an item past its deadline is still under way in three units on every
    date (the final report must name them as overdue)."""
    plan, samples = any_plan, any_samples
    labels = {s.code: s.label for s in plan.statuses}
    unit, code = samples.never_filled
    assert unit and code in plan.figure_by_code
    assert all(code not in f.values for f in samples.files if f.unit == unit)
    assert any(code in f.values for f in samples.files if f.unit != unit)
    item_code, units = samples.still_open
    item = plan.item_by_code[item_code]
    assert len(units) == 3 and item.due is not None and item.due < plan.final_date
    for f in samples.files:
        if f.unit in units:
            assert f.values[item.status_code] == labels["in_progress"], (f.unit, f.report_date)


def test_text_yes_no_comments_and_names(any_plan: Plan, any_samples: SampleSet) -> None:
    plan, samples = any_plan, any_samples
    yes_no = {plan.yes_no.yes.label, plan.yes_no.no.label}
    honour = [fig.code for fig in plan.figures if fig.role == "honour"]
    named = [f for f in samples.files if any(code in f.values for code in honour)]
    assert named and all(f.report_date == plan.final_date for f in named)
    assert any("comment" in code for f in samples.files for code in f.values)
    for f in samples.files:
        for fig in plan.figures:
            if fig.unit == "yesno" and fig.code in f.values:
                assert f.values[fig.code] in yes_no
    written = [f.values[layout.HEADER_CODES["unit"]] for f in samples.files]
    official = {u.name for u in plan.units} | {plan.department.name}
    aliases = [w for w in written if w not in official]
    assert aliases and len(aliases) < len(written) / 4
    for f in samples.files:
        name = f.values[layout.HEADER_CODES["unit"]]
        if f.unit == plan.department.code:
            assert name in {plan.department.name, plan.department.name_ru}
        else:
            unit = plan.unit_by_code[f.unit]
            assert name in {unit.name, unit.name_ru, *unit.aliases}


def test_no_word_of_another_plan_in_the_samples(any_plan: Plan, any_samples: SampleSet) -> None:
    """The invented names and comments of the samples suit any oblast: no unit or region of another bundled
    plan appears in a form (the district's phone code is the plan's own)."""
    others = [o for o in (load_plan(p) for p in PLAN_FILES.values()) if o.campaign.code != any_plan.campaign.code]
    words = {w for other in others for u in other.units for w in (u.name, u.short, u.name_ru)
             if w not in {x for u2 in any_plan.units for x in (u2.name, u2.short, u2.name_ru, *u2.aliases)}}
    words |= {o.region.name for o in others if o.region.name != any_plan.region.name}
    area = any_plan.executor.phone.split("(")[1][:3]
    for f in any_samples.files[::5]:
        text = " ".join(str(v) for v in f.values.values())
        assert not [w for w in words if w in text], f.path.name
        assert f"({area}" in str(f.values[layout.HEADER_CODES["phone"]])


def test_values_read_back_by_code_equal_the_sample_set(plan: Plan, samples: SampleSet) -> None:
    for f in samples.files:
        got = read_by_code(f.path)
        for code in layout.all_codes(plan):
            if code in f.values:
                assert got[code] == f.values[code], (f.path.name, code)
            elif code in got:
                assert got[code] in ("", None), (f.path.name, code)


def test_filled_file_keeps_names_validation_and_protection(plan: Plan, samples: SampleSet) -> None:
    f = samples.files[0]
    wb = load_workbook(f.path)
    ws = wb[layout.FORM_SHEET]
    assert ws.protection.sheet
    assert len(ws.data_validations.dataValidation) >= 4
    dn = wb.defined_names[layout.defined_name("help_children")]
    ((_, ref),) = list(dn.destinations)
    assert ws[ref.replace("$", "")].value == f.values["help_children"]


def test_sample_values_match_the_files(plan: Plan, samples: SampleSet) -> None:
    for f in samples.files[::9]:
        assert sample_values(plan, f.unit, f.report_date, seed=SEED) == f.values


def test_same_seed_same_bytes_and_subsets_agree(plan: Plan, samples: SampleSet, tmp_path: Path) -> None:
    dates = plan.dates[1:3]
    a = generate_samples(plan, tmp_path / "a", seed=SEED, dates=dates)
    b = generate_samples(plan, tmp_path / "b", seed=SEED, dates=dates)
    assert [f.path.name for f in a.files] == [f.path.name for f in b.files]
    for fa, fb in zip(a.files, b.files):
        assert fa.path.read_bytes() == fb.path.read_bytes()
        full = samples.get(fa.unit, fa.report_date)
        assert full is not None and full.values == fa.values and full.path.name == fa.path.name
    assert set(a.missing) == {m for m in samples.missing if m[1] in dates}


def test_another_seed_other_values(plan: Plan, samples: SampleSet) -> None:
    d = plan.final_date
    other = sample_values(plan, "oral", d, seed=SEED + 1)
    same = samples.get("oral", d)
    assert same is not None and other["help_children"] != same.values["help_children"]


def test_fill_form_finds_rows_by_code(plan: Plan, tmp_path: Path) -> None:
    template = write_form(plan, "borli", tmp_path / "t.xlsx")
    # A district inserted rows and moved things around: filling must follow the codes.
    wb = load_workbook(template)
    ws = wb[layout.FORM_SHEET]
    ws.insert_rows(12, amount=3)
    shifted = tmp_path / "shifted.xlsx"
    wb.save(shifted)
    values = {"help_children": 412, "help_amount": 3_150_500.5, "I.5.status": "орындалды",
              layout.HEADER_CODES["filled_date"]: dt.date(2017, 8, 16), "I.5.comment": "Тексеріс"}
    out = tmp_path / "out.xlsx"
    fill_form(shifted, out, values)
    got = read_by_code(out)
    for code, value in values.items():
        assert got[code] == value
    rows = find_rows(load_workbook(out)[layout.FORM_SHEET])
    assert rows["help_children"] == rows["I.5.status"] + 1
    with pytest.raises(KeyError, match="no_such_code"):
        fill_form(template, tmp_path / "bad.xlsx", {"no_such_code": 1})
    assert not (tmp_path / "bad.xlsx").exists()


def test_unknown_date_rejected(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_samples(plan, tmp_path, dates=[dt.date(2017, 8, 9)])
