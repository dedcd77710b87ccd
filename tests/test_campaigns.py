"""Two campaigns in one installation: an outbox belongs to one campaign; last year's final figures as data.

The previous campaign's figures are tested the way a department would use them: the 2017 demo is run to
its final report, and the next year's plan names that outbox's figures.csv.
"""

from __future__ import annotations

import functools
import csv
import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from campaign_outputs import pipeline_cli
from pipeline.aggregate import select
from pipeline.aggregate.build import aggregate
from pipeline.aggregate.previous import load_previous, previous_problems
from pipeline.errors import RunStopped
from pipeline.plan import DEFAULT_PLAN, PlanError, load_plan
from pipeline.report import run_report
from pipeline.tools.samples import generate_samples

REPO = Path(__file__).resolve().parent.parent
NEXT = REPO / "tests" / "plans" / "next-year.yaml"
OTHER = REPO / "tests" / "plans" / "other-oblast.yaml"


_cli = functools.partial(pipeline_cli, timeout=300)


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".cache" not in p.parts and p.name != ".lock"}


@pytest.fixture(scope="module")
def demo_2017(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 2017 demo's inbox and an outbox holding its final report."""
    plan = load_plan()
    inbox = tmp_path_factory.mktemp("inbox-2017")
    outbox = tmp_path_factory.mktemp("work") / "outbox-2017"
    generate_samples(plan, inbox, seed=2014)
    run_report(plan.final_date.isoformat(), inbox=inbox, outbox=outbox, plan_path=DEFAULT_PLAN)
    return inbox, outbox


# --- one outbox, one campaign ------------------------------------------------------------------------------

def test_the_first_publication_records_the_campaign(demo_2017):
    import json

    _, outbox = demo_2017
    record = json.loads((outbox / ".campaign.json").read_text(encoding="utf-8"))
    plan = load_plan()
    assert record["code"] == plan.campaign.code and record["year"] == plan.campaign.year
    assert record["plan_sha256"] == hashlib.sha256(DEFAULT_PLAN.read_bytes()).hexdigest()


def test_another_campaigns_run_is_refused_and_changes_nothing(demo_2017, tmp_path):
    inbox, outbox = demo_2017
    before = _tree(outbox)
    next_plan = load_plan(NEXT)
    out = _cli("report", "--plan", str(NEXT), "--date", next_plan.dates[0].isoformat(), "--inbox", str(inbox),
               "--outbox", str(outbox))
    assert out.returncode == 2 and "[outbox-other-campaign]" in out.stderr and "Traceback" not in out.stderr
    assert "mektepke-zhol-2017" in out.stderr and "mektepke-zhol-2018" in out.stderr
    assert _tree(outbox) == before
    # The other commands that write into an outbox refuse it too.
    for args in (["links", "--outbox", str(outbox)],
                 ["restore", "--date", next_plan.dates[0].isoformat(), "--version", "1", "--outbox", str(outbox)]):
        out = _cli("--plan", str(NEXT), *args)
        assert out.returncode == 2 and "[outbox-other-campaign]" in out.stderr, args
    assert _tree(outbox) == before


def test_the_same_campaign_with_an_edited_plan_may_publish(demo_2017, tmp_path):
    inbox, outbox = demo_2017
    edited = tmp_path / "plan.yaml"
    edited.write_text(DEFAULT_PLAN.read_text(encoding="utf-8").replace("  clock: Орал уақыты", "  clock: Орал уақыты "),
                      encoding="utf-8")
    plan = load_plan(edited)
    result = run_report(plan.dates[0].isoformat(), inbox=inbox, outbox=outbox, plan_path=edited)
    assert result.folder is not None and result.folder.is_dir()


def test_an_outbox_from_before_the_record_is_judged_by_its_dates(demo_2017, tmp_path):
    inbox, outbox = demo_2017
    old = tmp_path / "old-outbox"
    (old / load_plan().final_date.isoformat()).mkdir(parents=True)  # a report folder of 2017, no record
    with pytest.raises(RunStopped) as stopped:
        run_report(load_plan(NEXT).dates[0].isoformat(), inbox=inbox, outbox=old, plan_path=NEXT)
    assert stopped.value.code == "outbox-other-campaign-dates" and stopped.value.exit_code == 2
    assert not (old / ".campaign.json").exists()


# --- last year's figures ------------------------------------------------------------------------------------

def _next_year_naming(tmp_path: Path, figures_csv: Path, renamed: str = "{zelenov: baiterek, raids: raids_held}") -> Path:
    text = NEXT.read_text(encoding="utf-8")
    text = text.replace("figures_csv: mektepke-zhol-2017-final-figures.csv",
                        f"figures_csv: {os.path.relpath(figures_csv, tmp_path)}")
    text = text.replace("renamed: {zelenov: baiterek, raids: raids_held}", f"renamed: {renamed}")
    path = tmp_path / "next.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_last_years_final_figures_come_from_its_figures_csv(demo_2017, tmp_path):
    _, outbox = demo_2017
    figures_csv = outbox / load_plan().final_date.isoformat() / "figures.csv"
    plan_path = _next_year_naming(tmp_path, figures_csv)
    plan = load_plan(plan_path)
    previous = load_previous(plan, plan_path)
    assert previous is not None and previous.name == "«Мектепке жол» – 2017"
    # Read the file independently: the oblast row and every unit row, under this plan's codes.
    renamed = {"zelenov": "baiterek", "raids": "raids_held"}
    rows = list(csv.DictReader(figures_csv.open(encoding="utf-8-sig")))
    expected_totals = {renamed.get(r["figure"], r["figure"]): float(r["value"]) for r in rows
                       if r["unit"] == "oblast" and r["value"] and renamed.get(r["figure"], r["figure"]) in plan.figure_by_code}
    assert previous.totals == expected_totals
    assert previous.totals["raids_held"] == next(float(r["value"]) for r in rows if r["unit"] == "oblast" and r["figure"] == "raids")
    zelenov = {r["figure"]: float(r["value"]) for r in rows if r["unit"] == "zelenov" and r["value"]}
    assert previous.units["baiterek"]["help_children"] == zelenov["help_children"]
    assert "price_commission" not in previous.totals  # a figure the new plan dropped is left out
    assert set(previous.units) <= {u.code for u in plan.units} | {plan.department.code}
    # aggregate attaches it to the report's data.
    data = aggregate(plan, select(plan, [], plan.dates[0]), plan_path=plan_path)
    assert data.previous == previous
    assert aggregate(load_plan(), select(load_plan(), [], load_plan().dates[0])).previous is None


def test_inline_figures_and_the_file_together(demo_2017, tmp_path):
    _, outbox = demo_2017
    figures_csv = outbox / load_plan().final_date.isoformat() / "figures.csv"
    plan_path = _next_year_naming(tmp_path, figures_csv)
    text = plan_path.read_text(encoding="utf-8").replace(
        "  renamed: {zelenov: baiterek, raids: raids_held}\n",
        "  renamed: {zelenov: baiterek, raids: raids_held}\n  totals: {free_meal_children: 1234, help_children: 1}\n"
        "  units: {baiterek: {free_meal_children: 56}}\n")
    plan_path.write_text(text, encoding="utf-8")
    plan = load_plan(plan_path)
    previous = load_previous(plan, plan_path)
    assert previous.totals["free_meal_children"] == 1234  # written in the plan: the file has no such figure
    assert previous.totals["help_children"] > 1  # the file wins for what it holds
    assert previous.units["baiterek"]["free_meal_children"] == 56


@pytest.mark.parametrize(("change", "code"), [
    ("missing file", "plan-previous-file"),
    ("unit not mapped", "plan-previous-unit"),
    ("not a number", "plan-previous-value"),
    ("not a figures.csv", "plan-previous-columns"),
    ("renamed to nothing", "plan-previous-renamed"),
])
def test_a_wrong_previous_campaign_is_a_plan_error(demo_2017, tmp_path, change, code):
    _, outbox = demo_2017
    source = outbox / load_plan().final_date.isoformat() / "figures.csv"
    figures_csv = tmp_path / "figures.csv"
    text = source.read_text(encoding="utf-8-sig")
    renamed = "{zelenov: baiterek, raids: raids_held}"
    if change == "missing file":
        figures_csv = tmp_path / "nothing.csv"
    elif change == "unit not mapped":
        renamed = "{raids: raids_held}"
        figures_csv.write_text(text, encoding="utf-8")
    elif change == "not a number":
        figures_csv.write_text(text.replace("oblast,help_children,", "oblast,help_children,много", 1), encoding="utf-8")
    elif change == "not a figures.csv":
        figures_csv.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    else:
        renamed = "{zelenov: baiterek, raids: raids_done}"
        figures_csv.write_text(text, encoding="utf-8")
    plan_path = _next_year_naming(tmp_path, figures_csv, renamed)
    plan = load_plan(plan_path)
    with pytest.raises(PlanError) as err:
        load_previous(plan, plan_path)
    assert [p.code for p in err.value.problems] == [code]
    assert [p.code for p in previous_problems(plan, plan_path)] == [code]
    out = _cli("plan", "check", str(plan_path))
    assert out.returncode == 2 and f"[{code}]" in out.stderr and "Traceback" not in out.stderr


def test_the_clock_is_the_plans(tmp_path):
    """A form filled «today» in Тараз (UTC+6) just after midnight is not from the future; the portal and
    the form say the plan's own clock and rhythm."""
    from pipeline.forms import write_form
    from pipeline.plan.clock import campaign_tz, local_today
    from pipeline.portal.pages import wording
    from openpyxl import load_workbook

    other, plan17 = load_plan(OTHER), load_plan()
    assert campaign_tz(other).utcoffset(None) == dt.timedelta(hours=6)
    assert campaign_tz(plan17).utcoffset(None) == dt.timedelta(hours=5)
    assert local_today(other) == dt.datetime.now(dt.timezone(dt.timedelta(hours=6))).date()
    assert "(Тараз уақыты)" in wording("kk", other)["next_date"] and "(время Тараза)" in wording("ru", other)["next_date"]
    assert "Жамбыл облысы әкімдігінің білім басқармасы:" in wording("kk", other)["dept_heading"]
    form = load_workbook(write_form(other, "taraz", tmp_path / "f.xlsx"))
    texts = " ".join(str(c.value) for ws in form.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "20 күн сайын" in texts and "10 күн сайын" not in texts
    assert "Жамбыл облысы әкімдігінің білім басқармасына" in texts and "облыстық білім басқармасына" not in texts
    assert form.properties.creator == other.department.name
