"""An upload through a unit's link: the same checks as `check`, then stored in the inbox or refused.

Nothing from the request reaches a file system path: the staged copy is named by a random id, the stored
file by unit, reporting date, time and content hash (all read or computed here), and the original file
name is kept only as text in the audit log.

Order of work, so that nothing accepted is lost: stage the bytes (private folder), check them in the
isolated readers, write the accepted file into the inbox (atomic, fsync'ed), then append the audit record
(fsync'ed). An upload is reported as stored only after both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.atomic import atomic_write, fsync_dir
from pipeline.forms.layout import HEADER_CODES
from pipeline.plan import Plan
from pipeline.plan.clock import local_now
from pipeline.portal.access import portal_dir
from pipeline.problems import Problem
from pipeline.render.feedback import needs_feedback, write_feedback
from pipeline.report import check_files
from pipeline.verdicts import FileVerdict

UPLOAD_SUBDIR = "portal"  # inside the inbox: uploads sit beside the files that came by e-mail
AUDIT_FILE = "audit.jsonl"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
#: formats the reader recognised → the extension the stored file gets (never the uploader's extension)
EXTENSIONS = {"xlsx": "xlsx", "xlsm": "xlsm", "xls": "xls", "ods": "ods"}


@dataclass
class UploadOutcome:
    upload_id: str
    unit: str  # the link's unit
    original_name: str
    sha256: str
    size: int
    verdict: str  # ok | warnings | errors | ignored | refused
    stored: bool
    stored_name: str | None = None  # relative to the inbox
    duplicate_of: str | None = None
    refused: str | None = None  # the refusal's problem code
    report_date: dt.date | None = None
    problems: list[Problem] = field(default_factory=list)
    feedback: str | None = None  # file name under <portal>/feedback/<upload_id>/
    time: str = ""

    def record(self) -> dict[str, object]:
        return {
            "event": "upload",
            "id": self.upload_id,
            "time": self.time,
            "unit": self.unit,
            "original_name": self.original_name,
            "sha256": self.sha256,
            "size": self.size,
            "verdict": self.verdict,
            "stored": self.stored,
            "stored_name": self.stored_name,
            "duplicate_of": self.duplicate_of,
            "refused": self.refused,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "feedback": self.feedback,
            "problems": [problem_json(p) for p in self.problems],
        }


def problem_json(p: Problem) -> dict[str, str | None]:
    return {"code": p.code, "severity": p.severity, "sheet": p.sheet, "cell": p.cell, "message": p.message}


class AuditLog:
    """Append-only JSON lines under the outbox. Each append takes an exclusive lock and is fsync'ed."""

    def __init__(self, outbox: Path) -> None:
        self.path = portal_dir(outbox) / AUDIT_FILE

    def append(self, record: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock

    def records(self) -> Iterator[dict[str, object]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line after a power cut: the rest is still good
            if isinstance(record, dict):
                yield record

    def uploads(self, unit: str | None = None) -> list[dict[str, object]]:
        return [r for r in self.records() if r.get("event") == "upload" and (unit is None or r.get("unit") == unit)]


def few_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for threads created from now on.

    The reader workers are forked from this process and run under an address-space limit (RLIMIT_AS,
    plan.limits.reader_memory_mb) that counts what they inherit. glibc gives each busy thread its own
    arena reserving 64 MB of address space, kept after the thread ends: a server with a few dozen request
    threads would hand every reader a limit already half used, and a large but honest workbook would crash
    it (seen in the tests: files that read fine crashed after 13 concurrent clients). A no-op off glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def preload_readers() -> None:
    """Import, in the server process, what the reader workers import lazily.

    The workers are forked from a server with many threads; a fork taken while another thread holds the
    import lock leaves the child unable to import (seen as ImportError for python_calamine under 13
    concurrent uploads). Imported once here, the children inherit the modules and import nothing.
    """
    import defusedxml.ElementTree  # noqa: F401
    import olefile  # noqa: F401
    import python_calamine  # noqa: F401

    few_malloc_arenas()


class Uploads:
    """Handles uploads for one inbox/outbox; safe to call from many threads at once."""

    def __init__(self, plan: Plan, plan_path: Path, inbox: Path, outbox: Path, *, check_slots: int = 2) -> None:
        preload_readers()
        self.plan = plan
        self.plan_path = plan_path
        self.inbox = inbox
        self.outbox = outbox
        self.audit = AuditLog(outbox)
        # Checks run in reader processes; more at once than cores only makes every district wait longer.
        self._slots = threading.BoundedSemaphore(max(1, check_slots))
        # Deciding "same bytes seen before?" and storing must not interleave for one unit.
        self._store_lock = threading.Lock()

    @property
    def staging(self) -> Path:
        return portal_dir(self.outbox) / "staging"

    def feedback_path(self, upload_id: str, name: str) -> Path:
        return portal_dir(self.outbox) / "feedback" / upload_id / name

    def handle(self, unit: str, original_name: str, data: bytes, now: dt.datetime | None = None) -> UploadOutcome:
        now = now or local_now(self.plan)
        upload_id = uuid.uuid4().hex
        sha = hashlib.sha256(data).hexdigest()
        outcome = UploadOutcome(upload_id, unit, _printable(original_name), sha, len(data), "ok", False,
                                time=now.isoformat(timespec="seconds"))
        staged = atomic_write(self.staging / upload_id, data, mode=0o600)
        try:
            with self._slots:
                [verdict] = check_files([staged], plan_path=self.plan_path, workers=1)
            self._decide(outcome, verdict, staged)
        finally:
            staged.unlink(missing_ok=True)
        self.audit.append(outcome.record())
        return outcome

    def _decide(self, outcome: UploadOutcome, verdict: FileVerdict, staged: Path) -> None:
        sub = verdict.submission
        shown = outcome.original_name or outcome.upload_id
        problems = [dataclasses.replace(p, file=shown) for p in verdict.problems]
        outcome.verdict = verdict.verdict
        outcome.report_date = sub.report_date if sub else None
        file_unit = sub.unit if sub else None
        if file_unit != outcome.unit:
            code = "upload-unit-unknown" if file_unit is None else "upload-other-unit"
            cell = sub.cell_of(HEADER_CODES["unit"]) if sub else None
            names = {u.code: u.name for u in self.plan.units} | {self.plan.department.code: self.plan.department.name}
            problems.insert(0, Problem.make(
                code, shown, cell.sheet if cell else None, cell.cell if cell else None,
                unit=names.get(file_unit or "", file_unit or "?"), link_unit=names.get(outcome.unit, outcome.unit),
            ))
            outcome.refused, outcome.verdict, outcome.problems = code, "refused", problems
            return
        outcome.problems = problems
        fmt = EXTENSIONS.get(verdict.raw.format or "", "xlsx")
        with self._store_lock:
            earlier = next((r for r in self.audit.uploads(outcome.unit) if r.get("stored") and r.get("sha256") == outcome.sha256
                            and (self.inbox / str(r.get("stored_name"))).is_file()), None)
            if earlier is not None:
                outcome.stored, outcome.duplicate_of = True, str(earlier["stored_name"])
                outcome.problems.append(Problem.make("upload-duplicate", shown, time=str(earlier.get("time", ""))))
            else:
                outcome.stored_name = self._store(outcome, fmt, staged)
                outcome.stored = True
        if needs_feedback(verdict.problems) and verdict.raw.cells:
            # The district's own workbook with its problem cells marked, from the staged copy.
            fb_dir = self.feedback_path(outcome.upload_id, "x").parent
            written = write_feedback(self.plan, [verdict], fb_dir, staged.parent)
            if written:
                outcome.feedback = next(iter(written.values())).name

    def _store(self, outcome: UploadOutcome, fmt: str, staged: Path) -> str:
        stamp = dt.datetime.fromisoformat(outcome.time).strftime("%Y%m%dT%H%M%S")
        date = outcome.report_date.isoformat() if outcome.report_date else "nodate"
        folder = self.inbox / UPLOAD_SUBDIR
        base = f"{outcome.unit}-{date}-{stamp}-{outcome.sha256[:16]}"
        name, n = f"{base}.{fmt}", 1
        while (folder / name).exists():  # never overwrite: same bytes in the same second get a counter
            n += 1
            name = f"{base}-{n}.{fmt}"
        atomic_write(folder / name, staged.read_bytes())
        fsync_dir(folder)
        return f"{UPLOAD_SUBDIR}/{name}"


def _printable(name: str) -> str:
    """The uploader's file name as text for the record and the page: last path part, no control chars."""
    base = re.split(r"[\\/]", name or "")[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200]
