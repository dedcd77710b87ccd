"""Writing a report folder whole or not at all, and one run at a time.

`outbox/<DATE>` is a symbolic link to a folder under `outbox/.runs/`. A run writes everything into a new
folder there, then swaps the link with one `rename`, which is atomic: whenever a run is killed, the
previous `outbox/<DATE>/` is still there, complete, and the half-written folder is swept by the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

RUNS = ".runs"
LOCK = ".lock"


class Busy(Exception):
    """Another run holds the outbox."""


@contextlib.contextmanager
def outbox_lock(outbox: Path, *, wait: bool = True, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the outbox for one run. A second run waits (or raises `Busy` when `wait` is false)."""
    outbox.mkdir(parents=True, exist_ok=True)
    fd = os.open(outbox / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
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
    return path


def publish(outbox: Path, date_text: str, run_dir: Path) -> Path:
    """Point `outbox/<date>` at `run_dir` atomically and sweep what no link points to any more."""
    final = outbox / date_text
    if final.exists() and not final.is_symlink():
        # A real folder (made by hand or copied back): keep it among the runs rather than delete it.
        final.rename(outbox / RUNS / f"{date_text}.kept.{time.strftime('%Y%m%dT%H%M%S')}")
    tmp_link = outbox / f".{date_text}.link.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(Path(RUNS) / run_dir.name, target_is_directory=True)
    os.replace(tmp_link, final)
    sweep(outbox)
    return final


def sweep(outbox: Path) -> None:
    """Remove run folders no link points to: earlier versions and what killed runs left half-written.

    Only called while holding the outbox lock, so no other run is writing into them.
    """
    runs = outbox / RUNS
    if not runs.is_dir():
        return
    for entry in outbox.iterdir():
        if entry.name.startswith(".") and ".link." in entry.name and entry.is_symlink():
            entry.unlink()  # a link a killed run made but never moved into place
    live = {os.path.realpath(entry) for entry in outbox.iterdir() if entry.is_symlink()}
    for run in runs.iterdir():
        if os.path.realpath(run) not in live and ".kept." not in run.name:
            shutil.rmtree(run, ignore_errors=True)

