"""Turn `ReportData` into the plain strings and lists the .docx template shows.

All decisions about what the reader sees (which figures, which units to name, what "change" means) are
made here; all Kazakh wording comes from `pipeline/data/kazakh.yaml`, the plan file or the template.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.aggregate.model import ReportData
from pipeline.plan.model import Figure, Item, Plan, Unit
from pipeline.render.kazakh import (
    date_case,
    day_month,
    fmt_change,
    fmt_count,
    fmt_date,
    fmt_date_short,
    fmt_thousand_tenge,
    is_missing,
    lower_first,
    nbsp_initials,
    unit_list,
    upper_first,
    words,
)

STATUS_ORDER: tuple[str, ...] = ("done", "in_progress", "not_done", "not_due")
# In-progress units are named only when few; otherwise the list would swamp the paragraph.
MAX_NAMED_IN_PROGRESS = 4


def fmt_value(fig: Figure, value: float | None) -> str:
    return fmt_thousand_tenge(value) if fig.unit == "tenge" else fmt_count(value)


def _status_code(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _column(frame: pd.DataFrame, column: str) -> dict[str, object]:
    """unit → value of one column, as a plain dict ({} when the frame has no such column).

    Loops over units read one column at a time: `DataFrame.at` per unit × item costs ~40 us a lookup,
    which made most of the context's time at 1,667 units.
    """
    # zip over tolist(): Series.to_dict boxes each value through pandas, ~3x slower on object columns.
    return dict(zip(frame.index, frame[column].tolist())) if column in frame.columns else {}


def _text(value: object) -> str | None:
    status = _status_code(value)
    return status.strip() or None if status is not None else None


@lru_cache(maxsize=256)
def _small_count(value: int) -> str:
    # Per-unit date counts are a handful of small numbers repeated for every unit; Babel formatting is
    # ~80 us a call, so each distinct one is formatted once.
    return fmt_count(value)


def key_figures(plan: Plan) -> list[Figure]:
    return [f for f in plan.figures if f.key and f.unit in ("count", "tenge")]


# --- header, title, signature -------------------------------------------------------------------------


def _header(data: ReportData) -> dict[str, Any]:
    plan = data.plan
    w = words()
    return {
        "addressee_lines": [*plan.addressee.lines, nbsp_initials(plan.addressee.name_dative)],
        "title": f"{plan.campaign.name_genitive} {date_case(data.date, 'attributive')} {w['report']['title_tail']}",
        "report_date": fmt_date(data.date),
        "is_final": data.date == plan.final_date,
        "signatory_position": list(plan.signatory.position_lines),
        "signatory_name": nbsp_initials(plan.signatory.name),
        "executor_name": nbsp_initials(plan.executor.name),
        "executor_phone": plan.executor.phone,
    }


# --- summary ------------------------------------------------------------------------------------------


def _summary(data: ReportData) -> list[str]:
    plan, w = data.plan, words()["report"]
    final = data.date == plan.final_date
    t = data.totals
    campaign = plan.campaign
    intro = w["intro_final" if final else "intro_interim"].format(
        campaign=campaign.name,
        start=date_case(campaign.starts, "ablative"),
        end=day_month(campaign.ends, "dative"),
        until=words()["dates"]["until"],
    )
    lead = w["summary_lead_final" if final else "summary_lead_interim"].format(
        date=date_case(data.date, "attributive"),
        children=fmt_count(t.get("help_children")),
        amount=fmt_thousand_tenge(t.get("help_amount")),
        sponsor_children=fmt_count(t.get("sponsor_children")),
        sponsor_amount=fmt_thousand_tenge(t.get("sponsor_amount")),
    )
    lead += " " + w["summary_sponsors"].format(sponsors=fmt_count(t.get("sponsors_involved")))
    raids = w["summary_raids"].format(
        raids=fmt_count(t.get("raids")),
        home_visits=fmt_count(t.get("home_visits")),
        found=fmt_count(t.get("out_of_school_found")),
        returned=fmt_count(t.get("returned_to_school")),
    )
    paragraphs = [intro, f"{lead} {raids}"]

    previous = data.previous_date
    if previous is not None and previous in data.history:
        before = data.totals_at(previous)
        figures = [plan.figure_by_code[code] for code in w["change_figures"]]
        changes = {
            f.code: fmt_change(t.get(f.code), before.get(f.code), amount=f.unit == "tenge") for f in figures
        }
        lead_change = w["change_lead"].format(date=date_case(previous, "attributive"))
        paragraphs.append(f"{lead_change} {_figures_text(plan, figures, changes, formatted=True)}.")

    by_code = plan.unit_by_code
    stale = [by_code[u] for u in data.stale_units() if u in by_code]
    never = [by_code[u] for u, d in data.source_dates.items() if d is None and u in by_code]
    notes = []
    if stale:
        # «оның» for one unit, «олардың» for several: the possessive agrees with the subject.
        key = "stale_unit" if len(stale) == 1 else "stale_units"
        notes.append(w[key].format(units=unit_list(_in_plan_order(plan, stale), "nominative")))
    if never:
        notes.append(w["never_reported"].format(units=unit_list(_in_plan_order(plan, never), "nominative")))
    if notes:
        paragraphs.append(" ".join(notes))
    return paragraphs


def _in_plan_order(plan: Plan, units: list[Unit]) -> list[Unit]:
    codes = {u.code for u in units}
    return [u for u in plan.units if u.code in codes]


# --- sections by plan item ----------------------------------------------------------------------------


def _unit_statuses(data: ReportData, item: Item) -> dict[str | None, list[Unit]]:
    groups: dict[str | None, list[Unit]] = {}
    statuses = _column(data.statuses, item.code)
    for unit in data.plan.units:
        code = _status_code(statuses.get(unit.code))
        groups.setdefault(code, []).append(unit)
    return groups


def _status_line(data: ReportData, item: Item) -> str:
    w = words()["items"]
    plan = data.plan
    groups = _unit_statuses(data, item)
    parts = []
    for code in [*STATUS_ORDER, None]:
        units = groups.get(code, [])
        if not units:
            continue
        label = plan.status_by_code[code].label if code else w["no_status"]
        part = w["status_part"].format(label=label, count=fmt_count(len(units)))
        named = code not in ("done", "not_due") and (code != "in_progress" or len(units) <= MAX_NAMED_IN_PROGRESS)
        if named:
            part = w["status_units"].format(part=part, units=unit_list(units, "locative"))
        parts.append(part)
    return f"{w['units_lead']} {'; '.join(parts)}."


def _figures_text(
    plan: Plan, figures: list[Figure], values: Mapping[str, object], *, formatted: bool = False
) -> str:
    """«көмек көрсетілген балалар саны – 5 104, оның ішінде … – 3 164; …»: "of which" joins its parent.

    With `formatted`, the values are already text (e.g. signed changes) and are shown as given.
    """
    w = words()["items"]
    pieces: list[str] = []
    parent: str | None = None  # the figure an "of which" may join (the one just written)
    for fig in figures:
        value = values.get(fig.code)
        if formatted:
            text = w["figure"].format(label=lower_first(fig.label), value=value)
        elif fig.unit == "yesno":
            if is_missing(value):
                continue
            shown = plan.yes_no.yes.label if float(value) >= 0.5 else plan.yes_no.no.label  # type: ignore[arg-type]
            text = w["figure"].format(label=lower_first(fig.label), value=shown)
        else:
            pattern = w["amount_figure"] if fig.unit == "tenge" else w["figure"]
            text = pattern.format(label=lower_first(fig.label), value=fmt_value(fig, value))  # type: ignore[arg-type]
        if fig.of is not None and fig.of == parent and pieces:
            pieces[-1] += ", " + text
        else:
            pieces.append(text)
            parent = fig.code if fig.of is None else None
    return "; ".join(pieces)


def _item_figures(item: Item) -> list[Figure]:
    numeric = [f for f in item.figures if f.unit in ("count", "tenge")]
    keys = [f for f in numeric if f.key]
    return keys or numeric


def _item_lines(data: ReportData, item: Item) -> list[str]:
    plan, w = data.plan, words()["items"]
    lines: list[str] = []
    if not item.due_by(data.date):
        return [w["not_due"].format(deadline=item.deadline)]
    if "units" in item.reported_by:
        lines.append(_status_line(data, item))
        figures = _item_figures(item)
        if figures:
            oblast = data.totals  # a property that sums the frame on each access
            totals = {f.code: oblast.get(f.code) for f in figures}
            lines.append(f"{w['totals_lead']} {_figures_text(plan, figures, totals)}.")
        reasons = []
        statuses, comments = _column(data.statuses, item.code), _column(data.comments, item.code)
        for unit in plan.units:
            if _status_code(statuses.get(unit.code)) != "not_done":
                continue
            comment = _text(comments.get(unit.code))
            if comment:
                reasons.append(w["comment"].format(unit=unit.name, comment=lower_first(comment).rstrip(".")))
        if reasons:
            lines.append(f"{w['comments_lead']} {'; '.join(reasons)}.")
        if item.code == w["timeliness_item"]:
            counts = _timeliness_counts(data, data.date)
            lines.append(w["timeliness_line"].format(**{k: fmt_count(v) for k, v in counts.items()}))
    if "department" in item.reported_by:
        dep = data.department
        name = plan.department.name
        status = _status_code(dep.statuses.get(item.code))
        label = plan.status_by_code[status].label if status in plan.status_by_code else w["no_status"]
        line = w["department"].format(name=name, status=label)
        dep_figs = [f for f in item.figures if f.numeric and f.code in dep.figures]
        if dep_figs:
            line += " " + upper_first(_figures_text(plan, dep_figs, dep.figures)) + "."
        comment = _text(dep.comments.get(item.code))
        if comment:
            line += " " + comment
        lines.append(line)
    return lines


def _sections(data: ReportData) -> list[dict[str, Any]]:
    sections = []
    for section in data.plan.sections:
        entries = [
            {"code": item.code, "title": item.title, "lines": _item_lines(data, item)}
            for item in section.items
        ]
        sections.append({"heading": f"{section.code}. {section.title}", "entries": entries})
    return sections


# --- final report ------------------------------------------------------------------------------------


def overall_status(data: ReportData, item: Item) -> str:
    """One status for an item across everyone who reports it: done only when all say done."""
    if not item.due_by(data.date):
        return "not_due"
    codes: list[str | None] = []
    if "units" in item.reported_by:
        statuses = _column(data.statuses, item.code)
        codes += [_status_code(statuses.get(u.code)) for u in data.plan.units]
    if "department" in item.reported_by:
        codes.append(_status_code(data.department.statuses.get(item.code)))
    if codes and all(c == "done" for c in codes):
        return "done"
    if any(c == "not_done" or c is None for c in codes):
        return "not_done"
    return "in_progress"


def _final(data: ReportData) -> dict[str, Any]:
    plan, w = data.plan, words()["final"]
    empty: dict[str, Any] = {"heading": w["heading"], "lines": [], "honour_heading": "", "honour_lines": []}
    if data.date != plan.final_date:
        return empty
    by_status: dict[str, list[str]] = {}
    for item in plan.items:
        by_status.setdefault(overall_status(data, item), []).append(item.code)
    parts = [
        w["items_part"].format(
            label=plan.status_by_code[code].label,
            count=fmt_count(len(by_status[code])),
            codes=", ".join(by_status[code]),
        )
        for code in STATUS_ORDER
        if by_status.get(code)
    ]
    lines = [f"{w['items_lead'].format(total=fmt_count(len(plan.items)))} {'; '.join(parts)}."]
    honour_item = plan.item_of_figure.get("sponsors_to_honour")
    honour_lines: list[str] = []
    if "sponsors_to_honour" in data.texts.columns:
        honour = _column(data.texts, "sponsors_to_honour")
        for unit in plan.units:
            names = _text(honour.get(unit.code))
            if names:
                honour_lines.append(w["honour_line"].format(unit=unit.name, names=names.rstrip(".")))
    if not honour_lines:
        honour_lines.append(w["honour_none"])
    heading = w["honour_heading"].format(code=honour_item.code) if honour_item else ""
    return {"heading": w["heading"], "lines": lines, "honour_heading": heading, "honour_lines": honour_lines}


# --- tables -------------------------------------------------------------------------------------------


def _district(data: ReportData) -> dict[str, Any]:
    plan, w = data.plan, words()["district_table"]
    figures = key_figures(plan)
    short = w.get("short_labels") or {}
    headers = []
    for f in figures:
        label = short.get(f.code, f.label)
        headers.append(w["amount_header"].format(label=label) if f.unit == "tenge" else label)
    stale = set(data.stale_units())
    rows = []
    values = data.values
    columns = [_column(values, f.code) for f in figures]
    for n, unit in enumerate(plan.units, start=1):
        mark = w["stale_mark"] if unit.code in stale else ""
        cells = [fmt_value(f, col.get(unit.code)) for f, col in zip(figures, columns)]  # type: ignore[arg-type]
        rows.append({"no": str(n), "name": unit.name + mark, "cells": cells})
    totals = data.totals
    total = {"name": w["total"], "cells": [fmt_value(f, totals.get(f.code)) for f in figures]}
    notes = []
    by_source: dict[dt.date, list[Unit]] = {}
    for unit in plan.units:
        if unit.code in stale:
            by_source.setdefault(data.source_dates[unit.code], []).append(unit)  # type: ignore[arg-type]
    for source, units in sorted(by_source.items()):
        notes.append(
            w["stale_note"].format(units=unit_list(units, "nominative"), date=date_case(source, "attributive"))
        )
    never = [u for u in plan.units if data.source_dates.get(u.code) is None]
    if never:
        notes.append(w["never_note"].format(units=unit_list(never, "nominative")))
    return {
        "heading": w["heading"].format(date=date_case(data.date, "attributive")),
        "number_header": w["number"],
        "unit_header": w["unit"],
        "headers": headers,
        "rows": rows,
        "total": total,
        "notes": notes,
    }


def _timeliness_counts(data: ReportData, date: dt.date | None = None) -> dict[str, int]:
    """Counts over the reporting units only: the department's own submission is not among them."""
    units = {u.code for u in data.plan.units}
    counts = {"on_time": 0, "late": 0, "missing": 0}
    for t in data.timeliness:
        if t.unit in units and (date is None or t.date == date):
            counts[t.state] += 1
    return counts


def _timeliness(data: ReportData) -> dict[str, Any]:
    plan, w = data.plan, words()["timeliness"]
    now = {t.unit: t for t in data.timeliness_at(data.date)}
    rows = []
    totals = {"on_time": 0, "late": 0, "missing": 0}
    # Counted in one pass: scanning every record for every unit was quadratic (5 s at 1,667 units).
    so_far: dict[str, dict[str, int]] = {}
    for item in data.timeliness:
        if item.date <= data.date:
            counts = so_far.setdefault(item.unit, {"on_time": 0, "late": 0, "missing": 0})
            counts[item.state] += 1
    for n, unit in enumerate(plan.units, start=1):
        t = now.get(unit.code)
        if t is None or t.state == "missing":
            state = w["missing"]
        elif t.state == "late":
            state = w["late"].format(days=fmt_count(t.days_late))
        else:
            state = w["on_time"]
        counts = so_far.get(unit.code, {"on_time": 0, "late": 0, "missing": 0})
        for k, v in counts.items():
            totals[k] += v
        rows.append({"no": str(n), "name": unit.name, "state": state, **{k: _small_count(v) for k, v in counts.items()}})
    now_counts = _timeliness_counts(data, data.date)
    summary = "; ".join(
        words()["items"]["figure"].format(label=w[f"{k}_total"], value=fmt_count(now_counts[k]))
        for k in ("on_time", "late", "missing")
    )
    return {
        "heading": w["heading"],
        "date_header": fmt_date_short(data.date),
        "rows": rows,
        "total": {"name": w["total"], "state": summary, **{k: fmt_count(v) for k, v in totals.items()}},
    }


# --- everything ---------------------------------------------------------------------------------------


def build_context(data: ReportData, *, chart_paths: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists (charts as file paths)."""
    context: dict[str, Any] = _header(data)
    context["summary"] = _summary(data)
    context["sections"] = _sections(data)
    context["final"] = _final(data)
    context["district"] = _district(data)
    context["timeliness"] = _timeliness(data)
    context["charts"] = [{"name": name, "path": str(path)} for name, path in (chart_paths or {}).items()]
    return context
