"""Which campaign an outbox belongs to: one outbox, one campaign.

Two campaigns (two plan files) may live in one installation, each with its own outbox. The first report
published into an outbox writes `outbox/.campaign.json` (the campaign's code, name and year, and the plan
file's name and sha256 at that moment). A run of another campaign (another `campaign.code`) into that
outbox is refused before anything is read or written (`outbox-other-campaign`, exit 2: a usage mistake —
the wrong --plan or the wrong --outbox). The same campaign with an edited plan file (a typo fixed, a date
moved) is still the same campaign: it may publish.

An outbox that holds reports but no record (made before this record existed) is judged by its report
folders: dates the plan does not have mean another campaign (`outbox-other-campaign-dates`); otherwise the
record is written with the next publication.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_write
from pipeline.errors import EXIT, RunStopped
from pipeline.plan.model import Plan

RECORD = ".campaign.json"
_DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def recorded(outbox: Path) -> dict[str, Any] | None:
    """The outbox's campaign record, or None (none written yet, or unreadable: then it is written again)."""
    try:
        data = json.loads((outbox / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("code"), str) else None


def check_campaign(outbox: Path, plan: Plan) -> None:
    """Refuse a run of `plan` into an outbox of another campaign (raises RunStopped, exit 2)."""
    record = recorded(outbox)
    if record is not None:
        if record["code"] != plan.campaign.code:
            raise RunStopped("outbox-other-campaign", EXIT["usage"], outbox=outbox, theirs=record["code"],
                             name=record.get("name", ""), ours=plan.campaign.code)
        return
    if not outbox.is_dir():
        return
    ours = {d.isoformat() for d in plan.dates}
    foreign = sorted(p.name for p in outbox.iterdir()
                     if p.is_dir() and _DATE_FOLDER.match(p.name) and p.name not in ours)
    if foreign:
        raise RunStopped("outbox-other-campaign-dates", EXIT["usage"], outbox=outbox, dates=", ".join(foreign),
                         ours=plan.campaign.code)


def record_campaign(outbox: Path, plan: Plan, plan_path: Path, fingerprint: str) -> None:
    """Write the record with the outbox's first publication (called under the outbox lock)."""
    if recorded(outbox) is not None:
        return
    record = {
        "code": plan.campaign.code,
        "name": plan.campaign.name,
        "year": plan.campaign.year,
        "plan_file": Path(plan_path).name,
        "plan_sha256": fingerprint,
        "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write(outbox / RECORD, (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
