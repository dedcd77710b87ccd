"""The mail jobs on a schedule: what `serve` runs in the background and `mail tick` runs once (for cron).

    fetch                 every `schedule.fetch_minutes` (when [imap] is set), replying when
                          `schedule.reply`, sending when `schedule.send`
    remind-before:<D>     at `remind_at` local time, `remind_days_before` days before each reporting date D
    remind-after:<D>      at `remind_at`, `remind_days_after` days after D (a lateness notice)
    report-drafts:<D>     once every unit has a usable form for the current date D: the report is built and
                          the letters to leadership and the districts are written as drafts (never sent by
                          the schedule: a person reads the report first, then `mail send --date D --send`)

Each job's last outcome (and the dated jobs done) is kept in `outbox/.mail/jobs.json`, one line per outcome
in `outbox/.mail/mail.log` (with the traceback of an unexpected error). A failed job is tried again after
`schedule.retry_minutes`; a job never raises out of `tick`, so a mail server that is down never stops the
portal. A reminder whose day has passed without the job running (the computer was off) is not sent late.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.atomic import atomic_write
from pipeline.errors import RunStopped, UsageError
from pipeline.plan.clock import campaign_tz
from pipeline.mail.context import MailContext
from pipeline.mail.journal import job_lock, mail_dir, stamp
from pipeline.plan import PlanError

JOBS_FILE = "jobs.json"
LOG_FILE = "mail.log"
LOG_LIMIT = 2_000_000  # bytes; the log is cut to its last half beyond this
TICK_SECONDS = 30
#: the report-drafts job looks at a reporting date from the day after the previous date until this many
#: days after it (late units still arrive)
DRAFTS_WINDOW_DAYS = 7


@dataclass
class JobOutcome:
    job: str
    time: str
    outcome: str  # ok | failed | skipped
    code: str = ""
    detail: str = ""

    @property
    def kind(self) -> str:
        return self.job.split(":", 1)[0]

    @property
    def date(self) -> str:
        return self.job.split(":", 1)[1] if ":" in self.job else ""


class JobState:
    def __init__(self, outbox: Path) -> None:
        self.path = mail_dir(outbox) / JOBS_FILE
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.jobs: dict[str, dict[str, str]] = data.get("jobs", {}) if isinstance(data, dict) else {}
        self.done: set[str] = set(data.get("done", [])) if isinstance(data, dict) else set()

    def save(self) -> None:
        body = json.dumps({"jobs": self.jobs, "done": sorted(self.done)}, ensure_ascii=False, indent=1)
        atomic_write(self.path, body.encode("utf-8"), mode=0o640)

    def last(self, job: str) -> dict[str, str] | None:
        return self.jobs.get(job)

    def outcomes(self) -> list[JobOutcome]:
        out = []
        for job, record in self.jobs.items():
            out.append(JobOutcome(job, record.get("time", ""), record.get("outcome", ""), record.get("code", ""),
                                  record.get("detail", "")))
        return sorted(out, key=lambda o: o.time, reverse=True)


class MailScheduler:
    """`tick()` runs the jobs due at `now()`; `load()` gives a fresh MailContext each tick (settings edited
    while `serve` runs take effect at the next tick)."""

    def __init__(self, load: Callable[[], MailContext], outbox: Path, *, now: Callable[[], dt.datetime] | None = None,
                 workers: int = 1) -> None:
        self.load = load
        self.outbox = Path(outbox)
        self.now = now
        self.workers = workers

    # --- what is due ---------------------------------------------------------------------------------------
    def due(self, ctx: MailContext, state: JobState, now: dt.datetime) -> list[str]:
        s = ctx.settings.schedule
        jobs: list[str] = []
        if ctx.settings.imap is not None and self._time_for(state, "fetch", now, s.fetch_minutes, s.retry_minutes):
            jobs.append("fetch")
        today = now.date()
        for d in ctx.plan.dates:
            for kind, day in (("remind-before", d - dt.timedelta(days=s.remind_days_before)),
                              ("remind-after", d + dt.timedelta(days=s.remind_days_after))):
                job = f"{kind}:{d.isoformat()}"
                if (day == today and now.time() >= s.remind_at and job not in state.done
                        and self._retry_allowed(state, job, now, s.retry_minutes)):
                    jobs.append(job)
        if s.report_drafts:
            for d in self._current_dates(ctx, today):
                job = f"report-drafts:{d.isoformat()}"
                if job not in state.done and self._time_for(state, job, now, s.fetch_minutes, s.retry_minutes):
                    jobs.append(job)
        return jobs

    @staticmethod
    def _time_for(state: JobState, job: str, now: dt.datetime, every: int, retry: int) -> bool:
        last = state.last(job)
        if last is None:
            return True
        try:
            when = dt.datetime.fromisoformat(last["time"])
        except (KeyError, ValueError):
            return True
        wait = retry if last.get("outcome") == "failed" else every
        return now >= when + dt.timedelta(minutes=wait)

    @staticmethod
    def _retry_allowed(state: JobState, job: str, now: dt.datetime, retry: int) -> bool:
        last = state.last(job)
        if last is None or last.get("outcome") != "failed":
            return True
        try:
            return now >= dt.datetime.fromisoformat(last["time"]) + dt.timedelta(minutes=retry)
        except (KeyError, ValueError):
            return True

    @staticmethod
    def _current_dates(ctx: MailContext, today: dt.date) -> list[dt.date]:
        dates = ctx.plan.dates
        out = []
        for i, d in enumerate(dates):
            start = dates[i - 1] if i else dt.date.min
            if start < today <= d + dt.timedelta(days=DRAFTS_WINDOW_DAYS):
                out.append(d)
        return out

    # --- running -------------------------------------------------------------------------------------------
    def tick(self) -> list[JobOutcome]:
        """Run what is due now; never raises. Another process running the jobs: nothing is done."""
        # Read once, before the lock and the settings: on the campaign's clock once the plan is known.
        now = self.now() if self.now is not None else dt.datetime.now(dt.timezone.utc)
        with job_lock(self.outbox, "tick") as got:
            if not got:
                return []
            state = JobState(self.outbox)
            try:
                ctx = self.load()
            except (RunStopped, UsageError, PlanError, OSError) as exc:
                outcome = JobOutcome("settings", stamp(now), "failed", getattr(exc, "code", type(exc).__name__),
                                     _one_line(exc))
                self._record(state, outcome)
                state.save()
                return [outcome]
            if self.now is not None:
                ctx.now = self.now
            now = now.astimezone(campaign_tz(ctx.plan))
            state.jobs.pop("settings", None)
            outcomes = []
            for job in self.due(ctx, state, now):
                outcome = self._run(ctx, job, now)
                self._record(state, outcome)
                if outcome.outcome in ("ok", "skipped") and job != "fetch":
                    state.done.add(job)
                state.save()
                outcomes.append(outcome)
            return outcomes

    def _run(self, ctx: MailContext, job: str, now: dt.datetime) -> JobOutcome:
        kind, _, date = job.partition(":")
        try:
            if kind == "fetch":
                return self._fetch(ctx, now)
            if kind in ("remind-before", "remind-after"):
                return self._remind(ctx, job, date, now)
            if kind == "report-drafts":
                return self._drafts(ctx, job, date, now)
            return JobOutcome(job, stamp(now), "skipped")
        except RunStopped as exc:
            return JobOutcome(job, stamp(now), "failed", exc.code, _run_message(exc))
        except (UsageError, PlanError) as exc:
            return JobOutcome(job, stamp(now), "failed", "usage", _one_line(exc))
        except Exception as exc:  # noqa: BLE001 - a job's bug must never stop the portal; its traceback is logged
            self._log(f"{stamp(now)} {job} crashed\n{traceback.format_exc()}")
            return JobOutcome(job, stamp(now), "failed", "mail-job-crashed", _run_message(RunStopped(
                "mail-job-crashed", 0, detail=type(exc).__name__, log=mail_dir(self.outbox) / LOG_FILE)))

    def _fetch(self, ctx: MailContext, now: dt.datetime) -> JobOutcome:
        from pipeline.mail.fetch import FetchJob

        s = ctx.settings.schedule
        result = FetchJob(ctx.settings, ctx.contacts, ctx.plan, ctx.plan_path, ctx.inbox, ctx.outbox,
                          reply=s.reply, send=s.send and ctx.settings.smtp is not None, workers=self.workers,
                          now=ctx.now).run()
        if result.busy:
            return JobOutcome("fetch", stamp(now), "skipped", "busy")
        stored = sum(f.stored for f in result.files)
        detail = f"messages={len(result.messages)} stored={stored} drafts={len(result.drafts)}"
        if result.delivery is not None:
            detail += f" sent={len(result.delivery.sent)}"
        if result.fault is not None:
            return JobOutcome("fetch", stamp(now), "failed", result.fault.code, f"{_run_message(result.fault)} ({detail})")
        return JobOutcome("fetch", stamp(now), "ok", "", detail)

    def _remind(self, ctx: MailContext, job: str, date: str, now: dt.datetime) -> JobOutcome:
        from pipeline.mail.remind import remind

        s = ctx.settings.schedule
        result = remind(ctx, date, today=now.date(), send=s.send and ctx.settings.smtp is not None,
                        workers=self.workers)
        detail = f"units={len(result.reminders)} drafts={len(result.drafts)}"
        if result.delivery is not None:
            detail += f" sent={len(result.delivery.sent)}"
        if result.fault is not None:
            return JobOutcome(job, stamp(now), "failed", result.fault.code, f"{_run_message(result.fault)} ({detail})")
        return JobOutcome(job, stamp(now), "ok", "", detail)

    def _drafts(self, ctx: MailContext, job: str, date: str, now: dt.datetime) -> JobOutcome:
        from pipeline.mail.report_mail import send_report
        from pipeline.report import run_report
        from pipeline.status import compute_status

        status = compute_status(date, inbox=ctx.inbox, outbox=ctx.outbox, plan_path=ctx.plan_path,
                                workers=self.workers, today=now.date())
        day = dt.date.fromisoformat(date)
        waiting = [u.code for u in ctx.plan.units if status.cell(u.code, day).used is None]
        if waiting:
            # Not due yet: the last unit has not reported. Recorded as a look, not as a run (no "done").
            return JobOutcome(job, stamp(now), "waiting", "", f"waiting={len(waiting)}")
        run_report(date, inbox=ctx.inbox, outbox=ctx.outbox, plan_path=ctx.plan_path, workers=self.workers)
        result = send_report(ctx, date, send=False)
        return JobOutcome(job, stamp(now), "ok", "", f"drafts={len(result.drafts)}")

    # --- records -------------------------------------------------------------------------------------------
    def _record(self, state: JobState, outcome: JobOutcome) -> None:
        state.jobs[outcome.job] = {k: v for k, v in asdict(outcome).items() if k != "job"}
        self._log(f"{outcome.time} {outcome.job} {outcome.outcome} {outcome.code} {outcome.detail}".rstrip())

    def _log(self, line: str) -> None:
        path = mail_dir(self.outbox) / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.exists() and path.stat().st_size > LOG_LIMIT:
                data = path.read_bytes()
                atomic_write(path, data[len(data) // 2:], mode=0o640)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError:
            pass  # a log that cannot be written never stops a job

    def run_forever(self, stop: threading.Event, interval: float = TICK_SECONDS, delay: float = 0.0) -> None:
        if stop.wait(delay):
            return
        while not stop.is_set():
            self.tick()
            stop.wait(interval)


def start_in_background(scheduler: MailScheduler, delay: float = 0.0) -> tuple[threading.Thread, threading.Event]:
    """The scheduler's own daemon thread (serve): the portal's requests never wait for a mail job."""
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop, TICK_SECONDS, delay), name="mail-jobs",
                              daemon=True)
    thread.start()
    return thread, stop


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _run_message(exc: RunStopped) -> str:
    from pipeline.messages import messages

    template = messages()["run"].get(exc.code, exc.code)
    try:
        return " ".join(str(template).format(**{k: str(v) for k, v in exc.params.items()}).split())[:300]
    except (KeyError, IndexError, ValueError):
        return exc.code
