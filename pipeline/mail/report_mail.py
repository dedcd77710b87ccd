"""`mail send --date D`: the published report to leadership, the feedback workbooks to their districts.

The report message carries the Kazakh .docx, its Russian copy and the PDF when one was made, to the
addressee with the department's own list in copy, and a covering text from the plan's addressee, signatory
and executor. Each input file of D with a feedback workbook (the report's `manifest.json` names them) gets
one message to its unit's addresses — once per input file, keyed by the file's sha256: a district that
already had the same problems back in the reply to its e-mail (`mail fetch --reply`) is not told twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import EXIT
from pipeline.mail.compose import feedback_message, report_message, unit_name
from pipeline.mail.context import MailContext
from pipeline.mail.fetch import MailAudit
from pipeline.mail.outgoing import Draft, Ledger, write_drafts
from pipeline.mail.settings import MailFault
from pipeline.mail.smtp import Delivery, deliver
from pipeline.problems import Problem, catalogue
from pipeline.publish import published_manifest
from pipeline.render.feedback import NOT_IN_WORKBOOK
from pipeline.report import parse_report_date

REPORT_SUFFIXES = (".docx", ".pdf")


@dataclass(frozen=True)
class Issue:
    """One row of the report's issues.csv, as a letter lists it."""

    code: str
    severity: str
    sheet: str | None
    cell: str | None
    message: str


@dataclass
class SendResult:
    date: dt.date
    drafts: list[Draft] = field(default_factory=list)
    delivery: Delivery | None = None
    problems: list[Problem] = field(default_factory=list)
    already_answered: list[str] = field(default_factory=list)  # inputs whose feedback went with a reply
    fault: MailFault | None = None


def send_report(ctx: MailContext, date_text: str, *, send: bool = False, again: bool = False) -> SendResult:
    date = parse_report_date(ctx.plan, date_text)
    folder = ctx.outbox / date.isoformat()
    manifest = published_manifest(ctx.outbox, date.isoformat())
    if manifest is None:
        raise MailFault("mail-report-missing", EXIT["nothing_to_report"], date=date.isoformat(), path=folder)
    if send and ctx.settings.smtp is None:
        raise MailFault("mail-smtp-not-configured", EXIT["usage"], path=ctx.settings.path or "mail.toml")
    result = SendResult(date)
    files = _report_files(folder, manifest)
    to, cc = list(ctx.contacts.addressee), list(ctx.contacts.department)
    if not to:
        result.problems.append(Problem.make("mail-no-contact", f"report:{date.isoformat()}",
                                            unit=" ".join(ctx.plan.addressee.lines)))
        to, cc = cc, []
    final = any(d.date == date and d.kind == "final" for d in ctx.plan.reporting_dates)
    items = [(f"report:{date.isoformat()}", "report", date, f"report-{date.isoformat()}.eml",
              report_message(ctx.settings, ctx.plan, to, cc, date, final, files))]
    issues = _issues(folder)
    audit = MailAudit(ctx.outbox)
    answered = _answered_by_reply(ctx, audit)
    originals = {str(r.get("sha256")): str(r.get("name")) for r in audit.records()
                 if r.get("event") == "attachment" and r.get("name")}
    for entry in manifest.get("inputs", []):
        if not isinstance(entry, dict) or not entry.get("feedback"):
            continue
        unit, sha = str(entry.get("unit") or ""), str(entry.get("sha256") or "")
        workbook = folder / str(entry["feedback"])
        if not unit or not sha or not workbook.is_file():
            continue
        name = str(entry.get("file", ""))
        listed = issues.get(name, [])
        fixable = {i.code for i in listed if i.severity in ("error", "warning") and i.code not in NOT_IN_WORKBOOK}
        if sha in answered and fixable <= answered[sha]:
            result.already_answered.append(name)
            continue
        recipients = list(ctx.contacts.department if unit == ctx.plan.department.code else ctx.contacts.of(unit))
        if not recipients:
            result.problems.append(Problem.make("mail-no-contact", f"feedback:{name}", unit=unit_name(ctx.plan, unit)))
        label = originals.get(sha) or Path(name).name  # the district's own (masked) name when it came by mail
        items.append((f"feedback:{sha}", "feedback", date, f"{unit}-{sha[:12]}.eml",
                      feedback_message(ctx.settings, ctx.plan, recipients, date, label, listed, workbook,
                                       workbook.name)))
    ledger = Ledger(ctx.outbox)
    result.drafts = write_drafts(ctx.outbox, ledger, items, again=again)
    if send:
        assert ctx.settings.smtp is not None
        try:
            result.delivery = deliver(result.drafts, ctx.settings.smtp, ctx.settings.sender_address, ledger,
                                      again=again)
        except MailFault as fault:
            result.fault = fault
    return result


def _report_files(folder: Path, manifest: dict[str, object]) -> list[Path]:
    """The report's own documents (not a person's file saved beside them), Kazakh first."""
    listed = {str(o.get("file")) for o in manifest.get("outputs", []) if isinstance(o, dict)}  # type: ignore[union-attr]
    files = [folder / name for name in sorted(listed) if "/" not in name and name.endswith(REPORT_SUFFIXES)
             and (folder / name).is_file()]
    return sorted(files, key=lambda p: (p.suffix != ".docx", p.stem.endswith("-ru"), p.name))


def _issues(folder: Path) -> dict[str, list[Issue]]:
    try:
        text = (folder / "issues.csv").read_text(encoding="utf-8-sig")
    except OSError:
        return {}
    out: dict[str, list[Issue]] = {}
    known = catalogue()
    for row in csv.DictReader(io.StringIO(text)):
        name = row.get("file", "").removeprefix("'")
        code = row.get("code", "")
        if code not in known:
            continue
        out.setdefault(name, []).append(Issue(code, row.get("severity", ""), row.get("sheet") or None,
                                              row.get("cell") or None, row.get("message", "").removeprefix("'")))
    return out


def _answered_by_reply(ctx: MailContext, audit: MailAudit) -> dict[str, set[str]]:
    """sha256 → the problem codes a sent reply (with its feedback workbook) already told the district."""
    ledger = Ledger(ctx.outbox)
    out: dict[str, set[str]] = {}
    for record in audit.records():
        if record.get("event") != "attachment" or not record.get("feedback"):
            continue
        if ledger.state(f"reply:{record.get('message')}") != "sent":
            continue
        codes = {str(p.get("code")) for p in record.get("problems", []) if isinstance(p, dict)}  # type: ignore[union-attr]
        out.setdefault(str(record.get("sha256")), set()).update(codes)
    return out
