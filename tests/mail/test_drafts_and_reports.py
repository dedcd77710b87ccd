"""Drafts live in the report folder of their date (outbox/<DATE>/mail/): a folder holding only drafts is not
a report version, and drafts ride along with every new version without a word."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.plan import Plan

from .conftest import DATE, REPO, write_contacts, write_settings


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    folders = ["--outbox", str(root / "outbox")] + ([] if args[0] == "history" else ["--inbox", str(root / "inbox")])
    return subprocess.run([sys.executable, "-m", "pipeline", *args, *folders], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_reminders_before_the_report_then_the_report(tmp_path: Path, forms: dict[str, Path], plan: Plan) -> None:
    (tmp_path / "inbox").mkdir()
    write_contacts(tmp_path, plan)
    write_settings(tmp_path)
    reminded = run(tmp_path, "remind", "--date", DATE.isoformat(), "--today", "2017-08-16",
                   "--mail-settings", str(tmp_path / "mail.toml"))
    assert reminded.returncode == 0, reminded.stderr
    drafts = sorted((tmp_path / "outbox" / DATE.isoformat() / "mail" / "remind").iterdir())
    assert len(drafts) == len(plan.units)
    assert "жарияланған есеп жоқ" in run(tmp_path, "history", "--date", DATE.isoformat()).stdout
    for unit in [u.code for u in plan.units] + [plan.department.code]:
        shutil.copy(forms[unit], tmp_path / "inbox" / f"{unit}.xlsx")
    first = run(tmp_path, "report", "--date", DATE.isoformat())
    assert first.returncode == 0, first.stderr
    assert "mail/" not in first.stdout  # carried without a word
    assert not (tmp_path / "outbox" / ".history").exists()  # the drafts-only folder was not a version
    folder = tmp_path / "outbox" / DATE.isoformat()
    assert sorted((folder / "mail" / "remind").iterdir()) == [folder / "mail" / "remind" / d.name for d in drafts]
    second = run(tmp_path, "report", "--date", DATE.isoformat(), "--force")
    assert second.returncode == 0 and "mail/" not in second.stdout
    assert len(list((folder / "mail" / "remind").iterdir())) == len(plan.units)
    history = run(tmp_path, "history", "--date", DATE.isoformat()).stdout
    # The second run's report is byte-identical to the first: no new version; the drafts never counted as one.
    assert history.count("\n  ") == 1
