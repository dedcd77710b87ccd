"""The whole run for one reporting date: inbox → read → validate → select → aggregate → render → publish.

This is library code: it returns a `ReportResult` and raises `UsageError` for a user's mistake; the CLI
turns both into output and an exit code.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pipeline.errors import UsageError
from pipeline.aggregate import ReportData, Selection, aggregate, figures_table, select
from pipeline.aggregate.build import FIGURE_COLUMNS
from pipeline.ingest import read_files, read_inbox
from pipeline.ingest.model import RawForm
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan, plan_fingerprint
from pipeline.publish import new_run_dir, outbox_lock, publish
from pipeline.validate import Problem, Submission, Validation
from pipeline.aggregate.across import check_across
from pipeline.privacy import mask
from pipeline.problems import SEVERITY_ORDER
from pipeline.safe_text import csv_cell
from pipeline.verdicts import FileVerdict

if TYPE_CHECKING:
    from pipeline.render.chart_process import ChartProcess

MESSAGES_PATH = Path(__file__).resolve().parent / "data" / "messages.yaml"
ISSUE_COLUMNS = ["file", "sheet", "cell", "code", "severity", "message"]


@cache
def messages() -> dict[str, dict[str, str]]:
    return yaml.safe_load(MESSAGES_PATH.read_text(encoding="utf-8"))


def parse_report_date(plan: Plan, text: str) -> dt.date:
    dates = ", ".join(d.isoformat() for d in plan.dates)
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(messages()["usage"]["date_invalid"].format(date=text, dates=dates)) from None
    if date not in plan.dates:
        raise UsageError(messages()["usage"]["date_not_reporting"].format(date=text, dates=dates))
    return date


@dataclass
class ReportResult:
    date: dt.date
    folder: Path | None
    files: list[FileVerdict]
    data: ReportData | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # output name → sha256

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def exit_code(self) -> int:
        return 1 if any(f.counts_as_error for f in self.files) else 0


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, SEVERITY_ORDER[p.severity], p.sheet or "", _cell_key(p.cell), p.code))


def _cell_key(cell: str | None) -> tuple[int, str]:
    if not cell:
        return (0, "")
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    return (int(digits) if digits else 0, letters)


def verdicts(subs: list[Submission], selection: Selection | None, extra: list[Problem]) -> list[FileVerdict]:
    by_file: dict[str, list[Problem]] = {}
    for problem in extra:
        by_file.setdefault(problem.file, []).append(problem)
    used = selection.used_names() if selection else set()
    out = []
    for sub in sorted(subs, key=lambda s: s.name):
        problems = _sorted(sub.problems + by_file.get(sub.name, []))
        if selection is None:
            status = "checked"
        elif any(p.code.startswith("ignored-") for p in problems):
            status = "ignored"
        elif sub.name in used:
            status = "used"
        elif sub.name in selection.superseded:
            status = "superseded"
        elif sub.name in selection.after_date:
            status = "after-date"
        else:
            status = "rejected"
        out.append(FileVerdict(sub.raw, sub, problems, status))
    return out


def check_files(paths: list[Path], *, plan_path: Path = DEFAULT_PLAN, workers: int = 2) -> list[FileVerdict]:
    """Validate files on their own, without writing a report (the `check` command)."""
    plan = load_plan(plan_path)
    for path in paths:
        if not path.exists():
            raise UsageError(messages()["usage"]["file_missing"].format(path=path))
    validation = Validation(plan)
    raws = read_files(plan, paths, workers=workers, on_form=validation.add)
    return verdicts(validation.results(raws), None, [])


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
) -> ReportResult:
    """`cache`: reuse files read before (see `pipeline.ingest.cache`, kept in `<outbox>/.cache/`);
    `progress(done, total)` is called as files are read."""
    clock = clock or StageClock()
    with clock.stage("plan"):
        plan = load_plan(plan_path)
        date = parse_report_date(plan, date_text)
    if not inbox.is_dir():
        raise UsageError(messages()["usage"]["inbox_missing"].format(path=inbox))
    from pipeline.render.chart_process import ChartProcess

    # The chart process is forked before the lock is taken, so it never holds the lock's descriptor.
    with ChartProcess() as charts, outbox_lock(outbox, on_wait=on_wait):
        # Forms are validated as they are read (the "ingest" stage); "validate" is what is left: the
        # ignored files and any form not seen on the way.
        validation = Validation(plan)
        with clock.stage("ingest"):
            reader_cache = None
            if cache:
                from pipeline.ingest.cache import IngestCache, default_cache_path

                reader_cache = IngestCache.open(default_cache_path(outbox), plan_fingerprint(plan_path))
            try:
                raws = read_inbox(plan, inbox, workers=workers, cache=reader_cache, progress=progress,
                                  on_form=validation.add)
            finally:
                if reader_cache is not None:
                    reader_cache.close()
        with clock.stage("validate"):
            subs = validation.results(raws)
        with clock.stage("select"):
            selection = select(plan, subs, date)
            extra = selection.problems + check_across(plan, selection)
            files = verdicts(subs, selection, extra)
        with clock.stage("aggregate"):
            data = aggregate(plan, selection)
        with clock.stage("render"):
            run_dir = new_run_dir(outbox, date.isoformat())
            outputs = write_outputs(run_dir, plan, plan_path, data, files, inbox=inbox, pdf=pdf, charts=charts)
        with clock.stage("publish"):
            folder = publish(outbox, date.isoformat(), run_dir)
    return ReportResult(date, folder, files, data, outputs)


def write_outputs(
    folder: Path, plan: Plan, plan_path: Path, data: ReportData, files: list[FileVerdict], *, inbox: Path,
    pdf: bool, charts: ChartProcess,
) -> dict[str, str]:
    # Imported here: rendering pulls in docxtpl and (for charts) matplotlib, which `check` never needs.
    from pipeline.render import to_pdf, write_summary
    from pipeline.atomic import atomic_write
    from pipeline.render.docx import render_bytes
    from pipeline.render.feedback import write_feedback

    date_text = data.date.isoformat()
    report_path = folder / f"akparat-{date_text}.docx"
    # The charts are drawn while the other outputs are written; the report waits for them last.
    charts.submit(data, folder / "charts")
    write_summary(data, folder / "summary.xlsx")
    _write_csv(folder / "figures.csv", _figures_rows(data), FIGURE_COLUMNS)
    _write_csv(
        folder / "issues.csv", [_issue_row(p) for f in files for p in f.problems], ISSUE_COLUMNS
    )
    feedback = write_feedback(plan, files, folder / "feedback", inbox)
    atomic_write(report_path, render_bytes(data, chart_paths=charts.result()))
    # The Russian copy: same data and context builder, its own template; the charts are drawn in Kazakh,
    # so it goes without them.
    atomic_write(folder / f"akparat-{date_text}-ru.docx", render_bytes(data, language="ru"))
    if pdf:
        to_pdf(report_path, folder)
    outputs = {
        str(path.relative_to(folder)): _sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    sent_back = {name: str(path.relative_to(folder)) for name, path in feedback.items()}
    manifest = _manifest(plan, plan_path, data, files, outputs, sent_back)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return outputs


def _figures_rows(data: ReportData) -> list[dict[str, str]]:
    rows = []
    for record in figures_table(data).to_dict("records"):
        row = {}
        for column in FIGURE_COLUMNS:
            value = record[column]
            if value is None or (isinstance(value, float) and value != value):
                row[column] = ""
            elif isinstance(value, float):
                row[column] = str(int(value)) if value.is_integer() else repr(value)
            else:
                row[column] = str(value)
        rows.append(row)
    return rows


def _issue_row(problem: Problem) -> dict[str, str]:
    """Every field of issues.csv: personal data masked, no control character, never a formula in Excel
    (file and sheet names and the values quoted in messages are district text)."""
    return {key: csv_cell(mask(value)[0]) for key, value in problem.as_row().items()}


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    # utf-8-sig: Excel opens a CSV with Kazakh text correctly only with the byte-order mark.
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(
    plan: Plan, plan_path: Path, data: ReportData, files: list[FileVerdict], outputs: dict[str, str],
    feedback: dict[str, str],
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
            "codes": sorted({p.code for p in f.problems}),
        }
        replaced_by = next((p.params for p in f.problems if p.code == "submission-superseded"), None)
        if replaced_by:
            entry["superseded_by"] = dict(replaced_by)["by"]
        if f.raw.name in feedback:
            entry["feedback"] = feedback[f.raw.name]
        if f.status == "ignored":
            entry["reason"] = next(p.code for p in f.problems if p.code.startswith("ignored-"))
        inputs.append(entry)
    return {
        "campaign": plan.campaign.code,
        "date": data.date.isoformat(),
        "plan": {"file": plan_path.name, "sha256": plan_fingerprint(plan_path)},
        "counts": {
            "files": len(files),
            "used": sum(f.status == "used" for f in files),
            "superseded": sum(f.status == "superseded" for f in files),
            "rejected": sum(f.status == "rejected" for f in files),
            "ignored": sum(f.status == "ignored" for f in files),
            "after_date": sum(f.status == "after-date" for f in files),
        },
        "units_reported": sorted(u for u, d in data.source_dates.items() if d is not None),
        "units_stale": sorted(data.stale_units()),
        "inputs": inputs,
        "outputs": [{"file": name, "sha256": digest} for name, digest in outputs.items()],
    }
