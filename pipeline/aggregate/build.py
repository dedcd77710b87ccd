"""Aggregating the selected submissions with pandas into `ReportData`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pipeline.aggregate.model import CARRIED, MISSING, OBLAST, REPORTED, DepartmentReport, ReportData
from pipeline.aggregate.previous import load_previous
from pipeline.aggregate.select import Selection
from pipeline.plan.model import Plan


def numeric_codes(plan: Plan) -> list[str]:
    return [f.code for f in plan.figures if f.numeric]


def aggregate(plan: Plan, selection: Selection, *, plan_path: Path | str | None = None) -> ReportData:
    """`plan_path`: where the plan file lies, for the previous campaign's figures.csv it names (a path
    relative to it); a plan naming none needs no path."""
    date = selection.date
    units = [u.code for u in plan.units]
    codes = numeric_codes(plan)
    history, coverage, carried_from = _history(plan, selection, units, codes)
    department_history = {d: _department(plan, selection, d) for d in plan.dates if d <= date}

    unit_items = [i.code for i in plan.items_for("units")]
    text_codes = [f.code for f in plan.figures if f.unit == "text"]
    statuses, comments, texts, source_dates = {}, {}, {}, {}
    for unit in units:
        sub = selection.latest(unit, date)
        source_dates[unit] = sub.report_date if sub is not None else None
        statuses[unit] = sub.statuses if sub is not None else {}
        comments[unit] = sub.comments if sub is not None else {}
        texts[unit] = sub.texts if sub is not None else {}

    return ReportData(
        plan=plan,
        date=date,
        history=history,
        coverage=coverage,
        carried_from=carried_from,
        source_dates=source_dates,
        statuses=_object_frame(statuses, units, unit_items),
        comments=_object_frame(comments, units, unit_items),
        texts=_object_frame(texts, units, text_codes),
        department=department_history[date],
        timeliness=selection.timeliness,
        department_history=department_history,
        previous=load_previous(plan, plan_path),
        rejected=_rejected(plan, selection, units, codes),
        corrected=_corrected(selection, units),
    )


def _rejected(plan: Plan, selection: Selection, units: list[str], codes: list[str]) -> dict[str, tuple[str, ...]]:
    """Figures a unit's file for the date filled in but validation refused (the cell holds something, the
    submission has no value for it): what stands in their place is not this date's."""
    out: dict[str, tuple[str, ...]] = {}
    for unit in units:
        sub = selection.used.get(unit, {}).get(selection.date)
        if sub is None:
            continue
        refused = []
        for code in codes:
            if code in sub.values:
                continue  # the cell is only looked at when needed: a cached form builds its cells lazily
            cell = sub.cell_of(code)
            if cell is not None and not cell.empty:
                refused.append(code)
        if refused:
            out[unit] = tuple(refused)
    return out


def _corrected(selection: Selection, units: list[str]) -> tuple[str, ...]:
    replacing = set(selection.superseded.values())
    return tuple(u for u in units
                 if (sub := selection.used.get(u, {}).get(selection.date)) is not None and sub.name in replacing)


def _department(plan: Plan, selection: Selection, date: dt.date) -> DepartmentReport:
    dept = selection.latest(plan.department.code, date)
    if dept is None:
        return DepartmentReport(source_date=None)
    return DepartmentReport(
        source_date=dept.report_date, figures=dict(dept.values), statuses=dict(dept.statuses),
        comments=dict(dept.comments), file=dept.name,
    )


def _history(
    plan: Plan, selection: Selection, units: list[str], codes: list[str]
) -> tuple[dict[dt.date, pd.DataFrame], dict[dt.date, pd.DataFrame], dict[dt.date, pd.DataFrame]]:
    """Per reporting date: the values each unit counts with, whether each was reported on that date,
    carried forward from an earlier one, or is missing, and the date a carried value comes from.

    A value the unit gave on the date itself is `reported`. Otherwise (the unit sent nothing, left the
    cell blank, or the value was rejected) the plan decides per figure: `carry` takes the unit's last
    valid value (date by date, so a value rejected today falls back to the last date it was good), `gap`
    leaves it missing. Vectorised over units: a 10,000-unit bench stays a few frame operations a date.
    """
    carry = [c for c in codes if plan.when_missing(c) == "carry"]
    history: dict[dt.date, pd.DataFrame] = {}
    coverage: dict[dt.date, pd.DataFrame] = {}
    carried_from: dict[dt.date, pd.DataFrame] = {}
    previous: pd.DataFrame | None = None
    previous_source: pd.DataFrame | None = None
    for reporting_date in plan.dates:
        if reporting_date > selection.date:
            break
        rows = {}
        for unit in units:
            sub = selection.used.get(unit, {}).get(reporting_date)
            rows[unit] = sub.values if sub is not None else {}
        own = pd.DataFrame.from_dict(rows, orient="index", columns=codes, dtype="float64")
        own = own.reindex(index=units, columns=codes)
        values = own.copy()
        source = pd.DataFrame(pd.NaT, index=units, columns=codes, dtype="datetime64[ns]")
        if previous is not None and previous_source is not None and carry:
            take = own[carry].isna() & previous[carry].notna()
            values[carry] = own[carry].where(~take, previous[carry])
            source[carry] = previous_source[carry].where(take, pd.NaT)
        state = pd.DataFrame(MISSING, index=units, columns=codes, dtype=object)
        state = state.mask(values.notna(), CARRIED).mask(own.notna(), REPORTED)
        # A carried value keeps the date it was reported on, however many dates it is carried over.
        own_source = source.mask(own.notna(), pd.Timestamp(reporting_date))
        history[reporting_date] = values
        coverage[reporting_date] = state
        carried_from[reporting_date] = source
        previous, previous_source = values, own_source
    return history, coverage, carried_from


def _object_frame(rows: dict[str, dict[str, str]], index: list[str], columns: list[str]) -> pd.DataFrame:
    data = [[rows.get(unit, {}).get(col) for col in columns] for unit in index]
    return pd.DataFrame(data, index=index, columns=columns, dtype=object)


#: figures.csv columns: `unit,figure,value` as before, then where each value comes from.
FIGURE_COLUMNS = ["unit", "figure", "value", "coverage", "carried_from", "units_reported", "units_carried",
                  "units_missing"]


def figure_rows(data: ReportData) -> Iterator[list[str]]:
    """figures.csv's rows as the file shows them (FIGURE_COLUMNS; "" for none), straight from the frames:
    the same rows as `figures_table`, without building the long table (melt, concat and records cost
    ~1 s at 10,000 units on every re-run)."""
    plan = data.plan
    codes = [f.code for item in plan.items_for("units") for f in item.figures if f.numeric]
    units = data.values.index.tolist()
    state = data.coverage[data.date]
    source = data.carried_from[data.date]
    for code in codes:
        for unit, value, cover, since in zip(units, data.values[code].tolist(), state[code].tolist(),
                                             source[code].tolist()):
            when = "" if pd.isna(since) else pd.Timestamp(since).date().isoformat()
            yield [str(unit), code, _number_text(value), _text(cover), when, "", "", ""]
    totals = data.totals
    for code in codes:
        column = state[code].tolist()
        yield [OBLAST, code, _number_text(totals[code]), "", "",
               *(str(sum(1 for s in column if s == name)) for name in (REPORTED, CARRIED, MISSING))]
    for item in plan.items_for("department"):
        for f in item.figures:
            if f.numeric:
                value = data.department.figures.get(f.code, float("nan"))
                yield [plan.department.code, f.code, _number_text(value), MISSING if value != value else REPORTED,
                       "", "", "", ""]


def _number_text(value: object) -> str:
    """A value as figures.csv writes it: whole numbers without a decimal point, others as repr."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(float(value))
    return str(value)


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def figures_table(data: ReportData) -> pd.DataFrame:
    """figures.csv: unit × numeric figure the units report, the oblast total (unit `oblast`), then the
    department's own figures (unit `department`).

    Per unit row `coverage` says whether the value was reported on the date, carried forward (from
    `carried_from`) or is missing; per oblast row the three `units_*` columns count the units behind it.
    """
    plan = data.plan
    codes = [f.code for item in plan.items_for("units") for f in item.figures if f.numeric]
    values = data.values[codes]
    long = values.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="figure", value_name="value")
    state = data.coverage[data.date][codes].rename_axis("unit").reset_index().melt(
        id_vars="unit", var_name="figure", value_name="coverage")
    source = data.carried_from[data.date][codes].rename_axis("unit").reset_index().melt(
        id_vars="unit", var_name="figure", value_name="carried_from")
    long["coverage"] = state["coverage"].to_numpy()
    long["carried_from"] = [None if pd.isna(v) else pd.Timestamp(v).date().isoformat()
                            for v in source["carried_from"].tolist()]
    totals = data.totals[codes].rename_axis("figure").reset_index(name="value")
    totals.insert(0, "unit", OBLAST)
    counts = data.coverage[data.date][codes]
    for state_name in (REPORTED, CARRIED, MISSING):
        totals[f"units_{state_name}"] = [int((counts[c] == state_name).sum()) for c in codes]
    dept_codes = [f.code for item in plan.items_for("department") for f in item.figures if f.numeric]
    dept_values = [data.department.figures.get(code, float("nan")) for code in dept_codes]
    dept = pd.DataFrame(
        {"unit": plan.department.code, "figure": dept_codes, "value": dept_values,
         "coverage": [MISSING if v != v else REPORTED for v in dept_values]}
    )
    return pd.concat([long, totals, dept], ignore_index=True).reindex(columns=FIGURE_COLUMNS)
