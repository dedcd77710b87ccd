"""Realistic `ReportData` for any reporting date of the plan, for rendering tests and sample reports.

Numbers are deterministic: each unit × figure has a campaign-end value drawn once from a seeded generator
(Орал several times a district), and a reporting date shows a growing share of it, so running totals never
fall. A fixed pattern makes some units late or missing; a missing unit carries its last figures.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import replace

import numpy as np
import pandas as pd

from pipeline.aggregate.model import DepartmentReport, ReportData, Timeliness
from pipeline.plan import Plan, load_plan

# Share of the campaign-end value reached by each reporting date (index into plan.dates).
PROGRESS = (0.18, 0.4, 0.66, 0.86, 0.95, 1.0)

# (reporting date index, unit code) → days late; a 0 means the unit did not submit for that date.
LATE: dict[tuple[int, str], int] = {
    (0, "zhanibek"): 0,  # never reported on the first date: no figures at all
    (0, "kaztalov"): 2,
    (1, "syrym"): 0,
    (1, "kaztalov"): 0,
    (1, "borli"): 1,
    (2, "terekti"): 3,
    (3, "karatobe"): 0,
    (3, "oral"): 1,
    (4, "syrym"): 2,
    (5, "shyngyrlau"): 1,
}

# Rough campaign-end figures per unit size (children helped); amounts per child in tenge.
SIZE = {"oral": 4200}
SAMPLE_COMMENT = "Демеушілермен келіссөз жүргізілуде"
SAMPLE_SPONSORS = ("«Батыс Құрылыс» ЖШС", "«Ақжол» ЖК", "«Жайық Агро» ЖШС")


def _rng(*keys: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("|".join(keys).encode("utf-8")))


def _end_values(plan: Plan) -> pd.DataFrame:
    """Campaign-end value of every numeric figure per unit."""
    rows: dict[str, dict[str, float]] = {}
    for unit in plan.units:
        r = _rng("end", unit.code)
        children = float(SIZE.get(unit.code, int(r.integers(300, 1500))))
        scale = children / 800.0
        per_child = float(r.integers(7000, 12000))
        row: dict[str, float] = {}
        for fig in plan.figures:
            if not fig.numeric:
                continue
            item = plan.item_of_figure[fig.code]
            if "units" not in item.reported_by:
                row[fig.code] = np.nan
            elif fig.unit == "yesno":
                row[fig.code] = 1.0
            else:
                row[fig.code] = float(round(_rng(unit.code, fig.code).integers(5, 60) * scale))
        # The 2017 plan's figures in realistic proportions; another plan's figures keep the values above.
        shaped = {
            "help_children": lambda: children,
            "sponsor_children": lambda: round(children * 0.62),
            "help_amount": lambda: children * per_child,
            "sponsor_amount": lambda: round(row.get("help_amount", children * per_child) * 0.55),
            "fund_amount": lambda: round(row.get("help_amount", children * per_child) * 0.3),
            "sponsors_involved": lambda: round(12 + 40 * scale),
            "home_visits": lambda: round(children * 1.6),
            "raids": lambda: round(8 + 6 * scale),
            "out_of_school_found": lambda: round(3 + 4 * scale),
            "returned_to_school": lambda: round(row.get("out_of_school_found", 3 + 4 * scale) * 0.8),
            "hotline_resolved": lambda: round(row.get("hotline_calls", 30 * scale) * 0.9),
            "sponsors_honoured": lambda: 0.0,
        }
        for code, value in shaped.items():
            if code in row and "units" in plan.item_of_figure[code].reported_by:
                row[code] = float(value())
        rows[unit.code] = row
    columns = [f.code for f in plan.figures if f.numeric]
    return pd.DataFrame.from_dict(rows, orient="index")[columns]


def _values_at(end: pd.DataFrame, index: int, plan: Plan) -> pd.DataFrame:
    share = PROGRESS[min(index, len(PROGRESS) - 1)]
    frame = end.copy()
    for fig in plan.figures:
        if fig.unit in ("count", "tenge"):
            frame[fig.code] = np.round(end[fig.code] * share)
    if fig_codes := [f.code for f in plan.figures if f.unit == "tenge"]:
        # Amounts in whole tenge, like real forms.
        frame[fig_codes] = frame[fig_codes].round(0)
    return frame


def _status(item_code: str, unit_code: str, index: int, last: int) -> str:
    r = _rng("status", item_code, unit_code, str(index))
    if index == last and last == 5:
        return "not_done" if r.random() < 0.04 else "done"
    roll = r.random()
    if roll < 0.1 + 0.15 * index:
        return "done"
    return "in_progress" if roll < 0.93 else "not_done"


def make_report_data(
    date: dt.date | str = "2017-08-17",
    plan: Plan | None = None,
    *,
    comment: str | None = None,
    sponsors_text: str | None = None,
) -> ReportData:
    """ReportData at `date`; `comment` goes on the first not-done item, `sponsors_text` into Орал's texts."""
    plan = plan or load_plan()
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    dates = [d for d in plan.dates if d <= date]
    if not dates or dates[-1] != date:
        raise ValueError(f"{date} is not a reporting date of the plan")
    last = len(dates) - 1
    end = _end_values(plan)
    units = [u.code for u in plan.units]

    history: dict[dt.date, pd.DataFrame] = {}
    timeliness: list[Timeliness] = []
    last_source: dict[str, dt.date | None] = {u: None for u in units}
    coverage: dict[dt.date, pd.DataFrame] = {}
    carried_from: dict[dt.date, pd.DataFrame] = {}
    carried = pd.DataFrame(np.nan, index=units, columns=end.columns)
    gaps = [c for c in end.columns if plan.when_missing(c) == "gap"]
    for i, d in enumerate(dates):
        fresh = _values_at(end, i, plan)
        frame = carried.copy()
        frame[gaps] = np.nan  # the plan leaves these out rather than carry them
        state = pd.DataFrame("missing", index=units, columns=end.columns, dtype=object)
        source = pd.DataFrame(pd.NaT, index=units, columns=end.columns, dtype="datetime64[ns]")
        for u in units:
            days = LATE.get((i, u))
            if days == 0:
                timeliness.append(Timeliness(unit=u, date=d, state="missing"))
                if last_source[u] is not None:
                    state.loc[u] = state.loc[u].mask(frame.loc[u].notna(), "carried")
                    source.loc[u] = source.loc[u].mask(frame.loc[u].notna(), pd.Timestamp(last_source[u]))
                continue
            frame.loc[u] = fresh.loc[u]
            state.loc[u] = state.loc[u].mask(frame.loc[u].notna(), "reported")
            last_source[u] = d
            file = f"{u}_{d.isoformat()}.xlsx"
            if days is None:
                timeliness.append(Timeliness(unit=u, date=d, state="on_time", file=file, filled=d))
            else:
                filled = d + dt.timedelta(days=days)
                timeliness.append(Timeliness(u, d, "late", days_late=days, file=file, filled=filled))
        frame.index.name = "unit"
        history[d] = frame
        coverage[d] = state
        carried_from[d] = source
        carried = frame

    item_codes = [i.code for i in plan.items]
    statuses = pd.DataFrame(None, index=units, columns=item_codes, dtype=object)
    comments = pd.DataFrame(None, index=units, columns=item_codes, dtype=object)
    placed_comment = False
    for u in units:
        if last_source[u] is None:
            continue
        src_index = dates.index(last_source[u])
        for item in plan.items:
            if "units" not in item.reported_by:
                continue
            if not item.due_by(last_source[u]):
                statuses.loc[u, item.code] = "not_due"
                continue
            state = _status(item.code, u, src_index, last)
            statuses.loc[u, item.code] = state
            if state == "not_done":
                text = SAMPLE_COMMENT
                if comment is not None and not placed_comment:
                    text, placed_comment = comment, True
                comments.loc[u, item.code] = text
    if comment is not None and not placed_comment:
        # Make sure the caller's comment reaches the document: force one not-done item (one the units report).
        u = next(u for u in units if last_source[u] is not None)
        item = next(i.code for i in plan.items if "units" in i.reported_by and i.due_by(date))
        statuses.loc[u, item] = "not_done"
        comments.loc[u, item] = comment

    text_codes = [f.code for f in plan.figures if f.unit == "text"]
    texts = pd.DataFrame(None, index=units, columns=text_codes, dtype=object)
    if "sponsors_to_honour" in text_codes:
        for k, u in enumerate(units):
            if last_source[u] is not None and k % 4 == 0:
                texts.loc[u, "sponsors_to_honour"] = ", ".join(SAMPLE_SPONSORS[: 1 + k % 3])
        if sponsors_text is not None:
            texts.loc[units[0], "sponsors_to_honour"] = sponsors_text

    share = PROGRESS[min(last, len(PROGRESS) - 1)]
    department = DepartmentReport(
        source_date=date,
        figures={code: value for code, value in {
            "launch_press_conference": 1.0,
            "launch_media_publications": float(round(14 * share + 4)),
            "plan_approved": 1.0,
            "press_conferences": 1.0 + (last >= 3),
            "tv_stories": float(round(20 * share)),
            "print_articles": float(round(35 * share)),
            "website_posts": float(round(60 * share)),
        }.items() if code in plan.figure_by_code},
        statuses={
            i.code: ("done" if i.code in ("I.1", "I.2", "II.1") or last == 5 else "in_progress")
            for i in plan.items_for("department")
        },
        comments={},
        file=f"department_{date.isoformat()}.xlsx",
    )
    return ReportData(
        plan=plan,
        date=date,
        history=history,
        coverage=coverage,
        carried_from=carried_from,
        source_dates=dict(last_source),
        statuses=statuses,
        comments=comments,
        texts=texts,
        department=department,
        timeliness=tuple(timeliness),
    )


def with_department_comment(data: ReportData, item: str, text: str) -> ReportData:
    comments = dict(data.department.comments)
    comments[item] = text
    return replace(data, department=replace(data.department, comments=comments))
