"""Helpers for the multi-plan tests: what an output file says, whether a figure reaches a report, and the
words of other campaigns that must never appear in one campaign's outputs.

Written apart from the code under test: text is read from the raw zip members of .docx/.xlsx (tags
stripped), numbers are formatted here by hand, the facts of other plans come from their plan files.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from pipeline.plan import Plan, load_plan

REPO = Path(__file__).resolve().parent.parent
BUNDLED = sorted((REPO / "pipeline" / "data" / "plans").glob("*.yaml")) + sorted((REPO / "tests" / "plans").glob("*.yaml"))
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")



def pipeline_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline ARGS` from the repository, as a user runs it; the caller's MZ_PLAN and MZ_LANG are
    left out (a plan or language set in the shell must not change what a test asks for), `env` added."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MZ_PLAN", "MZ_LANG")} | (env or {})
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO,
                          env=environment, timeout=timeout)

def normal(text: str) -> str:
    return _SPACES.sub(" ", text).lower()


def output_text(path: Path) -> str:
    """Every word a person could read in the file: zip members' XML text (docx, xlsx), plain text files;
    images and PDFs are skipped (their words are pixels or compressed)."""
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as zf:
            parts = [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()
                     if n.endswith((".xml", ".rels", ".txt"))]
        return re.sub(r"<[^>]+>", " ", "\n".join(parts))
    if path.suffix.lower() in (".png", ".pdf", ".jpg"):
        return ""
    return data.decode("utf-8", "replace")


def body_text(docx: Path) -> str:
    with zipfile.ZipFile(docx) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    xml = re.sub(r"</w:p>", "\n", xml)
    return normal(re.sub(r"<[^>]+>", "", xml))


def oblast_totals(figures_csv: Path) -> dict[str, float]:
    with figures_csv.open(encoding="utf-8-sig") as fh:
        return {r["figure"]: float(r["value"]) for r in csv.DictReader(fh) if r["unit"] == "oblast" and r["value"]}


def _grouped(number: float, decimals: int) -> list[str]:
    """«5 104», «40 338,5» – with any of the spaces a document may put between digit groups."""
    whole, _, fraction = f"{number:.{decimals}f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    shown = " ".join(groups) + (("," + fraction) if fraction else "")
    return [shown, shown.replace(" ", ""), shown.replace(",", ".")]


def item_section(plan: Plan, code: str, language: str, text: str) -> str:
    """The part of the body text (normalised) under the item's heading «I.7. <title>», up to the next item's
    heading: where a short number («88 мониторинг») can be found without matching some other 88."""
    suffix = "_ru" if language == "ru" else ""
    headings = [normal(f"{i.code}. {getattr(i, 'title' + suffix) or i.title}")[:60] for i in plan.items]
    codes = [i.code for i in plan.items]
    start = text.find(headings[codes.index(code)])
    if start < 0:
        return ""
    ends = [text.find(h, start + 1) for h in headings]
    return text[start:min([e for e in ends if e > start] or [len(text)])]


def said_in(fig, language: str, text: str, totals: dict[str, float], section: str = "") -> bool:  # noqa: ANN001
    """Whether the report body `text` (normalised) says the figure: its label or short label, or its total
    (a count as «5 104», an amount in thousands of tenge as «40 338,5»; a total shorter than three characters
    only inside its item's `section`, where it cannot be another figure's number by chance)."""
    suffix = "_ru" if language == "ru" else ""
    for name in (getattr(fig, "label" + suffix), getattr(fig, "short" + suffix)):
        if name and normal(name) in text:
            return True
    said = getattr(fig, "sentences" + suffix)
    if fig.unit == "yesno" and said is not None:
        # A yes/no figure is said by its sentences: look for the longest fixed part of each.
        for pattern in (said.all, said.some, said.not_yet, said.yes, said.no):
            fixed = max(re.split(r"\{[^}]*\}", pattern), key=len).strip(" .,:")
            if len(fixed) >= 8 and normal(fixed) in text:
                return True
    total = totals.get(fig.code)
    if total is not None and fig.unit in ("count", "tenge"):
        shown = total / 1000 if fig.unit == "tenge" else total
        candidates = _grouped(shown, 1 if fig.unit == "tenge" else 0)
        if any(re.search(rf"(?<![\d,.]){re.escape(c)}(?![\d])", text) for c in candidates if len(c) >= 3):
            return True
        if section and any(re.search(rf"(?<![\d,.]){re.escape(c)}(?!\d|,\d)", section) for c in candidates):
            return True
    return False


def campaign_words(plan: Plan) -> set[str]:
    """The names that belong to one campaign: units (every spelling), region, department, officials."""
    words = {plan.region.name, plan.region.name_ru, plan.department.name, plan.department.name_ru}
    for unit in plan.units:
        words |= {unit.name, unit.short, unit.name_ru, *unit.aliases}
    for person in (plan.signatory.name, plan.signatory.name_ru, plan.executor.name, plan.executor.name_ru,
                   plan.campaign.approved_by.split()[-1], plan.addressee.name_dative, plan.addressee.name_dative_ru):
        surname = max(person.replace(".", " ").split(), key=len, default="")
        if len(surname) >= 4:
            words.add(surname)
    # A blank a plan leaves for the officials («__________») is nobody's word.
    return {w for w in words if len(w.strip()) >= 3 and any(ch.isalpha() for ch in w)}


def foreign_words(plan: Plan) -> set[str]:
    """Words of the other bundled campaigns that are not also this campaign's."""
    own = campaign_words(plan)
    own_folded = {normal(w) for w in own}
    out: set[str] = set()
    for path in BUNDLED:
        other = load_plan(path)
        if other.campaign.code == plan.campaign.code:
            continue
        out |= {w for w in campaign_words(other) if normal(w) not in own_folded}
    # A shorter word of this campaign inside another's («Жамбыл» in «Жамбыл облысы») is this campaign's.
    return {w for w in out if not any(normal(w) in normal(o) for o in own)}


def foreign_hits(plan: Plan, folder: Path) -> list[str]:
    words = sorted(foreign_words(plan))
    # Single words case-sensitively («Шу» the district, not «шу»); names of several words in any case.
    patterns = [(w, re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE if " " in w else 0)) for w in words]
    hits = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".cache" in path.parts or path.name == ".lock":
            continue
        text = output_text(path)
        for word, pattern in patterns:
            if pattern.search(text):
                hits.append(f"{path.relative_to(folder)}: {word}")
    return hits
