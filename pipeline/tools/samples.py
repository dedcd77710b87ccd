"""Sample submissions: filled district forms with realistic, internally consistent figures.

They stand in for the real e-mails of 2017 in tests and demos, so they carry what real files carry: running
totals that only grow, "of which" figures within their totals, help per child in a plausible band, a unit
written by its Russian name now and then, a file sent late, a unit that did not report on some date.
`SampleSet` records exactly what was written, so other stages can be checked against it.

Everything is drawn from `random.Random` seeded by text (seed, unit, purpose): a unit's figures do not
depend on which other units or dates are generated, and the same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.forms import layout
from pipeline.forms.build import build_form, save_workbook
from pipeline.plan.model import Item, Plan
from pipeline.texts import load_data


#: Final (last reporting date) value ranges of independent count figures for a rural district; Орал's are
#: multiplied by CITY_SCALE. The profile says when during the campaign the work is done.
#: early: mostly in the first weeks; even: throughout; september: from 1 September (Knowledge Day);
#: once: all by the first report.
FIGURE_MODEL: dict[str, tuple[int, int, str]] = {
    "home_visits": (300, 2000, "early"),
    "risk_children_found": (20, 150, "early"),
    "raids": (8, 30, "even"),
    "out_of_school_found": (5, 40, "even"),
    "help_children": (300, 1500, "even"),
    "sponsors_involved": (15, 80, "even"),
    "first_grade_events": (5, 25, "september"),
    "first_grade_gifts": (100, 400, "september"),
    "price_checks": (3, 12, "even"),
    "containers": (3, 15, "early"),
    "container_items": (100, 800, "even"),
    "patron_organisations": (10, 50, "early"),
    "patron_pupils": (50, 400, "early"),
    "hotline_calls": (5, 40, "even"),
    "school_fairs": (1, 5, "early"),
    "mobile_shops": (1, 6, "early"),
    "fair_entrepreneurs": (10, 60, "early"),
    "knowledge_day_events": (20, 60, "september"),
    "press_conferences": (1, 3, "once"),
    "tv_stories": (2, 15, "even"),
    "radio_stories": (1, 8, "even"),
    "print_articles": (3, 20, "even"),
    "interviews": (1, 6, "even"),
    "talk_shows": (0, 2, "even"),
    "video_shows": (5, 40, "even"),
    "website_posts": (5, 30, "even"),
    "billboards": (1, 6, "early"),
    "banners": (3, 15, "early"),
    "posters": (20, 150, "early"),
    "survey_respondents": (100, 800, "even"),
    "leaflets": (200, 2000, "early"),
    "info_stands": (10, 50, "early"),
    "proposal_letters": (10, 60, "once"),
    # The department's own figures (oblast level).
    "launch_media_publications": (3, 12, "early"),
}
CITY_SCALE = 4.0
#: Help per child in tenge (the plan's plausibility band is wider: 1,000–100,000).
PER_CHILD_TENGE = (4_000, 15_000)
#: Orders of magnitude for Орал: 2016 campaign helped 4,000 pupils.
CITY_CHILDREN = (3_500, 4_800)
#: Figures derived from others (shares of a total, or per child); never drawn on their own.
IN_KIND = ("school_bags", "uniform_sets", "sports_suits", "shoes_pairs", "stationery_sets")
#: Figures a unit may leave blank for the whole campaign (rarely filled in real files).
OPTIONAL = frozenset({"talk_shows", "radio_stories", "container_items", "sports_suits", "mobile_shops"})
CAMPAIGN_DAY_MONTH_SEPTEMBER = (9, 1)  # Knowledge Day: first-grade events happen on it


@dataclass(frozen=True)
class SampleFile:
    """One sample file and exactly what was written into it (code → value)."""

    path: Path
    unit: str
    report_date: dt.date
    filled_date: dt.date
    values: dict[str, object]

    @property
    def late(self) -> bool:
        return self.filled_date > self.report_date


@dataclass
class SampleSet:
    """What `generate_samples` wrote. `missing` and `late` are (unit code, reporting date) pairs."""

    seed: int
    outdir: Path
    dates: tuple[dt.date, ...]
    files: list[SampleFile] = field(default_factory=list)
    missing: list[tuple[str, dt.date]] = field(default_factory=list)
    late: list[tuple[str, dt.date]] = field(default_factory=list)
    #: (unit, figure) a unit leaves blank on every date.
    never_filled: tuple[str, str] = ("", "")
    #: (item, units): an item past its deadline that these units still report as under way on every date,
    #: the final one included (the report must say «мерзімі өтті» and name them).
    still_open: tuple[str, tuple[str, ...]] = ("", ())

    def get(self, unit: str, date: dt.date) -> SampleFile | None:
        for f in self.files:
            if f.unit == unit and f.report_date == date:
                return f
        return None

    def value(self, unit: str, date: dt.date, code: str) -> object | None:
        f = self.get(unit, date)
        return None if f is None else f.values.get(code)

    @property
    def units(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.files:
            seen.setdefault(f.unit, None)
        return list(seen)


def sample_text() -> dict[str, Any]:
    """The invented names, comments and file-name patterns (data/sample_text.yaml)."""
    return load_data("sample_text.yaml")


# ---------------------------------------------------------------------------------------------------------
# Filling a form


def find_rows(ws: Worksheet) -> dict[str, int]:
    """Row of every code in the code column (the first occurrence wins)."""
    rows: dict[str, int] = {}
    for (cell,) in ws.iter_rows(min_col=layout.CODE_COLUMN, max_col=layout.CODE_COLUMN):
        if isinstance(cell.value, str) and cell.value.strip():
            rows.setdefault(cell.value.strip(), cell.row)
    return rows


def find_value_column(ws: Worksheet) -> int:
    """The column headed by one of layout.VALUE_HEADERS; the layout's column if no header is found."""
    for row in ws.iter_rows(max_row=min(ws.max_row, 60)):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.strip() in layout.VALUE_HEADERS:
                return cell.column
    return layout.VALUE_COLUMN


def _put(ws: Worksheet, rows: Mapping[str, int], column: int, values: Mapping[str, object]) -> None:
    unknown = sorted(set(values) - set(rows))
    if unknown:
        raise KeyError(f"codes not found in the form: {', '.join(unknown)}")
    for code, value in values.items():
        ws.cell(row=rows[code], column=column).value = value


def fill_form(template: Path, out: Path, values: Mapping[str, object]) -> None:
    """Write `values` (row code → value) into a copy of the form `template`, saved as `out`.

    Rows are found by their code in column A, so any workbook of this layout works, however its rows are
    arranged. Defined names, validation and protection of the template are kept (openpyxl round-trips
    them). Saving is whole-or-nothing.
    """
    wb = load_workbook(template)
    ws = wb[layout.FORM_SHEET] if layout.FORM_SHEET in wb.sheetnames else wb.worksheets[0]
    _put(ws, find_rows(ws), find_value_column(ws), values)
    stamp = wb.properties.modified or dt.datetime(1980, 1, 1)
    save_workbook(wb, Path(out), stamp)


# ---------------------------------------------------------------------------------------------------------
# Drawing the figures


def _rng(seed: int, *parts: str) -> random.Random:
    # Seeding with text is stable across runs and Python versions (it hashes the text with SHA-512).
    return random.Random(":".join([str(seed), *parts]))


def _weights(plan: Plan, profile: str, rng: random.Random) -> list[float]:
    start, end = plan.campaign.starts, plan.campaign.ends
    span = max((end - start).days, 1)
    september = dt.date(plan.campaign.year, *CAMPAIGN_DAY_MONTH_SEPTEMBER)
    weights: list[float] = []
    for i, d in enumerate(plan.dates):
        x = (d - start).days / span
        if profile == "early":
            w = math.exp(-3 * x)
        elif profile == "september":
            w = (3.0 if not weights or sum(weights) == 0 else 0.5) if d >= september else 0.0
        elif profile == "once":
            w = 1.0 if i == 0 else 0.0
        else:
            w = 1.0
        weights.append(w * rng.uniform(0.6, 1.4))
    if sum(weights) == 0:
        weights[-1] = 1.0
    return weights


def _cumulative(final: int, weights: Sequence[float]) -> list[int]:
    """Running totals that reach `final` on the last date; rounding a growing share keeps them monotonic."""
    total = sum(weights)
    out: list[int] = []
    acc = 0.0
    for w in weights:
        acc += w
        out.append(round(final * min(acc / total, 1.0)))
    out[-1] = final
    return out


def _split(totals: Sequence[int], share: tuple[float, float], rng: random.Random, step: int = 1) -> list[int]:
    """An "of which" series: each period takes a share of its total's growth, so it never exceeds it."""
    out: list[int] = []
    acc = 0
    prev = 0
    for total in totals:
        growth = total - prev
        prev = total
        part = math.floor(growth * rng.uniform(*share) / step) * step
        acc += max(0, min(part, growth))
        out.append(acc)
    return out


def _figure_series(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    """Value of every figure the reporter fills, for each plan date (None = left blank)."""
    rng = _rng(seed, reporter, "figures")
    is_department = reporter == plan.department.code
    unit = None if is_department else plan.unit_by_code[reporter]
    city = unit is not None and unit.kind == "city"
    scale = CITY_SCALE if city else rng.uniform(0.7, 1.4)
    n = len(plan.dates)
    series: dict[str, list[object]] = {}

    def draw(code: str) -> list[int]:
        lo, hi, profile = FIGURE_MODEL[code]
        final = round(rng.randint(lo, hi) * scale)
        return _cumulative(final, _weights(plan, profile, rng))

    figures = {f.code for item in plan.items_for(plan.reporter_of(reporter)) for f in item.figures}
    if "help_children" in figures:
        lo, hi = CITY_CHILDREN if city else FIGURE_MODEL["help_children"][:2]
        final = rng.randint(lo, hi)
        children = _cumulative(final, _weights(plan, "even", rng))
        # Every unit has helped someone by the first report: the campaign starts before it.
        children = [max(c, 1) for c in children]
        series["help_children"] = list(children)
        series["sponsor_children"] = list(_split(children, (0.3, 0.7), rng))
        per_child = rng.uniform(*PER_CHILD_TENGE)
        amounts: list[int] = []
        prev_children = 0
        acc = 0
        for c in children:
            acc += int(round((c - prev_children) * per_child * rng.uniform(0.85, 1.15), -3))
            prev_children = c
            amounts.append(acc)
        series["help_amount"] = list(amounts)
        sponsor = _split(amounts, (0.3, 0.7), rng, step=1000)
        series["sponsor_amount"] = list(sponsor)
        rest = [a - s for a, s in zip(amounts, sponsor)]
        # The fund's share is taken from what sponsors did not give, growth by growth, so
        # sponsor + fund never exceeds the total and the fund's running total never falls.
        fund: list[int] = []
        acc = 0
        prev_rest = 0
        for r in rest:
            growth = max(0, r - prev_rest)
            prev_rest = max(prev_rest, r)
            acc += math.floor(growth * rng.uniform(0.2, 0.6) / 1000) * 1000
            fund.append(acc)
        series["fund_amount"] = list(fund)
        for code in IN_KIND:
            ratio = rng.uniform(0.15, 0.6)
            series[code] = [math.floor(c * ratio) for c in children]
    if "out_of_school_found" in figures:
        found = draw("out_of_school_found")
        ratio = rng.uniform(0.6, 0.95)
        series["out_of_school_found"] = list(found)
        series["returned_to_school"] = [math.floor(f * ratio) for f in found]
    if "raids" in figures:
        raids = draw("raids")
        per_raid = rng.uniform(6, 15)
        series["raids"] = list(raids)
        series["raid_participants"] = [round(r * per_raid) for r in raids]
    if "hotline_calls" in figures:
        calls = draw("hotline_calls")
        ratio = rng.uniform(0.7, 1.0)
        series["hotline_calls"] = list(calls)
        series["hotline_resolved"] = [math.floor(c * ratio) for c in calls]
    yes, no = plan.yes_no.yes.label, plan.yes_no.no.label
    for code in sorted(figures):
        if code in series:
            continue
        fig = plan.figure_by_code[code]
        if fig.unit == "yesno":
            # Set up at the start, though now and then a unit reports it a date late.
            # The department's decisions (plan approved on 31 July, launch press conference) precede the
            # first report; its form says so from the first date.
            late_start = rng.random() < 0.25 and not is_department
            # Usually one date late; now and then for weeks (an overdue item the report must flag).
            late_dates = rng.choice([1, 1, 2, 4]) if late_start else 0
            series[code] = [no if i < late_dates else yes for i in range(n)]
        elif fig.unit == "count" and code in FIGURE_MODEL:
            series[code] = list(draw(code))
    for code in sorted(OPTIONAL & set(series)):
        if rng.random() < 0.25:
            series[code] = [None] * n
    return series


def _statuses(plan: Plan, reporter: str, seed: int, figures: Mapping[str, list[object]]) -> dict[str, list[object]]:
    rng = _rng(seed, reporter, "statuses")
    labels = {s.code: s.label for s in plan.statuses}
    no = plan.yes_no.no.label
    out: dict[str, list[object]] = {}
    for item in plan.items_for(plan.reporter_of(reporter)):
        done_at = _done_index(item, plan, rng)
        column: list[object] = []
        for i, d in enumerate(plan.dates):
            # An item whose yes/no figure still says «жоқ» cannot be reported as done.
            pending = any(figures.get(f.code, [None] * (i + 1))[i] == no for f in item.figures)
            if not item.due_by(d):
                column.append(labels["not_due"])
            elif i >= done_at and not pending:
                column.append(labels["done"])
            else:
                column.append(labels["in_progress"])
        out[item.status_code] = column
    return out


def _done_index(item: Item, plan: Plan, rng: random.Random) -> int:
    """The first reporting date (index) on which the unit reports the item as done."""
    n = len(plan.dates)
    profiles = {FIGURE_MODEL[f.code][2] for f in item.figures if f.code in FIGURE_MODEL}
    if any(f.unit == "yesno" for f in item.figures):
        # A decision (a plan approved, a commission set up): done as soon as its yes/no says yes.
        return 0
    if "once" in profiles:
        return 0
    if "september" in profiles:
        september = dt.date(plan.campaign.year, *CAMPAIGN_DAY_MONTH_SEPTEMBER)
        first = next((i for i, d in enumerate(plan.dates) if d >= september), n - 1)
        return min(n - 1, first + rng.choice([0, 0, 1]))
    if "early" in profiles:
        return rng.choice([1, 2, 2, 3])
    # A few units still report work under way on the final date.
    return rng.choice([n - 2, n - 1, n - 1, n - 1, n])


def _comments(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    rng = _rng(seed, reporter, "comments")
    texts: dict[str, list[str]] = sample_text()["comments"]
    out: dict[str, list[object]] = {}
    if reporter == plan.department.code:
        # The department writes what its statuses say (a «done» item is never «орындалуда» in its comment).
        fixed: dict[str, str] = sample_text()["department_comments"]
        return {item.comment_code: [fixed.get(item.code)] * len(plan.dates) for item in plan.items_for("department")}
    september = dt.date(plan.campaign.year, *CAMPAIGN_DAY_MONTH_SEPTEMBER)
    for item in plan.items_for(plan.reporter_of(reporter)):
        # Knowledge Day items speak of what happened on 1 September; before it only a general remark fits.
        later = any(FIGURE_MODEL.get(f.code, (0, 0, ""))[2] == "september" for f in item.figures)
        column: list[object] = []
        for d in plan.dates:
            choices = texts["any"] if later and d < september else texts.get(item.code, texts["any"])
            column.append(rng.choice(choices) if rng.random() < 0.25 else None)
        out[item.comment_code] = column
    return out


def _honour(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    """`sponsors_to_honour` on the final date for about half of the units: a list of company names."""
    rng = _rng(seed, reporter, "honour")
    if reporter == plan.department.code or "sponsors_to_honour" not in plan.figure_by_code:
        return {}
    series: list[object] = [None] * len(plan.dates)
    if rng.random() < 0.5:
        names = rng.sample(sample_text()["sponsors"], rng.randint(1, 3))
        series[-1] = ", ".join(names)
    return {"sponsors_to_honour": series}


#: The figure one unit leaves blank on every date (the plan reports it as a gap, naming the unit).
NEVER_FILLED = "container_items"
#: The item due before the campaign (31 July) that a few units have still not finished on 28 September:
#: the price-monitoring commission of the issue's report («I.7 … орындалу үстінде» in 3 units).
STILL_OPEN = "I.7"
STILL_OPEN_UNITS = 3


@dataclass(frozen=True)
class _Schedule:
    missing: frozenset[tuple[str, dt.date]]
    late: dict[tuple[str, dt.date], int]  # days after the reporting date
    never_filled: tuple[str, str] = ("", "")  # (unit, figure) left blank throughout
    still_open: tuple[str, tuple[str, ...]] = ("", ())  # (item, units) under way past its deadline throughout


def _schedule(plan: Plan, seed: int) -> _Schedule:
    """Which unit skips which dates and who sends late; drawn over all plan dates, whatever is generated."""
    rng = _rng(seed, "schedule")
    districts = [u.code for u in plan.units if u.kind == "district"]
    interim = [d.date for d in plan.reporting_dates if d.kind == "interim"]
    absent_unit = rng.choice(districts)
    missing = frozenset((absent_unit, d) for d in rng.sample(interim, rng.randint(1, 2)))
    late: dict[tuple[str, dt.date], int] = {}
    late_units = rng.sample([c for c in districts if c != absent_unit] + [plan.units[0].code], 2)
    for unit, count in zip(late_units, (2, 1)):
        for d in rng.sample(list(plan.dates), count):
            late[(unit, d)] = rng.randint(1, 3)
    blank_unit = rng.choice([c for c in districts if c != absent_unit])
    # Its own random stream, so adding it changed none of the draws above (the demo's other situations).
    open_rng = _rng(seed, "still-open")
    item = plan.item_by_code.get(STILL_OPEN)
    still_open: tuple[str, tuple[str, ...]] = ("", ())
    if item is not None and item.due is not None and "units" in item.reported_by:
        codes = [u.code for u in plan.units]
        chosen = set(open_rng.sample(codes, min(STILL_OPEN_UNITS, len(codes))))
        still_open = (item.code, tuple(c for c in codes if c in chosen))
    return _Schedule(missing=missing, late=late, never_filled=(blank_unit, NEVER_FILLED), still_open=still_open)


def _header(plan: Plan, reporter: str, seed: int, date: dt.date, late_days: int | None) -> tuple[dict[str, object], dt.date, str]:
    """Header values, the filled date and the name written in the file name."""
    rng = _rng(seed, reporter, "header", date.isoformat())
    person = _rng(seed, reporter, "person")
    if reporter == plan.department.code:
        name, variants = plan.department.name, [plan.department.name_ru]
        executor, phone = plan.executor.name, plan.executor.phone
        short = plan.department.name
    else:
        unit = plan.unit_by_code[reporter]
        name, variants, short = unit.name, [unit.name_ru, *unit.aliases], unit.short
        executor = person.choice(sample_text()["executors"])
        if unit.kind == "city":
            phone = f"8 (7112) 5{person.randint(0, 9)}-{person.randint(10, 99)}-{person.randint(10, 99)}"
        else:
            phone = f"8 (711{person.randint(30, 46)}) 2-{person.randint(10, 99)}-{person.randint(10, 99)}"
    written = rng.choice(variants) if rng.random() < 0.12 else name
    if late_days:
        filled = date + dt.timedelta(days=late_days)
    else:
        filled = date - dt.timedelta(days=rng.choice([0, 0, 1, 2]))
    values: dict[str, object] = {
        layout.FORM_ID_CODE: layout.form_id(plan),
        layout.HEADER_CODES["unit"]: written,
        layout.HEADER_CODES["report_date"]: date,
        layout.HEADER_CODES["executor"]: executor,
        layout.HEADER_CODES["phone"]: phone,
        layout.HEADER_CODES["filled_date"]: filled,
    }
    file_label = rng.choice([short, short, written]) if written != name else short
    return values, filled, file_label


def sample_values(plan: Plan, reporter: str, date: dt.date, seed: int = 2017) -> dict[str, object]:
    """Everything one sample form of `reporter` holds on `date`: code → value (blank codes are absent)."""
    if date not in plan.dates:
        raise ValueError(f"{date} is not a reporting date of the plan")
    i = plan.dates.index(date)
    late_days = _schedule(plan, seed).late.get((reporter, date))
    values, _, _ = _header(plan, reporter, seed, date, late_days)
    values.update(_body(plan, _series(plan, reporter, seed), i))
    return values


def _series(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    """Every body code of the reporter's form → its value on each plan date (None = blank)."""
    columns: dict[str, list[object]] = {}
    columns.update(_figure_series(plan, reporter, seed))
    unit, code = _schedule(plan, seed).never_filled
    if reporter == unit and code in columns:
        columns[code] = [None] * len(plan.dates)
    item_code, open_units = _schedule(plan, seed).still_open
    if reporter in open_units:
        # Consistent with its status: the commission of the still-open item is not set up either.
        for fig in plan.item_by_code[item_code].figures:
            if fig.unit == "yesno" and fig.code in columns:
                columns[fig.code] = [plan.yes_no.no.label] * len(plan.dates)
    columns.update(_statuses(plan, reporter, seed, columns))
    if reporter in open_units:
        item = plan.item_by_code[item_code]
        labels = {st.code: st.label for st in plan.statuses}
        columns[item.status_code] = [labels["in_progress" if item.due_by(d) else "not_due"] for d in plan.dates]
    columns.update(_comments(plan, reporter, seed))
    columns.update(_honour(plan, reporter, seed))
    return columns


def _body(plan: Plan, columns: Mapping[str, list[object]], i: int) -> dict[str, object]:
    # Form order, so the dict reads like the form.
    return {
        code: columns[code][i]
        for code in layout.all_codes(plan)
        if code in columns and columns[code][i] is not None
    }


def _file_name(seed: int, reporter: str, date: dt.date, label: str) -> str:
    rng = _rng(seed, reporter, "file", date.isoformat())
    pattern = rng.choice(sample_text()["file_names"])
    name = pattern.format(
        name=label, code=reporter, dd=f"{date.day:02d}", mm=f"{date.month:02d}", yyyy=str(date.year),
        iso=date.isoformat(),
    )
    return name.replace("/", "-")


def generate_samples(
    plan: Plan, outdir: Path, seed: int = 2017, dates: Sequence[dt.date] | None = None
) -> SampleSet:
    """Fill the forms of all units and the department for `dates` (default: every reporting date)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    chosen = tuple(plan.dates if dates is None else dates)
    for d in chosen:
        if d not in plan.dates:
            raise ValueError(f"{d} is not a reporting date of the plan")
    schedule = _schedule(plan, seed)
    result = SampleSet(seed=seed, outdir=outdir, dates=chosen, never_filled=schedule.never_filled,
                       still_open=schedule.still_open)
    used_names: set[str] = set()
    for reporter in [u.code for u in plan.units] + [plan.department.code]:
        built = build_form(plan, reporter)
        ws = built.workbook[layout.FORM_SHEET]
        rows = {code: r.row for code, r in built.rows.items()}
        series = _series(plan, reporter, seed)
        for date in chosen:
            if (reporter, date) in schedule.missing:
                result.missing.append((reporter, date))
                continue
            late_days = schedule.late.get((reporter, date))
            values, filled, label = _header(plan, reporter, seed, date, late_days)
            values.update(_body(plan, series, plan.dates.index(date)))
            # The same workbook serves every date: clear what the previous date wrote.
            _put(ws, rows, layout.VALUE_COLUMN, {code: values.get(code) for code in rows})
            name = _file_name(seed, reporter, date, label)
            if name in used_names:
                name = f"{Path(name).stem} ({reporter}){Path(name).suffix}"
            used_names.add(name)
            path = outdir / name
            filled_at = dt.datetime.combine(filled, dt.time(17, 0))
            save_workbook(built.workbook, path, filled_at)
            # The file time says when it was sent, like a saved e-mail attachment.
            os.utime(path, (filled_at.timestamp(), filled_at.timestamp()))
            result.files.append(SampleFile(path=path, unit=reporter, report_date=date, filled_date=filled,
                                           values=values))
            if filled > date:
                result.late.append((reporter, date))
    return result
