"""The whole run for one reporting date: inbox → read → validate → select → aggregate → render → publish.

This is library code: it returns a `ReportResult` and raises `UsageError` for a user's mistake; the CLI
turns both into output and an exit code.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.counts import RunCounts
from pipeline.errors import EXIT, OutboxFault, RunStopped, UsageError
from pipeline.aggregate.select import Selection, select
from pipeline.ingest import read_inbox
from pipeline.ingest.model import RawForm
from pipeline.forms.layout import SOURCE_CODE
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan, plan_fingerprint
from pipeline.plan.clock import local_date
from pipeline.messages import messages
from pipeline.outbox_campaign import check_campaign, record_campaign
from pipeline.publish import (
    Published, discard_run_dir, new_run_dir, outbox_lock, publish, published_manifest, tidy,
)
from pipeline.validate import Problem, Submission, Validation
from pipeline.aggregate.across import check_across
from pipeline.privacy import mask
from pipeline.safe_text import csv_cell
from pipeline.verdicts import FileVerdict
from pipeline.check import NothingToCheck, check_files, verdicts  # noqa: F401 - `check` lives apart (start-up)

if TYPE_CHECKING:
    from pipeline.aggregate.model import ReportData
    from pipeline.render.chart_process import ChartProcess
    from pipeline.render.reuse import OutputCache

ISSUE_COLUMNS = ["file", "sheet", "cell", "code", "severity", "message"]
#: The longest provenance (`form.source`) the manifest repeats: «sha256:» and 64 hex digits, with room to spare.
SOURCE_MAX = 200


def parse_report_date(plan: Plan, text: str) -> dt.date:
    dates = ", ".join(d.isoformat() for d in plan.dates)
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(messages()["usage"]["date_invalid"].format(date=text, dates=dates),
                         "date-argument-invalid") from None
    if date not in plan.dates:
        raise UsageError(messages()["usage"]["date_not_reporting"].format(date=text, dates=dates),
                         "date-argument-not-reporting")
    return date


@dataclass
class ReportResult:
    date: dt.date
    folder: Path | None
    #: every inbox file (all of them are in the manifest)
    files: list[FileVerdict]
    data: ReportData | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # output name → sha256
    #: the files this report concerns (see `concerns`): issues.csv, the exit code and the console
    concerned: list[FileVerdict] | None = None
    published: Published | None = None
    #: files seen / forms of this date used / carried … (the names every output uses: pipeline.counts)
    counts: RunCounts | None = None

    @property
    def own_files(self) -> list[FileVerdict]:
        return self.files if self.concerned is None else self.concerned

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.own_files for p in f.problems]

    @property
    def exit_code(self) -> int:
        return EXIT["file_errors"] if any(f.counts_as_error for f in self.own_files) else EXIT["ok"]

    @property
    def later_files(self) -> int:
        return sum(f.status == "after-date" for f in self.files)


def file_date(plan: Plan, verdict: FileVerdict) -> dt.date:
    """The reporting date a file belongs to: the date its form reports (mapped to a reporting date), or
    for a file whose date cannot be read, the first reporting date on or after the day it arrived."""
    sub = verdict.submission
    day = sub.report_date if sub is not None and sub.report_date is not None else None
    if day is None:
        day = local_date(plan, verdict.raw.mtime) if verdict.raw.mtime else plan.dates[-1]
    return next((d for d in plan.dates if d >= day), plan.dates[-1])


def run_counts(plan: Plan, date: dt.date, files: list[FileVerdict], concerned: list[FileVerdict] | None) -> RunCounts:
    return RunCounts.of(date, files, files if concerned is None else concerned, lambda f: file_date(plan, f))


def concerns(plan: Plan, selection: Selection, files: list[FileVerdict]) -> list[FileVerdict]:
    """The files a report at `selection.date` is about: the files of that date (used or not) and the
    earlier files whose figures it carries forward for a unit that missed the date. Later dates' files
    and earlier files replaced by newer figures are listed in the manifest only."""
    date = selection.date
    carried = set()
    for unit in selection.used:
        latest = selection.latest(unit, date)
        if latest is not None and latest.report_date is not None and latest.report_date < date:
            carried.add(latest.name)
    return [f for f in files if file_date(plan, f) == date or f.raw.name in carried]


class StageClock:
    """Wall time of each stage of a run (seconds, in order), for the benchmark; costs nothing otherwise."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def run_report(
    date_text: str,
    *,
    inbox: Path,
    outbox: Path,
    plan_path: Path = DEFAULT_PLAN,
    workers: int = 2,
    pdf: bool = False,
    on_wait: Callable[[], None] | None = None,
    cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    clock: StageClock | None = None,
    force: bool = False,
) -> ReportResult:
    """`cache`: reuse files read before (see `pipeline.ingest.cache`, kept in `<outbox>/.cache/`);
    `progress(done, total)` is called as files are read; `force`: replace the published report even with
    one built from fewer forms of its date.

    Raises `RunStopped` (nothing written, the published report untouched) when the date has no usable
    submission or would be replaced by a report from fewer forms of its date, and `OutboxFault` when the
    outbox cannot be written."""
    clock = clock or StageClock()
    with clock.stage("plan"):
        plan = load_plan(plan_path)
        date = parse_report_date(plan, date_text)
    if not inbox.is_dir():
        raise UsageError(messages()["usage"]["inbox_missing"].format(path=inbox), "inbox-missing")
    check_folders(inbox, outbox)
    from pipeline.render.chart_process import ChartProcess

    # The chart process is forked before the lock is taken, so it never holds the lock's descriptor.
    with ChartProcess() as charts, outbox_faults(outbox), outbox_lock(outbox, on_wait=on_wait):
        check_campaign(outbox, plan)  # one outbox, one campaign: before anything is read or written
        tidy(outbox)
        subs = _read_and_validate(plan, plan_path, inbox, outbox, workers, cache, progress, clock)
        with clock.stage("select"):
            selection, files, concerned = _select(plan, subs, date)
            counts = run_counts(plan, date, files, concerned)
            something_to_report(counts, date, inbox)
            not_worse_founded(outbox, date, counts, force)
        with clock.stage("aggregate"):
            from pipeline.aggregate.build import aggregate  # pandas: imported by the run that needs it

            data = aggregate(plan, selection, plan_path=plan_path)
        outputs, published = _write_and_publish(plan, plan_path, data, files, concerned, inbox=inbox,
                                                outbox=outbox, pdf=pdf, cache=cache, charts=charts, clock=clock)
    return ReportResult(date, published.folder, files, data, outputs, concerned, published, counts)


def _read_and_validate(plan: Plan, plan_path: Path, inbox: Path, outbox: Path, workers: int, cache: bool,
                       progress: Callable[[int, int], None] | None, clock: StageClock) -> list[Submission]:
    """Every inbox file read and validated. Forms are validated as they are read (the "ingest" stage);
    "validate" is what is left: the ignored files and any form not seen on the way."""
    validation = Validation(plan)
    with clock.stage("ingest"):
        reader_cache = None
        if cache:
            from pipeline.ingest.cache import IngestCache, default_cache_path
            from pipeline.validate.store import rules_fingerprint

            reader_cache = IngestCache.open(default_cache_path(outbox), plan_fingerprint(plan_path),
                                            rules_fingerprint())
            validation.store = reader_cache
        try:
            raws = read_inbox(plan, inbox, workers=workers, cache=reader_cache, progress=progress,
                              on_form=validation.add)
            validation.save()
        finally:
            if reader_cache is not None:
                reader_cache.close()
    with clock.stage("validate"):
        return validation.results(raws)


def _select(plan: Plan, subs: list[Submission], date: dt.date
            ) -> tuple[Selection, list[FileVerdict], list[FileVerdict]]:
    """Which file counts for each unit and date, every file's verdict, and the files this report concerns."""
    selection = select(plan, subs, date)
    files = verdicts(subs, selection, selection.problems + check_across(plan, selection))
    return selection, files, concerns(plan, selection, files)


def _write_and_publish(plan: Plan, plan_path: Path, data: ReportData, files: list[FileVerdict],
                       concerned: list[FileVerdict], *, inbox: Path, outbox: Path, pdf: bool, cache: bool,
                       charts: ChartProcess, clock: StageClock) -> tuple[dict[str, str], Published]:
    """Write every output into a run folder of its own, then make it the published report (under the lock)."""
    run_dir = new_run_dir(outbox, data.date.isoformat())
    try:
        with clock.stage("render"):
            reuse = None
            if cache:
                from pipeline.render.reuse import OutputCache, default_outputs_path

                reuse = OutputCache(default_outputs_path(outbox))
            outputs = write_outputs(run_dir, plan, plan_path, data, files, inbox=inbox, pdf=pdf,
                                    charts=charts, concerned=concerned, reuse=reuse)
            if reuse is not None:
                reuse.tidy()
        with clock.stage("publish"):
            published = publish(outbox, data.date.isoformat(), run_dir)
            record_campaign(outbox, plan, plan_path, plan_fingerprint(plan_path))
            return outputs, published
    except Exception:
        # The chart process may still be drawing into the run folder: let it finish (or fail) first, so
        # that it neither recreates the folder after it is removed nor dies on a closed pipe.
        with contextlib.suppress(Exception):
            charts.finish()
        discard_run_dir(run_dir)  # a failed run leaves nothing behind; the published report is untouched
        raise
    except BaseException:
        discard_run_dir(run_dir)  # interrupted: what the chart process still writes is swept next run
        raise


def check_folders(inbox: Path, outbox: Path) -> None:
    """Refuse, before anything is written, an outbox that is the inbox, inside it, or around it."""
    inside = Path(os.path.realpath(inbox))
    out = Path(os.path.realpath(outbox))
    if out == inside or inside in out.parents:
        raise RunStopped("outbox-inside-inbox", EXIT["usage"], inbox=inbox, outbox=outbox)
    if out in inside.parents:
        raise RunStopped("inbox-inside-outbox", EXIT["usage"], inbox=inbox, outbox=outbox)
    if outbox.exists() and not outbox.is_dir():
        raise OutboxFault("outbox-not-folder", EXIT["outbox_fault"], path=outbox, detail="")


#: errno → the code of the message the department gets about its outbox.
_FAULTS = {
    errno.EROFS: "outbox-read-only",
    errno.EACCES: "outbox-permission-denied",
    errno.EPERM: "outbox-permission-denied",
    errno.ENOSPC: "outbox-disk-full",
    errno.EDQUOT: "outbox-disk-full",
    errno.ENOTDIR: "outbox-not-folder",
    errno.EEXIST: "outbox-not-folder",
}


@contextmanager
def outbox_faults(outbox: Path) -> Iterator[None]:
    """A file-system fault while the outbox is locked or written becomes one clear message (exit 5).

    Reading the inbox never raises OSError here (unreadable files are problems of those files), so an
    OSError in a run is the outbox's."""
    try:
        yield
    except OSError as exc:
        code = _FAULTS.get(exc.errno or 0, "outbox-write-failed")
        where = exc.filename if exc.filename else outbox
        raise OutboxFault(code, EXIT["outbox_fault"], path=where, detail=exc.strerror or str(exc)) from exc


def something_to_report(counts: RunCounts, date: dt.date, inbox: Path) -> None:
    """A report is written only with at least one usable form of its own date (not an empty inbox, not
    only other dates' files): otherwise `report-nothing-to-report`, and the published report stays."""
    if not counts.used_this_date:
        raise RunStopped("report-nothing-to-report", EXIT["nothing_to_report"], date=date.isoformat(), inbox=inbox,
                         seen=counts.files_seen)


def not_worse_founded(outbox: Path, date: dt.date, counts: RunCounts, force: bool) -> None:
    """A published report is replaced only by one built from at least as many forms *of its date*
    (`report-fewer-submissions` otherwise, unless forced). Forms of earlier dates carried forward for units
    that missed the date do not count: late forms of 8 August must not make up for the 17 August forms a
    clerk removed by mistake. The refusal names both reports' counts in the words of the console, `history`
    and the manifest."""
    old = RunCounts.from_manifest(published_manifest(outbox, date.isoformat()))
    if old is not None and counts.used_this_date < old.used_this_date and not force:
        raise RunStopped("report-fewer-submissions", EXIT["refused"], new=counts_text(counts), old=counts_text(old),
                         date=date.isoformat(), used_new=counts.used_this_date, used_old=old.used_this_date)


def counts_text(counts: RunCounts) -> str:
    """«files seen: 88, forms of this date used: 13, carried: 1» in the console's language."""
    return str(messages()["counts"]["line"]).format(
        seen=counts.files_seen, used=counts.used_this_date, carried=counts.carried)


def write_outputs(
    folder: Path, plan: Plan, plan_path: Path, data: ReportData, files: list[FileVerdict], *, inbox: Path,
    pdf: bool, charts: ChartProcess, concerned: list[FileVerdict] | None = None, reuse: OutputCache | None = None,
) -> dict[str, str]:
    """`files`: every inbox file (the manifest); `concerned`: the files this report is about (issues.csv;
    feedback only for those of this very date — an earlier file's feedback went out with its own date);
    `reuse`: outputs kept from earlier runs (charts, summary sheets), used when their inputs are unchanged."""
    # Imported here: rendering pulls in docxtpl and (for charts) matplotlib, which `check` never needs.
    from pipeline.aggregate.build import FIGURE_COLUMNS, figure_rows
    from pipeline.aggregate.facts import shared as shared_facts
    from pipeline.atomic import atomic_write
    from pipeline.render import build_context, to_pdf, write_summary
    from pipeline.render.docx import render_bytes
    from pipeline.render.feedback import write_feedback

    date_text = data.date.isoformat()
    report_path = folder / f"akparat-{date_text}.docx"
    # The charts are drawn while the other outputs are written; the report waits for them last.
    charts.submit(data, folder / "charts", reuse, languages=("kk", "ru"))
    write_summary(data, folder / "summary.xlsx", reuse)
    _write_csv(folder / "figures.csv", figure_rows(data), FIGURE_COLUMNS)
    own = files if concerned is None else concerned
    _write_csv(
        folder / "issues.csv", [_issue_row(p) for f in own for p in f.problems], ISSUE_COLUMNS
    )
    # A file replaced by a correction is not sent back: the district has already sent a newer one.
    this_date = [f for f in own if file_date(plan, f) == data.date and f.status != "superseded"]
    feedback = write_feedback(plan, this_date, folder / "feedback", inbox, reuse)
    # Both copies' text and tables are built while the chart process still draws; only the charts wait.
    russian_path = folder / f"akparat-{date_text}-ru.docx"
    with shared_facts():  # what both copies (text, tables, chart captions) ask of the data is computed once
        contexts = {language: build_context(data, language=language) for language in ("kk", "ru")}
        atomic_write(report_path, render_bytes(data, chart_paths=charts.result(), context=contexts["kk"]))
        # The Russian copy: same data and context builder, its own template and its own (Russian) charts.
        atomic_write(russian_path, render_bytes(data, chart_paths=charts.result("ru"), language="ru",
                                                context=contexts["ru"]))
    if pdf:  # both copies; without LibreOffice none (the console says so)
        for docx in (report_path, russian_path):
            to_pdf(docx, folder)
    outputs = {
        str(path.relative_to(folder)): _sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    sent_back = {name: str(path.relative_to(folder)) for name, path in feedback.items()}
    manifest = _manifest(plan, plan_path, data, files, outputs, sent_back, run_counts(plan, data.date, files, concerned))
    atomic_write(folder / "manifest.json", (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return outputs


def _issue_row(problem: Problem) -> dict[str, str]:
    """Every field of issues.csv: personal data masked, no control character, never a formula in Excel
    (file and sheet names and the values quoted in messages are district text)."""
    return {key: csv_cell(mask(value)[0]) for key, value in problem.as_row().items()}


def _write_csv(path: Path, rows: Iterable[dict[str, str] | list[str]], columns: list[str]) -> None:
    """`rows`: dicts by column name, or lists in the columns' order (streamed, as figure_rows makes them)."""
    buffer = io.StringIO()
    # CRLF (RFC 4180): the csv module quotes a field holding a character of the line terminator, so a lone
    # carriage return in a district's text (a file name, a cell) is quoted too instead of ending the row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] if isinstance(row, dict) else row for row in rows)
    # utf-8-sig: Excel opens a CSV with Kazakh text correctly only with the byte-order mark.
    from pipeline.atomic import atomic_write

    atomic_write(path, buffer.getvalue().encode("utf-8-sig"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(
    plan: Plan, plan_path: Path, data: ReportData, files: list[FileVerdict], outputs: dict[str, str],
    feedback: dict[str, str], counts: RunCounts,
) -> dict[str, object]:
    inputs = []
    for f in files:
        sub = f.submission
        entry: dict[str, object] = {
            "file": f.raw.name,
            "sha256": f.raw.sha256,
            "size": f.raw.size,
            "format": f.raw.format,
            "unit": sub.unit if sub else None,
            "report_date": sub.report_date.isoformat() if sub and sub.report_date else None,
            "filled_date": sub.filled_date.isoformat() if sub and sub.filled_date else None,
            "verdict": f.verdict,
            "status": f.status,
            "belongs_to": file_date(plan, f).isoformat(),
            "codes": sorted({p.code for p in f.problems}),
        }
        replaced_by = next((p.params for p in f.problems if p.code == "submission-superseded"), None)
        if replaced_by:
            entry["superseded_by"] = dict(replaced_by)["by"]
        source = f.raw.cells.get(SOURCE_CODE)
        if source is not None and not source.empty:
            # A form exported from another report (an oblast's): that report's manifest.json sha256. A
            # region's own text, so no longer than a claim of provenance needs.
            entry["source"] = str(source.value).strip()[:SOURCE_MAX]
        if f.raw.name in feedback:
            entry["feedback"] = feedback[f.raw.name]
        if f.status == "ignored":
            entry["reason"] = next(p.code for p in f.problems if p.code.startswith("ignored-"))
        inputs.append(entry)
    return {
        "campaign": plan.campaign.code,
        "date": data.date.isoformat(),
        "plan": {"file": plan_path.name, "sha256": plan_fingerprint(plan_path)},
        "counts": counts.as_dict(),
        "units_reported": sorted(u for u, d in data.source_dates.items() if d is not None),
        "units_stale": sorted(data.stale_units()),
        "inputs": inputs,
        "outputs": [{"file": name, "sha256": digest} for name, digest in outputs.items()],
    }
