"""End to end: sample inbox with real-world mess → report folder; figures equal exactly what was filled."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.tools.mess import add_mess
from pipeline.publish import versions
from pipeline.report import run_report
from pipeline.tools.samples import generate_samples
from tests.hooks import HOLD_THE_LOCK, hooked_env

AUG8, AUG17 = dt.date(2017, 8, 8), dt.date(2017, 8, 17)
REPO = Path(__file__).resolve().parent.parent


def _snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime) for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def demo(plan, tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    outbox = tmp_path_factory.mktemp("outbox")
    # seed 2014: on 17 August taskala is missing (carried from 8 August) and karatobe is late
    samples = generate_samples(plan, inbox, seed=2014, dates=[AUG8, AUG17, dt.date(2017, 8, 26)])
    mess = add_mess(plan, samples, AUG17)
    before = _snapshot(inbox)
    result = run_report("2017-08-17", inbox=inbox, outbox=outbox, plan_path=REPO / "pipeline/data/plans/mektepke-zhol-2017.yaml")
    return plan, samples, mess, inbox, outbox, before, result


def _expected(plan, samples, mess, unit, code):
    """What figures.csv must say for unit × figure at 17 Aug: (value, coverage, carried_from).

    The value the unit gave on 17 Aug is `reported`. Otherwise (no file, a blank, a rejected value) a
    `carry` figure takes the unit's last valid earlier value, a `gap` figure stays missing.
    """
    figure = plan.figure_by_code[code]
    for date in (AUG17, AUG8):
        if date != AUG17 and plan.when_missing(code) == "gap":
            break
        sample = samples.get(unit, date)
        if sample is None:
            continue
        override = mess.overrides.get((unit, date), {})
        value = override[code] if code in override else sample.values.get(code)
        if value is None:
            continue
        if figure.unit == "yesno":
            value = 1.0 if value == plan.yes_no.yes.label else 0.0
        if date == AUG17:
            return float(value), "reported", ""
        return float(value), "carried", date.isoformat()
    return None, "missing", ""


def test_figures_csv_equals_what_was_filled(demo):
    plan, samples, mess, _, outbox, _, result = demo
    rows = list(csv.DictReader((outbox / "2017-08-17" / "figures.csv").open(encoding="utf-8-sig")))
    assert list(rows[0])[:3] == ["unit", "figure", "value"]
    by_key = {(r["unit"], r["figure"]): r for r in rows}
    got = {key: (float(r["value"]) if r["value"] else None) for key, r in by_key.items()}
    unit_figures = [f.code for i in plan.items_for("units") for f in i.figures if f.numeric]
    checked = 0
    states: dict[str, dict[str, int]] = {}
    for unit in plan.units:
        for code in unit_figures:
            value, coverage, source = _expected(plan, samples, mess, unit.code, code)
            row = by_key[(unit.code, code)]
            assert (got[(unit.code, code)], row["coverage"], row["carried_from"]) == (value, coverage, source), (unit.code, code)
            counts = states.setdefault(code, {"reported": 0, "carried": 0, "missing": 0})
            counts[coverage] += 1
            checked += 1
    for code in unit_figures:
        values = [got[(u.code, code)] for u in plan.units if got[(u.code, code)] is not None]
        assert got[("oblast", code)] == (sum(values) if values else None)
        oblast = by_key[("oblast", code)]
        assert {k: int(oblast[f"units_{k}"]) for k in states[code]} == states[code], code
    assert checked == 13 * len(unit_figures)
    # the correction superseded the original: its corrected figure is the one reported
    (unit, _), override = next((k, o) for k, o in mess.overrides.items() if "help_children" in o)
    assert got[(unit, "help_children")] == override["help_children"]
    # the rejected «1.500» is not silently dropped: the unit's 8 August value is carried and marked so
    typo = next((u, d) for (u, d), o in mess.overrides.items() if o.get("leaflets", 0) is None)
    assert by_key[(typo[0], "leaflets")]["coverage"] == "carried"
    assert got[(typo[0], "leaflets")] == float(samples.value(typo[0], AUG8, "leaflets"))


def test_manifest_accounts_for_every_inbox_file(demo):
    _, _, mess, inbox, outbox, _, _ = demo
    manifest = json.loads((outbox / "2017-08-17" / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["file"]: entry for entry in manifest["inputs"]}
    assert set(listed) == {p.name for p in inbox.iterdir()}
    for mf in mess.files:
        assert listed[mf.name]["status"] == mf.status, mf
        assert mf.codes <= set(listed[mf.name]["codes"]), mf
    outputs = {o["file"] for o in manifest["outputs"]}
    assert {"figures.csv", "issues.csv", "summary.xlsx", "akparat-2017-08-17.docx"} <= outputs
    assert all(entry["sha256"] and len(entry["sha256"]) == 64 for entry in manifest["inputs"])


def test_issues_csv_names_file_sheet_and_cell(demo):
    _, samples, mess, _, outbox, _, result = demo
    rows = list(csv.DictReader((outbox / "2017-08-17" / "issues.csv").open(encoding="utf-8-sig")))
    typo = next(m for m in mess.files if m.kind == "typo-values")
    ambiguous = [r for r in rows if r["file"] == typo.name and r["code"] == "value-ambiguous-number"]
    assert len(ambiguous) == 1 and ambiguous[0]["sheet"] == "Нысан" and ambiguous[0]["cell"].startswith("D")
    assert ambiguous[0]["severity"] == "error" and ambiguous[0]["message"]
    assert result.exit_code == 1  # some files have errors; the report is written anyway


def test_inbox_is_never_modified(demo):
    *_, inbox, _, before, _ = demo
    assert _snapshot(inbox) == before


def test_feedback_workbook_marks_the_problem_cell(demo):
    from openpyxl import load_workbook

    _, _, mess, _, outbox, _, _ = demo
    typo = next(m for m in mess.files if m.kind == "typo-values")
    rows = list(csv.DictReader((outbox / "2017-08-17" / "issues.csv").open(encoding="utf-8-sig")))
    row = next(r for r in rows if r["file"] == typo.name and r["code"] == "value-ambiguous-number")
    cell = row["cell"]
    manifest = json.loads((outbox / "2017-08-17" / "manifest.json").read_text(encoding="utf-8"))
    path = outbox / "2017-08-17" / next(i["feedback"] for i in manifest["inputs"] if i["file"] == typo.name)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Мәселелер"
    # The district reads Kazakh only in the cell's comment; the code stands in the list sheet's own column.
    assert wb["Нысан"][cell].comment.text == row["message"]
    listed = [wb["Мәселелер"].cell(row=r, column=4).value for r in range(5, wb["Мәселелер"].max_row + 1)]
    assert "value-ambiguous-number" in listed


def test_second_run_waits_for_the_lock(plan, tmp_path):
    """Two real `report` runs on one outbox: the second waits while the first holds the lock (it says so),
    then runs on the first one's result; nothing is half-written or lost."""
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    generate_samples(plan, inbox, seed=2014, dates=[AUG8, AUG17])
    held, release = tmp_path / "held", tmp_path / "release"
    command = [sys.executable, "-m", "pipeline", "report", "--date", "2017-08-17", "--inbox", str(inbox),
               "--outbox", str(outbox), "--no-progress"]
    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=hooked_env(tmp_path / "hook", HOLD_THE_LOCK, MZ_TEST_HELD=str(held),
                                            MZ_TEST_RELEASE=str(release)))
    second = None
    try:
        while not held.exists():  # the first run now holds the outbox lock, and keeps it until released
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        second = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = second.stderr.readline()  # blocks until the second run says something
        assert waiting.startswith("Басқа есеп жасалып жатыр") and str(outbox) in waiting, waiting
        assert second.poll() is None  # and it is still waiting: the first run has not been released
    finally:
        release.touch()
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    assert first.returncode in (0, 1) and "Есеп жазылды" in out1, err1
    # The second run read the same inbox after the first had published: the same report, no new version.
    assert second.returncode in (0, 1) and "Есеп өзгерген жоқ" in out2, err2
    assert [v.number for v in versions(outbox, "2017-08-17")] == [1]
    assert not any((outbox / ".runs").iterdir())


def test_failed_run_leaves_previous_report_intact(demo, monkeypatch):
    plan, _, _, inbox, outbox, _, _ = demo
    folder = outbox / "2017-08-17"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    import pipeline.report as report

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_write_csv", boom)
    with pytest.raises(RuntimeError):
        run_report("2017-08-17", inbox=inbox, outbox=outbox)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_missing_unit_carries_its_last_figures_and_late_unit_is_named(demo):
    plan, samples, _, _, outbox, _, result = demo
    assert ("taskala", AUG17) in samples.missing and ("karatobe", AUG17) in samples.late
    data = result.data
    assert data.source_dates["taskala"] == AUG8 and "taskala" in data.stale_units()
    states = {(t.unit, t.date): t for t in data.timeliness}
    assert states[("taskala", AUG17)].state == "missing"
    late = states[("karatobe", AUG17)]
    assert late.state == "late" and late.days_late == (samples.get("karatobe", AUG17).filled_date - AUG17).days
    manifest = json.loads((outbox / "2017-08-17" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["units_stale"] == ["taskala"]
    late_file = samples.get("karatobe", AUG17).path.name
    assert "submission-late" in next(i["codes"] for i in manifest["inputs"] if i["file"] == late_file)


def test_timeliness_counts_cover_the_13_units_only(demo):
    from pipeline.render import build_context

    plan, *_, result = demo
    total = build_context(result.data)["timeliness"]["total"]
    dates_so_far = sum(1 for d in plan.dates if d <= AUG17)
    assert sum(int(total[k].replace("\u00a0", "")) for k in ("on_time", "late", "missing")) == 13 * dates_so_far


def test_late_file_alone_gets_no_feedback_workbook(demo, tmp_path):
    """Lateness cannot be fixed in the workbook: such a file is not sent back, unless it has more."""
    from dataclasses import replace

    from openpyxl import load_workbook

    from pipeline.forms.layout import FORM_SHEET
    from pipeline.render.feedback import feedback_text, write_feedback
    from pipeline.problems import Problem

    plan, samples, _, inbox, outbox, _, result = demo
    late_file = samples.get("karatobe", AUG17).path.name
    late = next(f for f in result.files if f.raw.name == late_file)
    assert {p.code for p in late.problems} == {"submission-late"}
    manifest = json.loads((outbox / "2017-08-17" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(i for i in manifest["inputs"] if i["file"] == late_file)
    assert "feedback" not in entry
    written = {p.name for p in (outbox / "2017-08-17" / "feedback").iterdir()}
    assert not any(name.startswith("karatobe-2017-08-17") for name in written)
    assert write_feedback(plan, [late], tmp_path, inbox) == {}

    # With a problem the district can fix, the workbook is written and still lists the lateness.
    fixable = Problem.make("value-converted", late_file, FORM_SHEET, "D20", value="1 500")
    with_more = replace(late, problems=[*late.problems, fixable])
    path = write_feedback(plan, [with_more], tmp_path, inbox)[late_file]
    sheet = load_workbook(path)[str(feedback_text()["sheet"])]
    listed = [sheet.cell(row=r, column=4).value for r in range(5, sheet.max_row + 1)]
    assert listed == ["submission-late", "value-converted"]


def test_docx_annex_equals_figures_csv(demo):
    """The .docx read back: 13 units in plan order, the department's own row, and a total row = units +
    department = the oblast and department rows of figures.csv, for every key figure."""
    from docx import Document
    from docx.oxml.ns import qn

    from pipeline.render.docx import ANNEX_TABLE
    from pipeline.render.tables import annex_figures

    plan, *_, outbox, _, _ = demo
    folder = outbox / "2017-08-17"
    rows_csv = list(csv.DictReader((folder / "figures.csv").open(encoding="utf-8-sig")))
    csv_value = {(r["unit"], r["figure"]): float(r["value"]) if r["value"] else None for r in rows_csv}
    doc = Document(folder / "akparat-2017-08-17.docx")
    tables = [t for t in doc.tables if (c := t._tbl.tblPr.find(qn("w:tblCaption"))) is not None
              and c.get(qn("w:val")) == ANNEX_TABLE]
    columns = {}
    for table in tables:
        rows = [[c.text for c in r.cells] for r in table.rows[1:]]
        assert [r[1].rstrip("*") for r in rows] == [u.name for u in plan.units] + [plan.department.name,
                                                                                     plan.region.whole.total]
        for j, head in enumerate(c.text for c in table.rows[0].cells):
            columns[head] = [r[j] for r in rows]

    def number(text: str) -> float | None:
        text = text.strip().rstrip("*")
        return None if text in ("", "–") else float(text.replace("\u00a0", "").replace(",", "."))

    for figure in annex_figures(plan):
        scale = 1000 if figure.unit == "tenge" else 1
        head = figure.short + (", мың теңге" if figure.unit == "tenge" else "")
        cells = columns[head]
        for unit, cell in zip(plan.units, cells):
            value = csv_value[(unit.code, figure.code)]
            assert number(cell) == (None if value is None else round(value / scale, 1)), (unit.code, figure.code)
        own = csv_value.get(("department", figure.code))
        assert number(cells[-2]) == (None if own is None else round(own / scale, 1)), figure.code
        whole = (csv_value[("oblast", figure.code)] or 0) + (own or 0)
        assert number(cells[-1]) == round(whole / scale, 1), figure.code


def test_each_copy_carries_its_own_language_charts(demo):
    """The Kazakh report embeds the Kazakh charts, its Russian copy the Russian ones (drawn in the same run,
    kept side by side in charts/)."""
    import zipfile

    _, _, _, _, outbox, _, _ = demo
    folder = outbox / "2017-08-17"
    charts = {p.name: p.read_bytes() for p in (folder / "charts").glob("*.png")}
    assert len(charts) == 4
    for docx, own in (("akparat-2017-08-17.docx", lambda n: not n.endswith("-ru.png")),
                      ("akparat-2017-08-17-ru.docx", lambda n: n.endswith("-ru.png"))):
        with zipfile.ZipFile(folder / docx) as zf:
            media = sorted(zf.read(n) for n in zf.namelist() if n.startswith("word/media/"))
        assert media == sorted(b for n, b in charts.items() if own(n)), docx
