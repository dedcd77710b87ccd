"""A report run that trusts nothing it should not (issue 17): forms of this date only in the
«better-founded» guard, numbers no one can mean, fill dates years away, output modes from the umask."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import EXIT, RunStopped
from pipeline.forms import write_form
from pipeline.report import run_report
from pipeline.tools.samples import fill_form, generate_samples, sample_values
from tests.trees import tree

AUG8, AUG17 = dt.date(2017, 8, 8), dt.date(2017, 8, 17)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def forms(plan, tmp_path_factory):
    """Every unit's (and the department's) form of 8 and 17 August."""
    return generate_samples(plan, tmp_path_factory.mktemp("forms"), seed=2017, dates=[AUG8, AUG17])


def _inbox(folder: Path, files: list[Path]) -> Path:
    folder.mkdir()
    for f in files:
        shutil.copy2(f, folder / f.name)
    return folder


def test_the_guard_counts_forms_of_this_date_not_carried_ones(forms, tmp_path):
    """A report of 17 August built from every unit's fresh form must not be replaced, exit 0, by one where
    a clerk's tidy-up left one fresh form and the late 8 August forms make up the count (on main: replaced)."""
    fresh = [f.path for f in forms.files if f.report_date == AUG17]
    old = [f.path for f in forms.files if f.report_date == AUG8]
    outbox = tmp_path / "outbox"
    first = run_report("2017-08-17", inbox=_inbox(tmp_path / "a", fresh), outbox=outbox)
    assert sum(f.status == "used" for f in first.files) == len(fresh)
    before = tree(outbox / "2017-08-17")
    stale = _inbox(tmp_path / "b", old + fresh[:1])
    with pytest.raises(RunStopped) as stopped:
        run_report("2017-08-17", inbox=stale, outbox=outbox)
    assert stopped.value.code == "report-fewer-submissions" and stopped.value.exit_code == EXIT["refused"]
    assert dict(stopped.value.params)["used_new"] == 1 and dict(stopped.value.params)["used_old"] == len(fresh)
    assert tree(outbox / "2017-08-17") == before
    forced = run_report("2017-08-17", inbox=stale, outbox=outbox, force=True)
    assert forced.published is not None and forced.published.previous == 1


def test_more_carried_forms_and_the_same_fresh_ones_are_not_refused(forms, tmp_path):
    fresh = [f.path for f in forms.files if f.report_date == AUG17]
    old = [f.path for f in forms.files if f.report_date == AUG8]
    outbox = tmp_path / "outbox"
    run_report("2017-08-17", inbox=_inbox(tmp_path / "a", fresh[:5] + old), outbox=outbox)
    # The 8 August forms go (a clerk moved them to an archive): fewer used forms, the same fresh ones.
    again = run_report("2017-08-17", inbox=_inbox(tmp_path / "b", fresh[:5]), outbox=outbox)
    assert again.published is not None and again.published.previous == 1


def _cli(*args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def test_a_number_no_one_can_mean_is_an_error_in_its_cell_never_a_traceback_or_a_total(plan, forms, tmp_path):
    """A count typed as hundreds of digits and an amount near float overflow in one district's form: the
    oblast's run goes on (exit 1, not a traceback), the problem has its code and cell, the total leaves
    the value out (main: OverflowError, the whole run stopped)."""
    fresh = [f for f in forms.files if f.report_date == AUG8]
    inbox = _inbox(tmp_path / "inbox", [f.path for f in fresh if f.unit != "terekti"])
    terekti = next(f for f in fresh if f.unit == "terekti")
    values = dict(terekti.values)
    values["help_children"] = "9" * 400
    values["help_amount"] = 1.7e308
    fill_form(write_form(plan, "terekti", tmp_path / "blank.xlsx"), inbox / "Теректі 08.08.xlsx", values)
    result = _cli("report", "--date", "2017-08-08", "--inbox", str(inbox), "--outbox", str(tmp_path / "out"),
                  "--no-progress")
    assert result.returncode == EXIT["file_errors"], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    issues = list(csv.DictReader((tmp_path / "out/2017-08-08/issues.csv").open(encoding="utf-8-sig")))
    out_of_range = {(r["file"], r["cell"]) for r in issues if r["code"] == "value-out-of-range"}
    assert {f for f, _ in out_of_range} == {"Теректі 08.08.xlsx"} and len(out_of_range) == 2
    assert all(len(r["message"]) < 300 for r in issues)
    figures = {(r["unit"], r["figure"]): r for r in
               csv.DictReader((tmp_path / "out/2017-08-08/figures.csv").open(encoding="utf-8-sig"))}
    others = sum(f.values["help_children"] for f in fresh if f.unit != "terekti" and f.unit in
                 {u.code for u in plan.units})
    assert float(figures[("oblast", "help_children")]["value"]) == others
    assert figures[("terekti", "help_children")]["coverage"] == "missing"
    check = _cli("check", str(inbox / "Теректі 08.08.xlsx"))
    assert check.returncode == 1 and "value-out-of-range" in check.stdout and "Traceback" not in check.stderr


def test_a_fill_date_years_away_never_decides_which_file_wins(plan, tmp_path):
    """Two files of one unit and date: the correction (sent later) typed 2016 as its fill date. On main the
    typo made the older file win; now the fill date is flagged and the file times decide."""
    blank = write_form(plan, "syrym", tmp_path / "blank.xlsx")
    values = sample_values(plan, "syrym", AUG17)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    values["form.filled_date"] = dt.date(2017, 8, 16)
    values["raids"] = 4
    fill_form(blank, inbox / "first.xlsx", values)
    values["form.filled_date"] = dt.date(2016, 8, 17)
    values["raids"] = 7
    fill_form(blank, inbox / "second.xlsx", values)
    os.utime(inbox / "first.xlsx", (1_502_800_000, 1_502_800_000))
    os.utime(inbox / "second.xlsx", (1_502_900_000, 1_502_900_000))
    result = run_report("2017-08-17", inbox=inbox, outbox=tmp_path / "out")
    status = {f.raw.name: f.status for f in result.files}
    assert status == {"first.xlsx": "superseded", "second.xlsx": "used"}
    second = next(f for f in result.files if f.raw.name == "second.xlsx")
    assert "filled-date-implausible" in {p.code for p in second.problems}
    assert result.data is not None and result.data.values.loc["syrym", "raids"] == 7


@pytest.mark.parametrize("umask", [0o077, 0o002, 0o022])
def test_outputs_follow_the_umask(forms, tmp_path, umask):
    """Files 0666 and folders 0777 less the user's umask (main forced 0644/0755 even under 077)."""
    aug8 = [f.path for f in forms.files if f.report_date == AUG8]
    outbox = tmp_path / "outbox"
    # The second run, with one form more, moves the first into .history/ (an unchanged run adds no version).
    for n, count in enumerate((3, 4)):
        inbox = _inbox(tmp_path / f"inbox{n}", aug8[:count])
        result = _cli("report", "--date", "2017-08-08", "--inbox", str(inbox), "--outbox", str(outbox),
                      "--force", "--no-progress", umask=umask)
        assert result.returncode in (0, 1), result.stderr
    checked = 0
    for path in [outbox / "2017-08-08", *(outbox / "2017-08-08").rglob("*"), outbox / ".history",
                 *(outbox / ".history").rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert mode == expected, (path, oct(mode), oct(expected))
        checked += 1
    assert checked > 10
