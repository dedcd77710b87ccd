"""The report's tables as strings: the district annex and the timeliness table (R2's part of the context,
moved here unchanged from the old render/context.py so the prose could be rebuilt apart; branch i16b
replaces `district` with the plan-driven `annex`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.aggregate.facts import column as _column
from pipeline.aggregate.model import CARRIED, ReportData
from pipeline.plan.model import Figure, Plan, Unit
from pipeline.render.language import Language


def key_figures(plan: Plan) -> list[Figure]:
    return [f for f in plan.figures if f.key and f.unit in ("count", "tenge")]


def _value_cell(lang: Language, fig: Figure, value: object) -> str:
    return lang.amount(value) if fig.unit == "tenge" else lang.count(value)  # type: ignore[arg-type]


def district(data: ReportData, lang: Language) -> dict[str, Any]:
    plan, w = data.plan, lang.words["district_table"]
    stale = set(data.stale_units())
    totals = data.totals
    figures = key_figures(plan)
    short = w.get("short_labels") or {}
    headers = []
    for f in figures:
        label = short.get(f.code, str(lang.pick(f, "label")))
        headers.append(str(w["amount_header"]).format(label=label) if f.unit == "tenge" else label)
    rows = []
    columns = [_column(data.values, f.code) for f in figures]
    states = [_column(data.coverage[data.date], f.code) for f in figures]
    mark = str(w["stale_mark"])
    carried_cells: dict[str, list[Figure]] = {}
    for n, unit in enumerate(plan.units, start=1):
        is_stale = unit.code in stale
        cells = []
        for f, col, state in zip(figures, columns, states):
            text = _value_cell(lang, f, col.get(unit.code))
            if state.get(unit.code) == CARRIED and not is_stale:
                text += mark
                carried_cells.setdefault(unit.code, []).append(f)
            cells.append(text)
        rows.append({"no": str(n), "name": lang.unit_name(unit) + (mark if is_stale else ""), "cells": cells})
    total = {"name": w["total"], "cells": [_value_cell(lang, f, totals.get(f.code)) for f in figures]}
    notes = []
    by_source: dict[dt.date, list[Unit]] = {}
    for unit in plan.units:
        if unit.code in stale:
            by_source.setdefault(data.source_dates[unit.code], []).append(unit)  # type: ignore[arg-type]
    for source, units in sorted(by_source.items()):
        notes.append(str(w["stale_note"]).format(units=lang.units(units, "subject"),
                                                 date=lang.day(source, "as_of", year=False)))
    for unit_code, figs in carried_cells.items():
        notes.append(str(w["carried_note"]).format(
            unit=lang.unit_name(plan.unit_by_code[unit_code]),
            labels=", ".join(lang.lower_first(short.get(f.code, str(lang.pick(f, "label")))) for f in figs)))
    never = [u for u in plan.units if data.source_dates.get(u.code) is None]
    if never:
        notes.append(str(w["never_note"]).format(units=lang.units(never, "subject")))
    return {
        "heading": str(w["heading"]).format(date=lang.day(data.date, "as_of")),
        "number_header": w["number"],
        "unit_header": w["unit"],
        "headers": headers,
        "rows": rows,
        "total": total,
        "notes": notes,
    }


def timeliness(data: ReportData, lang: Language) -> dict[str, Any]:
    plan, w = data.plan, lang.words["timeliness"]
    now = {t.unit: t for t in data.timeliness_at(data.date)}
    rows = []
    totals = {"on_time": 0, "late": 0, "missing": 0}
    # Counted in one pass: scanning every record for every unit was quadratic (5 s at 1,667 units).
    so_far: dict[str, dict[str, int]] = {}
    for record in data.timeliness:
        if record.date <= data.date:
            counts = so_far.setdefault(record.unit, {"on_time": 0, "late": 0, "missing": 0})
            counts[record.state] += 1
    small: dict[int, str] = {}
    for n, unit in enumerate(plan.units, start=1):
        t = now.get(unit.code)
        if t is None or t.state == "missing":
            state = w["missing"]
        elif t.state == "late":
            state = str(w["late"]).format(days=lang.counted(t.days_late, "day"))
        else:
            state = w["on_time"]
        counts = so_far.get(unit.code, {"on_time": 0, "late": 0, "missing": 0})
        for k, v in counts.items():
            totals[k] += v
        # Per-unit counts are a handful of small numbers; each is formatted once.
        shown = {k: small.setdefault(v, lang.count(v)) for k, v in counts.items()}
        rows.append({"no": str(n), "name": lang.unit_name(unit), "state": state, **shown})
    now_counts = timeliness_counts(data, data.date)
    summary = "; ".join(
        str(lang.words["items"]["figure"]).format(label=w[f"{k}_total"], value=lang.count(now_counts[k]))
        for k in ("on_time", "late", "missing")
    )
    return {
        "heading": w["heading"],
        "date_header": lang.day(data.date, "full"),
        "rows": rows,
        "total": {"name": w["total"], "state": summary, **{k: lang.count(v) for k, v in totals.items()}},
    }


def timeliness_counts(data: ReportData, date: dt.date | None = None) -> dict[str, int]:
    """Counts over the reporting units only: the department's own submission is not among them."""
    units = {u.code for u in data.plan.units}
    counts = {"on_time": 0, "late": 0, "missing": 0}
    for t in data.timeliness:
        if t.unit in units and (date is None or t.date == date):
            counts[t.state] += 1
    return counts
