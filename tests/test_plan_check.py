"""`python -m pipeline plan check`: a plan written for the next campaign, broken one mistake at a time.

Each broken plan is the next-year test plan (tests/plans/next-year.yaml) with one change a department
makes by mistake. The command must answer in Kazakh (Russian with --lang ru) with the key path and the
mistake's code, exit 2, never a traceback; and every other command must refuse to run on that plan.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from campaign_outputs import pipeline_cli
from pipeline.plan import DEFAULT_PLAN, load_plan

REPO = Path(__file__).resolve().parent.parent
PLANS = Path(__file__).parent / "plans"
NEXT = PLANS / "next-year.yaml"
OTHER = PLANS / "other-oblast.yaml"
KAZAKH_LETTERS = re.compile(r"[әғқңөұүһі]")


_cli = functools.partial(pipeline_cli, timeout=120)


def _broken(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    # The file the next-year plan names as last year's figures, beside the copy.
    previous = source.parent / "mektepke-zhol-2017-final-figures.csv"
    (tmp_path / previous.name).write_bytes(previous.read_bytes())
    return path


# (what the department did, old text, new text, key path named, code)
MISTAKES = [
    ("last year's year left in a deadline", "        deadline: 2018 жылғы 2–3 тамыз",
     "        deadline: 2017 жылғы 2–3 тамыз", "sections[II].items[II.2].deadline", "plan-other-year"),
    ("a deadline with a typo in its year", "due: 2018-08-24", "due: 2081-08-24",
     "sections[I].items[I.5].due", "plan-due-outside"),
    ("two reporting dates swapped", "  - {date: 2018-08-16, kind: interim}\n  - {date: 2018-08-27, kind: interim}",
     "  - {date: 2018-08-27, kind: interim}\n  - {date: 2018-08-16, kind: interim}",
     "reporting_dates[2].date", "plan-dates-order"),
    ("a part put under another part", "unit: tenge, of: help_amount}", "unit: tenge, of: sponsor_amount}",
     "sections[I].items[I.5].figures[fund_amount].of", "plan-part-of-part"),
    ("a new yes/no figure without its Russian sentences",
     ', sentences_ru: {all: памятка для родителей распространена во всех акиматах, some: "памятка для родителей '
     'распространена в {count}", not_yet: "памятка ещё не распространена в {units}"}}', "}",
     "sections[II].items[II.7].figures[parents_memo].sentences_ru.all", "plan-yesno-sentences"),
    ("a status code invented", "  - {code: not_done, label: орындалмады", "  - {code: failed, label: орындалмады",
     "statuses[failed].code", "plan-status-unknown"),
    ("a renamed district still declined under its old name",
     "cases: {genitive: Бәйтерек ауданының,", "cases: {genitive: Зеленов ауданының,",
     "units[baiterek].cases.genitive", "plan-unit-case-name"),
    ("an alias that is another district's name", "aliases: [Байтерек, Байтерекский,",
     "aliases: [Байтерек, Теректы, Байтерекский,", "units[baiterek].aliases[1]", "plan-name-clash"),
    ("a sentence still naming the figure renamed", "{raids_held.nominative}", "{raids.nominative}",
     "report.summary[3].kk", "plan-sentence-unknown"),
    ("an in-kind figure without its Russian noun",
     ", noun_ru: {nominative: {one: школьный ранец, few: школьных ранца, many: школьных ранцев, other: школьного ранца}}",
     "", "sections[I].items[I.5].figures[school_bags].noun_ru", "plan-in-kind-noun"),
    ("Kazakh written into the Russian label", 'label_ru: "Учащиеся, обеспеченные бесплатным горячим питанием"',
     'label_ru: "Тегін ыстық тамақ алған оқушылар"', "sections[I].items[I.14].figures[free_meal_children].label_ru",
     "plan-kazakh-in-russian"),
    ("the rhythm not changed for a new calendar", "  rhythm: 10 күн сайын", "  rhythm: 20 күн сайын",
     "campaign.rhythm", "plan-rhythm-calendar"),
    ("a Latin «e» typed inside a Kazakh word", "    name: Бәйтерек ауданы", "    name: Бәйтeрек ауданы",
     "units[baiterek].name", "plan-latin-in-cyrillic"),
    ("a key mistyped", "        due: 2018-08-20\n", "        deu: 2018-08-20\n",
     "sections[II].items[II.7].deu", "plan-unknown-key"),
    ("last year's figures file misnamed", "figures_csv: mektepke-zhol-2017-final-figures.csv",
     "figures_csv: mektepke-zhol-2017-figures.csv", "previous.figures_csv", "plan-previous-file"),
    ("last year's district code not mapped", "renamed: {zelenov: baiterek, raids: raids_held}",
     "renamed: {raids: raids_held}", "previous.figures_csv", "plan-previous-unit"),
    ("the department's dative left out", "  name_dative: облыстық білім басқармасына\n", "",
     "department.name_dative", "plan-empty-text"),
]


@pytest.mark.parametrize(("what", "old", "new", "path", "code"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_broken_plan_is_answered_in_kazakh_with_its_key(tmp_path, what, old, new, path, code):
    plan = _broken(tmp_path, NEXT, old, new)
    out = _cli("plan", "check", str(plan))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    lines = [line for line in out.stderr.splitlines() if f"[{code}]" in line]
    assert lines, out.stderr
    line = next((x for x in lines if f" {path}: " in x), None)
    assert line is not None, out.stderr
    message = line.split(f" {path}: ", 1)[1]
    assert KAZAKH_LETTERS.search(message), line
    assert str(plan) in out.stderr.splitlines()[0]


def test_the_mistakes_also_in_russian(tmp_path):
    plan = _broken(tmp_path, NEXT, "due: 2018-08-24", "due: 2081-08-24")
    out = _cli("--lang", "ru", "plan", "check", str(plan))
    assert out.returncode == 2
    line = next(x for x in out.stderr.splitlines() if "[plan-due-outside]" in x)
    assert "sections[I].items[I.5].due" in line and not KAZAKH_LETTERS.search(line)
    assert re.search(r"[а-яё]", line)


def test_another_oblast_plan_left_with_the_old_centre_city(tmp_path):
    plan = _broken(tmp_path, OTHER, "units: {nominative: аудандар мен Тараз қаласы,",
                   "units: {nominative: аудандар мен Орал қаласы,")
    out = _cli("plan", "check", str(plan))
    assert out.returncode == 2 and "region.units.nominative" in out.stderr and "[plan-region-city]" in out.stderr


@pytest.mark.parametrize("text", ["campaign: [unclosed", "- just\n- a list\n", "campaign:\n  year: 1\n  year: 2\n",
                                  "\xff\xfe not utf-8", ""])
def test_a_file_that_is_no_plan_at_all(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode("utf-8"))
    out = _cli("plan", "check", str(path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert KAZAKH_LETTERS.search(out.stderr) and "[plan-" in out.stderr


def test_a_missing_plan_file():
    out = _cli("plan", "check", "/nonexistent/plan.yaml")
    assert out.returncode == 2 and "[plan-unreadable]" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("path", [DEFAULT_PLAN, NEXT, OTHER], ids=lambda p: p.name)
def test_the_bundled_and_test_plans_pass(path):
    out = _cli("plan", "check", str(path))
    assert out.returncode == 0, out.stderr
    assert load_plan(path).campaign.code in out.stdout


def test_every_command_runs_the_check_first(tmp_path):
    plan = _broken(tmp_path, NEXT, "  rhythm: 10 күн сайын", "  rhythm: 20 күн сайын")
    forms = tmp_path / "forms"
    for args in (["forms", "--out", str(forms)], ["--plan", str(plan), "plan", "dates"],
                 ["status", "--date", "2018-08-07", "--inbox", str(tmp_path)]):
        out = _cli(*(["--plan", str(plan)] if args[0] != "--plan" else []), *args)
        assert out.returncode == 2 and "[plan-rhythm-calendar]" in out.stderr, args
    assert not forms.exists()
    # The plan named after the command, and by the environment, is checked the same way.
    assert _cli("forms", "--plan", str(plan), "--out", str(forms)).returncode == 2
    assert _cli("forms", "--out", str(forms), env={"MZ_PLAN": str(plan)}).returncode == 2
    assert not forms.exists()


def test_the_plan_is_chosen_by_option_before_or_after_the_command_or_by_the_environment():
    expected = " ".join(d.isoformat() for d in load_plan(OTHER).dates)
    assert _cli("--plan", str(OTHER), "plan", "dates").stdout.strip() == expected
    assert _cli("plan", "dates", "--plan", str(OTHER)).stdout.strip() == expected
    assert _cli("plan", "dates", env={"MZ_PLAN": str(OTHER)}).stdout.strip() == expected
    # --plan wins over the environment; without either, the bundled plan.
    assert _cli("plan", "dates", "--plan", str(NEXT), env={"MZ_PLAN": str(OTHER)}).stdout.startswith("2018-08-07")
    assert _cli("plan", "dates").stdout.split() == [d.isoformat() for d in load_plan(DEFAULT_PLAN).dates]
    assert _cli("plan", "dates", "--default", "--plan", str(OTHER)).stdout.strip() == "2017-09-09"


def test_make_takes_the_plan_and_its_dates(tmp_path):
    out = subprocess.run(["make", "--no-print-directory", "plan-check", f"PLAN={OTHER}"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "mektepke-zhol-2017-zhambyl" in out.stdout, out.stderr
    broken = _broken(tmp_path, NEXT, "  rhythm: 10 күн сайын", "  rhythm: 20 күн сайын")
    out = subprocess.run(["make", "--no-print-directory", "plan-check", f"PLAN={broken}"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "[plan-rhythm-calendar]" in out.stderr
    # The Makefile names no date of its own: the demo's dates come from the plan.
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for plan in (DEFAULT_PLAN, NEXT, OTHER):
        for date in load_plan(plan).dates:
            assert date.isoformat() not in makefile
    dry = subprocess.run(["make", "-n", "demo", f"PLAN={OTHER}"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    # … and its demo has its own inbox and outbox (never the campaign's real outbox: no trap after the demo).
    assert "plan dates" in dry.stdout and "build/demo-other-oblast/outbox" in dry.stdout
    assert "outbox-other-oblast" not in dry.stdout


def test_every_mistake_code_has_its_message_in_both_languages():
    """A code raised anywhere (pipeline/plan/, the previous campaign's reader) without its message would
    reach the department as English."""
    words = yaml.safe_load((REPO / "pipeline" / "data" / "messages.yaml").read_text(encoding="utf-8"))
    sources = [*(REPO / "pipeline" / "plan").glob("*.py"), REPO / "pipeline" / "aggregate" / "previous.py"]
    codes = {c for path in sources for c in re.findall(r'"(plan-[a-z-]+)"', path.read_text(encoding="utf-8"))}
    assert len(codes) > 40
    for lang in ("kk", "ru"):
        missing = codes - set(words[lang]["plan_check"])
        assert not missing, (lang, missing)
        assert set(words["kk"]["plan_check"]) == set(words["ru"]["plan_check"])
