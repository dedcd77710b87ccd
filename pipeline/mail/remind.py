"""`remind --date D`: a reminder before D's deadline, a lateness notice after it, to each unit that has not
sent a usable form for D or whose form needs correction.

Who needs one is read from the campaign's status (`pipeline.status.compute_status`, the same reading of the
inbox as `status`, the portal's grid and the report), so a reminder never disagrees with the report it
chases. The deadline is the end of D on the campaign's clock (`pipeline.plan.clock`, the plan's utc_offset).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pipeline.mail.compose import reminder_message, unit_name
from pipeline.mail.context import MailContext
from pipeline.mail.outgoing import Draft, Ledger, Letter, write_drafts
from pipeline.mail.settings import MailFault
from pipeline.mail.smtp import Delivery, deliver
from pipeline.errors import EXIT
from pipeline.problems import Problem
from pipeline.report import parse_report_date
from pipeline.status import CampaignStatus, compute_status


@dataclass(frozen=True)
class Reminder:
    unit: str
    date: dt.date
    kind: Literal["before", "after"]
    late_days: int
    reason: Literal["missing", "errors"]
    problems: tuple[Problem, ...]
    to: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"remind:{self.date.isoformat()}:{self.unit}"


def who_needs_reminding(ctx: MailContext, status: CampaignStatus, date: dt.date, today: dt.date) -> list[Reminder]:
    """The units (not the department itself) with no usable form for `date`, or whose form has errors."""
    out: list[Reminder] = []
    after = today > date
    for unit in (u.code for u in ctx.plan.units):
        cell = status.cell(unit, date)
        if cell.used is None:
            latest = cell.latest
            reason = "errors" if latest is not None and latest.verdict == "errors" else "missing"
            problems = latest.to_fix if reason == "errors" and latest is not None else ()
        elif cell.has_errors:
            reason, problems = "errors", cell.to_fix
        else:
            continue
        out.append(Reminder(unit, date, "after" if after else "before", (today - date).days if after else 0,
                            reason, tuple(problems), ctx.contacts.of(unit)))
    return out


@dataclass
class RemindResult:
    date: dt.date
    today: dt.date
    reminders: list[Reminder] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    delivery: Delivery | None = None
    problems: list[Problem] = field(default_factory=list)
    fault: MailFault | None = None


def remind(ctx: MailContext, date_text: str, *, today: dt.date | None = None, send: bool = False,
           again: bool = False, workers: int = 2) -> RemindResult:
    date = parse_report_date(ctx.plan, date_text)
    today = today or ctx.now().date()
    if send and ctx.settings.smtp is None:
        raise MailFault("mail-smtp-not-configured", EXIT["usage"], path=ctx.settings.path or "mail.toml")
    status = compute_status(date.isoformat(), inbox=ctx.inbox, outbox=ctx.outbox, plan_path=ctx.plan_path,
                            workers=workers, today=today)
    result = RemindResult(date, today, who_needs_reminding(ctx, status, date, today))
    items = []
    for r in result.reminders:
        if not r.to:
            result.problems.append(Problem.make("mail-no-contact", r.key, unit=unit_name(ctx.plan, r.unit)))
        message = draft_for(ctx, r)
        # One a day per unit and date: a re-run the same day sends nothing twice; the next day is a new notice.
        items.append((f"{r.key}:{today.isoformat()}", "remind", date, f"{r.unit}-{r.kind}-{today.isoformat()}.eml",
                      message))
    ledger = Ledger(ctx.outbox)
    result.drafts = write_drafts(ctx.outbox, ledger, items, again=again) if items else []
    if send and result.drafts:
        assert ctx.settings.smtp is not None
        try:
            result.delivery = deliver(result.drafts, ctx.settings.smtp, ctx.settings.sender_address, ledger,
                                      again=again)
        except MailFault as fault:
            result.fault = fault
    return result


def draft_for(ctx: MailContext, r: Reminder) -> Letter:
    return reminder_message(ctx.settings, ctx.plan, list(r.to), r.unit, r.date, late_days=r.late_days,
                            reason=r.reason, problems=list(r.problems))
