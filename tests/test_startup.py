"""Before and around every command: a Python without the project's packages gets one line and exit 6, and a
bug in the program gets exit 7, one line naming a log and the traceback in that log — through the command
line and through make. A bug never looks like success, nor like "written, some file has errors" (1)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.tools.samples import generate_samples
from tests.hooks import BROKEN_RENDER, REPO, hooked_env

# The documented codes (README "Exit codes", docs/command-line.md), written here rather than read from
# pipeline.errors: the test holds the code to its documentation.
MISSING_PACKAGES, INTERNAL_ERROR = 6, 7
DATE = "2017-08-08"


def _python_without_packages(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline` as a person types it with the system's Python: `-S` leaves out every
    site-packages folder, so none of the project's packages can be imported (whatever this machine has)."""
    return subprocess.run([sys.executable, "-S", "-m", "pipeline", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [["check", "inbox"], ["report", "--date", DATE], ["--help"]])
def test_a_python_without_the_packages_is_told_how_to_run_it(command):
    out = _python_without_packages(*command)
    assert out.returncode == MISSING_PACKAGES, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "[environment-incomplete]" in lines[0]
    assert "make" in lines[0] and ".venv/bin/python -m pipeline" in lines[0]
    assert "PyYAML" in lines[0] and "pandas" in lines[0]  # names what is missing
    assert re.search("[әғқңөұүһі]", lines[0])  # Kazakh by default


def test_the_missing_packages_line_follows_the_chosen_language():
    by_env = _python_without_packages("check", "inbox", env={"MZ_LANG": "ru"})
    by_option = _python_without_packages("report", "--date", DATE, "--lang", "ru")
    for out in (by_env, by_option):
        assert out.returncode == MISSING_PACKAGES
        assert "Ошибка [environment-incomplete]" in out.stderr and not re.search("[әғқңөұүһі]", out.stderr)


def test_the_startup_check_knows_every_dependency_of_pyproject():
    """Each runtime dependency pinned in pyproject.toml is looked for at start (and nothing else)."""
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[=<>!~\[ ]", d, maxsplit=1)[0] for d in pinned}
    looked_for = json.loads((REPO / "pipeline" / "data" / "startup.json").read_text(encoding="utf-8"))["modules"]
    assert set(looked_for) == names


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    generate_samples(plan, folder, seed=2014, dates=[dt.date(2017, 8, 8)])
    return folder


def _fault_line(stderr: str) -> tuple[str, Path]:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # one line, no traceback
    found = re.search(r"(\S+fault-\S+\.log)", lines[0])
    assert found, lines[0]
    return lines[0], Path(found.group(1))


def test_a_bug_in_a_report_run_exits_7_with_one_line_and_the_traceback_in_the_outbox_log(inbox, tmp_path):
    outbox = tmp_path / "outbox"
    env = hooked_env(tmp_path / "hook", BROKEN_RENDER)
    out = subprocess.run([sys.executable, "-m", "pipeline", "report", "--date", DATE, "--inbox", str(inbox),
                          "--outbox", str(outbox), "--no-progress"], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == INTERNAL_ERROR, out.stderr
    assert "Traceback" not in out.stdout + out.stderr and "Есеп жазылды" not in out.stdout
    line, log = _fault_line(out.stderr)
    assert "[internal-error]" in line and re.search("[әғқңөұүһі]", line)
    assert log.parent == outbox / ".logs"
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "ZeroDivisionError: planted by the test" in text
    assert not (outbox / DATE).exists() and not any((outbox / ".runs").iterdir())  # nothing half-published


def test_a_bug_answers_in_russian_when_asked(inbox, tmp_path):
    env = hooked_env(tmp_path / "hook", BROKEN_RENDER, MZ_LANG="ru")
    out = subprocess.run([sys.executable, "-m", "pipeline", "report", "--date", DATE, "--inbox", str(inbox),
                          "--outbox", str(tmp_path / "outbox"), "--no-progress"], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == INTERNAL_ERROR
    line, _ = _fault_line(out.stderr)
    assert "Внутренняя ошибка программы [internal-error]" in line and not re.search("[әғқңөұүһі]", line)


def test_a_bug_where_no_outbox_can_be_written_logs_in_the_users_own_folder(tmp_path):
    """`check` has no outbox; run where there is none (no `outbox/` in the current folder): the log goes to
    $XDG_STATE_HOME/mektepke-zhol/logs/."""
    state = tmp_path / "state"
    here = tmp_path / "elsewhere"
    here.mkdir()
    env = hooked_env(tmp_path / "hook", """
        import pipeline.check as report

        def check_files(*args, **kwargs):
            raise KeyError("planted by the test: a bug in check")

        report.check_files = check_files
    """, XDG_STATE_HOME=str(state))
    out = subprocess.run([sys.executable, "-m", "pipeline", "check", str(here)], cwd=here, capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == INTERNAL_ERROR, out.stderr
    _, log = _fault_line(out.stderr)
    assert log.parent == state / "mektepke-zhol" / "logs"
    assert "KeyError: 'planted by the test: a bug in check'" in log.read_text(encoding="utf-8")
    assert not (here / "outbox").exists()  # the log did not create an outbox where the user stood


def _make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None or not (REPO / ".venv" / ".installed").exists():
        pytest.skip("make or the project's .venv is not available")
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_make_passes_the_bug_code_through_and_keeps_1_as_success(inbox, tmp_path):
    outbox = tmp_path / "make out"
    broken = _make("report", f"DATE={DATE}", f"INBOX={inbox}", f"OUTBOX={outbox}",
                   env=hooked_env(tmp_path / "hook", BROKEN_RENDER))
    assert broken.returncode != 0
    assert re.search(r"\[Makefile:\d+: report\] Error 7$", broken.stderr.strip()), broken.stderr
    assert "[internal-error]" in broken.stderr and "Traceback" not in broken.stdout + broken.stderr
    # Without the planted bug the same command succeeds (the sample inbox has a warning at most: code 0 or 1).
    fine = _make("report", f"DATE={DATE}", f"INBOX={inbox}", f"OUTBOX={outbox}", env=dict(os.environ))
    assert fine.returncode == 0, fine.stderr
