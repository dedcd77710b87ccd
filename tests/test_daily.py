"""Daily use without traps: a run never destroys a good report, problems belong to their date, every
command behaves as staff expect (issue 10's acceptance list)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import EXIT, RunStopped
from pipeline.publish import KEEP, outbox_lock, restore, versions
from pipeline.report import run_report
from pipeline.tools.mess import add_mess
from pipeline.tools.samples import generate_samples
from tests.trees import tree

AUG8, AUG17, AUG26 = dt.date(2017, 8, 8), dt.date(2017, 8, 17), dt.date(2017, 8, 26)
DATE = "2017-08-17"
REPO = Path(__file__).resolve().parent.parent




def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory) -> Path:
    """8, 17 and 26 August for every unit, with 17 August's real-world mess (a broken file among it)."""
    folder = tmp_path_factory.mktemp("inbox")
    samples = generate_samples(plan, folder, seed=2014, dates=[AUG8, AUG17, AUG26])
    add_mess(plan, samples, AUG17)
    return folder


@pytest.fixture(scope="module")
def published(inbox, tmp_path_factory) -> Path:
    """An outbox with the 17 August report published once (copied by each test that changes it)."""
    outbox = tmp_path_factory.mktemp("outbox")
    run_report(DATE, inbox=inbox, outbox=outbox)
    return outbox


@pytest.fixture
def outbox(published, tmp_path) -> Path:
    copy = tmp_path / "outbox"
    shutil.copytree(published, copy, symlinks=True)
    return copy


def _empty_inbox(tmp_path: Path) -> Path:
    empty = tmp_path / "empty-inbox"
    empty.mkdir()
    (empty / ".gitkeep").write_bytes(b"")  # what a fresh clone's inbox/ holds
    return empty


def test_empty_inbox_keeps_the_published_report_byte_identical(outbox, tmp_path):
    before = tree(outbox / DATE)
    result = _cli("report", "--date", DATE, "--inbox", str(_empty_inbox(tmp_path)), "--outbox", str(outbox))
    assert result.returncode == EXIT["nothing_to_report"] == 3, result.stderr
    assert "[report-nothing-to-report]" in result.stderr and "Traceback" not in result.stderr
    assert "Есеп жазылды" not in result.stdout
    assert tree(outbox / DATE) == before
    assert not (outbox / ".history").exists()  # nothing was published, so nothing moved aside
    assert not [p for p in (outbox / ".runs").iterdir()]


def test_inbox_with_only_other_dates_keeps_the_report(plan, outbox, tmp_path):
    other = tmp_path / "other-dates"
    generate_samples(plan, other, seed=2014, dates=[AUG8, AUG26])
    before = tree(outbox / DATE)
    with pytest.raises(RunStopped) as stopped:
        run_report(DATE, inbox=other, outbox=outbox)
    assert stopped.value.code == "report-nothing-to-report" and stopped.value.exit_code == 3
    assert tree(outbox / DATE) == before


def test_fewer_submissions_refused_unless_forced(inbox, outbox, tmp_path):
    fewer = tmp_path / "fewer"
    shutil.copytree(inbox, fewer)
    manifest = json.loads((outbox / DATE / "manifest.json").read_text(encoding="utf-8"))
    # A clerk tidied the inbox and removed one district's 17 August file that the report used.
    dropped = next(i["file"] for i in manifest["inputs"] if i["status"] == "used" and i["report_date"] == DATE)
    (fewer / dropped).unlink()
    before = tree(outbox / DATE)
    old_used = manifest["counts"]["used_this_date"]
    result = _cli("report", "--date", DATE, "--inbox", str(fewer), "--outbox", str(outbox), "--no-progress")
    assert result.returncode == EXIT["refused"] == 4, result.stderr
    assert "[report-fewer-submissions]" in result.stderr and "--force" in result.stderr
    # Both reports' counts, in the words the console and `history` use for them.
    assert f"осы күннің қолданылған нысандары: {old_used - 1}," in result.stderr
    assert f"осы күннің қолданылған нысандары: {old_used}," in result.stderr
    assert tree(outbox / DATE) == before
    forced = run_report(DATE, inbox=fewer, outbox=outbox, force=True)
    assert forced.published is not None and forced.published.previous == 1
    assert forced.counts is not None and forced.counts.used_this_date == old_used - 1
    assert tree(outbox / ".history" / DATE / "1") == before  # the replaced report is kept, byte for byte


def _with_letters(inbox: Path, folder: Path, count: int) -> Path:
    """A copy of the inbox plus `count` cover letters (PDFs): another inbox, so another report (its
    manifest lists them), with the same figures."""
    shutil.copytree(inbox, folder)
    for n in range(count):
        (folder / f"Ілеспе хат {n}.pdf").write_bytes(b"%PDF-1.4 " + bytes([48 + n]))
    return folder


def test_history_and_restore_round_trip(inbox, outbox, tmp_path):
    first = tree(outbox / DATE)
    run_report(DATE, inbox=_with_letters(inbox, tmp_path / "one", 1), outbox=outbox)
    run_report(DATE, inbox=_with_letters(inbox, tmp_path / "two", 2), outbox=outbox)
    kept = versions(outbox, DATE)
    assert [v.number for v in kept] == [1, 2, 3] and kept[-1].current
    listed = _cli("history", "--date", DATE, "--outbox", str(outbox))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["1", "2", "3"]
    current = tree(outbox / DATE)
    restored = _cli("restore", "--date", DATE, "--version", "1", "--outbox", str(outbox))
    assert restored.returncode == 0, restored.stderr
    assert tree(outbox / DATE) == first  # version 1 is current again, byte for byte
    assert tree(outbox / ".history" / DATE / "3") == current  # and what was current is kept
    assert [v.number for v in versions(outbox, DATE)] == [1, 2, 3, 4]
    missing = _cli("restore", "--date", DATE, "--version", "99", "--outbox", str(outbox))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "1, 2, 3, 4" in missing.stderr


def test_an_unchanged_rerun_adds_no_version_and_says_so(inbox, outbox):
    """Ten idle re-runs must not push the earlier versions out of the ten kept."""
    before = tree(outbox / DATE)
    for _ in range(3):
        result = _cli("report", "--date", DATE, "--inbox", str(inbox), "--outbox", str(outbox), "--no-progress")
        assert result.returncode == 1, result.stderr  # written before, some file of the date has errors
        assert "Есеп өзгерген жоқ" in result.stdout and "Есеп жазылды" not in result.stdout
    assert [v.number for v in versions(outbox, DATE)] == [1]
    assert tree(outbox / DATE) == before  # the published folder is the one it was, byte for byte
    # A person's edit of an output is not "unchanged": the next run is a new version, the edit kept in history.
    edited = outbox / DATE / "issues.csv"
    edited.write_bytes(edited.read_bytes() + b"# seen\n")
    assert run_report(DATE, inbox=inbox, outbox=outbox).published.previous == 1
    assert (outbox / ".history" / DATE / "1" / "issues.csv").read_bytes().endswith(b"# seen\n")


def test_only_the_last_versions_are_kept(inbox, outbox, tmp_path):
    run_report(DATE, inbox=_with_letters(inbox, tmp_path / "other", 1), outbox=outbox)
    for _ in range(KEEP + 1):
        with outbox_lock(outbox):  # the version before the current one: never the same report
            restore(outbox, DATE, versions(outbox, DATE)[-2].number)
    numbers = [v.number for v in versions(outbox, DATE)]
    assert len(numbers) == KEEP and numbers == list(range(numbers[0], numbers[0] + KEEP))


def test_a_file_saved_inside_the_report_folder_survives_and_is_reported(inbox, outbox):
    folder = outbox / DATE
    (folder / "ескертпе.txt").write_text("Орынбасарға 18.08 жіберілді\n", encoding="utf-8")
    (folder / "қол қойылған").mkdir()
    (folder / "қол қойылған" / "akparat.pdf").write_bytes(b"%PDF-1.4 signed copy")
    edited = folder / "figures.csv"
    edited.write_bytes(edited.read_bytes() + b"# checked by hand\n")
    edited_bytes = edited.read_bytes()
    result = _cli("report", "--date", DATE, "--inbox", str(inbox), "--outbox", str(outbox), "--no-progress")
    assert result.returncode == 1, result.stderr
    assert (folder / "ескертпе.txt").read_text(encoding="utf-8") == "Орынбасарға 18.08 жіберілді\n"
    assert (folder / "қол қойылған" / "akparat.pdf").read_bytes() == b"%PDF-1.4 signed copy"
    assert "ескертпе.txt" in result.stdout and "қол қойылған/akparat.pdf" in result.stdout
    # The edited output is replaced by the new one; the edited copy stays in the version moved aside.
    assert (outbox / ".history" / DATE / "1" / "figures.csv").read_bytes() == edited_bytes
    assert "figures.csv" in result.stdout and str(outbox / ".history" / DATE / "1") in result.stdout
    # The saved files are not outputs of the new report (so a later run carries them again).
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "ескертпе.txt" not in {o["file"] for o in manifest["outputs"]}


def test_feedback_and_issues_belong_to_their_date(plan, inbox, tmp_path):
    outbox = tmp_path / "outbox"
    results = {d: run_report(d.isoformat(), inbox=inbox, outbox=outbox) for d in (AUG8, AUG17, AUG26)}
    feedback_of: dict[str, list[str]] = {}
    for d in (AUG8, AUG17, AUG26):
        manifest = json.loads((outbox / d.isoformat() / "manifest.json").read_text(encoding="utf-8"))
        inputs = {i["file"]: i for i in manifest["inputs"]}
        assert set(inputs) == {p.name for p in inbox.iterdir()}  # the manifest still lists every file
        for entry in inputs.values():
            if "feedback" in entry:
                feedback_of.setdefault(entry["file"], []).append(d.isoformat())
                assert entry["belongs_to"] == d.isoformat()
        issues = list(csv.DictReader((outbox / d.isoformat() / "issues.csv").open(encoding="utf-8-sig")))
        concerned = {f.raw.name for f in results[d].concerned or []}
        for row in issues:
            assert row["file"] in concerned, (d, row["file"])
            entry = inputs[row["file"]]
            # a file of this date, or an earlier one whose figures this report carries forward
            assert entry["belongs_to"] == d.isoformat() or (entry["status"] == "used" and entry["belongs_to"] < d.isoformat())
        assert not any(inputs[r["file"]]["belongs_to"] > d.isoformat() for r in issues)
    # One feedback workbook per input file, in its own date's folder only.
    assert feedback_of and all(len(dates) == 1 for dates in feedback_of.values()), feedback_of
    for name in ("Нысан_толық емес.xlsx", "Ілеспе хат.xlsx"):
        assert name not in {r["file"] for r in csv.DictReader((outbox / "2017-08-08" / "issues.csv").open(encoding="utf-8-sig"))}
    # The broken 17 August files make 17 August exit 1, not the dates before or after.
    assert results[AUG17].exit_code == 1
    assert results[AUG8].exit_code == 0 and results[AUG26].exit_code == 0
    files_26 = list((outbox / "2017-08-26" / "feedback").glob("*")) if (outbox / "2017-08-26" / "feedback").exists() else []
    assert not any("2017-08-17" in p.name for p in files_26)


def test_outputs_are_readable_like_any_document(outbox):
    folder = outbox / DATE
    assert folder.is_dir() and not folder.is_symlink()
    for path in folder.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


def test_an_old_symlinked_report_is_migrated_not_lost(inbox, outbox):
    """An outbox of the earlier layout (`<DATE>` a link into .runs/) becomes a real folder, its report kept."""
    folder = outbox / DATE
    runs_copy = outbox / ".runs" / f"{DATE}.20170817T180000.1"
    os.rename(folder, runs_copy)
    folder.symlink_to(Path(".runs") / runs_copy.name, target_is_directory=True)
    before = tree(runs_copy)
    result = run_report(DATE, inbox=inbox, outbox=outbox)
    assert folder.is_dir() and not folder.is_symlink()
    # The same inbox makes the same report: the migrated folder stays current, byte for byte.
    assert result.published is not None and result.published.unchanged
    assert tree(folder) == before
    run_report(DATE, inbox=_with_letters(inbox, outbox.parent / "letters", 1), outbox=outbox)
    assert tree(outbox / ".history" / DATE / "1") == before


# --- make ------------------------------------------------------------------------------------------------


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None or not (REPO / ".venv" / ".installed").exists():
        pytest.skip("make or the project's .venv is not available")
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=300)


def test_make_report_exits_0_when_written_despite_a_bad_district_file(inbox, tmp_path):
    outbox = tmp_path / "make out"
    result = _make("report", f"DATE={DATE}", f"INBOX={inbox}", f"OUTBOX={outbox}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Error" not in result.stderr and (outbox / DATE / "akparat-2017-08-17.docx").is_file()
    # The CLI itself keeps its code for scripts.
    direct = _cli("report", "--date", DATE, "--inbox", str(inbox), "--outbox", str(outbox), "--no-progress")
    assert direct.returncode == 1
    # A run that wrote nothing is still a failure for make.
    empty = _make("report", f"DATE={DATE}", f"INBOX={_empty_inbox(tmp_path)}", f"OUTBOX={outbox}")
    assert empty.returncode != 0 and "report-nothing-to-report" in empty.stderr


def test_make_check_takes_a_kazakh_file_name_with_spaces(plan, inbox, tmp_path):
    folder = tmp_path / "қалта бар"
    folder.mkdir()
    good = next(p for p in sorted(inbox.iterdir()) if p.suffix == ".xlsx" and not p.name.startswith("~"))
    target = folder / "Теректі 17.08.xlsx"
    shutil.copy(good, target)
    one = _make("check", f"FILE={target}")
    assert one.returncode == 0, one.stdout + one.stderr
    assert one.stdout.split("\t")[2] == str(target)
    shutil.copy(inbox / "Ілеспе хат.xlsx", folder / "Ілеспе хат.xlsx")
    whole = _make("check", f"DIR={folder}")
    assert whole.returncode == 0, whole.stdout + whole.stderr  # answered; the codes are in the output
    lines = [line.split("\t") for line in whole.stdout.splitlines() if not line.startswith(" ")]
    assert {Path(line[2]).name for line in lines} == {"Теректі 17.08.xlsx", "Ілеспе хат.xlsx"}
    assert any(line[3] == "file-not-spreadsheet" for line in lines)


def test_make_clean_never_touches_inbox(tmp_path):
    """`make clean` run for real on a copy of the Makefile in a scratch checkout."""
    if shutil.which("make") is None:
        pytest.skip("make is not available")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    inbox = tmp_path / "inbox"
    (inbox / "2017-08-17").mkdir(parents=True)
    for name in (".gitkeep", "Теректі 17.08.xlsx", "2017-08-17/Сырым.xlsx", "~$lock.xlsx"):
        (inbox / name).write_bytes(name.encode())
    before = tree(inbox)
    outbox = tmp_path / "outbox"
    for name in (".gitkeep", "2017-08-17/akparat.docx", ".history/2017-08-17/1/x", ".runs/a/b", "forms/f.xlsx",
                 ".cache/ingest.sqlite"):
        (outbox / name).parent.mkdir(parents=True, exist_ok=True)
        (outbox / name).write_bytes(b"x")
    for name in ("links.json", "audit.jsonl"):
        (outbox / ".portal").mkdir(exist_ok=True)
        (outbox / ".portal" / name).write_bytes(b"{}")
    (tmp_path / "build" / "demo" / "inbox").mkdir(parents=True)
    (tmp_path / ".venv").mkdir()
    result = subprocess.run(["make", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert tree(inbox) == before and (inbox / ".gitkeep").exists()
    # What it keeps, it says: the inbox and the portal's keys and audit log.
    assert sorted(p.name for p in outbox.iterdir()) == [".gitkeep", ".portal"]
    assert sorted(p.name for p in (outbox / ".portal").iterdir()) == ["audit.jsonl", "links.json"]
    assert "Kept: inbox/" in result.stdout and "outbox/.portal/" in result.stdout
    assert not (tmp_path / "build").exists() and not (tmp_path / ".venv").exists()


# --- one language on the console -----------------------------------------------------------------------


def test_help_and_argparse_errors_in_kazakh_or_russian():
    kk = _cli("report", "--help")
    assert kk.returncode == 0 and "қолданылуы:" in kk.stdout and "параметрлер" in kk.stdout
    assert "usage:" not in kk.stdout and "show this help" not in kk.stdout and "options" not in kk.stdout
    error = _cli("report")
    assert error.returncode == 2 and "қате [usage-arguments]:" in error.stderr and "--date" in error.stderr
    assert "error:" not in error.stderr and "required" not in error.stderr
    ru = _cli("--lang", "ru", "report", "--help")
    assert "использование:" in ru.stdout and "отчётная дата" in ru.stdout
    by_env = _cli("report", env={"MZ_LANG": "ru"})
    assert "ошибка [usage-arguments]:" in by_env.stderr and "обязательные аргументы" in by_env.stderr


def test_samples_console_line_in_kazakh(tmp_path):
    result = _cli("samples", "--out", str(tmp_path / "s"), "--messy", DATE)
    assert result.returncode == 0, result.stderr
    words = result.stdout.replace(str(tmp_path / "s"), "")
    assert "sample" not in words and "written" not in words and "messy" not in words
    assert "үлгі нысан жазылды" in words


def test_message_catalogue_has_the_same_keys_in_both_languages():
    from pipeline.messages import catalogue

    def keys(tree: object, prefix: str = "") -> set[str]:
        if not isinstance(tree, dict):
            return {prefix}
        return {k for name, sub in tree.items() for k in keys(sub, f"{prefix}/{name}")}

    kk, ru = catalogue()["kk"], catalogue()["ru"]
    assert keys(kk) == keys(ru)
    # every refusal and fault the run raises has its message
    for code in ("report-nothing-to-report", "report-fewer-submissions", "outbox-inside-inbox",
                 "inbox-inside-outbox", "outbox-not-folder", "outbox-read-only", "outbox-permission-denied",
                 "outbox-disk-full", "outbox-write-failed"):
        assert code in kk["run"], code


# --- the switch itself ---------------------------------------------------------------------------------


class _Killed(BaseException):
    """Stands for SIGKILL at one instruction: nothing after it runs, no handler cleans up."""


def _new_run(outbox: Path, marker: bytes) -> Path:
    from pipeline.publish import new_run_dir

    run = new_run_dir(outbox, DATE)
    (run / "manifest.json").write_bytes(b'{"outputs": []}')
    (run / "marker.txt").write_bytes(marker)
    return run


def test_a_switch_killed_between_its_two_renames_is_finished_by_the_next_run(outbox, monkeypatch):
    import pipeline.publish as publish_module
    from pipeline.publish import publish, recover

    before = tree(outbox / DATE)
    run = _new_run(outbox, b"new")
    real_rename = os.rename
    calls: list[tuple[str, str]] = []

    def rename(src: object, dst: object) -> None:
        calls.append((str(src), str(dst)))
        if Path(str(src)) == run:
            raise _Killed  # after the published report moved to .history/, before the new one moved in
        real_rename(src, dst)

    monkeypatch.setattr(publish_module.os, "rename", rename)
    with pytest.raises(_Killed):
        publish(outbox, DATE, run)
    monkeypatch.setattr(publish_module.os, "rename", real_rename)
    assert not (outbox / DATE).exists() and (outbox / ".runs" / f"{DATE}.switch").is_file()
    with outbox_lock(outbox):
        recover(outbox)
    assert (outbox / DATE / "marker.txt").read_bytes() == b"new"
    assert tree(outbox / ".history" / DATE / "1") == before
    assert not (outbox / ".runs" / f"{DATE}.switch").exists()


def test_a_failed_second_rename_puts_the_published_report_back(outbox, monkeypatch):
    import errno

    import pipeline.publish as publish_module
    from pipeline.publish import publish

    before = tree(outbox / DATE)
    run = _new_run(outbox, b"new")
    real_rename = os.rename

    def rename(src: object, dst: object) -> None:
        if Path(str(src)) == run:
            raise OSError(errno.EIO, "I/O error", str(src))
        real_rename(src, dst)

    monkeypatch.setattr(publish_module.os, "rename", rename)
    with pytest.raises(OSError):
        publish(outbox, DATE, run)
    assert tree(outbox / DATE) == before
    assert not list((outbox / ".history" / DATE).iterdir())
    assert not (outbox / ".runs" / f"{DATE}.switch").exists()


def test_every_file_is_flushed_before_the_folder_is_switched(inbox, outbox, monkeypatch, tmp_path):
    import pipeline.publish as publish_module

    flushed: set[str] = set()
    real_fsync, real_rename = os.fsync, os.rename
    switched: dict[str, set[str]] = {}

    def fsync(fd: int) -> None:
        flushed.add(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def rename(src: object, dst: object) -> None:
        if Path(str(dst)) == outbox / DATE:
            switched[str(src)] = set(flushed)
        real_rename(src, dst)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name the flushed files")
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(publish_module.os, "rename", rename)
    run_report(DATE, inbox=_with_letters(inbox, tmp_path / "letters", 1), outbox=outbox)  # a new version
    (run, seen), = switched.items()
    files = {str(Path(run) / rel) for rel in tree(outbox / DATE)}
    folders = {str(Path(run) / rel) for rel in ("", "charts", "feedback")}
    assert files <= seen, sorted(files - seen)
    assert {f.rstrip("/") for f in folders} <= seen, sorted(folders - seen)
