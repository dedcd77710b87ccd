"""`python -m pipeline export --to PLAN [--date D]`: an oblast's published report as its region's filled form
of a higher level's plan (the republic's), so the ministry's run reads it like any region's form.

What is written is what the oblast's report wrote, never recomputed: its `figures.csv` (the oblast's total
row, and its department's own row for a figure the department reports too — the whole the report itself
states), checked against the sha256 its `manifest.json` records for it. Which oblast figure feeds which
figure of the higher plan is that plan's `sources` mapping for the oblast campaign's code; the figures it
says the oblast does not collect stay empty and are named. The region is the unit of the higher plan whose
name (or alias) reads as the oblast plan's `region.name`.

Dates: a reporting date of the higher plan is served by the oblast's latest reporting date on or before it
(the figures the oblast had published when the region's report fell due). An oblast date that is no such
latest date serves none and is refused, naming the dates that do.

Provenance: the sha256 of the oblast's manifest.json travels in the form — in the row `form.source` (which
the higher plan's reader keeps for its manifest and otherwise ignores) and in the workbook's document
properties.

This is a run like `report`: it holds the oblast outbox's lock while it reads, and writes each form whole
or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import EXIT, RunStopped
from pipeline.forms import layout
from pipeline.plan import Plan, load_plan
from pipeline.plan.check import region_unit
from pipeline.plan.model import Source, Unit

#: The folder of the oblast outbox the forms go to when no --out is given: one folder per higher campaign.
EXPORT_FOLDER = "export"
#: Custom document properties of an exported workbook (besides the `form.source` row).
PROPERTY_CAMPAIGN, PROPERTY_DATE, PROPERTY_SHA = "mz-source-campaign", "mz-source-date", "mz-source-manifest-sha256"


@dataclass(frozen=True)
class Exported:
    """One form written: where, for which unit and dates, what it holds and what it leaves empty."""

    path: Path
    region: Unit
    source_date: dt.date
    target_date: dt.date
    manifest_sha256: str
    values: dict[str, float] = field(default_factory=dict)  # the higher plan's figure → value written
    not_collected: tuple[str, ...] = ()  # figures the oblast does not collect (left empty)
    no_value: tuple[str, ...] = ()  # figures it collects but had no value for at the date (left empty)
    coverage: dict[str, int] = field(default_factory=dict)  # units reported / carried / missing behind the totals


def serving_dates(source: Plan, target: Plan) -> dict[dt.date, dt.date]:
    """The oblast's date → the higher plan's date it serves: for each higher date, the oblast's latest
    reporting date on or before it."""
    out: dict[dt.date, dt.date] = {}
    for date in target.dates:
        before = [d for d in source.dates if d <= date]
        if before and before[-1] not in out:
            out[before[-1]] = date
    return out


def export_forms(
    *, to: Path, plan_path: Path, outbox: Path, date_text: str | None = None, out: Path | None = None,
    on_wait: Callable[[], None] | None = None,
) -> list[Exported]:
    """Export the oblast's report of `date_text` (default: every date that serves one of the higher plan's
    dates and has a published report). Raises `RunStopped` with a coded message for every refusal."""
    from pipeline.outbox_campaign import check_campaign
    from pipeline.publish import outbox_lock, recover
    from pipeline.report import outbox_faults

    source = load_plan(plan_path)
    target = load_plan(to)
    mapping = target.source_for(source.campaign.code)
    if mapping is None:
        raise RunStopped("export-no-mapping", EXIT["usage"], to=to, campaign=source.campaign.code,
                         known=", ".join(s.campaign for s in target.sources) or "–")
    region = region_unit(target, source)
    if region is None:
        raise RunStopped("export-region-unknown", EXIT["usage"], region=source.region.name, to=to,
                         units=", ".join(u.name for u in target.units))
    serving = serving_dates(source, target)
    shown = ", ".join(f"{a.isoformat()} → {b.isoformat()}" for a, b in sorted(serving.items())) or "–"
    if date_text is not None:
        date = _date(source, date_text)
        if date not in serving:
            raise RunStopped("export-date-serves-none", EXIT["usage"], date=date.isoformat(), dates=shown)
        wanted = [date]
    else:
        wanted = sorted(serving)
    if not outbox.is_dir():
        raise RunStopped("export-no-report", EXIT["nothing_to_report"], date=(date_text or shown), outbox=outbox)
    folder = out if out is not None else outbox / EXPORT_FOLDER / target.campaign.code
    written: list[Exported] = []
    with outbox_faults(outbox), outbox_lock(outbox, on_wait=on_wait):
        try:
            check_campaign(outbox, source)
        except RunStopped as exc:
            raise RunStopped("export-other-campaign", EXIT["usage"], outbox=outbox,
                             theirs=exc.params.get("theirs", exc.params.get("dates", "")),
                             ours=source.campaign.code) from None
        recover(outbox)
        reports = {d: _published(outbox, source, d) for d in wanted}
        missing = [d for d, r in reports.items() if r is None]
        if (date_text is not None and missing) or all(r is None for r in reports.values()):
            raise RunStopped("export-no-report", EXIT["nothing_to_report"],
                             date=", ".join(d.isoformat() for d in missing) or shown, outbox=outbox)
        for date, report in sorted(reports.items()):
            if report is None:
                continue
            written.append(_write(source, target, mapping, region, date, serving[date], report, folder))
    return written


def _date(plan: Plan, text: str) -> dt.date:
    from pipeline.report import parse_report_date

    return parse_report_date(plan, text)


@dataclass(frozen=True)
class _Report:
    manifest_sha256: str
    rows: list[dict[str, str]]


def _published(outbox: Path, source: Plan, date: dt.date) -> _Report | None:
    """The oblast's published report of `date`: its manifest's sha256 and its figures.csv rows; None when
    there is none. A report whose files do not match (figures.csv edited or swapped, another campaign's
    manifest) is refused: what travels must be what the report wrote."""
    folder = outbox / date.isoformat()
    manifest_path, figures_path = folder / "manifest.json", folder / "figures.csv"
    if not manifest_path.is_file():
        return None
    manifest_bytes = manifest_path.read_bytes()
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RunStopped("export-report-damaged", EXIT["nothing_to_report"], path=manifest_path,
                         detail="manifest.json") from None
    if not isinstance(manifest, dict) or manifest.get("campaign") != source.campaign.code:
        theirs = manifest.get("campaign") if isinstance(manifest, dict) else "?"
        raise RunStopped("export-other-campaign", EXIT["usage"], outbox=outbox, theirs=theirs,
                         ours=source.campaign.code)
    if manifest.get("date") != date.isoformat():
        raise RunStopped("export-report-damaged", EXIT["nothing_to_report"], path=manifest_path, detail="date")
    recorded = {o.get("file"): o.get("sha256") for o in manifest.get("outputs", []) if isinstance(o, dict)}
    try:
        figures_bytes = figures_path.read_bytes()
    except OSError:
        raise RunStopped("export-report-damaged", EXIT["nothing_to_report"], path=figures_path,
                         detail="figures.csv") from None
    if recorded.get("figures.csv") != hashlib.sha256(figures_bytes).hexdigest():
        raise RunStopped("export-report-damaged", EXIT["nothing_to_report"], path=figures_path,
                         detail="sha256")
    try:
        rows = list(csv.DictReader(io.StringIO(figures_bytes.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        raise RunStopped("export-report-damaged", EXIT["nothing_to_report"], path=figures_path,
                         detail="figures.csv") from None
    return _Report(hashlib.sha256(manifest_bytes).hexdigest(), rows)


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _wholes(source: Plan, rows: list[dict[str, str]]) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    """Each figure's whole as the oblast's report states it: its total row (`oblast`), plus its
    department's own row for a figure the department reports too; and the units behind the totals."""
    from pipeline.aggregate.model import OBLAST

    totals: dict[str, float] = {}
    own: dict[str, float] = {}
    coverage: dict[str, dict[str, int]] = {}
    for row in rows:
        value = _number(row.get("value"))
        if row.get("unit") == OBLAST:
            coverage[row.get("figure", "")] = {k: int(_number(row.get(f"units_{k}")) or 0)
                                               for k in ("reported", "carried", "missing")}
            if value is not None:
                totals[row.get("figure", "")] = value
        elif row.get("unit") == source.department.code and value is not None:
            own[row.get("figure", "")] = value
    wholes = dict(totals)
    for code, value in own.items():
        item = source.item_of_figure.get(code)
        if item is not None and "department" in item.reported_by:
            wholes[code] = wholes.get(code, 0.0) + value
    return wholes, coverage


def _write(source: Plan, target: Plan, mapping: Source, region: Unit, source_date: dt.date, target_date: dt.date,
           report: _Report, folder: Path) -> Exported:
    from pipeline.forms.build import build_form, fixed_timestamp, form_text, save_workbook
    from pipeline.safe_text import file_name_part

    wholes, coverages = _wholes(source, report.rows)
    # The units behind the first figure fed (the headline count): how whole the oblast's totals are.
    coverage = next((coverages[c] for c in mapping.figures.values() if c in coverages), {})
    values: dict[str, float] = {}
    no_value: list[str] = []
    for code, their in mapping.figures.items():
        if their in wholes:
            values[code] = wholes[their]
        else:
            no_value.append(code)
    built = build_form(target, region.code, target_date)
    ws = built.workbook[layout.FORM_SHEET]
    kind = next(d.kind for d in source.reporting_dates if d.date == source_date)
    status = getattr(mapping.statuses, kind)
    labels = {s.code: s.label for s in target.statuses}
    cells: dict[str, Any] = {
        layout.HEADER_CODES["executor"]: source.executor.name,
        layout.HEADER_CODES["phone"]: source.executor.phone,
        layout.HEADER_CODES["filled_date"]: source_date,
    }
    for code, value in values.items():
        cells[code] = int(value) if float(value).is_integer() else value
    if status:
        for item in target.items_for("units"):
            cells[item.status_code] = labels[status]
    for code, value in cells.items():
        ws[built.cell(code)] = value
    words = form_text()["export"]
    sha = report.manifest_sha256
    _source_row(built, words["source_label"].format(campaign=source.campaign.code, date=source_date.isoformat()),
                f"sha256:{sha}")
    props = built.workbook.properties
    props.description = words["description"].format(campaign=source.campaign.code, date=source_date.isoformat(),
                                                    sha256=sha)
    _custom_properties(built.workbook, {PROPERTY_CAMPAIGN: source.campaign.code,
                                        PROPERTY_DATE: source_date.isoformat(), PROPERTY_SHA: sha})
    name = str(words["file_name"]).format(reporter=file_name_part(region.name, limit=80),
                                          date=target_date.isoformat())
    path = save_workbook(built.workbook, folder / name, fixed_timestamp(target))
    return Exported(path, region, source_date, target_date, sha, values, tuple(mapping.not_collected),
                    tuple(no_value), coverage)


def _source_row(built: Any, label: str, value: str) -> None:
    """The provenance row under the form, styled like the form's identity row (grey, locked): its code in
    the code column, so a person and a reader find it like any other row."""
    from copy import copy

    ws = built.workbook[layout.FORM_SHEET]
    like = built.rows[layout.FORM_ID_CODE].row
    row = ws.max_row + 2
    for column, text in ((layout.CODE_COLUMN, layout.SOURCE_CODE), (layout.LABEL_COLUMN, label),
                         (layout.VALUE_COLUMN, value)):
        cell = ws.cell(row=row, column=column, value=text)
        cell._style = copy(ws.cell(row=like, column=column)._style)


def _custom_properties(workbook: Any, values: dict[str, str]) -> None:
    from openpyxl.packaging.custom import StringProperty

    for name, value in values.items():
        workbook.custom_doc_props.append(StringProperty(name=name, value=value))
