"""`mail fetch`: the morning's mail into the inbox, each file checked, each sender answered.

For each message not handled yet (see pipeline.mail.imap), in batches:

1. its attachments are sorted out (pipeline.mail.parse) and the forms staged under `outbox/.mail/staging/`;
2. all staged forms of the batch are checked at once by `check_files`, the call behind `check` and the
   portal's uploads (isolated readers: a file that crashes one costs that file only);
3. a form is stored when the sender is the unit's address (contacts file) and the form is that unit's (the
   department's addresses may send any unit's form): into `inbox/mail/<unit>-<date>-<time>-<sha>.<ext>`,
   whole or not at all, never twice (the same bytes seen before are a `mail-duplicate`);
4. every attachment and the message itself go to the audit (`outbox/.mail/audit.jsonl`);
5. with `reply`, the sender's answer is written as a draft (and sent with `send`): the verdict of each file
   and, where there is something to fix, the feedback workbook made by `write_feedback`, as the portal does;
6. the message is marked handled on the server.

A message from an address the contacts file does not know, holding a form, is not stored and not marked:
it is kept ("held") and looked at again each run, so adding the address later loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.atomic import atomic_write
from pipeline.errors import EXIT
from pipeline.forms.layout import HEADER_CODES
from pipeline.ingest.inbox import is_tool_file
from pipeline.mail.compose import ReplyFile, letters, reply_message, unit_name
from pipeline.mail.contacts import Contacts
from pipeline.mail.imap import ImapSession
from pipeline.mail.journal import JsonLines, job_lock, mail_dir, stamp
from pipeline.mail.outgoing import Draft, Ledger, safe_part, write_drafts
from pipeline.mail.parse import Attachment, Incoming, header_summary, parse_message
from pipeline.mail.settings import MailFault, MailSettings
from pipeline.mail.smtp import Delivery, deliver
from pipeline.plan.clock import local_now
from pipeline.plan import Plan
from pipeline.problems import Problem
from pipeline.render.feedback import needs_feedback, write_feedback
from pipeline.report import NothingToCheck, check_files
from pipeline.safe_text import file_name_part
from pipeline.verdicts import FileVerdict

MAIL_SUBDIR = "mail"  # inside the inbox, beside portal/ and whatever the department saves by hand
AUDIT_FILE = "audit.jsonl"
EXTENSIONS = {"xlsx": "xlsx", "xlsm": "xlsm", "xls": "xls", "ods": "ods"}
#: a batch: at most this many messages or bytes are held in memory and checked together
BATCH_MESSAGES = 50
BATCH_BYTES = 40_000_000
MB = 1_000_000


class MailAudit:
    """What every fetch did, append-only; also the memory of what was stored and handled."""

    def __init__(self, outbox: Path) -> None:
        self.log = JsonLines(mail_dir(outbox) / AUDIT_FILE)
        self.handled: set[str] = set()
        self.held: set[str] = set()
        self.stored: dict[str, dict[str, object]] = {}  # sha256 → the record that stored it
        self._pending: list[dict[str, object]] = []
        for record in self.log.records():
            self._note(record)

    def _note(self, record: dict[str, object]) -> None:
        if record.get("event") == "message":
            key = str(record.get("message"))
            if record.get("outcome") == "held":
                self.held.add(key)
            else:
                self.handled.add(key)
                self.held.discard(key)
        elif record.get("event") == "attachment" and record.get("stored_name") and not record.get("duplicate_of"):
            self.stored.setdefault(str(record.get("sha256")), record)

    def append(self, record: dict[str, object]) -> None:
        """Known at once; on disk with the next `flush` (one fsync a batch, before the batch's messages are
        marked on the server). A file stored before a stop that lost its line is found by its hash."""
        self._pending.append(record)
        self._note(record)

    def flush(self) -> None:
        self.log.append_many(self._pending)
        self._pending = []

    def records(self) -> list[dict[str, object]]:
        return list(self.log.records())


@dataclass
class FileOutcome:
    attachment: Attachment
    verdict: str  # ok | warnings | errors | refused | duplicate | skipped
    unit: str | None = None
    report_date: dt.date | None = None
    stored_name: str | None = None
    duplicate_of: str | None = None
    problems: list[Problem] = field(default_factory=list)
    feedback: tuple[str, bytes] | None = None
    recorded: bool = False  # its audit line is written

    @property
    def stored(self) -> bool:
        return self.stored_name is not None and self.duplicate_of is None


@dataclass
class MessageOutcome:
    incoming: Incoming
    sender_unit: str | None
    files: list[FileOutcome] = field(default_factory=list)
    outcome: str = "handled"  # handled | held | seen (handled in an earlier run, only marked now)
    held_before: bool = False  # held in an earlier run too: answered then, not again

    @property
    def problems(self) -> list[Problem]:
        return self.incoming.problems


@dataclass
class FetchResult:
    messages: list[MessageOutcome] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    delivery: Delivery | None = None
    fault: MailFault | None = None
    busy: bool = False

    @property
    def files(self) -> list[FileOutcome]:
        return [f for m in self.messages for f in m.files]

    @property
    def exit_code(self) -> int:
        if self.fault is not None:
            return self.fault.exit_code
        bad = any(f.verdict in ("errors", "refused") for f in self.files) or any(
            p.severity == "error" for m in self.messages if m.outcome != "seen" for p in m.problems)
        if self.delivery is not None and self.delivery.problems:
            bad = bad or any(p.severity == "error" for p in self.delivery.problems)
        return EXIT["file_errors"] if bad else EXIT["ok"]


@dataclass
class FetchJob:
    settings: MailSettings
    contacts: Contacts
    plan: Plan
    plan_path: Path
    inbox: Path
    outbox: Path
    reply: bool = False
    send: bool = False
    again: bool = False
    workers: int = 2
    #: now on the campaign's clock; None: the plan's `utc_offset`
    now: Callable[[], dt.datetime] | None = None
    #: called after each batch (messages so far): the benchmark and the console's progress
    progress: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        if self.now is None:
            plan = self.plan
            self.now = lambda: local_now(plan)

    def run(self) -> FetchResult:
        if self.settings.imap is None:
            raise MailFault("mail-imap-not-configured", EXIT["usage"], path=self.settings.path or "mail.toml")
        if self.send and self.reply and self.settings.smtp is None:
            raise MailFault("mail-smtp-not-configured", EXIT["usage"], path=self.settings.path or "mail.toml")
        result = FetchResult()
        with job_lock(self.outbox, "fetch") as got:
            if not got:
                result.busy = True
                return result
            self.audit = MailAudit(self.outbox)
            self.ledger = Ledger(self.outbox)
            # This run's memory of bytes already checked (verdict, staged copy) and feedback already made.
            self._known: dict[str, tuple[FileVerdict | None, Path]] = {}
            self._workbooks: dict[str, bytes | None] = {}
            try:
                self._fetch(result)
            except MailFault as fault:
                result.fault = fault  # what was handled before it is kept, drafted and (below) sent
            if self.reply and self.send and self.settings.smtp is not None and result.drafts:
                try:
                    result.delivery = deliver(result.drafts, self.settings.smtp, self.settings.sender_address,
                                              self.ledger, again=self.again)
                except MailFault as fault:
                    result.fault = result.fault or fault
        return result

    # --- the mailbox ---------------------------------------------------------------------------------------
    def _fetch(self, result: FetchResult) -> None:
        imap = self.settings.imap
        assert imap is not None
        with ImapSession(imap) as box:
            uids = box.pending()
            sizes = box.sizes(uids)
            done = 0
            for batch in _batches(uids, sizes):
                big = [u for u in batch if sizes.get(u, 0) > imap.max_message_bytes]
                bodies = box.fetch([u for u in batch if u not in big])
                heads = box.fetch(big, "BODY.PEEK[HEADER]") if big else {}
                incoming: list[Incoming] = []
                for uid in batch:
                    if uid in heads:
                        item = header_summary(heads[uid], sizes.get(uid, 0), _digest(heads[uid]))
                        item.problems.append(Problem.make("mail-message-too-large", item.label,
                                                          size=_mb(sizes.get(uid, 0)),
                                                          limit=_mb(imap.max_message_bytes)))
                    elif uid in bodies:
                        item = parse_message(bodies[uid], max_attachment_bytes=self.plan.limits.max_file_bytes)
                    else:
                        continue  # expunged by someone else meanwhile
                    item.uid = uid
                    incoming.append(item)
                outcomes = self._handle(incoming)
                result.messages += outcomes
                if self.reply:
                    result.drafts += self._replies([o for o in outcomes if o.outcome != "seen"])
                for o in outcomes:
                    if o.outcome != "held" and o.outcome != "seen":
                        self.audit.append(self._message_record(o))
                self.audit.flush()  # on disk before the server forgets these messages are new
                box.mark_handled([o.incoming.uid for o in outcomes if o.outcome != "held"])
                done += len(batch)
                if self.progress is not None:
                    self.progress(done, len(uids))

    # --- one batch -----------------------------------------------------------------------------------------
    def _handle(self, incoming: list[Incoming]) -> list[MessageOutcome]:
        outcomes: list[MessageOutcome] = []
        staged: list[tuple[MessageOutcome, FileOutcome, Path | None]] = []
        first: dict[str, Path] = {}  # sha256 → its staged copy: the same bytes are checked once a batch
        staging = mail_dir(self.outbox) / "staging" / uuid.uuid4().hex
        try:
            for item in incoming:
                if item.key in self.audit.handled:
                    outcomes.append(MessageOutcome(item, None, outcome="seen"))
                    continue
                sender_unit = self.contacts.unit_of(item.sender, self.plan.department.code)
                outcome = MessageOutcome(item, sender_unit)
                outcomes.append(outcome)
                for attachment in item.attachments:
                    f = FileOutcome(attachment, attachment.kind)
                    outcome.files.append(f)
                    if attachment.problem is not None:
                        f.problems.append(attachment.problem)
                    if attachment.name_masked:
                        f.problems.append(Problem.make("personal-data-in-name", attachment.label))
                    if attachment.kind != "form":
                        continue
                    if sender_unit is None:
                        f.verdict = "refused"
                        f.problems.insert(0, Problem.make("mail-sender-unknown", attachment.label,
                                                          sender=item.sender or "?"))
                        continue
                    sha = attachment.sha256
                    if sha in self._known or sha in first:
                        staged.append((outcome, f, None))
                        continue
                    path = first[sha] = staging / f"{len(first):06d}.bin"
                    _stage(path, attachment.data)
                    staged.append((outcome, f, path))
                if sender_unit is None and any(f.attachment.kind == "form" for f in outcome.files):
                    outcome.outcome = "held"
                    outcome.held_before = item.key in self.audit.held
            verdicts = self._check(list(first.values()))
            for outcome, f, path in staged:
                sha = f.attachment.sha256
                if path is not None:
                    self._known[sha] = (verdicts.get(str(path)), path)
                verdict, source = self._known[sha]
                self._decide(outcome, f, verdict, source)
            for outcome in outcomes:
                if outcome.outcome == "seen" or outcome.held_before:
                    continue
                for f in outcome.files:
                    if not f.recorded:
                        self.audit.append(self._file_record(outcome, f))
                if outcome.outcome == "held" and outcome.incoming.key not in self.audit.held:
                    self.audit.append(self._message_record(outcome))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return outcomes

    def _check(self, paths: list[Path]) -> dict[str, FileVerdict]:
        if not paths:
            return {}
        try:
            verdicts = check_files(paths, plan_path=self.plan_path, workers=self.workers)
        except NothingToCheck as nothing:  # every attachment set aside by its name: each still has its verdict
            verdicts = nothing.files
        return {str(v.raw.source or v.raw.name): v for v in verdicts}

    def _decide(self, outcome: MessageOutcome, f: FileOutcome, verdict: FileVerdict | None, staged: Path) -> None:
        attachment = f.attachment
        label = attachment.label
        if verdict is None:  # cannot happen: check_files answers every path; kept as a refusal, not a crash
            f.verdict = "refused"
            f.problems.insert(0, Problem.make("mail-unit-unknown", label))
            return
        shown = dataclasses.replace(verdict.raw, name=label)
        verdict = FileVerdict(shown, verdict.submission, [dataclasses.replace(p, file=label) for p in verdict.problems],
                              verdict.status)
        sub = verdict.submission
        f.problems = verdict.problems + [p for p in f.problems if p.code == "personal-data-in-name"]
        f.unit = sub.unit if sub else None
        f.report_date = sub.report_date if sub else None
        f.verdict = verdict.verdict
        sender = outcome.sender_unit
        if f.unit is None:
            f.verdict = "refused"
            f.problems.insert(0, Problem.make("mail-unit-unknown", label))
        elif sender not in (f.unit, self.plan.department.code):
            cell = sub.cell_of(HEADER_CODES["unit"]) if sub else None
            f.verdict = "refused"
            f.problems.insert(0, Problem.make(
                "mail-other-unit", label, cell.sheet if cell else None, cell.cell if cell else None,
                unit=unit_name(self.plan, f.unit), sender_unit=unit_name(self.plan, sender)))
        else:
            # The district's own workbook with its problem cells marked, as the portal answers an upload.
            if needs_feedback(verdict.problems) and verdict.raw.cells:
                f.feedback = self._feedback(verdict, staged)
            self._store(outcome, f, verdict)

    def _store(self, outcome: MessageOutcome, f: FileOutcome, verdict: FileVerdict) -> None:
        sha = f.attachment.sha256
        earlier = self.audit.stored.get(sha)
        if earlier is not None and (self.inbox / str(earlier.get("stored_name"))).is_file():
            if earlier.get("message") == outcome.incoming.key:
                f.stored_name = str(earlier["stored_name"])  # this very message, handled before a stop
                f.recorded = True
                return
            f.verdict = "duplicate"
            f.duplicate_of = str(earlier["stored_name"])
            f.stored_name = f.duplicate_of
            f.problems.append(Problem.make("mail-duplicate", f.attachment.label,
                                           time=_shown_time(str(earlier.get("time", "")))))
            return
        folder = self.inbox / MAIL_SUBDIR
        kept = _already_in(folder, sha)
        if kept is not None:
            # Stored by a run stopped before its audit line (the name carries the hash; the bytes are checked).
            f.stored_name = f"{MAIL_SUBDIR}/{kept}"
        else:
            f.stored_name = self._write(f, verdict, folder, sha)
        # The audit line at once: a run stopped after this point knows the file is stored.
        self.audit.append(self._file_record(outcome, f))
        f.recorded = True

    def _write(self, f: FileOutcome, verdict: FileVerdict, folder: Path, sha: str) -> str:
        fmt = EXTENSIONS.get(verdict.raw.format or "", "xlsx")
        when = self.now().strftime("%Y%m%dT%H%M%S")
        date = f.report_date.isoformat() if f.report_date else "nodate"
        base = f"{f.unit}-{date}-{when}-{sha[:16]}"
        name, n = f"{base}.{fmt}", 1
        while (folder / name).exists():  # never overwrite
            n += 1
            name = f"{base}-{n}.{fmt}"
        atomic_write(folder / name, f.attachment.data)  # whole or not at all, fsync'ed with its folder
        return f"{MAIL_SUBDIR}/{name}"

    def _feedback(self, verdict: FileVerdict, staged: Path) -> tuple[str, bytes] | None:
        """(attachment name, workbook): made once a run for the same bytes."""
        sha = verdict.raw.sha256
        if sha not in self._workbooks:
            self._workbooks[sha] = self._make_feedback(verdict, staged)
        data = self._workbooks[sha]
        if data is None:
            return None
        stem = file_name_part(Path(verdict.raw.name.rsplit(" / ", 1)[-1]).stem, 60)
        return str(letters("kk")["reply"]["feedback_name"]).format(stem=stem), data

    def _make_feedback(self, verdict: FileVerdict, staged: Path) -> bytes | None:
        with tempfile.TemporaryDirectory(prefix="mz-feedback-", dir=staged.parent.parent) as tmp:
            written = write_feedback(self.plan, [verdict], Path(tmp), staged.parent)
            return next(iter(written.values())).read_bytes() if written else None

    # --- records and replies -------------------------------------------------------------------------------
    def _file_record(self, outcome: MessageOutcome, f: FileOutcome) -> dict[str, object]:
        item = outcome.incoming
        return {
            "event": "attachment", "time": stamp(self.now()), "message": item.key, "message_id": item.message_id,
            "sender": item.sender, "name": f.attachment.label, "sha256": f.attachment.sha256,
            "size": f.attachment.size, "kind": f.attachment.kind, "verdict": f.verdict, "unit": f.unit,
            "report_date": f.report_date.isoformat() if f.report_date else None, "stored_name": f.stored_name,
            "duplicate_of": f.duplicate_of, "feedback": bool(f.feedback),
            "problems": [{"code": p.code, "severity": p.severity, "sheet": p.sheet, "cell": p.cell} for p in f.problems],
        }

    def _message_record(self, outcome: MessageOutcome) -> dict[str, object]:
        item = outcome.incoming
        return {
            "event": "message", "time": stamp(self.now()), "message": item.key, "uid": item.uid,
            "message_id": item.message_id, "sender": item.sender, "sender_unit": outcome.sender_unit,
            "subject": item.subject, "size": item.size, "outcome": outcome.outcome,
            "attachments": len(item.attachments), "codes": sorted({p.code for p in item.problems}),
        }

    def _replies(self, outcomes: list[MessageOutcome]) -> list[Draft]:
        items = []
        today = self.now().date()
        for o in outcomes:
            item = o.incoming
            if item.auto or not item.answer_to or item.answer_to == self.settings.sender_address.lower():
                continue  # never answer a robot, a message without a sender, or ourselves
            if o.sender_unit is None and (o.outcome != "held" or o.held_before):
                continue  # a stranger without a form gets no answer (no backscatter), a held one answer once
            files = [ReplyFile(f.attachment.label, _reply_verdict(f), f.unit, f.report_date, f.problems, f.feedback)
                     for f in o.files if f.attachment.kind != "skipped" or f.problems]
            message = reply_message(self.settings, self.plan, item.answer_to, item.subject, item.message_id_raw,
                                    item.date, files, item.problems)
            key = f"reply:{item.key}" + (":held" if o.outcome == "held" else "")
            date = self._folder_date(o, today)
            # Named by the message, not the hour: a run stopped and run again rewrites the same draft.
            held = "-held" if o.outcome == "held" else ""
            name = f"{safe_part(item.answer_to.split('@')[0], 24)}-{item.key[:12]}{held}.eml"
            items.append((key, "reply", date, name, message))
        return write_drafts(self.outbox, self.ledger, items, again=self.again) if items else []

    def _folder_date(self, o: MessageOutcome, today: dt.date) -> dt.date:
        """The reporting date whose folder holds the reply: the first form's date, else the next date."""
        dates = self.plan.dates
        for f in o.files:
            if f.report_date is not None:
                return next((d for d in dates if d >= f.report_date), dates[-1])
        return next((d for d in dates if d >= today), dates[-1])


def _stage(path: Path, data: bytes) -> None:
    """A private scratch copy for the check (removed after it): no fsync, nothing depends on it surviving."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _already_in(folder: Path, sha: str) -> str | None:
    """A file of ours in inbox/mail that the reader lists, holding exactly these bytes (its name ends with the
    hash's prefix)."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"*-{sha[:16]}*")):
        if is_tool_file(path.name):
            # A run killed between writing and renaming leaves «.name.….tmp» with every byte in it: the reader
            # does not list it — taken for the stored file, the form would be lost.
            continue
        try:
            if path.is_file() and _digest(path.read_bytes()) == sha:
                return path.name
        except OSError:
            continue
    return None


def _reply_verdict(f: FileOutcome) -> str:
    return f.verdict if f.verdict in ("ok", "warnings", "errors", "refused", "duplicate", "skipped") else "refused"


def _batches(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    out: list[list[int]] = []
    current: list[int] = []
    held = 0
    for uid in uids:
        size = min(sizes.get(uid, 0), BATCH_BYTES)
        if current and (len(current) >= BATCH_MESSAGES or held + size > BATCH_BYTES):
            out.append(current)
            current, held = [], 0
        current.append(uid)
        held += size
    if current:
        out.append(current)
    return out


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",")


def _shown_time(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return value or "?"
