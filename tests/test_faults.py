"""Faults of the file system (issue 9, classes 4 and 6): a clear Kazakh message with a code, a distinct exit
code, nothing left behind, the previous report intact, never a traceback.

Tests run as root, where chmod stops nothing: a read-only or full disk is a small tmpfs mounted into the
test's folder (remounted read-only, or filled up). Where mounting is not permitted the test is skipped and
says why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.errors import EXIT, OutboxFault
from pipeline.tools.samples import generate_samples
from tests.trees import tree

DATE = "2017-08-17"
REPO = Path(__file__).resolve().parent.parent




def _report(inbox: Path, outbox: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--date", DATE, "--inbox", str(inbox), "--outbox", str(outbox),
         "--no-progress"], capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    generate_samples(plan, folder, seed=2014, dates=[dt.date(2017, 8, 8), dt.date(2017, 8, 17)])
    return folder


def _assert_refused(result: subprocess.CompletedProcess[str], code: str, exit_code: int) -> None:
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert f"[{code}]" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Қате" in result.stderr  # the department's language


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


# --- the folders themselves ----------------------------------------------------------------------------


def test_outbox_is_a_file(inbox, tmp_path):
    outbox = tmp_path / "outbox"
    outbox.write_text("not a folder\n", encoding="utf-8")
    _assert_refused(_report(inbox, outbox), "outbox-not-folder", EXIT["outbox_fault"])
    assert outbox.read_text(encoding="utf-8") == "not a folder\n"


def test_outbox_equal_to_inbox_is_refused_before_anything_is_written(inbox):
    before = tree(inbox)
    names = sorted(p.name for p in inbox.iterdir())
    _assert_refused(_report(inbox, inbox), "outbox-inside-inbox", EXIT["usage"])
    assert sorted(p.name for p in inbox.iterdir()) == names  # no lock, cache or run folder either
    assert tree(inbox) == before


def test_outbox_inside_inbox_is_refused(inbox):
    names = sorted(p.name for p in inbox.iterdir())
    _assert_refused(_report(inbox, inbox / "outbox"), "outbox-inside-inbox", EXIT["usage"])
    assert sorted(p.name for p in inbox.iterdir()) == names


def test_inbox_inside_outbox_is_refused(plan, tmp_path):
    outbox = tmp_path / "outbox"
    inner = outbox / "inbox"
    generate_samples(plan, inner, seed=2014, dates=[dt.date(2017, 8, 17)])
    _assert_refused(_report(inner, outbox), "inbox-inside-outbox", EXIT["usage"])
    assert sorted(p.name for p in outbox.iterdir()) == ["inbox"]


def test_a_symlinked_outbox_inside_the_inbox_is_seen_through(inbox, tmp_path):
    link = tmp_path / "outbox-link"
    link.symlink_to(inbox, target_is_directory=True)
    names = sorted(p.name for p in inbox.iterdir())
    _assert_refused(_report(inbox, link), "outbox-inside-inbox", EXIT["usage"])
    assert sorted(p.name for p in inbox.iterdir()) == names


# --- the disk ------------------------------------------------------------------------------------------


def test_read_only_outbox(inbox, tmp_path):
    with _tmpfs(tmp_path / "ro", "16m") as outbox:
        first = _report(inbox, outbox)
        assert first.returncode in (0, 1), first.stderr
        before = tree(outbox)
        remount = subprocess.run(["mount", "-o", "remount,ro", str(outbox)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs read-only: {remount.stderr.strip()}")
        _assert_refused(_report(inbox, outbox), "outbox-read-only", EXIT["outbox_fault"])
        assert tree(outbox) == before


def test_full_disk_leaves_nothing_behind_and_the_previous_report_intact(inbox, tmp_path):
    with _tmpfs(tmp_path / "full", "8m") as outbox:
        first = _report(inbox, outbox)
        assert first.returncode in (0, 1), first.stderr
        report_before = tree(outbox / DATE)
        filler = outbox / "filler.bin"
        # Unbuffered: a chunk the full disk refuses is not kept in a buffer for close() to fail on again
        # (whether it was depended on the used size modulo the chunk, i.e. on the report's file sizes).
        with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last block
            chunk = b"\0" * 65536
            with contextlib.suppress(OSError):
                while True:
                    fh.write(chunk)
                    fh.flush()
        with contextlib.suppress(OSError):
            os.truncate(filler, filler.stat().st_size - 32 * 1024)  # a little room: the run gets under way
        entries = sorted(p.name for p in outbox.iterdir())
        result = _report(inbox, outbox)
        _assert_refused(result, "outbox-disk-full", EXIT["outbox_fault"])
        assert tree(outbox / DATE) == report_before
        assert not list((outbox / ".runs").iterdir())  # the half-written folder was removed
        assert sorted(p.name for p in outbox.iterdir()) == entries
        # Once there is room again, the next run gets through (the same inbox: the same report, which it says
        # is unchanged instead of adding a version).
        filler.unlink()
        again = _report(inbox, outbox)
        assert again.returncode in (0, 1), again.stderr
        assert "Есеп өзгерген жоқ" in again.stdout and tree(outbox / DATE) == report_before


@pytest.mark.parametrize(("err", "code"), [
    (errno.EACCES, "outbox-permission-denied"),
    (errno.EROFS, "outbox-read-only"),
    (errno.ENOSPC, "outbox-disk-full"),
    (errno.EIO, "outbox-write-failed"),
])
def test_each_fault_while_writing_names_its_cause_and_removes_the_run_folder(inbox, tmp_path, monkeypatch, err, code):
    """Root ignores file modes, so "permission denied" is raised by hand where an output is written."""
    import pipeline.report as report
    from pipeline.report import run_report

    outbox = tmp_path / "outbox"
    run_report(DATE, inbox=inbox, outbox=outbox)
    before = tree(outbox / DATE)

    def refuse(path: Path, *args: object, **kwargs: object) -> None:
        raise OSError(err, os.strerror(err), str(path))

    monkeypatch.setattr(report, "_write_csv", refuse)
    with pytest.raises(OutboxFault) as fault:
        run_report(DATE, inbox=inbox, outbox=outbox)
    assert fault.value.code == code and fault.value.exit_code == EXIT["outbox_fault"]
    assert tree(outbox / DATE) == before
    assert not list((outbox / ".runs").iterdir())
    assert not (outbox / ".history").exists()


def test_history_restore_and_forms_on_a_file_answer_without_a_traceback(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file\n", encoding="utf-8")
    cli = [sys.executable, "-m", "pipeline"]
    for args, code in (
        (["restore", "--date", DATE, "--version", "1", "--outbox", str(blocker / "inner")], EXIT["outbox_fault"]),
        (["forms", "--out", str(blocker / "forms")], EXIT["outbox_fault"]),
    ):
        result = subprocess.run([*cli, *args], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == code, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Қате" in result.stderr
    assert blocker.read_text(encoding="utf-8") == "a file\n"
