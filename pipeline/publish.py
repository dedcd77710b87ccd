"""Writing a report folder whole or not at all, keeping every published version, one run at a time.

Layout of an outbox (everything but `<DATE>/` is hidden house-keeping):

    outbox/<DATE>/                the current report: an ordinary folder (the department opens it on a
                                  Windows share, where a symbolic link would look odd or not open at all)
    outbox/.runs/<DATE>.<stamp>   a run's folder while it is being written; a failed run removes it
    outbox/.runs/<DATE>.switch    the journal of a switch in progress (see below)
    outbox/.history/<DATE>/<N>/   earlier published versions, N = 1, 2, …; the last `KEEP` versions are kept
    outbox/.lock, outbox/.cache/

Publication is two renames under the outbox lock: the current `<DATE>/` becomes `.history/<DATE>/<N>/`,
then the finished run folder becomes `<DATE>/`. Before them every file of the new folder is fsync'ed and a
journal naming both folders is written and fsync'ed; after them the journal is removed. A run killed between
the two renames (a window of microseconds) leaves the journal, and the next run — or `history`/`restore` —
finishes the switch under the lock before doing anything else (`recover`): the new folder was complete, so
it is moved into place. A run killed before the journal was written never published; its folder is swept.

A run whose report is byte for byte the published one is not published: no version is added (ten idle
re-runs would otherwise push every earlier version out of the ten kept), and `Published.unchanged` says so.

Files a person saved inside `<DATE>/` (anything the folder's manifest does not list as an output) are
carried over into the new version and reported; an output a person edited stays, edited, in the version
that moved to `.history/` and is reported too. Nothing in a report folder is deleted without a word.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.atomic import atomic_write, file_mode, folder_mode, fsync_dir

RUNS = ".runs"
HISTORY = ".history"
LOCK = ".lock"
CACHE = ".cache"
MANIFEST = "manifest.json"
#: Published versions kept per date, the current one included.
KEEP = 10
#: Sub-folders another face keeps inside a report folder (the mail face's drafts, `<DATE>/mail/`): carried
#: into each new version without a word, and a folder holding nothing else is not a report version.
FACE_FOLDERS = ("mail",)


class Busy(Exception):
    """Another run holds the outbox."""


class NoSuchVersion(Exception):
    """`restore` was asked for a version that is not kept."""


@dataclass
class Published:
    folder: Path
    version: int
    #: the version number the replaced report got in `.history/` (None when there was none)
    previous: int | None = None
    #: files a person saved in the replaced folder, carried over into the new one (relative paths)
    carried: list[str] = field(default_factory=list)
    #: outputs a person edited in the replaced folder: kept, edited, in `.history/<DATE>/<previous>/`
    edited: list[str] = field(default_factory=list)
    #: the new report was byte for byte the published one: nothing was switched, no version added
    unchanged: bool = False


@dataclass(frozen=True)
class Version:
    number: int
    path: Path
    current: bool
    manifest: dict[str, object] | None


@contextlib.contextmanager
def outbox_lock(outbox: Path, *, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the outbox for one run. A second run waits (or raises `Busy` when `wait` is false)."""
    outbox.mkdir(parents=True, exist_ok=True)
    fd = os.open(outbox / LOCK, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask, like any new file
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise Busy(str(outbox)) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process dies


def new_run_dir(outbox: Path, date_text: str) -> Path:
    runs = outbox / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{date_text}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}"
    path.mkdir()
    os.chmod(path, folder_mode())  # like any folder the user makes: 0777 less the umask
    return path


def discard_run_dir(run_dir: Path) -> None:
    """A failed run removes what it half-wrote (on a full disk every retry would make it fuller)."""
    shutil.rmtree(run_dir, ignore_errors=True)


def published_manifest(outbox: Path, date_text: str) -> dict[str, object] | None:
    """The manifest of the current report for the date, or None (no report, or not one of ours)."""
    return _read_manifest(outbox / date_text)


def publish(outbox: Path, date_text: str, run_dir: Path) -> Published:
    """Make the finished `run_dir` the current `outbox/<date>/`; the replaced one goes to `.history/`.

    Called while holding the outbox lock.
    """
    recover(outbox)
    final = outbox / date_text
    _migrate_link(outbox, date_text)
    if same_report(final, run_dir):
        discard_run_dir(run_dir)
        return Published(final, versions(outbox, date_text)[-1].number, unchanged=True)
    carried, edited = _person_files(final, run_dir)
    fsync_tree(run_dir)
    numbers = _history_numbers(outbox, date_text)
    previous: int | None = None
    faces_only = False
    if final.exists() or final.is_symlink():
        if not final.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(final))
        faces_only = _faces_only(final)
        if not faces_only:
            previous = (max(numbers) if numbers else 0) + 1
    journal = outbox / RUNS / f"{date_text}.switch"
    old_to = outbox / HISTORY / date_text / str(previous) if previous is not None else None
    if faces_only:
        # Drafts written before the date's first report (reminders): copied into the new folder above; the
        # old folder is set aside to be swept, not kept as a version.
        old_to = outbox / RUNS / f"{date_text}.faces.{os.getpid()}"
    atomic_write(journal, json.dumps({"run": run_dir.name, "old": str(previous) if previous else None}).encode())
    if old_to is not None:
        old_to.parent.mkdir(parents=True, exist_ok=True)
        os.rename(final, old_to)
        fsync_dir(old_to.parent)
    try:
        os.rename(run_dir, final)
    except OSError:
        if old_to is not None:
            os.rename(old_to, final)  # put the published report back before reporting the fault
        journal.unlink(missing_ok=True)
        raise
    fsync_dir(outbox)
    journal.unlink()
    fsync_dir(journal.parent)
    _prune(outbox, date_text)
    sweep(outbox)
    current = (previous if previous is not None else (max(numbers) if numbers else 0)) + 1
    return Published(final, current, previous, carried, edited)


def same_report(final: Path, run_dir: Path) -> bool:
    """True when the finished `run_dir` holds exactly the published report: the same manifest (which names
    every input and every output with its sha256) and every published output still as written (a person's
    edit makes the new run a new version, so the edit is kept in history). A PDF is a conversion of its
    .docx, never byte-identical twice (LibreOffice stamps a time), so it is compared through the .docx."""
    if not final.is_dir() or final.is_symlink():
        return False
    old, new = _read_manifest(final), _read_manifest(run_dir)
    if old is None or new is None or _comparable(old) != _comparable(new):
        return False
    for entry in old.get("outputs", []):  # type: ignore[union-attr]
        if not isinstance(entry, dict):
            return False
        path = final / str(entry.get("file"))
        if not path.is_file() or _sha256(path) != entry.get("sha256"):
            return False
    return True


def _comparable(manifest: dict[str, object]) -> dict[str, object]:
    outputs = [
        {**o, "sha256": "pdf"} if isinstance(o, dict) and str(o.get("file", "")).endswith(".pdf") else o
        for o in manifest.get("outputs", [])  # type: ignore[union-attr]
    ]
    return {**manifest, "outputs": outputs}


def recover(outbox: Path) -> None:
    """Finish a switch a killed run left between its two renames (called under the lock)."""
    runs = outbox / RUNS
    if not runs.is_dir():
        return
    for journal in sorted(runs.glob("*.switch")):
        date_text = journal.name[: -len(".switch")]
        try:
            state = json.loads(journal.read_text(encoding="utf-8"))
            run_dir = runs / str(state["run"])
        except (OSError, ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)  # torn journal: written before any rename happened
            continue
        final = outbox / date_text
        old = outbox / HISTORY / date_text / str(state.get("old"))
        if not final.exists() and run_dir.is_dir():
            os.rename(run_dir, final)  # the new folder was complete before the journal was written
            fsync_dir(outbox)
        elif not final.exists() and state.get("old") and old.is_dir():
            os.rename(old, final)  # the new folder is gone (its run failed): the replaced report goes back
            fsync_dir(outbox)
        journal.unlink(missing_ok=True)
        fsync_dir(runs)


def tidy(outbox: Path) -> None:
    """What every run does first under the lock: finish a switch a killed run left half-done, turn report
    links of the earlier layout into folders, and drop what killed or failed runs half-wrote."""
    recover(outbox)
    for entry in sorted(outbox.iterdir()):
        if entry.is_symlink() and not entry.name.startswith("."):
            _migrate_link(outbox, entry.name)
    sweep(outbox)


def sweep(outbox: Path) -> None:
    """Remove run folders killed or failed runs left half-written (called under the lock, after `recover`)."""
    runs = outbox / RUNS
    if not runs.is_dir():
        return
    for run in runs.iterdir():
        if run.name.endswith(".switch"):
            continue
        if run.is_dir() and not run.is_symlink():
            shutil.rmtree(run, ignore_errors=True)
        else:
            run.unlink(missing_ok=True)
    for entry in outbox.iterdir():
        if entry.name.startswith(".") and ".link." in entry.name and entry.is_symlink():
            entry.unlink()  # a link a killed run of the old (symlink) layout made but never moved into place


def versions(outbox: Path, date_text: str) -> list[Version]:
    """Every kept version of the date, oldest first; the last one is current when `<DATE>/` exists."""
    found = [
        Version(n, outbox / HISTORY / date_text / str(n), False, _read_manifest(outbox / HISTORY / date_text / str(n)))
        for n in _history_numbers(outbox, date_text)
    ]
    final = outbox / date_text
    if final.is_dir() and not _faces_only(final):
        number = (found[-1].number if found else 0) + 1
        found.append(Version(number, final, True, _read_manifest(final)))
    return found


def restore(outbox: Path, date_text: str, number: int) -> Published:
    """Publish a copy of a kept version as the current report (the current one goes to `.history/`).

    Called while holding the outbox lock. Restoring is itself a publication, so nothing is lost and a
    restore can be undone by restoring again.
    """
    recover(outbox)
    _migrate_link(outbox, date_text)
    kept = {v.number: v for v in versions(outbox, date_text)}
    if number not in kept:
        raise NoSuchVersion(str(number))
    if kept[number].current:
        return Published(kept[number].path, number)
    run_dir = new_run_dir(outbox, date_text)
    try:
        shutil.copytree(kept[number].path, run_dir, dirs_exist_ok=True, copy_function=shutil.copy2)
        return publish(outbox, date_text, run_dir)
    except BaseException:
        discard_run_dir(run_dir)
        raise


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` to disk before it is switched into place, and give each
    the mode the user's umask asks for (0666/0777 less the umask: 0644/0755 under the usual 022, private
    under 077), whatever the writer chose (some create 0600)."""
    files, folders = file_mode(), folder_mode()
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fchmod(fd, files)
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(dirpath, folders)
        fsync_dir(Path(dirpath))


def _history_numbers(outbox: Path, date_text: str) -> list[int]:
    folder = outbox / HISTORY / date_text
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def _prune(outbox: Path, date_text: str) -> None:
    numbers = _history_numbers(outbox, date_text)
    for number in numbers[: max(0, len(numbers) - (KEEP - 1))]:
        shutil.rmtree(outbox / HISTORY / date_text / str(number), ignore_errors=True)


def _read_manifest(folder: Path) -> dict[str, object] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _person_files(final: Path, run_dir: Path) -> tuple[list[str], list[str]]:
    """Carry files a person saved in the current folder into `run_dir`; name the outputs a person edited.

    What is ours is what the folder's manifest lists (and the manifest itself); everything else a person
    put there. A saved file whose name the new report uses for an output stays in the replaced version.
    """
    if not final.is_dir() or final.is_symlink():
        return [], []
    manifest = _read_manifest(final) or {}
    outputs = {
        str(o.get("file")): str(o.get("sha256"))
        for o in manifest.get("outputs", []) if isinstance(o, dict)  # type: ignore[union-attr]
    }
    carried: list[str] = []
    edited: list[str] = []
    for path in sorted(final.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.relative_to(final).as_posix()
        if name == MANIFEST:
            continue
        if name in outputs:
            if _sha256(path) != outputs[name]:
                edited.append(name)
            continue
        target = run_dir / name
        if target.exists():
            edited.append(name)  # the new report writes a file of that name: the person's copy stays in history
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        if name.split("/", 1)[0] not in FACE_FOLDERS:
            carried.append(name)
    return carried, edited


def _faces_only(folder: Path) -> bool:
    """A date folder without a report, holding only other faces' sub-folders (mail drafts)."""
    if _read_manifest(folder) is not None:
        return False
    return all(entry.is_dir() and entry.name in FACE_FOLDERS for entry in folder.iterdir())


def _migrate_link(outbox: Path, date_text: str) -> None:
    """An outbox of the earlier layout: `<DATE>` was a symbolic link into `.runs/`; make it a real folder."""
    final = outbox / date_text
    if not final.is_symlink():
        return
    target = Path(os.path.realpath(final))
    if target.parent != (outbox / RUNS).resolve():
        return  # a link a person made (pointing elsewhere) is theirs: left alone, never followed into
    final.unlink()
    if target.is_dir():
        os.rename(target, final)
        fsync_dir(outbox)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
