"""What the pages show, built from the shared status and the audit log: plain dicts for the templates.

No HTTP here (app.py owns that) and no wording (portal.yaml, through the templates); only which facts a
district or the department sees, and in which order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.plan import Plan
from pipeline.problems import Problem
from pipeline.portal.pages import first_to_fix, problem_view
from pipeline.status import CampaignStatus, FileStatus


def stored_name_of(record: dict[str, object]) -> str:
    """The inbox file an upload record stands for: its own, or the earlier upload's it duplicated."""
    if record.get("stored_name"):
        return str(record["stored_name"])
    earlier = record.get("duplicate_of")
    if isinstance(earlier, dict):
        return str(earlier.get("stored_name") or "")
    return str(earlier or "")  # records written before duplicates named the earlier upload


def history(records: Iterable[dict[str, object]], status: CampaignStatus) -> list[dict[str, Any]]:
    """A unit's uploads, newest first, each with what the report makes of its file."""
    by_name = {f.name: f for f in status.files}
    out = []
    for record in reversed(list(records)):
        file_status = by_name.get(stored_name_of(record))
        if not record.get("stored") and not record.get("duplicate_of"):
            in_report = "refused"
        elif file_status is not None:
            in_report = file_status.status
        else:
            in_report = "pending"
        out.append({**record, "in_report": in_report})
    return out


#: what the report makes of a file beside the others of its date, shown with the upload's own answer
ACROSS_FILES = ("value-from-earlier-file",)


def result(record: dict[str, object] | None, lang: str, plan: Plan, status: CampaignStatus | None = None,
           records: Iterable[dict[str, object]] = ()) -> dict[str, Any] | None:
    """One upload's answer as its page shows it: what became of the file, and what to fix first; with the
    status, also what the report does about it beside the unit's other files of that date (a value taken
    from an earlier file, named as the district named it: `records`, the unit's uploads)."""
    if record is None:
        return None
    problems = [problem_view(p, lang, plan) for p in record.get("problems") or [] if isinstance(p, dict)]
    if status is not None:
        now = next((f for f in status.files if f.name == stored_name_of(record)), None)
        originals = {str(r["stored_name"]): str(r.get("original_name") or "") for r in records if r.get("stored_name")}
        for p in (now.problems if now is not None else ()):
            if p.code in ACROSS_FILES:
                params = {k: (originals.get(v) or v) if k == "earlier" else v for k, v in p.params}
                problems.append(problem_view(Problem(p.code, p.file, p.sheet, p.cell, tuple(sorted(params.items()))),
                                             lang, plan))
    earlier = record.get("duplicate_of")
    if record.get("verdict") == "refused" or (not record.get("stored") and not earlier):
        state = "refused"
    elif earlier:
        state = "duplicate"
    else:
        state = {"errors": "stored_errors", "warnings": "stored_warnings"}.get(str(record.get("verdict")), "stored_ok")
    return {
        "id": record.get("id"), "name": record.get("original_name") or "", "verdict": record.get("verdict"),
        "state": state, "problems": problems, "fix_first": first_to_fix(problems) if state == "stored_errors" else None,
        "refusal": problems[0] if state == "refused" and problems else None,
        "earlier": earlier if isinstance(earlier, dict) else None, "feedback": bool(record.get("feedback")),
    }


def unit_files(status: CampaignStatus, unit: str, records: list[dict[str, object]], lang: str,
               plan: Plan) -> list[dict[str, Any]]:
    """The unit's files grouped by reporting date (newest date first; files whose date is unknown last),
    each with its own name as the district sent it (masked), where it came from, and what to download."""
    uploads = {str(r["stored_name"]): r for r in records if r.get("stored_name")}
    groups: dict[dt.date | None, list[dict[str, Any]]] = {}
    for f in sorted(status.files_of(unit), key=lambda f: f.mtime, reverse=True):
        record = uploads.get(f.name)
        groups.setdefault(f.report_date, []).append({
            "file": f, "name": str(record.get("original_name") or "") if record else PurePosixPath(f.name).name,
            "portal": record is not None, "time": record.get("time") if record else f.mtime,
            "problems": [problem_view(p, lang, plan) for p in f.problems],
            "download": bool(f.sha256 and f.source), "feedback": feedback_of(f, record) is not None,
        })
    order = sorted((d for d in groups if d is not None), reverse=True) + ([None] if None in groups else [])
    return [{"date": d, "files": groups[d]} for d in order]


def feedback_of(f: FileStatus, record: dict[str, object] | None) -> tuple[str, str] | None:
    """Where a file's feedback workbook is: ("portal", "<upload id>/<name>") for an upload's own, or
    ("outbox", "<date>/feedback/<name>") for the one a report wrote; None when there is none."""
    if record is not None and record.get("feedback") and record.get("id"):
        return "portal", f"{record['id']}/{record['feedback']}"
    if f.feedback:
        return "outbox", f.feedback
    return None


def report_staleness(status: CampaignStatus, outbox: Path, dates: Iterable[str]) -> dict[str, int]:
    """Published date → how many files in the inbox now that its report did not see (0: up to date): files
    of that date or an earlier one (their figures may be carried), and files whose date is unknown."""
    stale: dict[str, int] = {}
    for date_text in dates:
        try:
            manifest = json.loads((outbox / date_text / "manifest.json").read_text(encoding="utf-8"))
            seen = {str(e.get("sha256")) for e in manifest.get("inputs", []) if isinstance(e, dict)}
        except (OSError, ValueError, AttributeError):
            continue
        date = dt.date.fromisoformat(date_text)
        stale[date_text] = sum(
            1 for f in status.files
            if f.status != "ignored" and f.sha256 not in seen and (f.report_date is None or f.report_date <= date)
            and not PurePosixPath(f.name).name.startswith(".")
        )
    return stale
