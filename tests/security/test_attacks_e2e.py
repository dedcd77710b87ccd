"""Security suite, end to end: a full inbox plus files a careless clerk or a hostile sender would send, run
through `python -m pipeline report` and `check` as subprocesses; then every byte under outbox/ (zip members
unpacked, XML entities decoded, the cache's rows) is searched for the planted ИИН and names.

Classes of issue 9 played here: 1 (district text stops the report), 2 (personal data past the mask),
7 (silently wrong data), and the console half of 9 (no traceback).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.forms.build import write_form
from pipeline.tools.samples import fill_form, generate_samples, sample_values
from tests.security.leaks import IIN, IIN_SPELLINGS, NAME_LISTS, leaks

REPO = Path(__file__).resolve().parents[2]
AUG8 = dt.date(2017, 8, 8)
TEMPLATE_TEXT = "{{ x }} {% if %} {#"
#: Written as Excel writes a control character in a cell: calamine reads it back as \x0b.
VT = "_x000B_"
NOT_UTF8 = b"\xcd\xfb\xf1\xe0\xed"  # «Нысан» in cp1251, as a Windows zip leaves it
HOSTILE_NAME = os.fsdecode(NOT_UTF8 + f" {IIN} {NAME_LISTS[1]}.xlsx".encode())


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, encoding="utf-8", errors="replace",
                          timeout=timeout)


def _form(plan, tmp: Path, unit: str, out: Path, changes: dict[str, object], sheet: str | None = None) -> Path:
    blank = tmp / f"blank-{unit}.xlsx"
    if not blank.exists():
        write_form(plan, unit, blank)
    values = {**sample_values(plan, unit, AUG8), **changes}
    fill_form(blank, out, values)
    if sheet is not None:
        wb = openpyxl.load_workbook(out)
        wb.worksheets[0].title = sheet
        wb.save(out)
    return out


@pytest.fixture(scope="module")
def attacked(plan, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    inbox, outbox = tmp / "inbox", tmp / "outbox"
    inbox.mkdir()
    generate_samples(plan, inbox, seed=2014, dates=[AUG8])
    not_done = next(s.label for s in plan.statuses if s.code == "not_done")
    # Every text cell of one district's correction carries personal data, template syntax, a control
    # character; its sheet and file names carry an ИИН; numbers, statuses and dates carry ИИН spellings.
    hostile = _form(plan, tmp, "kaztalov", inbox / HOSTILE_NAME, {
        # I.7 is due by 31 July: «not done» then has its comment quoted in the report itself.
        "I.7.status": not_done,
        "I.7.comment": f"{TEMPLATE_TEXT} {VT} Тізім: {NAME_LISTS[0]}; ЖСН {IIN_SPELLINGS[1]}",
        "I.6.comment": f"{NAME_LISTS[1]}, ЖСН {IIN_SPELLINGS[2]}",
        "I.10.comment": f"{NAME_LISTS[2]} {IIN_SPELLINGS[3]}",
        "II.5.comment": f"{NAME_LISTS[3]} {IIN_SPELLINGS[4]}",
        "I.14.comment": f"{NAME_LISTS[4]} {IIN_SPELLINGS[5]}",
        "form.executor": NAME_LISTS[0],
        "form.phone": IIN_SPELLINGS[1],
        "I.3.status": f"ЖСН {IIN}",
        "raids": IIN_SPELLINGS[2],
        "price_checks": int(IIN),  # typed as a number: Excel drops the leading zero
    }, sheet=f"ЖСН {IIN}")
    # Identity cells hold personal data: the values are quoted in messages.
    identity = _form(plan, tmp, "borli", inbox / "identity.xlsx", {
        "form.unit": f"{NAME_LISTS[3]}", "form.report_date": IIN_SPELLINGS[4], "form.id": IIN,
    })
    # Its date cannot be read, so it belongs to the reporting date after it arrived: make that 8 August.
    arrived = dt.datetime(2017, 8, 7, 10, 0).timestamp()
    os.utime(identity, (arrived, arrived))
    # Class 7: a fill date typed as 2071, in a file saved BEFORE the unit's real one.
    syrym_real = next(p for p in inbox.iterdir() if "Сырым" in p.name)
    typo = _form(plan, tmp, "syrym", inbox / "syrym-typo.xlsx", {"form.filled_date": dt.date(2071, 8, 8),
                                                                 "help_children": 1})
    stamp = syrym_real.stat().st_mtime - 3600
    os.utime(typo, (stamp, stamp))
    # Class 7: one district's file names its unit with another unit's Russian name.
    _form(plan, tmp, "borli", inbox / "borli-but-zelenov.xlsx",
          {"form.unit": "Зеленовский район", "form.filled_date": dt.date(2017, 8, 9)})
    before = {p: p.read_bytes() for p in inbox.rglob("*") if p.is_file()}
    report = _cli("report", "--date", AUG8.isoformat(), "--inbox", str(inbox), "--outbox", str(outbox),
                  "--no-progress")
    check = _cli("check", str(hostile), str(inbox / "identity.xlsx"))
    return plan, inbox, outbox, before, report, check


def _issues(outbox: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((outbox / AUG8.isoformat() / "issues.csv").open(encoding="utf-8-sig")))


def _manifest(outbox: Path) -> dict:
    return json.loads((outbox / AUG8.isoformat() / "manifest.json").read_text(encoding="utf-8"))


def test_report_is_built_for_everyone_without_a_traceback(attacked):
    _, _, outbox, _, report, check = attacked
    assert report.returncode == 1, report.stderr  # the hostile files have errors; the report stands
    for out in (report, check):
        assert "Traceback" not in out.stdout + out.stderr
        assert "panicked" not in out.stdout + out.stderr
    folder = outbox / AUG8.isoformat()
    assert (folder / f"akparat-{AUG8.isoformat()}.docx").is_file() and (folder / "summary.xlsx").is_file()
    assert check.returncode == 1


def test_no_planted_personal_data_outside_the_feedback_copies(attacked):
    _, _, outbox, _, _, _ = attacked
    # The symlinked outbox/<DATE> is the run folder under .runs/, which texts() walks; the cache too.
    found = [f for f in leaks(outbox) if "/feedback/" not in f and not f.startswith("feedback/")]
    assert found == []
    assert (outbox / ".cache" / "ingest.sqlite").is_file()


def test_no_planted_personal_data_in_the_feedback_copies(attacked):
    _, _, outbox, _, _, _ = attacked
    assert list((outbox / AUG8.isoformat()).glob("feedback/*.xlsx")), "the hostile files get feedback copies"
    assert [f for f in leaks(outbox) if "feedback/" in f] == []


def test_console_output_holds_no_personal_data(attacked):
    _, _, _, _, report, check = attacked
    for out in (report, check):
        text = out.stdout + out.stderr
        assert IIN not in text.replace(" ", "").replace("-", "")
        assert "Иванов" not in text and "Ivanov" not in text


def test_every_masking_is_reported_where_it_happened(attacked):
    _, _, outbox, _, _, check = attacked
    rows = _issues(outbox)
    hostile = [r for r in rows if r["file"].startswith("\ufffd")]
    assert hostile, "the file whose name is not UTF-8 is listed under a readable name"
    masked_cells = {r["cell"] for r in hostile if r["code"] == "personal-data-masked"}
    # five comments, executor, phone, the status, the two numbers
    assert len(masked_cells) >= 10
    assert any(r["code"] == "personal-data-in-name" and not r["sheet"] for r in hostile)  # the file name
    assert any(r["code"] == "personal-data-in-name" and r["sheet"] == "ЖСН ***" for r in hostile)
    identity = {r["code"] for r in rows if r["file"] == "identity.xlsx"}
    assert {"unit-unknown", "date-invalid", "form-other-campaign"} <= identity
    assert "personal-data-masked" in check.stdout


def test_template_syntax_and_control_characters_are_shown_literally(attacked):
    _, _, outbox, _, _, _ = attacked
    folder = outbox / AUG8.isoformat()
    with zipfile.ZipFile(folder / f"akparat-{AUG8.isoformat()}.docx") as zf:
        document = zf.read("word/document.xml").decode("utf-8")
    from docx import Document

    text = "\n".join(p.text for p in Document(str(folder / f"akparat-{AUG8.isoformat()}.docx")).paragraphs)
    assert TEMPLATE_TEXT in text  # the district's own braces, literally
    assert "\x0b" not in document and "_x000B_" not in text
    for name in ("summary.xlsx",):
        with zipfile.ZipFile(folder / name) as zf:
            assert all(b"\x0b" not in zf.read(m) for m in zf.namelist())


def test_a_name_that_is_not_utf8_reaches_every_output(attacked):
    _, inbox, outbox, before, _, _ = attacked
    manifest = _manifest(outbox)
    [entry] = [e for e in manifest["inputs"] if e["file"].startswith("\ufffd")]
    assert entry["format"] == "xlsx" and entry["unit"] == "kaztalov"
    assert entry["sha256"] and "file-corrupt" not in entry["codes"]
    # the inbox is as it was, byte for byte, names included
    assert {p: p.read_bytes() for p in inbox.rglob("*") if p.is_file()} == before


def test_a_fill_date_in_the_future_does_not_supersede_the_real_file(attacked):
    _, _, outbox, _, _, _ = attacked
    inputs = {e["file"]: e for e in _manifest(outbox)["inputs"]}
    typo = inputs["syrym-typo.xlsx"]
    assert "filled-date-future" in typo["codes"]
    assert typo["status"] == "superseded"
    assert typo["filled_date"] is None  # not trusted, not recorded as if true


def test_another_units_russian_name_does_not_replace_its_file_silently(attacked):
    _, _, outbox, _, _, _ = attacked
    rows = _issues(outbox)
    doubtful = [r for r in rows if r["code"] == "submission-unit-doubtful"]
    assert [r["file"] for r in doubtful] == ["borli-but-zelenov.xlsx"]
    assert doubtful[0]["severity"] == "warning"
