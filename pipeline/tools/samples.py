"""Sample submissions: filled district forms with realistic, internally consistent figures.

They stand in for the districts' real e-mails in tests and demos, for any plan, so they carry what real files
carry: running totals that only grow, "of which" figures within their totals, help per head in a plausible
band, a unit written by its Russian name now and then, a file sent late, a unit that did not report on some
date, a figure one unit never fills, an item past its deadline still under way in three units. Statuses
follow each item's dates (done by its deadline for most units, not due before its due_from).
`SampleSet` records exactly what was written, so other stages can be checked against it.

Nothing here names a figure, item or unit of a campaign: what a figure is comes from the plan's structure
(the per-head figures, roles, "of which" parts, units, the item's dates) and, where the structure cannot tell
a figure's size, from its optional `typical` range in the plan (visits run in thousands, talk shows in ones).

Everything is drawn from `random.Random` seeded by text (seed, unit, purpose): a unit's figures do not
depend on which other units or dates are generated, and the same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.forms import layout
from pipeline.forms.build import build_form, save_workbook
from pipeline.plan.clock import campaign_tz
from pipeline.plan.model import Item, Plan, sentence_fields
from pipeline.texts import load_data


#: What a rural district reaches by the final date when the plan gives no `typical` range for a figure:
#: people helped (the per-head denominator, or the first headline count; a district helps hundreds to
#: ~1,500 children), any other count (events, fairs, stories), any amount that is not help per head (tenge).
HEAD_RANGE = (300, 1_500)
COUNT_RANGE = (5, 40)
TENGE_RANGE = (500_000, 5_000_000)
#: The centre city reports this many times a district (shared/domain.md: 4,000 pupils, 38 million tenge in 2016) …
CITY_SCALE = 4.0
#: … and helps this many times the district range's top number of people.
CITY_HEAD = (2.3, 3.2)
#: Help per head in tenge (the plan's plausibility band is wider: 1,000–100,000).
PER_HEAD_TENGE = (4_000, 15_000)
#: Share of a whole's growth its part takes: the first part (sponsors of help) and the further ones (a
#: fund) of what the earlier parts left; a single part of a whole whose rest needs attention (children
#: returned to school, calls resolved) is most of it.
FIRST_PART, NEXT_PART, MOST = (0.3, 0.7), (0.2, 0.6), (0.6, 0.95)
#: In-kind things given: a share of the people helped.
IN_KIND_SHARE = (0.15, 0.6)
#: Up to this many figures (rarely filled in real files) a unit may leave blank for the whole campaign,
#: each with this chance per unit.
OPTIONAL_MAX, OPTIONAL_CHANCE = 5, 0.25
#: A sample never comes near a plan's upper bound for one unit (it would be flagged as implausible).
MAX_SHARE = 0.8


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


# ---------------------------------------------------------------------------------------------------------
# What the plan's figures are, for drawing them: read from their structure, never from their codes.


@dataclass(frozen=True)
class _Roles:
    """The plan's figures as the sample generator sees them."""

    head: str | None  # people helped: the per-head denominator, else the first headline count
    money: frozenset[str]  # amounts given per head (the per-head numerator, headline amounts)
    parts: dict[str, tuple[str, ...]]  # whole → its "of which" figures, in plan order
    optional: frozenset[str]  # figures a unit may leave blank all campaign (rarely filled in real files)
    in_rules: frozenset[str]  # figures a plausibility rule pairs or divides (never left blank)


def _roles(plan: Plan) -> _Roles:
    head = plan.report.per_head.denominator if plan.report.per_head else None
    if head is None:
        head = next((f.code for f in plan.figures if f.role == "headline" and f.unit == "count"), None)
    money = {plan.report.per_head.numerator} if plan.report.per_head else set()
    money |= {f.code for f in plan.figures if f.role == "headline" and f.unit == "tenge" and f.of is None}
    parts: dict[str, list[str]] = {}
    for fig in plan.figures:
        if fig.of is not None:
            parts.setdefault(fig.of, []).append(fig.code)
    rules = {c for pair in plan.rules.paired for c in pair} | set(plan.rules.max_values)
    rules |= {c for r in plan.rules.ratios for c in (r.numerator, r.denominator)}
    quiet = [f.code for f in plan.figures if _plain_count(plan, f.code, parts, rules | {head or ""})]
    rng = _rng(0, "optional", plan.campaign.code)
    optional = rng.sample(quiet, min(OPTIONAL_MAX, len(quiet) // 4))
    return _Roles(head, frozenset(money), {k: tuple(v) for k, v in parts.items()}, frozenset(optional),
                  frozenset(rules))


def _plain_count(plan: Plan, code: str, parts: Mapping[str, object], rules: set[str]) -> bool:
    """A count nothing depends on: no role, not key, not required, no parts, not a part, in no rule, in
    page-1 sentence, due within the campaign: leaving it blank troubles nothing but its own item's lines
    (where the report names the unit that left it blank)."""
    fig = plan.figure_by_code[code]
    item = plan.item_of_figure[code]
    said = {name.partition(".")[0] for s in plan.report.summary for lang in ("kk", "ru")
            for name in sentence_fields(getattr(s, lang))}
    return (fig.unit == "count" and fig.role is None and not fig.key and not fig.required and fig.of is None
            and code not in parts and code not in rules and code not in said and code not in plan.report.compare
            and "units" in item.reported_by and item.due_by(plan.final_date))


def _profile(plan: Plan, item: Item) -> str:
    """When during the campaign the item's work is done, from its dates: `from` its due_from (Knowledge Day),
    `once` (all by the first report: due before it), `by_due` (mostly before its deadline), `even`."""
    first = plan.dates[0]
    if item.due_from is not None and item.due_from > first:
        return "from"
    if item.due is not None:
        return "once" if item.due <= first else "by_due"
    return "even"


def _weights(plan: Plan, item: Item, rng: random.Random) -> list[float]:
    profile = _profile(plan, item)
    weights: list[float] = []
    after_due = 0
    # Work with no deadline goes on day by day: a date's share follows the days since the previous one
    # (a republic's ten-day cut holds a sixth of the campaign, not half of it).
    starts = [plan.campaign.starts - dt.timedelta(days=1), *plan.dates[:-1]]
    days = [max(1, (d - before).days) for d, before in zip(plan.dates, starts)]
    for i, d in enumerate(plan.dates):
        if profile == "from":
            w = (3.0 if not weights or sum(weights) == 0 else 0.5) if item.due_from and d >= item.due_from else 0.0
        elif profile == "once":
            w = 1.0 if i == 0 else 0.0
        elif profile == "by_due":
            if item.due is not None and d <= item.due:
                w = 1.0
            else:
                after_due += 1
                w = 0.6 if after_due == 1 else 0.15
        else:
            w = days[i] / (sum(days) / len(days))
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
        growth = max(0, total - prev)
        prev = max(prev, total)
        part = math.floor(growth * rng.uniform(*share) / step) * step
        acc += max(0, min(part, growth))
        out.append(acc)
    return out


def _capped(plan: Plan, code: str, final: float) -> int:
    bound = plan.rules.max_values.get(code)
    return int(min(final, bound * MAX_SHARE) if bound is not None else final)


def _figure_series(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    """Value of every figure the reporter fills, for each plan date (None = left blank)."""
    rng = _rng(seed, reporter, "figures")
    roles = _roles(plan)
    is_department = reporter == plan.department.code
    unit = None if is_department else plan.unit_by_code[reporter]
    city = unit is not None and is_centre_city(plan, unit.code)
    scale = CITY_SCALE if city else rng.uniform(0.7, 1.4)
    n = len(plan.dates)
    items = plan.items_for(plan.reporter_of(reporter))
    figures = [f for item in items for f in item.figures]
    series: dict[str, list[object]] = {}
    numbers: dict[str, list[int]] = {}

    def weights(code: str) -> list[float]:
        return _weights(plan, plan.item_of_figure[code], rng)

    # People helped first: the amounts given and the things given in kind follow from them.
    if roles.head in {f.code for f in figures}:
        low, high = plan.figure_by_code[roles.head].typical or HEAD_RANGE
        final = rng.randint(round(high * CITY_HEAD[0]), round(high * CITY_HEAD[1])) if city else rng.randint(
            round(low), round(high))
        # Every unit has helped someone by the first report: the campaign starts before it.
        numbers[roles.head] = [max(c, 1) for c in _cumulative(_capped(plan, roles.head, final), weights(roles.head))]
    for fig in figures:
        if fig.unit not in ("count", "tenge") or fig.of is not None or fig.code in numbers:
            continue
        head = numbers.get(roles.head or "")
        if fig.unit == "tenge" and fig.code in roles.money and head is not None:
            per_head = rng.uniform(*PER_HEAD_TENGE)
            amounts, prev, acc = [], 0, 0
            for c in head:
                acc += int(round((c - prev) * per_head * rng.uniform(0.85, 1.15), -3))
                prev = c
                amounts.append(acc)
            numbers[fig.code] = amounts
        elif fig.role == "in_kind" and head is not None:
            ratio = rng.uniform(*IN_KIND_SHARE)
            numbers[fig.code] = [math.floor(c * ratio) for c in head]
        else:
            low, high = fig.typical or (TENGE_RANGE if fig.unit == "tenge" else COUNT_RANGE)
            final = rng.uniform(low, high) * scale
            final = round(final, -3) if fig.unit == "tenge" else round(final)
            numbers[fig.code] = _cumulative(_capped(plan, fig.code, final), weights(fig.code))
    for whole, codes in roles.parts.items():
        rest = numbers.get(whole)
        if rest is None:
            continue
        step = 1000 if plan.figure_by_code[whole].unit == "tenge" else 1
        remainder = plan.figure_by_code[whole].remainder
        for n_part, code in enumerate(codes):
            if code not in {f.code for f in figures}:
                continue
            share = (MOST if remainder is not None and remainder.attention and len(codes) == 1
                     else FIRST_PART if n_part == 0 else NEXT_PART)
            part = _split(rest, share, rng, step)
            numbers[code] = part
            rest = [r - p for r, p in zip(rest, part)]
    series.update({code: list(values) for code, values in numbers.items()})
    for code in list(series):
        if not plan.item_of_figure[code].due_by(plan.final_date):
            series[code] = [None] * n  # its work falls after the campaign (honouring in October): nothing yet
    yes, no = plan.yes_no.yes.label, plan.yes_no.no.label
    for fig in figures:
        if fig.unit == "yesno":
            # Set up at the start, though now and then a unit reports it a date late; usually one date late,
            # now and then for weeks (an overdue item the report must flag). The department's decisions (its
            # plan approved before the campaign) precede the first report: its form says so from the start.
            late_start = rng.random() < 0.25 and not is_department
            late_dates = rng.choice([1, 1, 2, 4]) if late_start else 0
            series[fig.code] = [no if i < late_dates else yes for i in range(n)]
    for code in sorted(roles.optional & set(series)):
        if rng.random() < OPTIONAL_CHANCE:
            series[code] = [None] * n
    return series


def is_centre_city(plan: Plan, code: str) -> bool:
    """The city among an oblast's districts reports several times a district; the cities of a republic's
    plan (beside its oblasts) are regions like the others."""
    unit = plan.unit_by_code[code]
    return unit.kind == "city" and any(u.kind == "district" for u in plan.units)


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
    """The first reporting date (index) on which the unit reports the item as done: by its deadline for
    most units (the first report after it says so), a report later for some; from its due_from date on;
    towards the end for work without a deadline (some units still under way on the final date)."""
    n = len(plan.dates)
    if any(f.unit == "yesno" for f in item.figures):
        # A decision (a plan approved, a commission set up): done as soon as its yes/no says yes.
        return 0
    profile = _profile(plan, item)
    if profile == "from":
        first = next((i for i, d in enumerate(plan.dates) if item.due_from and d >= item.due_from), n - 1)
        return min(n - 1, first + rng.choice([0, 0, 1]))
    if item.due is not None:
        on_time = next((i for i, d in enumerate(plan.dates) if d >= item.due), n - 1)
        done = rng.choice([max(0, on_time - 1), on_time, on_time, on_time])
        return min(n, done + (1 if rng.random() < 0.12 else 0))
    return rng.choice([n - 2, n - 1, n - 1, n - 1, n])


def _comments(plan: Plan, reporter: str, seed: int, statuses: Mapping[str, list[object]]) -> dict[str, list[object]]:
    """Short comments that agree with the status of their date (a «done» item is never «жалғасуда»)."""
    rng = _rng(seed, reporter, "comments")
    words = sample_text()
    by_label = {s.label: s.code for s in plan.statuses}
    out: dict[str, list[object]] = {}
    department = reporter == plan.department.code
    for item in plan.items_for(plan.reporter_of(reporter)):
        column: list[object] = []
        fixed = rng.choice(words["department_comments"])  # the department writes one comment and keeps it
        for i in range(len(plan.dates)):
            status = by_label.get(str(statuses[item.status_code][i]), "")
            if department:
                column.append(fixed if status == "done" else None)
            else:
                choices = words["comments"].get(status) or words["comments"]["in_progress"]
                column.append(rng.choice(choices) if rng.random() < 0.25 else None)
        out[item.comment_code] = column
    return out


def _texts(plan: Plan, reporter: str, seed: int) -> dict[str, list[object]]:
    """Text figures: whom to honour (role honour) on the final date for about half of the units, a list of
    company names; any other text figure now and then, once its item is under way."""
    rng = _rng(seed, reporter, "honour")
    if reporter == plan.department.code:
        return {}
    out: dict[str, list[object]] = {}
    words = sample_text()
    for item in plan.items_for("units"):
        for fig in item.figures:
            if fig.unit != "text":
                continue
            column: list[object] = [None] * len(plan.dates)
            if fig.role == "honour":
                if rng.random() < 0.5:
                    column[-1] = ", ".join(rng.sample(words["sponsors"], rng.randint(1, 3)))
            else:
                for i, d in enumerate(plan.dates):
                    if item.due_by(d) and rng.random() < 0.4:
                        column[i] = rng.choice(words["notes"])
            out[fig.code] = column
    return out


#: How many units still report the overdue item as under way on every date.
STILL_OPEN_UNITS = 3


@dataclass(frozen=True)
class _Schedule:
    missing: frozenset[tuple[str, dt.date]]
    late: dict[tuple[str, dt.date], int]  # days after the reporting date
    never_filled: tuple[str, str] = ("", "")  # (unit, figure) left blank throughout
    still_open: tuple[str, tuple[str, ...]] = ("", ())  # (item, units) under way past its deadline throughout


def never_filled_figure(plan: Plan) -> str:
    """The figure one unit leaves blank on every date: one the plan leaves out of totals when missing
    (`when_missing: gap`, so the report names the unit), else any count nothing else depends on."""
    roles = _roles(plan)
    quiet = [f.code for f in plan.figures if _plain_count(plan, f.code, roles.parts, set(roles.in_rules))]
    gaps = [c for c in quiet if plan.when_missing(c) == "gap"]
    return (gaps or quiet or [""])[0]


def still_open_item(plan: Plan) -> str:
    """The item with the earliest deadline the units report (due by the first report): a few units still
    have it under way on every date, past its deadline (the report must say «мерзімі өтті» and name them)."""
    first = plan.dates[0]
    items = [i for i in plan.items if "units" in i.reported_by and i.due is not None and i.due_by(first)
             and not i.about_reporting]
    return min(items, key=lambda i: i.due or first).code if items else ""


def _schedule(plan: Plan, seed: int) -> _Schedule:
    """Which unit skips which dates and who sends late; drawn over all plan dates, whatever is generated."""
    rng = _rng(seed, "schedule")
    # The units that are not cities (an oblast's districts, a republic's oblasts).
    districts = [u.code for u in plan.units if u.kind != "city"] or [u.code for u in plan.units[1:]]
    interim = [d.date for d in plan.reporting_dates if d.kind == "interim"]
    absent_unit = rng.choice(districts)
    missing = frozenset((absent_unit, d) for d in rng.sample(interim, min(len(interim), rng.randint(1, 2))))
    late: dict[tuple[str, dt.date], int] = {}
    late_units = rng.sample([c for c in districts if c != absent_unit] + [plan.units[0].code], 2)
    for unit, count in zip(late_units, (2, 1)):
        for d in rng.sample(list(plan.dates), min(count, len(plan.dates))):
            late[(unit, d)] = rng.randint(1, 3)
    blank_unit = rng.choice([c for c in districts if c != absent_unit])
    # Its own random stream, so adding it changed none of the draws above (the demo's other situations).
    open_rng = _rng(seed, "still-open")
    code = still_open_item(plan)
    still_open: tuple[str, tuple[str, ...]] = ("", ())
    if code:
        codes = [u.code for u in plan.units]
        chosen = set(open_rng.sample(codes, min(STILL_OPEN_UNITS, len(codes))))
        still_open = (code, tuple(c for c in codes if c in chosen))
    return _Schedule(missing=missing, late=late, never_filled=(blank_unit, never_filled_figure(plan)),
                     still_open=still_open)


_AREA = re.compile(r"\((\d{3,5})\)")


def _phone(plan: Plan, city: bool, person: random.Random) -> str:
    """A phone in the region's own code: the department's (from the plan's executor) for the centre city,
    a district's five-digit code beginning like it."""
    found = _AREA.search(plan.executor.phone)
    area = found.group(1) if found else "7000"
    if city:
        return f"8 ({area}) 5{person.randint(0, 9)}-{person.randint(10, 99)}-{person.randint(10, 99)}"
    return f"8 ({area[:3]}{person.randint(30, 46)}) 2-{person.randint(10, 99)}-{person.randint(10, 99)}"


def _header(plan: Plan, reporter: str, seed: int, date: dt.date, late_days: int | None
            ) -> tuple[dict[str, object], dt.date, str]:
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
        phone = _phone(plan, is_centre_city(plan, unit.code), person)
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
    if code and reporter == unit and code in columns:
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
    columns.update(_comments(plan, reporter, seed, columns))
    if reporter in open_units:
        # A unit late with an item says why (the report gives the stated reason beside its name); from the
        # date the item is due, so an item not yet due carries no excuse.
        reasons = sample_text()["comments"]["overdue"]
        reason = _rng(seed, reporter, "overdue reason").choice(reasons)
        item = plan.item_by_code[item_code]
        columns[item.comment_code] = [reason if item.overdue_at(d) else columns[item.comment_code][i]
                                      for i, d in enumerate(plan.dates)]
    columns.update(_texts(plan, reporter, seed))
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
    plan: Plan, outdir: Path, seed: int = 2017, dates: Sequence[dt.date] | None = None,
    skip: Sequence[str] = (),
) -> SampleSet:
    """Fill the forms of all units and the department for `dates` (default: every reporting date), but
    those of the units in `skip` (their forms come from elsewhere: a region's own export)."""
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
    for reporter in [u.code for u in plan.units if u.code not in skip] + [plan.department.code]:
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
            filled_at = dt.datetime.combine(filled, dt.time(17, 0), tzinfo=campaign_tz(plan))
            save_workbook(built.workbook, path, filled_at)
            # The file time says when it was sent, like a saved e-mail attachment.
            os.utime(path, (filled_at.timestamp(), filled_at.timestamp()))
            result.files.append(SampleFile(path=path, unit=reporter, report_date=date, filled_date=filled,
                                           values=values))
            if filled > date:
                result.late.append((reporter, date))
    return result
