"""What the report's prose needs to know beyond totals: per-head values, remainders, each unit's part in a
change, who reported late or not at all more than once, where each plan item stands, and the units ranked.

Pure functions of `ReportData`. Nothing here names a figure, item or unit: which figure is a whole, a part,
a per-head numerator or an item about reporting is asked of the plan.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pandas as pd

from pipeline.aggregate.model import CARRIED, MISSING, ReportData
from pipeline.plan.model import Figure, Item, Plan, Ranking

#: Where an item stands at a date across everyone who reports it.
Outcome = Literal["done", "continuing", "overdue", "not_due"]

_Fn = TypeVar("_Fn", bound=Callable[..., Any])
#: Results of the facts below while a `shared()` block runs, by function, object identities and arguments.
_SHARED: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("facts_shared", default=None)


@contextmanager
def shared() -> Iterator[None]:
    """Inside the block each fact marked `_once` is computed once per arguments: the Kazakh and the Russian
    copy ask the same language-free questions of the same `ReportData`. The frames must not change inside the
    block (a run builds both contexts from finished data); outside it nothing is kept."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _once(fn: _Fn) -> _Fn:
    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        memo = _SHARED.get()
        if memo is None:
            return fn(*args)
        # Objects (data, frames, plan items) by identity: alive for the whole block, so never reused.
        key = (fn, *(a if isinstance(a, (str, dt.date, tuple)) else id(a) for a in args))
        if key not in memo:
            memo[key] = (fn(*args), args)  # the arguments kept alive: their identities stay theirs
        result = memo[key][0]
        # A caller may edit what it got (a list, a dict): it gets its own copy of the outer container.
        return result.copy() if isinstance(result, (list, dict)) else result
    return wrapper  # type: ignore[return-value]


def number(value: object) -> float | None:
    """A figure's value as a float, None when not given (NaN, None)."""
    if value is None:
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def status_code(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@_once
def column(frame: pd.DataFrame, code: str) -> dict[str, object]:
    """unit → value of one column, as a plain dict ({} when the frame has no such column)."""
    # index.tolist(): iterating a pandas index (a string array) element by element is ~10× slower
    return dict(zip(frame.index.tolist(), frame[code].tolist())) if code in frame.columns else {}


def parts_of(plan: Plan, code: str) -> list[Figure]:
    """The "of which" figures of a whole, in plan order."""
    return [f for f in plan.figures if f.of == code]


def department_counts(plan: Plan, code: str) -> bool:
    """Whether the department's own figure belongs to the whole for `code` (it reports the figure's item)."""
    item = plan.item_of_figure.get(code)
    return item is not None and "department" in item.reported_by


def units_total(data: ReportData, code: str, date: dt.date | None = None) -> float | None:
    frame = data.history[date or data.date]
    if code not in frame.columns:
        return None
    return number(frame[code].sum(min_count=1))


def whole_total(data: ReportData, code: str, date: dt.date | None = None) -> float | None:
    """The figure for the whole territory: the units' total plus the department's own figure when it
    reports the item too («облыс бойынша» then means everyone, not the units alone)."""
    total = units_total(data, code, date)
    if department_counts(data.plan, code):
        own = number(data.department_at(date or data.date).figures.get(code))
        if own is not None:
            total = own if total is None else total + own
    return total


@dataclass(frozen=True)
class PerHead:
    """An amount per counted person (help per child): the whole's and each unit's, in tenge."""

    whole: float | None
    units: dict[str, float] = field(default_factory=dict)

    def lowest(self) -> tuple[str, float] | None:
        return min(self.units.items(), key=lambda kv: kv[1]) if len(self.units) > 1 else None

    def highest(self) -> tuple[str, float] | None:
        return max(self.units.items(), key=lambda kv: kv[1]) if len(self.units) > 1 else None


def per_head(data: ReportData) -> PerHead | None:
    """The plan's `report.per_head` at the report date: units with both figures above zero, plan order."""
    head = data.plan.report.per_head
    if head is None:
        return None
    numerator = column(data.values, head.numerator)
    denominator = column(data.values, head.denominator)
    units: dict[str, float] = {}
    for unit in data.plan.units:
        top, bottom = number(numerator.get(unit.code)), number(denominator.get(unit.code))
        if top is not None and bottom is not None and top > 0 and bottom > 0:
            units[unit.code] = top / bottom
    top, bottom = whole_total(data, head.numerator), whole_total(data, head.denominator)
    whole = top / bottom if top is not None and bottom is not None and bottom > 0 else None
    return PerHead(whole, units)


@dataclass(frozen=True)
class Remainder:
    """A whole minus its parts (children found but not back at school; calls not resolved; money with no
    stated source): for the whole territory, each unit, and each reporting date so far."""

    whole: float | None
    units: dict[str, float]
    by_date: dict[dt.date, float | None]


def _remainder_at(data: ReportData, fig: Figure, parts: list[Figure], date: dt.date) -> tuple[float | None, dict[str, float]]:
    frame = data.history[date]
    wholes = column(frame, fig.code)
    columns = [column(frame, p.code) for p in parts]
    units: dict[str, float] = {}
    for unit in data.plan.units:
        whole = number(wholes.get(unit.code))
        values = [number(c.get(unit.code)) for c in columns]
        # Only where the whole and every part are known: a missing part would pass for an unexplained rest.
        if whole is not None and all(v is not None for v in values):
            units[unit.code] = whole - sum(values)  # type: ignore[arg-type]
    total: float | None = sum(units.values()) if units else None
    if department_counts(data.plan, fig.code):
        own = data.department_at(date).figures
        whole = number(own.get(fig.code))
        values = [number(own.get(p.code)) for p in parts]
        if whole is not None and all(v is not None for v in values):
            total = (total or 0.0) + whole - sum(values)  # type: ignore[arg-type]
    return total, units


def lowered_later(data: ReportData, codes: list[str], date: dt.date) -> list[str]:
    """Units whose value of one of `codes` at an earlier reporting `date` is above their value now: a running
    total that fell afterwards, i.e. a value the unit later corrected. A figure over dates that holds such a
    value is not comparable as it stands (plan order)."""
    return _lowered_later(data, tuple(codes), date)


@_once
def _lowered_later(data: ReportData, codes: tuple[str, ...], date: dt.date) -> list[str]:
    then, now = data.history[date], data.values
    # Each column once: building them per unit was quadratic (111 s of a 1,667-unit final report's context).
    columns = [(column(then, code), column(now, code)) for code in codes]
    out = []
    for unit in data.plan.units:
        for old_column, new_column in columns:
            old, new = number(old_column.get(unit.code)), number(new_column.get(unit.code))
            if old is not None and new is not None and old > new:
                out.append(unit.code)
                break
    return out


def remainder(data: ReportData, fig: Figure) -> Remainder | None:
    parts = parts_of(data.plan, fig.code)
    if fig.remainder is None or not parts:
        return None
    total, units = _remainder_at(data, fig, parts, data.date)
    by_date = {d: _remainder_at(data, fig, parts, d)[0] for d in sorted(data.history)}
    return Remainder(total, units, by_date)


@dataclass(frozen=True)
class UnitChange:
    """One unit's value of a figure at the previous date and now, and why it is what it is now."""

    unit: str
    old: float | None
    new: float | None
    #: the date the old value was reported on (the previous reporting date, or earlier when carried then).
    old_date: dt.date
    #: how the new value came: reported on the date, carried from an earlier one, or missing.
    state: str
    rejected: bool = False  # the unit gave a value on the date and it was refused
    corrected: bool = False  # the unit's file for the date replaced an earlier one

    @property
    def diff(self) -> float:
        return (self.new or 0.0) - (self.old or 0.0)


@_once
def unit_changes(data: ReportData, code: str, since: dt.date) -> list[UnitChange]:
    """Units whose value of `code` differs between `since` and the report date, plan order."""
    old_frame, new_frame = data.history[since], data.values
    old_values, new_values = column(old_frame, code), column(new_frame, code)
    old_sources = column(data.carried_from[since], code)
    states = column(data.coverage[data.date], code)
    corrected = set(data.corrected)
    out = []
    for unit in data.plan.units:
        old, new = number(old_values.get(unit.code)), number(new_values.get(unit.code))
        if old == new:
            continue
        source = old_sources.get(unit.code)
        old_date = since if source is None or pd.isna(source) else pd.Timestamp(source).date()
        out.append(UnitChange(unit.code, old, new, old_date, str(states.get(unit.code, MISSING)),
                              rejected=code in data.rejected.get(unit.code, ()), corrected=unit.code in corrected))
    return out


@dataclass(frozen=True)
class ReportingRecord:
    """How often a unit sent its report late or not at all, up to the report date."""

    late: int = 0
    missing: int = 0


def reporting_records(data: ReportData) -> dict[str, ReportingRecord]:
    counts: dict[str, list[int]] = {u.code: [0, 0] for u in data.plan.units}
    for record in data.timeliness:
        if record.unit in counts and record.date <= data.date:
            if record.state == "late":
                counts[record.unit][0] += 1
            elif record.state == "missing":
                counts[record.unit][1] += 1
    return {unit: ReportingRecord(late, missing) for unit, (late, missing) in counts.items()}


@dataclass(frozen=True)
class ItemProgress:
    """Where a plan item stands at the report date.

    `statuses` are the units that reported on the date (their status code or None); `carried` the units that
    missed it, with the status of their last report and its date — said as such, never as this date's.
    `open_units`: units (plan order) not known to have done the item (this date's status not «done», a
    carried status not «done», or no report at all). `department` is the department's status when it
    reports the item (None when it does not, or gave none).
    """

    item: Item
    outcome: Outcome
    statuses: dict[str, str | None]
    carried: dict[str, tuple[dt.date | None, str | None]]
    open_units: list[str]
    department: str | None = None
    department_open: bool = False


@_once
def item_progress(data: ReportData, item: Item) -> ItemProgress:
    if not item.due_by(data.date):
        return ItemProgress(item, "not_due", {}, {}, [])
    statuses: dict[str, str | None] = {}
    carried: dict[str, tuple[dt.date | None, str | None]] = {}
    open_units: list[str] = []
    if "units" in item.reported_by:
        column_ = column(data.statuses, item.code)
        for unit in data.plan.units:
            source = data.source_dates.get(unit.code)
            status = status_code(column_.get(unit.code))
            if source == data.date:
                statuses[unit.code] = status
            else:
                carried[unit.code] = (source, status)
            if status != "done":
                open_units.append(unit.code)
    department = None
    department_open = False
    if "department" in item.reported_by:
        department = status_code(data.department.statuses.get(item.code))
        department_open = department != "done"
    if not open_units and not department_open:
        outcome: Outcome = "done"
    elif item.overdue_at(data.date):
        outcome = "overdue"
    else:
        outcome = "continuing"
    return ItemProgress(item, outcome, statuses, carried, open_units, department, department_open)


def stale_units(data: ReportData) -> list[str]:
    """Units (plan order) whose figures at the date come from an earlier date (they missed this one)."""
    stale = set(data.stale_units())
    return [u.code for u in data.plan.units if u.code in stale]


def gaps(data: ReportData, code: str) -> list[str]:
    """Units (plan order) with no value of `code` at the date, among those that reported something."""
    return [u for u in data.units_in(code, MISSING) if data.source_dates.get(u) is not None]


def carried_values(data: ReportData, code: str) -> dict[str, dt.date]:
    """Units that reported on the date but whose value of `code` is carried from an earlier date."""
    stale = set(data.stale_units())
    sources = column(data.carried_from[data.date], code)
    return {u: pd.Timestamp(sources[u]).date() for u in data.units_in(code, CARRIED) if u not in stale}


@dataclass(frozen=True)
class Ranked:
    """The units ordered by one of the plan's rankings (`report.rankings`): highest first, equal values in
    the plan's order; units with no value left out. `top` and `bottom` are the ones the report names
    (`bottom` lowest first, never a unit already in `top`)."""

    ranking: Ranking
    order: list[tuple[str, float]]

    @property
    def top(self) -> list[tuple[str, float]]:
        return self.order[: self.ranking.top]

    @property
    def bottom(self) -> list[tuple[str, float]]:
        room = max(0, len(self.order) - self.ranking.top)
        tail = self.order[len(self.order) - min(self.ranking.bottom, room):] if room else []
        return list(reversed(tail))


def ranked(data: ReportData, ranking: Ranking) -> Ranked:
    """A ranking's values at the report date: a figure's value (a unit that missed the date counts with
    its carried figures, as in the totals), the per-head figure (units with both figures above zero), or a
    part's share of its whole in per cent (units whose whole is above zero)."""
    values: dict[str, float] = {}
    if ranking.by == "per_head":
        head = per_head(data)
        values = dict(head.units) if head is not None else {}
    elif ranking.by == "figure":
        own = column(data.values, ranking.figure)
        values = {u.code: v for u in data.plan.units if (v := number(own.get(u.code))) is not None}
    else:
        whole_code = data.plan.figure_by_code[ranking.figure].of
        parts, wholes = column(data.values, ranking.figure), column(data.values, str(whole_code))
        for unit in data.plan.units:
            part, whole = number(parts.get(unit.code)), number(wholes.get(unit.code))
            if part is not None and whole is not None and whole > 0:
                values[unit.code] = part / whole * 100.0
    order = [u.code for u in data.plan.units if u.code in values]
    # sorted() is stable: equal values keep the plan's order.
    return Ranked(ranking, sorted(((u, values[u]) for u in order), key=lambda kv: -kv[1]))
