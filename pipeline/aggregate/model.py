"""The aggregated campaign state at a reporting date: what rendering receives.

Built by `pipeline.aggregate.build.aggregate` from validated submissions. Frames are indexed by unit code
in the plan's order (all units, reported or not) and have one column per numeric figure in plan order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipeline.plan.model import Plan

if TYPE_CHECKING:  # only in annotations: selection (and `check`) must not import pandas
    import pandas as pd

    from pipeline.aggregate.previous import PreviousFigures

TimelinessState = Literal["on_time", "late", "missing"]

OBLAST = "oblast"  # the unit code of the oblast total in figures.csv
#: Where a unit's value for a figure at a date comes from (figures.csv `coverage`).
REPORTED, CARRIED, MISSING = "reported", "carried", "missing"
Coverage = Literal["reported", "carried", "missing"]


@dataclass(frozen=True)
class Timeliness:
    unit: str
    date: dt.date  # the reporting date
    state: TimelinessState
    days_late: int = 0
    file: str | None = None
    filled: dt.date | None = None


@dataclass(frozen=True)
class DepartmentReport:
    """The oblast department's own submission (items it reports itself)."""

    source_date: dt.date | None
    figures: dict[str, float] = field(default_factory=dict)  # numeric figures it filled
    statuses: dict[str, str] = field(default_factory=dict)  # item code → status code
    comments: dict[str, str] = field(default_factory=dict)  # item code → masked comment
    file: str | None = None


@dataclass
class ReportData:
    plan: Plan
    date: dt.date
    #: unit × numeric figure at each reporting date up to `date` (yes/no as 1/0; NaN = not reported).
    history: dict[dt.date, pd.DataFrame]
    #: unit × numeric figure at each date: REPORTED, CARRIED (from an earlier date) or MISSING.
    coverage: dict[dt.date, pd.DataFrame]
    #: unit × numeric figure at each date: the date a carried value was reported on (NaT otherwise).
    carried_from: dict[dt.date, pd.DataFrame]
    #: the reporting date each unit's figures at `date` come from (None: the unit never submitted).
    source_dates: dict[str, dt.date | None]
    #: unit × item code → status code (None when not given), at `date`.
    statuses: pd.DataFrame
    #: unit × item code → comment with personal data masked (None when empty), at `date`.
    comments: pd.DataFrame
    #: unit × text figure (e.g. the sponsors a unit proposes to honour), masked, at `date`.
    texts: pd.DataFrame
    department: DepartmentReport
    #: every unit × every reporting date up to `date`.
    timeliness: tuple[Timeliness, ...]
    #: the department's own submission as of each reporting date up to `date` (summary.xlsx shows each date).
    department_history: dict[dt.date, DepartmentReport] = field(default_factory=dict)
    #: the previous campaign's final figures when the plan names them (`previous:`), keyed by this plan's codes.
    previous: PreviousFigures | None = None
    #: unit → numeric figure codes (plan order) whose value in the unit's file for `date` was given but
    #: rejected, so a carried value (or a gap) stands in for it: the report names the cause.
    rejected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: units (plan order) whose file for `date` replaced an earlier file of the same date (a correction).
    corrected: tuple[str, ...] = ()

    def department_at(self, date: dt.date) -> DepartmentReport:
        if date == self.date:
            return self.department  # the one the report's text uses, also when a caller replaced it
        return self.department_history.get(date, DepartmentReport(source_date=None))

    @property
    def values(self) -> pd.DataFrame:
        return self.history[self.date]

    @property
    def totals(self) -> pd.Series:
        """Oblast total at `date`: the sum over units (a unit with no figure adds nothing)."""
        return self.values.sum(axis=0, min_count=1)

    def units_in(self, code: str, state: str, date: dt.date | None = None) -> list[str]:
        """Units (plan order) whose value of `code` at `date` (default: the report's) is in `state`."""
        column = self.coverage[date or self.date][code]
        return [u for u, s in zip(column.index.tolist(), column.tolist()) if s == state]

    def totals_at(self, date: dt.date) -> pd.Series:
        return self.history[date].sum(axis=0, min_count=1)

    @property
    def previous_date(self) -> dt.date | None:
        return self.plan.previous_date(self.date)

    def stale_units(self) -> list[str]:
        """Units whose figures at `date` come from an earlier date (they missed this one)."""
        return [u for u, d in self.source_dates.items() if d is not None and d != self.date]

    def timeliness_at(self, date: dt.date) -> list[Timeliness]:
        return [t for t in self.timeliness if t.date == date]
