"""`status`: per unit at a date, what arrived, what is used, what needs fixing, which feedback to send.

Built on the demo's messy inbox (seed 2014, mess on 17.08): one unit missing, one late, a correction, a
typo'd number, an unknown unit, broken and stray files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.plan import load_plan
from pipeline.report import run_report
from pipeline.status import compute_status
from pipeline.tools.mess import add_mess
from pipeline.tools.samples import generate_samples

DATE = dt.date(2017, 8, 17)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    plan = load_plan()
    inbox = tmp_path_factory.mktemp("status") / "inbox"
    samples = generate_samples(plan, inbox, seed=2014, dates=plan.dates[:3])
    mess = add_mess(plan, samples, DATE)
    return inbox, samples, mess


def test_status_agrees_with_the_report(demo, tmp_path: Path) -> None:
    inbox, samples, _ = demo
    outbox = tmp_path / "outbox"
    status = compute_status("2017-08-17", inbox=inbox, outbox=outbox, today=dt.date(2017, 8, 20))
    result = run_report("2017-08-17", inbox=inbox, outbox=outbox)
    used = {f.raw.name for f in result.files if f.status == "used" and f.submission.report_date == DATE}
    assert {c.used.name for c in status.cells.values() if c.date == DATE and c.used} == used
    for row in result.data.timeliness:
        cell = status.cell(row.unit, row.date)
        assert cell.state == row.state and cell.days_late == row.days_late
    for unit, date in samples.missing:
        if date == DATE:
            assert status.cell(unit, DATE).state == "missing"
            assert status.counted(unit) is not None and status.counted(unit).report_date < DATE  # carried


def test_feedback_named_after_the_report_and_superseded_files_not_to_fix(demo, tmp_path: Path) -> None:
    inbox, _, _ = demo
    outbox = tmp_path / "outbox"
    before = compute_status("2017-08-17", inbox=inbox, outbox=outbox)
    to_fix = {c.unit for c in before.cells.values() if c.date == DATE and c.to_fix}
    assert to_fix, "the messy inbox has a unit with a fixable problem"
    assert all(before.cell(u, DATE).used.feedback is None for u in to_fix)  # no report yet
    result = run_report("2017-08-17", inbox=inbox, outbox=outbox)
    after = compute_status("2017-08-17", inbox=inbox, outbox=outbox)
    for unit in to_fix:
        feedback = after.cell(unit, DATE).used.feedback
        assert feedback and (outbox / feedback).is_file()
    superseded = [f for f in result.files if f.status == "superseded"]
    assert superseded
    for f in superseded:
        cell = after.cell(f.submission.unit, f.submission.report_date)
        assert cell.used.name != f.raw.name and f.raw.name in {x.name for x in cell.files}


def test_status_command_prints_a_row_per_unit(demo, tmp_path: Path, capsys) -> None:
    inbox, samples, _ = demo
    plan = load_plan()
    code = main(["status", "--date", "2017-08-17", "--inbox", str(inbox), "--outbox", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    for unit in plan.units:
        assert sum(line.startswith(unit.name) for line in out.splitlines()) == 1
    late = [u for u, d in samples.late if d == DATE]
    for unit in late:
        row = next(line for line in out.splitlines() if line.startswith(plan.unit_by_code[unit].name))
        assert "күн кеш" in row


def test_status_bad_date_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "in").mkdir()
    assert main(["status", "--date", "2017-08-18", "--inbox", str(tmp_path / "in"), "--outbox", str(tmp_path / "o")]) == 2
    assert "Traceback" not in capsys.readouterr().err
