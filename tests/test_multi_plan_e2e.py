"""The whole pipeline on plans other than 2017's: the next campaign of the same oblast, another oblast, and
random variations of the 2017 plan. Nothing in the code may know any of them.

For each plan: blank forms → filled forms (the sample generator, with the demo's mess) → every reporting
date's report in both languages, summary.xlsx, figures.csv → a build through the portal. Then: no error;
every figure of the plan reaches both reports (its label or its total in the body text); no word of
another campaign (its units, region, department, officials) in any byte of any output.
"""

from __future__ import annotations

import csv

import copy
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from campaign_outputs import body_text, foreign_hits, item_section, oblast_totals, pipeline_cli, said_in
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan

REPO = Path(__file__).resolve().parent.parent
PLANS = {"next-year": REPO / "tests" / "plans" / "next-year.yaml",
         "other-oblast": REPO / "tests" / "plans" / "other-oblast.yaml"}
SEED = 2014
#: Whole reports per hypothesis example make it slow: a few examples, the same ones on every run
#: (derandomized); MZ_PLAN_EXAMPLES=50 explores more by hand.
EXAMPLES = int(os.environ.get("MZ_PLAN_EXAMPLES", "3"))


_cli = pipeline_cli


@dataclass
class Run:
    plan: Plan
    plan_path: Path
    folder: Path
    forms: Path
    inbox: Path
    outbox: Path
    reports: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)


def run_campaign(plan_path: Path, folder: Path) -> Run:
    """The pipeline as a department runs it, through the command line."""
    plan = load_plan(plan_path)
    run = Run(plan, plan_path, folder, folder / "forms", folder / "inbox", folder / "outbox")
    out = _cli("--plan", str(plan_path), "forms", "--out", str(run.forms))
    assert out.returncode == 0, out.stderr
    default = _cli("--plan", str(plan_path), "plan", "dates", "--default").stdout.strip()
    out = _cli("--plan", str(plan_path), "samples", "--out", str(run.inbox), "--seed", str(SEED), "--messy", default)
    assert out.returncode == 0, out.stderr
    for date in plan.dates:
        run.reports[date.isoformat()] = _cli("report", "--plan", str(plan_path), "--date", date.isoformat(),
                                             "--inbox", str(run.inbox), "--outbox", str(run.outbox))
    return run


@pytest.fixture(scope="module", params=sorted(PLANS))
def campaign(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_campaign(PLANS[request.param], tmp_path_factory.mktemp(request.param))


def check_reports(run: Run) -> None:
    for date, out in run.reports.items():
        assert "Traceback" not in out.stderr, (date, out.stderr[-3000:])
        assert out.returncode in (0, 1), (date, out.returncode, out.stderr[-3000:])
        folder = run.outbox / date
        for name in (f"akparat-{date}.docx", f"akparat-{date}-ru.docx", "summary.xlsx", "figures.csv",
                     "issues.csv", "manifest.json"):
            assert (folder / name).is_file(), (date, name)


def unsaid_figures(run: Run, date: str) -> list[str]:
    """Figures of the plan (whose item is due by `date`) that a report of `date` does not say."""
    import datetime as dt

    day = dt.date.fromisoformat(date)
    folder = run.outbox / date
    totals = oblast_totals(folder / "figures.csv")
    texts = {"kk": body_text(folder / f"akparat-{date}.docx"), "ru": body_text(folder / f"akparat-{date}-ru.docx")}
    missing = []
    for fig in run.plan.figures:
        if not run.plan.item_of_figure[fig.code].due_by(day):
            continue
        for language, text in texts.items():
            section = item_section(run.plan, run.plan.item_of_figure[fig.code].code, language, text)
            if not said_in(fig, language, text, totals, section):
                missing.append(f"{language}:{fig.code}")
    return missing


def test_forms_follow_the_plan(campaign: Run) -> None:
    names = sorted(p.name for p in campaign.forms.iterdir())
    assert len(names) == len(campaign.plan.units) + 1
    for unit in campaign.plan.units:
        assert any(unit.name in name for name in names), unit.name
    # A blank form filled with the sample values is a good form of this plan.
    from pipeline.tools.samples import fill_form, sample_values

    unit = campaign.plan.units[-1]
    blank = next(p for p in campaign.forms.iterdir() if unit.name in p.name)
    filled = campaign.folder / "filled.xlsx"
    fill_form(blank, filled, sample_values(campaign.plan, unit.code, campaign.plan.dates[0], seed=SEED))
    out = _cli("--plan", str(campaign.plan_path), "check", str(filled))
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_date_is_reported_without_error(campaign: Run) -> None:
    check_reports(campaign)


def test_every_figure_reaches_both_reports(campaign: Run) -> None:
    check_reports(campaign)
    for date in (campaign.plan.dates[0].isoformat(), campaign.plan.final_date.isoformat()):
        assert not unsaid_figures(campaign, date), (date, unsaid_figures(campaign, date))


def test_figures_csv_holds_every_figure(campaign: Run) -> None:
    check_reports(campaign)
    final = campaign.outbox / campaign.plan.final_date.isoformat() / "figures.csv"
    plan = campaign.plan
    totals = oblast_totals(final)
    with final.open(encoding="utf-8-sig") as fh:
        # The department's own figures (items only it reports) stand in its own rows, not in the total.
        own = {r["figure"] for r in csv.DictReader(fh) if r["unit"] == plan.department.code and r["value"]}
    numeric = {f.code for f in plan.figures if f.numeric and plan.item_of_figure[f.code].due_by(plan.final_date)}
    units_report = {f.code for item in plan.items_for("units") for f in item.figures}
    assert numeric & units_report <= set(totals)
    assert numeric - units_report <= own


def test_units_are_named_as_an_editor_would_name_them(campaign: Run) -> None:
    """The plan gives each unit's Russian case forms, so the Russian copy never falls back to counting
    «в акимате (Бурлинский район)»; Kazakh «of which» is «оның ішінде N», never «оның N»."""
    check_reports(campaign)
    raw = yaml.safe_load(campaign.plan_path.read_text(encoding="utf-8"))
    locatives = [u.get("cases_ru", {}).get("locative", "-").lower() for u in raw["units"]]
    seen = set()
    for date in campaign.reports:
        ru = body_text(campaign.outbox / date / f"akparat-{date}-ru.docx")
        kk = body_text(campaign.outbox / date / f"akparat-{date}.docx")
        assert not re.search(r"акимат(?:е|ах) \((?!срок)", ru), (date, re.findall(r".{60}акимат(?:е|ах) \(.{40}", ru))
        assert not re.search(r"\bоның \d", kk), (date, re.findall(r".{40}\bоның \d.{30}", kk))
        # The plan says each item's figures in sentences: no item falls back to a «label – value» list.
        assert "облыс бойынша: " not in kk, (date, re.findall(r"облыс бойынша: .{60}", kk))
        assert "по области: " not in ru, (date, re.findall(r"по области: .{60}", ru))
        seen |= {loc for loc in locatives if loc in ru}
    assert seen, "the Russian copy names units in the locative the plan gives"


def test_no_word_of_another_campaign_in_any_output(campaign: Run) -> None:
    check_reports(campaign)
    assert not foreign_hits(campaign.plan, campaign.outbox)
    assert not foreign_hits(campaign.plan, campaign.forms)


def test_the_portal_builds_the_report(campaign: Run, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from pipeline.portal import PortalConfig, create_app, make_links

    outbox = tmp_path / "outbox"
    links = {role: url.removeprefix("http://portal") for role, url in make_links(outbox, campaign.plan, "http://portal")}
    config = PortalConfig(inbox=campaign.inbox, outbox=outbox, plan_path=campaign.plan_path,
                          today=lambda: campaign.plan.dates[0])
    date = campaign.plan.dates[0].isoformat()
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        dept = links["department"]
        page = client.get(dept)
        assert page.status_code == 200
        assert campaign.plan.department.name in page.text and campaign.plan.campaign.clock not in page.text
        district = client.get(links[campaign.plan.units[0].code])
        assert campaign.plan.campaign.clock in district.text
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        built = client.post(f"{dept}/build", data={"date": date, "csrf": token},
                            headers={"Accept": "application/json"})
        assert built.status_code == 200, built.text[:2000]
        assert built.json()["built"] is True
    assert (outbox / date / f"akparat-{date}.docx").is_file()
    assert not foreign_hits(campaign.plan, outbox)


# --- random variations of the 2017 plan ---------------------------------------------------------------------

BASE = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
NEW_LABELS = [("Өткізілген кездесулер саны", "Проведено встреч"), ("Берілген кітаптар", "Выдано книг"),
              ("Тартылған еріктілер саны", "Привлечено волонтёров"), ("Ашылған үйірмелер", "Открыто кружков"),
              ("Жиналған қаражат", "Собрано средств"), ("Ата-аналар жиналысы өткізілді", "Родительское собрание проведено")]


def _figures(data: dict) -> list[dict]:
    return [f for s in data["sections"] for i in s["items"] for f in i["figures"]]


def _rename_everywhere(data: dict, old: str, new: str) -> None:
    """A figure's code changed as a department would change it: everywhere the plan names it."""
    import re

    pattern = re.compile(r"\{" + re.escape(old) + r"(\.[a-z]+)?\}")
    for fig in _figures(data):
        if fig["code"] == old:
            fig["code"] = new
        if fig.get("of") == old:
            fig["of"] = new
    for holder in [data["report"]] + [i for s in data["sections"] for i in s["items"]]:
        for sentence in holder.get("summary", holder.get("sentences", [])) or []:
            for lang in ("kk", "ru"):
                sentence[lang] = pattern.sub(lambda m: "{" + new + (m.group(1) or "") + "}", sentence[lang])
    report = data["report"]
    report["compare"] = [new if c == old else c for c in report.get("compare", [])]
    head = report.get("per_head")
    if head:
        for key in ("numerator", "denominator"):
            if head[key] == old:
                head[key] = new
    rules = data.get("rules", {})
    rules["paired"] = [[new if c == old else c for c in pair] for pair in rules.get("paired", [])]
    for ratio in rules.get("ratios", []):
        for key in ("numerator", "denominator"):
            if ratio[key] == old:
                ratio[key] = new
    if old in rules.get("max_values", {}):
        rules["max_values"][new] = rules["max_values"].pop(old)


def _drop_everywhere(data: dict, code: str) -> None:
    for section in data["sections"]:
        for item in section["items"]:
            item["figures"] = [f for f in item["figures"] if f["code"] != code]
            item["sentences"] = [s for s in item.get("sentences", []) if f"{{{code}" not in s["kk"] + s["ru"]]
    report = data["report"]
    report["summary"] = [s for s in report["summary"] if f"{{{code}" not in s["kk"] + s["ru"]]
    report["compare"] = [c for c in report.get("compare", []) if c != code]
    if report.get("per_head") and code in (report["per_head"]["numerator"], report["per_head"]["denominator"]):
        del report["per_head"]
    rules = data.get("rules", {})
    rules["paired"] = [p for p in rules.get("paired", []) if code not in p]
    rules["ratios"] = [r for r in rules.get("ratios", []) if code not in (r["numerator"], r["denominator"])]
    rules.get("max_values", {}).pop(code, None)


def _yes_no(n: int) -> dict:
    kk, ru = f"{n}-шара", f"мероприятие {n}"
    return {"sentences": {"all": f"{kk} барлық әкімдікте өткізілді", "some": f"{kk} {{count}} өткізілді",
                          "not_yet": f"{{units}} {kk} әлі өткізілмеген", "yes": f"{kk.capitalize()} өткізілді.",
                          "no": f"{kk.capitalize()} әлі өткізілген жоқ."},
            "sentences_ru": {"all": f"{ru} проведено во всех акиматах", "some": f"{ru} проведено в {{count}}",
                             "not_yet": f"{ru} ещё не проведено: {{units}}", "yes": f"Проведено {ru}.",
                             "no": f"Ещё не проведено {ru}."}}


@st.composite
def variations(draw: st.DrawFn) -> tuple[dict, list[str]]:
    """The 2017 plan changed as a department might: (plan data, what was changed)."""
    data = copy.deepcopy(BASE)
    done: list[str] = []
    codes = [f["code"] for f in _figures(data)]
    wholes = {f["of"] for f in _figures(data) if f.get("of")}
    for code in draw(st.lists(st.sampled_from(codes), max_size=3, unique=True)):
        _rename_everywhere(data, code, f"{code}_v2")
        done.append(f"renamed {code}")
        fig = next(f for f in _figures(data) if f["code"] == f"{code}_v2")
        fig["label"] += " (жаңа)"
        fig["label_ru"] += " (новое)"
    droppable = [f["code"] for f in _figures(data) if f["code"] not in wholes]
    for code in draw(st.lists(st.sampled_from(droppable), max_size=3, unique=True)):
        _drop_everywhere(data, code)
        done.append(f"dropped {code}")
    keyable = [f for f in _figures(data) if f["unit"] in ("count", "tenge", "yesno")]
    for fig in draw(st.lists(st.sampled_from(keyable), max_size=4, unique_by=lambda f: f["code"])):
        fig["key"] = not fig.get("key", False)
        done.append(f"key {fig['code']}={fig['key']}")
    items = [i for s in data["sections"] for i in s["items"]]
    added = draw(st.lists(st.tuples(st.sampled_from(range(len(items))), st.sampled_from(["count", "tenge", "yesno", "text"]),
                                    st.booleans()), max_size=4))
    for n, (index, unit, key) in enumerate(added):
        label, label_ru = NEW_LABELS[n % len(NEW_LABELS)]
        fig = {"code": f"added_{n}", "label": f"{label} ({n})", "label_ru": f"{label_ru} ({n})", "unit": unit}
        if unit != "text":
            fig["key"] = key
        if unit == "yesno":
            fig.update(_yes_no(n))
        items[index]["figures"].append(fig)
        done.append(f"added {unit} {fig['code']} to {items[index]['code']}")
    # New items: each carries a status; some a yes/no figure of their own.
    for n in range(draw(st.integers(0, 2))):
        section = data["sections"][-1]
        number = max(int(i["code"].split(".")[1]) for i in section["items"]) + 1
        item = {"code": f"{section['code']}.{number}", "title": f"Жаңа іс-шара {n + 1}",
                "title_ru": f"Новое мероприятие {n + 1}", "deadline": "тамыз", "completion_form": "ақпарат",
                "responsible": "Әкімдіктер", "reported_by": ["units"], "figures": []}
        if draw(st.booleans()):
            item["due"] = "2017-08-20"
        if draw(st.booleans()):
            item["figures"].append({"code": f"new_item_{n}", "label": f"Жаңа шара өткізілді ({n})",
                                    "label_ru": f"Новое мероприятие проведено ({n})", "unit": "yesno",
                                    **_yes_no(100 + n)})
        section["items"].append(item)
        done.append(f"added item {item['code']} ({len(item['figures'])} yes/no, due {item.get('due')})")
    return data, done


# No shrinking: each step would run a whole campaign again; the failing plan is printed as it was drawn.
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(variation=variations())
def test_variations_of_the_2017_plan_run_end_to_end(tmp_path_factory: pytest.TempPathFactory,
                                                    variation: tuple[dict, list[str]]) -> None:
    data, changes = variation
    folder = tmp_path_factory.mktemp("variation")
    note(f"changes: {changes}; plan file: {folder / 'plan.yaml'}")
    plan_path = folder / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = _cli("plan", "check", str(plan_path))
    assert out.returncode == 0, out.stderr  # a variation a department could write passes the plan check
    run = run_campaign(plan_path, folder)
    check_reports(run)
    final = run.plan.final_date.isoformat()
    assert not unsaid_figures(run, final), unsaid_figures(run, final)
    assert not foreign_hits(run.plan, run.outbox)
