"""Issue 12 (speed): promises about what a command loads and what a re-run redoes. No timing here: the
figures live in the benchmark; these tests check the structure that makes them possible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.plan import PlanError, load_plan
from pipeline.plan.load import DEFAULT_PLAN

REPO = Path(__file__).resolve().parent.parent

#: What `check` never needs: aggregation (pandas/numpy), rendering (docxtpl, python-docx, jinja2, babel,
#: matplotlib), writing workbooks (openpyxl) and a model layer for the plan (pydantic).
HEAVY = ("pandas", "numpy", "matplotlib", "docxtpl", "docx", "jinja2", "babel", "openpyxl", "pydantic")


def test_check_imports_nothing_it_does_not_use(tmp_path, plan):
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    blank = write_form(plan, "syrym", tmp_path / "blank.xlsx")
    filled = tmp_path / "Сырым.xlsx"
    fill_form(blank, filled, sample_values(plan, "syrym", plan.dates[1]))
    probe = (
        "import sys, json\n"
        "from pipeline import cli\n"
        f"code = cli.main(['check', {str(filled)!r}])\n"
        f"print(json.dumps({{'code': code, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["code"] == 0, result.stdout  # the file was really read and checked
    assert result.stdout.split("\t")[0] in ("ok", "warnings")
    assert last["loaded"] == []


def test_report_still_loads_pandas_through_the_lazy_names():
    import pipeline.aggregate as agg
    from pipeline.aggregate.build import aggregate

    assert agg.aggregate is aggregate and callable(agg.select)
    with pytest.raises(AttributeError):
        agg.no_such_name  # noqa: B018 - unknown names stay unknown


# --- the plan without pydantic: the same checks, the same locations -------------------------------------

PLAN_TEXT = DEFAULT_PLAN.read_text(encoding="utf-8")


def _load(tmp_path: Path, old: str, new: str):
    assert old in PLAN_TEXT
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN_TEXT.replace(old, new, 1), encoding="utf-8")
    return load_plan(path)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("  year: 2017", "  year: twenty", "campaign.year"),
        ("  year: 2017", "  year: [2017]", "campaign.year"),
        ("    kind: city", "    kind: town", "units[oral].kind"),
        ("    kind: city", "    kind: 7", "units[oral].kind"),
        ("  - {date: 2017-09-28, kind: final}", "  - {date: 28.09.2017, kind: final}", "reporting_dates"),
        ("code: raids,", "code: Raids,", "lower_snake_case"),
        ("unit: count, key: true, required: true}", "unit: count, key: maybe, required: true}", "key"),
        ("    kind: city\n", "", "units[oral].kind: required key is missing"),
    ],
)
def test_a_wrong_type_or_shape_in_the_plan_is_named(tmp_path, old, new, named):
    with pytest.raises(PlanError) as err:
        _load(tmp_path, old, new)
    assert named in str(err.value)


def test_the_plan_reads_every_field_of_its_file(plan):
    import yaml

    raw = yaml.safe_load(PLAN_TEXT)
    assert [u.code for u in plan.units] == [u["code"] for u in raw["units"]]
    assert plan.dates[0].isoformat() == str(raw["reporting_dates"][0]["date"])
    assert plan.campaign.year == raw["campaign"]["year"] and isinstance(plan.campaign.year, int)
    assert plan.limits.reader_memory_mb == 1024  # a default where the file says nothing
    # aliases are compared as text, whatever YAML made of them
    assert all(isinstance(a, str) for a in plan.yes_no.yes.aliases + plan.yes_no.no.aliases)
    # frozen: a stage cannot change the plan under the others
    with pytest.raises(AttributeError):
        plan.campaign.year = 2018  # type: ignore[misc]
    copy = plan.model_copy(update={"limits": plan.limits.model_copy(update={"max_file_bytes": 1000})})
    assert copy.limits.max_file_bytes == 1000 and plan.limits.max_file_bytes != 1000
    assert copy.figures == plan.figures


def test_bench_prints_the_check_line(tmp_path):
    import re

    from pipeline.tools.bench import bench_check

    lines: list[str] = []
    check_s, import_s = bench_check(tmp_path, repeat=1, say=lines.append)
    assert re.match(r"^bench check check_s=\d+\.\d{3} imports_s=\d+\.\d{3} ratio=\d+\.\d\d ", lines[0])
    assert check_s > 0 and import_s > 0
