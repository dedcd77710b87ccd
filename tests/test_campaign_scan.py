"""No campaign fact outside its plan file: the code, the templates and the shared wording files name no
figure, item, unit, place, official or date of any bundled plan.

The facts are read from every plan the project carries (pipeline/data/plans/*.yaml and tests/plans/*.yaml),
so adding a test plan widens the net. Matching is by whole word (case-sensitive: «Шу» the district, not
«шу»); an official's surname matches at the start of a word, so the dative «Тоқжановқа» is caught too.
What is scanned: every Python module of the package and templates/make_template.py, the text of
templates/*.docx, the portal's HTML templates, and pipeline/data/*.yaml (the plans themselves aside).
`ALLOWED` lists the few true false positives, each with its reason.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from pipeline.plan import Plan, load_plan

REPO = Path(__file__).resolve().parent.parent
PLAN_FILES = sorted((REPO / "pipeline" / "data" / "plans").glob("*.yaml")) + sorted(
    (REPO / "tests" / "plans").glob("*.yaml"))
KK_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан",
             "қараша", "желтоқсан"]
RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря"]

#: (file relative to the repository, fact) → why it is not a campaign fact there.
ALLOWED: dict[tuple[str, str], str] = {
    ("pipeline/ingest/sniff.py", "containers"): "zip containers (the file format), not the figure `containers`",
}


def _plans() -> list[Plan]:
    return [load_plan(p) for p in PLAN_FILES]


@cache
def facts() -> dict[str, re.Pattern[str]]:
    """fact (as shown in a failure) → its pattern."""
    out: dict[str, re.Pattern[str]] = {}

    def word(text: str, prefix: bool = False) -> None:
        text = text.strip()
        if len(text) < 2:
            return
        end = "" if prefix else r"(?!\w)"
        out.setdefault(text, re.compile(rf"(?<![\w.]){re.escape(text)}{end}"))

    for plan in _plans():
        for fig in plan.figures:
            word(fig.code)
        for item in plan.items:
            out.setdefault(item.code, re.compile(rf"(?<![\w.]){re.escape(item.code)}(?![\w]|\.\d)"))
        for unit in plan.units:
            for name in (unit.name, unit.short, unit.name_ru, *unit.aliases):
                word(name)
        for name in (plan.region.name, plan.region.name_ru):
            word(name)
        people = [plan.signatory.name, plan.signatory.name_ru, plan.executor.name, plan.executor.name_ru,
                  plan.campaign.approved_by.split()[-1], plan.addressee.name_dative_ru]
        for person in people:
            surname = max(person.replace(".", " ").split(), key=len, default="")
            # A blank a plan leaves for its officials («__________») is nobody's name.
            if len(surname) >= 4 and any(ch.isalpha() for ch in surname):
                word(surname, prefix=True)
        word(plan.executor.phone)
        dates = {*plan.dates, plan.campaign.starts, plan.campaign.ends, plan.campaign.approved_on}
        dates |= {d for item in plan.items for d in (item.due, item.due_from) if d is not None}
        for d in dates:
            word(d.isoformat())
            word(d.strftime("%d.%m.%Y"))
            word(f"{d.day} {KK_MONTHS[d.month - 1]}", prefix=True)
            word(f"{d.day} {RU_MONTHS[d.month - 1]}")
    return out


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        parts = [zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml")]
    return re.sub(r"<[^>]+>", "", "\n".join(parts))


def scanned() -> Iterator[tuple[str, str]]:
    """(file relative to the repository, its text) of everything that must hold no campaign fact."""
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
    for path in sorted((REPO / "templates").glob("*.py")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
    for path in sorted((REPO / "templates").glob("*.docx")):
        yield str(path.relative_to(REPO)), _docx_text(path)
    for path in sorted((REPO / "pipeline" / "portal" / "templates").rglob("*.html")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")
    for path in sorted((REPO / "pipeline" / "data").glob("*.yaml")):
        yield str(path.relative_to(REPO)), path.read_text(encoding="utf-8")


def findings() -> list[str]:
    found = []
    for name, text in scanned():
        lines = text.splitlines()
        for fact, pattern in facts().items():
            if (name, fact) in ALLOWED:
                continue
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {fact!r} in {lines[line - 1].strip()[:100]!r}")
    return found


def test_the_scan_knows_the_bundled_plans():
    # Guard against a scan that finds nothing because it looks for nothing.
    known = facts()
    for fact in ("help_children", "I.7", "Орал", "Уральск", "Тараз", "Бәйтерек", "Батыс Қазақстан облысы",
                 "Тоқжанов", "Гумарова", "2017-08-17", "17.08.2017", "17 тамыз", "raids_held", "II.7"):
        assert fact in known, fact
    assert known["Тоқжанов"].search("М. Тоқжановқа") and not known["Шу"].search("шу") and known["Шу"].search("Шу ауданы")
    assert not known["I.1"].search("I.14") and not known["I.1"].search("II.1") and known["I.1"].search("(I.1)")


def test_the_scan_catches_a_fact_put_into_code(tmp_path):
    text = 'LABEL = "Орал қаласы"  # help_children of I.5 due 2017-08-25\n'
    hits = [fact for fact, pattern in facts().items() if pattern.search(text)]
    assert {"Орал", "help_children", "I.5", "2017-08-25"} <= set(hits)


def test_no_campaign_fact_in_code_templates_or_shared_wording():
    found = findings()
    assert not found, f"{len(found)} campaign facts outside the plan files:\n" + "\n".join(found)


@pytest.mark.parametrize("fact", sorted({fact for _, fact in ALLOWED}))
def test_every_allowance_is_still_needed(fact):
    files = {name for name, f in ALLOWED if f == fact}
    texts = dict(scanned())
    assert all(facts()[fact].search(texts.get(name, "")) for name in files), fact
