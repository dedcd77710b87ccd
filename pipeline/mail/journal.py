"""The mail face's own records under `<outbox>/.mail/`: append-only JSON lines, each line fsync'ed.

    audit.jsonl   every message and attachment fetched: message key and id, sender, masked name, sha256,
                  what became of it (stored, duplicate, refused with a code)
    sent.jsonl    every outgoing message by its key: sending → committing → sent (or failed)
    jobs.json     the scheduler's state (pipeline.mail.schedule)
    mail.log      one line per job outcome; the traceback of an unexpected error

Appends take an exclusive lock, so `serve`'s scheduler and a command run from cron never interleave a
line; a torn last line (power cut) is skipped when read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

MAIL_DIR = ".mail"


def mail_dir(outbox: Path) -> Path:
    return Path(outbox) / MAIL_DIR


class JsonLines:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, object]) -> None:
        self.append_many([record])

    def append_many(self, records: list[dict[str, object]]) -> None:
        """One write and one fsync for several lines (a batch of messages)."""
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> Iterator[dict[str, object]]:
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


@contextlib.contextmanager
def job_lock(outbox: Path, name: str) -> Iterator[bool]:
    """A lock per kind of job (fetch, send …), not waited for: yields False when another process holds it."""
    folder = mail_dir(outbox)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
