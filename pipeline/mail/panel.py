"""What the portal's department page shows about mail: the jobs' last outcomes, and who would get a reminder
(before the next deadline) or a lateness notice (after the last one), each with its draft to download.

Built from the status the page has already computed (no second reading of the inbox) and the scheduler's
`jobs.json`; the drafts are made on request from the same function `remind` uses (`remind.draft_for`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pipeline.errors import RunStopped, UsageError
from pipeline.mail.context import MailContext
from pipeline.mail.outgoing import UNSENT
from pipeline.mail.remind import Reminder, draft_for, who_needs_reminding
from pipeline.mail.schedule import JobState
from pipeline.plan import PlanError
from pipeline.status import CampaignStatus
from pipeline.texts import load_data


def panel_words(lang: str) -> dict[str, Any]:
    return load_data("mail.yaml")[lang if lang in ("kk", "ru") else "kk"]["panel"]


def panel_dates(dates: list[dt.date], today: dt.date) -> list[dt.date]:
    """The last deadline passed (lateness) and the next one (reminders)."""
    past = [d for d in dates if d < today]
    coming = [d for d in dates if d >= today]
    return ([past[-1]] if past else []) + ([coming[0]] if coming else [])


def mail_panel(settings_file: Path, *, inbox: Path, outbox: Path, plan_path: Path, status: CampaignStatus,
               today: dt.date, lang: str) -> dict[str, Any]:
    w = panel_words(lang)
    try:
        ctx = MailContext.load(settings_file, plan_path=plan_path, inbox=inbox, outbox=outbox)
    except (RunStopped, UsageError, PlanError) as exc:
        return {"w": w, "error": _message(exc, lang), "groups": [], "jobs": [], "configured": False}
    groups = []
    for date in panel_dates([d for d in status.dates], today):
        rows = who_needs_reminding(ctx, status, date, today)
        groups.append({"date": date, "rows": [_row(ctx, r, lang) for r in rows]})
    jobs = [o for o in JobState(outbox).outcomes() if o.job != "settings" or o.outcome == "failed"][:12]
    return {"w": w, "error": None, "groups": groups, "jobs": jobs, "configured": ctx.settings.path is not None}


def _row(ctx: MailContext, r: Reminder, lang: str) -> dict[str, Any]:
    from pipeline.mail.compose import unit_name

    return {"unit": r.unit, "name": unit_name(ctx.plan, r.unit, lang), "kind": r.kind, "late_days": r.late_days,
            "reason": r.reason, "to": ", ".join(r.to), "date": r.date.isoformat()}


def draft_bytes(settings_file: Path, *, inbox: Path, outbox: Path, plan_path: Path, status: CampaignStatus,
                date_text: str, unit: str, today: dt.date) -> bytes | None:
    """The reminder draft for one unit and date as an .eml file, or None when it would get none."""
    ctx = MailContext.load(settings_file, plan_path=plan_path, inbox=inbox, outbox=outbox)
    date = next((d for d in status.dates if d.isoformat() == date_text), None)
    if date is None:
        return None
    reminder = next((r for r in who_needs_reminding(ctx, status, date, today) if r.unit == unit), None)
    if reminder is None:
        return None
    return UNSENT + draft_for(ctx, reminder).as_bytes()


def _message(exc: Exception, lang: str) -> str:
    if isinstance(exc, RunStopped):
        from pipeline.messages import messages

        template = messages(lang)["run"].get(exc.code, exc.code)
        return f"[{exc.code}] " + str(template).format(**{k: str(v) for k, v in exc.params.items()})
    return " ".join(str(exc).split())
