"""Reminders and the report letter, before and after a deadline, on two plans: every campaign fact in a
letter (names, dates, the addressee, the department) comes from the plan file, none from the code."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml

from pipeline.forms import write_form
from pipeline.plan import DEFAULT_PLAN, load_plan
from pipeline.report import run_report
from pipeline.tools.mailservers import SmtpServer
from pipeline.tools.samples import fill_form, sample_values

from .conftest import REPO, write_settings

KAZAKH_ONLY = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")


@pytest.fixture(scope="module")
def other_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2017 plan made into another year's campaign of another department, with a renamed unit."""
    data = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    c = data["campaign"]
    c.update(code="mektepke-zhol-2031", year=2031, name="«Мектепке жол» – 2031 акциясы",
             name_genitive="«Мектепке жол» – 2031 акциясының", name_ru="акция «Дорога в школу – 2031»",
             name_genitive_ru="акции «Дорога в школу – 2031»", starts=dt.date(2031, 8, 1), ends=dt.date(2031, 9, 30),
             approved_on=dt.date(2031, 7, 20), rhythm="44 күн сайын", rhythm_ru="каждые 44 дня")
    data["reporting_dates"] = [{"date": dt.date(2031, 8, 12), "kind": "interim"},
                               {"date": dt.date(2031, 9, 25), "kind": "final"}]
    data["department"].update(name="Тестілік білім басқармасы", name_ru="Тестовое управление образования")
    data["addressee"].update(name_dative="Б. Сынақоваға", name_dative_ru="Б. Сынаковой")
    for unit in data["units"]:
        if unit["code"] == "zelenov":
            unit.update(name="Бәйтерек ауданы", short="Бәйтерек", name_ru="Байтерекский район",
                        cases={"genitive": "Бәйтерек ауданының", "dative": "Бәйтерек ауданына",
                               "locative": "Бәйтерек ауданында", "ablative": "Бәйтерек ауданынан"})
            if "cases_ru" in unit:
                unit["cases_ru"] = {"genitive": "Байтерекского района", "dative": "Байтерекскому району",
                                    "locative": "Байтерекском районе"}
    for section in data["sections"]:
        for item in section["items"]:
            for key in ("due", "due_from"):
                if isinstance(item.get(key), dt.date):
                    item[key] = item[key].replace(year=2031)

    def next_year(value: object) -> object:  # every text naming the year, as a department edits its copy
        if isinstance(value, str):
            return value.replace("2017", "2031")
        if isinstance(value, dict):
            return {k: next_year(v) for k, v in value.items()}
        if isinstance(value, list):
            return [next_year(v) for v in value]
        return value

    data = next_year(data)
    path = tmp_path_factory.mktemp("plan") / "plan-2031.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_plan(path)  # valid
    return path


def cli(root: Path, plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "--plan", str(plan), *args,
                           "--mail-settings", str(root / "mail.toml"), "--inbox", str(root / "inbox"),
                           "--outbox", str(root / "outbox")], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ), timeout=300)


def letter(data: bytes):  # noqa: ANN201
    m = message_from_bytes(data, policy=policy.default)
    return m, m.get_body(("plain",)).get_content()


@pytest.mark.parametrize("plan_name", ["2017", "2031"])
def test_reminder_before_and_notice_after_the_deadline(tmp_path: Path, other_plan: Path, plan_name: str) -> None:
    plan_path = DEFAULT_PLAN if plan_name == "2017" else other_plan
    plan = load_plan(plan_path)
    date = plan.dates[0]
    (tmp_path / "inbox").mkdir()
    contacts = ["units:"] + [f"  {u.code}: [{u.code}@akimat.example.kz]" for u in plan.units]
    (tmp_path / "contacts.yaml").write_text("\n".join(contacts) + "\n", encoding="utf-8")
    # One unit reported on time with a word in a number cell; the others are silent.
    unit = plan.units[1]
    blank = write_form(plan, unit.code, tmp_path / "blank.xlsx")
    values = sample_values(plan, unit.code, date)
    values["form.filled_date"] = date
    figure = next(f.code for f in plan.figures if f.unit == "count" and f.of is None and f.code in values)
    values[figure] = "жок"  # a word in a number cell (quoted as typed; no Kazakh-only letter in it)
    fill_form(blank, tmp_path / "inbox" / "form.xlsx", values)
    with SmtpServer() as smtp:
        write_settings(tmp_path, smtp={"host": "127.0.0.1", "port": smtp.port, "tls": "none"})
        before = cli(tmp_path, plan_path, "remind", "--date", date.isoformat(),
                     "--today", (date - dt.timedelta(days=1)).isoformat(), "--send")
        assert before.returncode == 0, before.stderr
        assert len(smtp.received) == len(plan.units)
        by_unit = {r.recipients[0].split("@")[0]: letter(r.data) for r in smtp.received}
        m, text = by_unit[unit.code]
        assert m["Subject"].startswith("Еске салу:") and date.strftime("%d.%m.%Y") in m["Subject"]
        kk, ru = text.split("— — —")
        assert plan.campaign.name_genitive in kk and plan.campaign.name_genitive_ru in ru
        assert unit.name in kk and unit.name_ru in ru
        assert "түзетуді қажет етеді" in kk and "Нысан!" in kk  # the cell to fix
        assert not KAZAKH_ONLY.search(ru), ru
        assert "{" not in text and "}" not in text
        assert plan.department.name in kk and plan.department.name_ru in ru
        m, text = by_unit[plan.units[0].code]
        assert "нысан әлі келіп түскен жоқ" in text and "Кешігу" not in text
        # The same day again: nothing twice. Three days after the deadline: a lateness notice naming them.
        assert cli(tmp_path, plan_path, "remind", "--date", date.isoformat(), "--today",
                   (date - dt.timedelta(days=1)).isoformat(), "--send").returncode == 0
        assert len(smtp.received) == len(plan.units)
        after = cli(tmp_path, plan_path, "remind", "--date", date.isoformat(),
                    "--today", (date + dt.timedelta(days=3)).isoformat(), "--send")
        assert after.returncode == 0
        late = [letter(r.data) for r in smtp.received[len(plan.units):]]
        assert len(late) == len(plan.units)
        for m, text in late:
            assert m["Subject"].startswith("Мерзімі өтті:")
            assert "Кешігу: 3 күн" in text and "Опоздание: 3 дн." in text


def test_report_letter_on_another_plan(tmp_path: Path, other_plan: Path) -> None:
    plan = load_plan(other_plan)
    date = plan.dates[0]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for unit in [u.code for u in plan.units] + [plan.department.code]:
        blank = write_form(plan, unit, tmp_path / f"blank-{unit}.xlsx")
        values = sample_values(plan, unit, date)
        values["form.filled_date"] = date
        fill_form(blank, inbox / f"{unit}.xlsx", values)
    run_report(date.isoformat(), inbox=inbox, outbox=tmp_path / "outbox", plan_path=other_plan, workers=1)
    (tmp_path / "contacts.yaml").write_text("addressee: [deputy@example.kz]\ndepartment: [d@example.kz]\n",
                                            encoding="utf-8")
    write_settings(tmp_path)
    result = cli(tmp_path, other_plan, "mail", "send", "--date", date.isoformat())
    assert result.returncode == 0, result.stderr
    draft = tmp_path / "outbox" / date.isoformat() / "mail" / "report" / f"report-{date.isoformat()}.eml"
    m, text = letter(draft.read_bytes())
    assert plan.campaign.name_genitive in m["Subject"] and "2017" not in m["Subject"]
    assert "Б. Сынақоваға" in text and "Б. Сынаковой" in text and "12.08.2031" in text
    assert [a.get_filename() for a in m.iter_attachments()] == [f"akparat-{date}.docx", f"akparat-{date}-ru.docx"]
