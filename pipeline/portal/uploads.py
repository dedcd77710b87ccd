"""An upload through a unit's link: the same checks as `check`, then stored in the inbox or refused.

Nothing from the request reaches a file system path: the staged copy is named by a random id, the stored
file by unit, reporting date, time and content hash (all read or computed here), and the original file
name is kept only as text in the audit log — masked, like every name an output shows.

Stored and audited together or not at all. The order of work: stage the bytes (private folder), check
them in the isolated readers, write the file to keep into a hidden temporary file beside its final name
(fsync'ed), append the audit record (fsync'ed), and only then give the file its name. An audit log that
cannot be written leaves nothing in the inbox (`upload-not-recorded`), so a retry never stores a second
unaudited copy; a crash between the record and the rename leaves a record of a file that never appeared
(the page says so), never a file without a record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.atomic import file_mode, fsync_dir
from pipeline.forms.layout import HEADER_CODES
from pipeline.ingest.extract import ReadSpec
from pipeline.ingest.isolate import PoolSettings, ReaderService
from pipeline.ingest.macros import without_macros
from pipeline.plan import Plan
from pipeline.portal.access import portal_dir
from pipeline.privacy import mask
from pipeline.problems import Problem
from pipeline.render.feedback import needs_feedback, write_feedback
from pipeline.report import NothingToCheck, check_files
from pipeline.safe_text import xml_text
from pipeline.plan.clock import campaign_tz, local_now
from pipeline.verdicts import FileVerdict

UPLOAD_SUBDIR = "portal"  # inside the inbox: uploads sit beside the files that came by e-mail
AUDIT_FILE = "audit.jsonl"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
#: formats the reader recognised → the extension the stored file gets (never the uploader's extension)
EXTENSIONS = {"xlsx": "xlsx", "xlsm": "xlsm", "xls": "xls", "ods": "ods"}
NAME_CHARS = 200


class NotRecorded(Exception):
    """The audit log could not be written: nothing was stored."""


@dataclass
class UploadOutcome:
    upload_id: str
    unit: str  # the link's unit
    original_name: str  # the uploader's file name as every page and record shows it: masked
    sha256: str  # of the bytes as uploaded (what a duplicate is recognised by)
    size: int
    verdict: str  # ok | warnings | errors | ignored | refused
    stored: bool
    stored_name: str | None = None  # relative to the inbox
    stored_sha256: str | None = None  # of the stored copy (differs when macros were removed)
    #: the earlier upload of the same bytes: {"id", "time", "name", "stored_name"}
    duplicate_of: dict[str, str] | None = None
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
            "stored_sha256": self.stored_sha256,
            "duplicate_of": self.duplicate_of,
            "refused": self.refused,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "feedback": self.feedback,
            "problems": [problem_json(p) for p in self.problems],
        }


def problem_json(p: Problem) -> dict[str, object]:
    """A problem as the audit log and the JSON answer hold it; `params` let a page say it in Russian."""
    return {"code": p.code, "severity": p.severity, "sheet": p.sheet, "cell": p.cell, "message": p.message,
            "params": dict(p.params)}


class AuditLog:
    """Append-only JSON lines under the outbox. Each append takes an exclusive lock and is fsync'ed; the
    records are parsed again only when the file changed (every page load reads them)."""

    def __init__(self, outbox: Path) -> None:
        self.path = portal_dir(outbox) / AUDIT_FILE
        self._seen: tuple[int, int, int] | None = None
        self._records: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def append(self, record: dict[str, object]) -> None:
        """Raises OSError when the log cannot be written (nothing is then written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"audit log: {written} of {len(line)} bytes written")
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock

    def records(self) -> list[dict[str, object]]:
        try:
            st = self.path.stat()
            seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            return []
        with self._lock:
            if seen != self._seen:
                self._records = list(self._parse())
                self._seen = seen
            return self._records

    def _parse(self) -> Iterator[dict[str, object]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
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


def shown_name(name: str) -> tuple[str, bool]:
    """The uploader's file name as every record, page and download shows it: the last path part, printable,
    XML-safe, personal data masked (an ИИН or a list of children's names in a file name is common)."""
    base = re.split(r"[\\/]", name or "")[-1]
    printable = "".join(ch for ch in base if ch.isprintable())[:NAME_CHARS]
    return mask(xml_text(printable))


def local_time(moment: dt.datetime | str | None, tz: dt.tzinfo) -> str:
    """«04.12.2026 14:57» on the campaign's clock `tz`, from an aware datetime or the ISO text of a record."""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment is None:
        return ""
    return (moment.astimezone(tz) if moment.tzinfo is not None else moment).strftime("%d.%m.%Y %H:%M")


class Uploads:
    """Handles uploads for one inbox/outbox; safe to call from many threads at once."""

    def __init__(self, plan: Plan, plan_path: Path, inbox: Path, outbox: Path, *, readers: int = 2) -> None:
        preload_readers()
        # Warm reader processes, one per upload checked at once: a fork, start and reap for every upload
        # cost more than reading it (100 concurrent uploads: p95 13 s before).
        self.readers = ReaderService(ReadSpec.from_plan(plan), PoolSettings(
            workers=max(1, readers), seconds=plan.limits.reader_seconds, memory_mb=plan.limits.reader_memory_mb))
        self.plan = plan
        self.plan_path = plan_path
        self.inbox = inbox
        self.outbox = outbox
        self.audit = AuditLog(outbox)
        # Deciding "same bytes seen before?" and storing must not interleave.
        self._store_lock = threading.Lock()

    @property
    def staging(self) -> Path:
        return portal_dir(self.outbox) / "staging"

    def feedback_path(self, upload_id: str, name: str) -> Path:
        return portal_dir(self.outbox) / "feedback" / upload_id / name

    def handle(self, unit: str, original_name: str, data: bytes, now: dt.datetime | None = None) -> UploadOutcome:
        now = now.astimezone(campaign_tz(self.plan)) if now is not None else local_now(self.plan)
        upload_id = uuid.uuid4().hex
        shown, name_masked = shown_name(original_name)
        outcome = UploadOutcome(upload_id, unit, shown, hashlib.sha256(data).hexdigest(), len(data), "ok", False,
                                time=now.isoformat(timespec="seconds"))
        staged = self._stage(upload_id, data)
        try:
            try:
                [verdict] = check_files([staged], plan=self.plan, workers=1, readers=self.readers)
            except NothingToCheck as nothing:  # set aside by its name: the verdict says why
                [verdict] = nothing.files
            verdict = _as_uploaded(verdict, shown or upload_id, str(staged), name_masked)
            self._decide(outcome, verdict, data)
            if not outcome.stored:
                self._record(outcome)
            elif outcome.stored_sha256 == outcome.sha256:
                self._remember(verdict)
        finally:
            staged.unlink(missing_ok=True)
        return outcome

    def _stage(self, upload_id: str, data: bytes) -> Path:
        """The bytes in a private file for the reader (not fsync'ed: it is gone before the answer)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        path = self.staging / upload_id
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path

    def close(self) -> None:
        self.readers.close()

    def _remember(self, verdict: FileVerdict) -> None:
        """The stored file's form goes into the reader cache the report and the status use, so the page
        loads after a burst of uploads do not read every new file again (a cache failure is only a miss)."""
        from pipeline.ingest.cache import IngestCache, default_cache_path
        from pipeline.plan import plan_fingerprint

        cache = IngestCache.open(default_cache_path(self.outbox), plan_fingerprint(self.plan_path))
        try:
            cache.put_many([verdict.raw])
        finally:
            cache.close()

    def _feedback(self, outcome: UploadOutcome, verdict: FileVerdict) -> None:
        """The district's own workbook with its problem cells marked, titled with its own file name."""
        if needs_feedback(verdict.problems) and verdict.raw.cells:
            folder = self.feedback_path(outcome.upload_id, "x").parent
            written = write_feedback(self.plan, [verdict], folder, Path(verdict.raw.source).parent)
            if written:
                outcome.feedback = next(iter(written.values())).name

    def _decide(self, outcome: UploadOutcome, verdict: FileVerdict, data: bytes) -> None:
        sub = verdict.submission
        shown = verdict.raw.name
        outcome.problems = list(verdict.problems)
        outcome.verdict = verdict.verdict
        outcome.report_date = sub.report_date if sub else None
        file_unit = sub.unit if sub else None
        if file_unit != outcome.unit:
            code = "upload-unit-unknown" if file_unit is None else "upload-other-unit"
            cell = sub.cell_of(HEADER_CODES["unit"]) if sub else None
            names = {u.code: u.name for u in self.plan.units} | {self.plan.department.code: self.plan.department.name}
            self._refuse(outcome, Problem.make(
                code, shown, cell.sheet if cell else None, cell.cell if cell else None,
                unit=names.get(file_unit or "", file_unit or "?"), link_unit=names.get(outcome.unit, outcome.unit),
            ))
            return
        kept = without_macros(data, verdict.raw.format)
        if kept.outcome == "refused":
            self._refuse(outcome, Problem.make("upload-macros-refused", shown))
            return
        if kept.outcome == "removed":
            outcome.problems.append(Problem.make("upload-macros-removed", shown))
        fmt = "xlsx" if kept.outcome == "removed" else EXTENSIONS.get(verdict.raw.format or "", "xlsx")
        self._feedback(outcome, verdict)  # before the record, which names it
        with self._store_lock:
            earlier = self._earlier(outcome)
            if earlier is not None:
                outcome.duplicate_of = earlier
                outcome.problems.append(Problem.make("upload-duplicate", shown, time=earlier["time"],
                                                     name=earlier["name"]))
                return
            self._store(outcome, fmt, kept.data)

    @staticmethod
    def _refuse(outcome: UploadOutcome, problem: Problem) -> None:
        outcome.refused, outcome.verdict = problem.code, "refused"
        outcome.problems.insert(0, problem)

    def _earlier(self, outcome: UploadOutcome) -> dict[str, str] | None:
        """The unit's earlier stored upload of the same bytes whose file is still in the inbox."""
        for record in self.audit.uploads(outcome.unit):
            if (record.get("stored") and record.get("sha256") == outcome.sha256
                    and (self.inbox / str(record.get("stored_name"))).is_file()):
                return {"id": str(record.get("id", "")), "time": local_time(str(record.get("time", "")), campaign_tz(self.plan)),
                        "name": str(record.get("original_name") or ""), "stored_name": str(record["stored_name"])}
        return None

    def _record(self, outcome: UploadOutcome) -> None:
        """The audit record of an upload that stored nothing; without it the upload is not answered as done."""
        try:
            self.audit.append(outcome.record())
        except OSError:
            _not_recorded(outcome)

    def _store(self, outcome: UploadOutcome, fmt: str, data: bytes) -> None:
        """Temporary file, audit record, name: see the module's docstring. Called under the store lock."""
        stamp = dt.datetime.fromisoformat(outcome.time).strftime("%Y%m%dT%H%M%S")
        date = outcome.report_date.isoformat() if outcome.report_date else "nodate"
        folder = self.inbox / UPLOAD_SUBDIR
        folder.mkdir(parents=True, exist_ok=True)
        base = f"{outcome.unit}-{date}-{stamp}-{outcome.sha256[:16]}"
        name, n = f"{base}.{fmt}", 1
        while (folder / name).exists():  # never overwrite: same bytes in the same second get a counter
            n += 1
            name = f"{base}-{n}.{fmt}"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, file_mode())
            outcome.stored, outcome.stored_name = True, f"{UPLOAD_SUBDIR}/{name}"
            outcome.stored_sha256 = hashlib.sha256(data).hexdigest()
            try:
                self.audit.append(outcome.record())
            except OSError:
                _not_recorded(outcome)
                return
            os.replace(tmp, folder / name)
            tmp = ""
            fsync_dir(folder)
        finally:
            if tmp:
                Path(tmp).unlink(missing_ok=True)


def _not_recorded(outcome: UploadOutcome) -> None:
    outcome.stored, outcome.stored_name, outcome.stored_sha256 = False, None, None
    outcome.duplicate_of = None
    outcome.refused, outcome.verdict = "upload-not-recorded", "refused"
    outcome.problems.insert(0, Problem.make("upload-not-recorded", outcome.original_name or outcome.upload_id))


def _as_uploaded(verdict: FileVerdict, shown: str, staged: str, name_masked: bool) -> FileVerdict:
    """The check's verdict as the district should read it: its own (masked) file name everywhere — never
    the staging path — and a word when that name held personal data."""
    raw = dataclasses.replace(verdict.raw, name=shown, source=staged, name_masked=name_masked)
    problems = [dataclasses.replace(p, file=shown) for p in verdict.problems]
    if name_masked:
        problems.insert(0, Problem.make("personal-data-in-name", shown))
    sub = dataclasses.replace(verdict.submission, raw=raw) if verdict.submission is not None else None
    return FileVerdict(raw, sub, problems, verdict.status)
