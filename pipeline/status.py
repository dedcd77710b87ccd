"""Where the campaign stands: per unit × reporting date, what arrived, what is used, what still needs fixing.

Run layer, beside report.py: it reads the inbox with the same reader, validation, selection and verdicts a
report uses (`read_inbox`, `Validation`, `select`, `report.verdicts`), so a status never disagrees with
the report it predicts. It writes nothing except the shared reader cache under the outbox.

Both faces use it: `python -m pipeline status --date D` (a Kazakh console table) and the portal's
department grid and district history.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.aggregate import select
from pipeline.aggregate.across import check_across
from pipeline.errors import UsageError
from pipeline.ingest import read_inbox
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan, plan_fingerprint
from pipeline.plan.clock import campaign_tz, local_today
from pipeline.problems import Problem
from pipeline.render.feedback import NOT_IN_WORKBOOK
from pipeline.report import messages, parse_report_date, verdicts
from pipeline.validate import Validation
from pipeline.verdicts import FileVerdict

CellState = Literal["on_time", "late", "missing", "not_due"]


@dataclass(frozen=True)
class FileStatus:
    """One inbox file as the report of its date sees it."""

    name: str  # relative to the inbox
    sha256: str
    mtime: float
    unit: str | None
    report_date: dt.date | None
    filled_date: dt.date | None
    verdict: str  # ok | warnings | errors | ignored
    status: str  # used | superseded | after-date | rejected | ignored
    problems: tuple[Problem, ...]
    #: the feedback workbook a report wrote for this file, relative to the outbox (None: none written yet)
    feedback: str | None = None
    #: the file's path as the reader opened it (the name above may be masked): never shown
    source: str = field(default="", compare=False, repr=False)

    @property
    def to_fix(self) -> tuple[Problem, ...]:
        """Problems the district can correct in its workbook (what a feedback workbook is sent for)."""
        return tuple(p for p in self.problems if p.severity in ("error", "warning") and p.code not in NOT_IN_WORKBOOK)

    def arrived(self, tz: dt.tzinfo) -> dt.datetime:
        """The file time on the campaign's clock `tz` (`pipeline.plan.clock.campaign_tz`)."""
        return dt.datetime.fromtimestamp(self.mtime, tz=tz)


@dataclass(frozen=True)
class CellStatus:
    """One unit at one reporting date."""

    unit: str
    date: dt.date
    state: CellState
    days_late: int
    files: tuple[FileStatus, ...]  # every file that reports this unit and date, in arrival order
    used: FileStatus | None  # the one the report uses for this date (the latest), if any

    @property
    def has_errors(self) -> bool:
        return self.used is not None and self.used.verdict == "errors"

    @property
    def to_fix(self) -> tuple[Problem, ...]:
        return self.used.to_fix if self.used is not None else ()

    @property
    def latest(self) -> FileStatus | None:
        return self.files[-1] if self.files else None


@dataclass
class CampaignStatus:
    plan: Plan
    date: dt.date  # the status is as of this reporting date (dates after it are not shown)
    today: dt.date
    cells: dict[tuple[str, dt.date], CellStatus]
    files: list[FileStatus]
    #: files that name no unit or date the report can use (unreadable, unknown unit, …) and ignored files
    unassigned: list[FileStatus] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        return [u.code for u in self.plan.units] + [self.plan.department.code]

    @property
    def dates(self) -> list[dt.date]:
        return [d for d in self.plan.dates if d <= self.date]

    def cell(self, unit: str, date: dt.date) -> CellStatus:
        return self.cells[(unit, date)]

    def counted(self, unit: str) -> FileStatus | None:
        """The file whose figures the report at `date` uses for the unit (possibly of an earlier date)."""
        for d in reversed(self.dates):
            used = self.cells[(unit, d)].used
            if used is not None:
                return used
        return None

    def files_of(self, unit: str) -> list[FileStatus]:
        return [f for f in self.files if f.unit == unit]


def compute_status(
    date_text: str | None,
    *,
    inbox: Path,
    outbox: Path,
    plan_path: Path = DEFAULT_PLAN,
    workers: int = 2,
    cache: bool = True,
    today: dt.date | None = None,
) -> CampaignStatus:
    """The status as of the reporting date `date_text` (None: the campaign's final date, i.e. everything)."""
    plan = load_plan(plan_path)
    date = parse_report_date(plan, date_text) if date_text is not None else plan.final_date
    if not inbox.is_dir():
        raise UsageError(messages()["usage"]["inbox_missing"].format(path=inbox), "inbox-missing")
    today = today or local_today(plan)
    validation = Validation(plan)
    reader_cache = None
    if cache:
        from pipeline.ingest.cache import IngestCache, default_cache_path
        from pipeline.validate.store import rules_fingerprint

        reader_cache = IngestCache.open(default_cache_path(outbox), plan_fingerprint(plan_path), rules_fingerprint())
        validation.store = reader_cache
    try:
        raws = read_inbox(plan, inbox, workers=workers, cache=reader_cache, on_form=validation.add)
        validation.save()
    finally:
        if reader_cache is not None:
            reader_cache.close()
    subs = validation.results(raws)
    # The report of `date` decides used / superseded; files of later dates are not part of it.
    selection = select(plan, subs, date)
    files = verdicts(subs, selection, selection.problems + check_across(plan, selection))
    feedback = _feedback_files(outbox, plan, date)
    statuses = [_file_status(f, feedback) for f in files]
    by_name = {f.name: f for f in statuses}

    cells: dict[tuple[str, dt.date], CellStatus] = {}
    for row in selection.timeliness:
        arrived = sorted(
            (f for f in statuses if f.unit == row.unit and f.report_date == row.date and f.status != "ignored"),
            key=lambda f: (f.filled_date or dt.date.min, f.mtime, f.name),
        )
        chosen = selection.used.get(row.unit, {}).get(row.date)
        state: CellState = row.state
        if state == "missing" and row.date >= today:
            state = "not_due"
        cells[(row.unit, row.date)] = CellStatus(
            row.unit, row.date, state, row.days_late, tuple(arrived),
            by_name.get(chosen.name) if chosen is not None else None,
        )
    unassigned = [f for f in statuses if f.unit is None or f.report_date is None or f.status in ("ignored", "rejected")]
    return CampaignStatus(plan, date, today, cells, statuses, unassigned)


def _file_status(f: FileVerdict, feedback: dict[str, str]) -> FileStatus:
    sub = f.submission
    return FileStatus(
        name=f.raw.name, sha256=f.raw.sha256, mtime=f.raw.mtime,
        unit=sub.unit if sub else None,
        report_date=sub.report_date if sub else None,
        filled_date=sub.filled_date if sub else None,
        verdict=f.verdict, status=f.status, problems=tuple(f.problems),
        feedback=feedback.get(f.raw.sha256), source=f.raw.source,
    )


def _feedback_files(outbox: Path, plan: Plan, date: dt.date) -> dict[str, str]:
    """sha256 of an input → its feedback workbook (outbox-relative), from the published reports' manifests.

    The earliest report that wrote one wins: that is the folder the department sent it from. Keyed by the
    file's bytes, not its name, so a renamed or re-saved copy of the same file still finds its feedback.
    """
    found: dict[str, str] = {}
    for d in plan.dates:
        if d > date:
            break
        manifest = outbox / d.isoformat() / "manifest.json"
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # no report for that date yet, or a half-edited manifest: nothing to point at
        for entry in data.get("inputs", []):
            if isinstance(entry, dict) and entry.get("feedback") and entry.get("sha256"):
                found.setdefault(str(entry["sha256"]), f"{d.isoformat()}/{entry['feedback']}")
    return found


def status_table(status: CampaignStatus) -> str:
    """The console table of `status --date D` in the console's language: one row per unit at D, aligned."""
    from pipeline.messages import current_lang, status_words

    words = status_words()["status"]
    none = words["none"]
    plan, date = status.plan, status.date
    ru = current_lang() == "ru"
    names = ({u.code: (u.name_ru if ru and u.name_ru else u.name) for u in plan.units}
             | {plan.department.code: plan.department.name_ru if ru and plan.department.name_ru else plan.department.name})
    campaign = plan.campaign.name_ru if ru and plan.campaign.name_ru else plan.campaign.name
    rows: list[list[str]] = [list(words["columns"])]
    totals = {"arrived": 0, "fix": 0, "missing": 0}
    for unit in status.units:
        cell = status.cell(unit, date)
        arrived = (words["arrived"].format(count=len(cell.files),
                                           time=cell.latest.arrived(campaign_tz(plan)).strftime("%d.%m %H:%M"))
                   if cell.latest else none)
        state = words["states"][cell.state].format(days=cell.days_late)
        counted = status.counted(unit)
        if counted is None:
            used = none
        elif counted.report_date == date:
            used = counted.name
        else:
            used = words["carried"].format(file=counted.name, date=counted.report_date.strftime("%d.%m.%Y")
                                           if counted.report_date else none)
        fix = cell.to_fix
        fix_text = words["fix"].format(count=len(fix), codes=",".join(sorted({p.code for p in fix}))) if fix else none
        if fix and cell.used is not None:
            feedback = cell.used.feedback or words["feedback_pending"].format(date=date.isoformat())
        else:
            feedback = none
        totals["arrived"] += bool(cell.files)
        totals["fix"] += bool(fix)
        totals["missing"] += cell.state == "missing"
        rows.append([names[unit], arrived, state, used, fix_text, feedback])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [words["title"].format(date=date.strftime("%d.%m.%Y"), campaign=campaign), ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    strays = [f for f in status.unassigned if f.status != "ignored"]
    if strays:
        lines += ["", words["unassigned"]]
        lines += [words["unassigned_line"].format(file=f.name, codes=",".join(sorted({p.code for p in f.problems
                                                                                       if p.severity == "error"})) or none)
                  for f in strays]
    lines += ["", words["summary"].format(units=len(status.units), **totals)]
    return "\n".join(lines) + "\n"
