"""Aggregating the selected submissions with pandas into `ReportData`."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.aggregate.model import OBLAST, DepartmentReport, ReportData
from pipeline.aggregate.select import Selection
from pipeline.plan.model import Plan


def numeric_codes(plan: Plan) -> list[str]:
    return [f.code for f in plan.figures if f.numeric]


def aggregate(plan: Plan, selection: Selection) -> ReportData:
    date = selection.date
    units = [u.code for u in plan.units]
    codes = numeric_codes(plan)
    history: dict[dt.date, pd.DataFrame] = {}
    department_history: dict[dt.date, DepartmentReport] = {}
    for reporting_date in plan.dates:
        if reporting_date > date:
            break
        department_history[reporting_date] = _department(plan, selection, reporting_date)
        rows = {}
        for unit in units:
            sub = selection.latest(unit, reporting_date)
            rows[unit] = sub.values if sub is not None else {}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=codes, dtype="float64")
        history[reporting_date] = frame.reindex(index=units, columns=codes)

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
        source_dates=source_dates,
        statuses=_object_frame(statuses, units, unit_items),
        comments=_object_frame(comments, units, unit_items),
        texts=_object_frame(texts, units, text_codes),
        department=department_history[date],
        timeliness=selection.timeliness,
        department_history=department_history,
    )


def _department(plan: Plan, selection: Selection, date: dt.date) -> DepartmentReport:
    dept = selection.latest(plan.department.code, date)
    if dept is None:
        return DepartmentReport(source_date=None)
    return DepartmentReport(
        source_date=dept.report_date, figures=dict(dept.values), statuses=dict(dept.statuses),
        comments=dict(dept.comments), file=dept.name,
    )


def _object_frame(rows: dict[str, dict[str, str]], index: list[str], columns: list[str]) -> pd.DataFrame:
    data = [[rows.get(unit, {}).get(col) for col in columns] for unit in index]
    return pd.DataFrame(data, index=index, columns=columns, dtype=object)


def figures_table(data: ReportData) -> pd.DataFrame:
    """figures.csv: unit × numeric figure the units report, the oblast total (unit `oblast`), then the
    department's own figures (unit `department`)."""
    plan = data.plan
    codes = [f.code for item in plan.items_for("units") for f in item.figures if f.numeric]
    values = data.values[codes]
    long = values.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="figure", value_name="value")
    totals = data.totals[codes].rename_axis("figure").reset_index(name="value")
    totals.insert(0, "unit", OBLAST)
    dept_codes = [f.code for item in plan.items_for("department") for f in item.figures if f.numeric]
    dept = pd.DataFrame(
        {"unit": plan.department.code, "figure": dept_codes,
         "value": [data.department.figures.get(code, float("nan")) for code in dept_codes]}
    )
    return pd.concat([long, totals, dept], ignore_index=True)
