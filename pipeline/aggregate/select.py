"""Which submissions a report at DATE uses, and how timely each unit was.

For each unit and reporting date the latest file (by the form's fill date, then the file's time, then its
name) supersedes earlier ones. A figure the latest file gives wrongly (an error in its cell) is taken from
the newest earlier file of the same date where it is valid, and the latest file says so
(`value-from-earlier-file`): a correction with one bad cell must not lose a value the district had right.
For DATE each unit counts with its latest reporting date on or before DATE. Timeliness is judged by the
first file that arrived for a date: a correction sent later does not make an on-time submission late.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.aggregate.model import Timeliness
from pipeline.plan.clock import campaign_tz
from pipeline.plan.model import Plan
from pipeline.problems import Problem
from pipeline.validate.submission import Submission, show_number


@dataclass
class Selection:
    date: dt.date
    #: unit → reporting date (≤ date) → the submission used for it.
    used: dict[str, dict[dt.date, Submission]] = field(default_factory=dict)
    #: file name → name of the file that replaced it.
    superseded: dict[str, str] = field(default_factory=dict)
    #: names of files that report a date after `date`.
    after_date: set[str] = field(default_factory=set)
    timeliness: tuple[Timeliness, ...] = ()
    #: problems that come from comparing files (superseded, after the date, late); kept apart from each
    #: submission's own problems so one validated inbox can be selected for several dates.
    problems: list[Problem] = field(default_factory=list)

    def latest(self, unit: str, at: dt.date) -> Submission | None:
        """The unit's figures as of `at`: its used submission with the latest reporting date ≤ `at`."""
        dates = [d for d in self.used.get(unit, {}) if d <= at]
        return self.used[unit][max(dates)] if dates else None

    def used_names(self) -> set[str]:
        return {s.name for by_date in self.used.values() for s in by_date.values()}


def _order(sub: Submission, tz: dt.tzinfo) -> tuple[dt.date, float, str]:
    return (sub.arrival(tz), sub.raw.mtime, sub.name)


#: Rejections that are about a relation between figures, not the cell alone: an earlier value is no fix.
_RELATIONAL = frozenset({"of-which-exceeds-total"})


def _completed(plan: Plan, winner: Submission, earlier: list[Submission], problems: list[Problem]) -> Submission:
    """The winner, with each figure it gives wrongly taken from the newest earlier file of the same unit and
    date where that figure is valid (a copy: the cached submission stays as validated)."""
    if not earlier:
        return winner
    taken: dict[str, float] = {}
    for figure in plan.figures:
        cell = winner.cell_of(figure.code)
        if figure.code in winner.values or cell is None:
            continue
        rejected = [p for p in winner.problems if p.severity == "error" and p.sheet == cell.sheet and p.cell == cell.cell]
        if not rejected or any(p.code in _RELATIONAL for p in rejected):
            continue
        source = next((sub for sub in reversed(earlier) if figure.code in sub.values), None)
        if source is None:
            continue
        taken[figure.code] = source.values[figure.code]
        problems.append(Problem.make(
            "value-from-earlier-file", winner.name, cell.sheet, cell.cell, figure=figure.label,
            value=show_number(source.values[figure.code]), earlier=source.name,
            time=dt.datetime.fromtimestamp(source.raw.mtime, tz=campaign_tz(plan)).strftime("%d.%m.%Y %H:%M"),
        ))
    if not taken:
        return winner
    return dataclasses.replace(winner, values={**winner.values, **taken})


def _official_name(plan: Plan, code: str) -> str:
    unit = plan.unit_by_code.get(code)
    return unit.name if unit is not None else plan.department.name


def select(plan: Plan, subs: list[Submission], date: dt.date) -> Selection:
    selection = Selection(date=date)
    tz = campaign_tz(plan)
    groups: dict[tuple[str, dt.date], list[Submission]] = defaultdict(list)
    for sub in subs:
        if not sub.identified:
            continue
        assert sub.unit is not None and sub.report_date is not None
        if sub.report_date > date:
            selection.after_date.add(sub.name)
            selection.problems.append(
                Problem.make("submission-after-date", sub.name, value=sub.report_date.strftime("%d.%m.%Y"))
            )
            continue
        groups[(sub.unit, sub.report_date)].append(sub)

    first_arrival: dict[tuple[str, dt.date], Submission] = {}
    for (unit, report_date), group in groups.items():
        group.sort(key=lambda sub: _order(sub, tz))
        winner = group[-1]
        for loser in group[:-1]:
            selection.superseded[loser.name] = winner.name
            selection.problems.append(Problem.make("submission-superseded", loser.name, by=winner.name))
        # A unit recognised from another spelling (another unit's Russian name, say) that replaces a file
        # naming the unit officially may be another district's file: the replacement is not silent.
        if winner.unit_alias and any(not loser.unit_alias for loser in group[:-1]):
            selection.problems.append(Problem.make(
                "submission-unit-doubtful", winner.name, unit=_official_name(plan, unit), value=winner.unit_alias,
            ))
        winner = _completed(plan, winner, group[:-1], selection.problems)
        selection.used.setdefault(unit, {})[report_date] = winner
        first_arrival[(unit, report_date)] = group[0]

    rows: list[Timeliness] = []
    for unit in [u.code for u in plan.units] + [plan.department.code]:
        for reporting_date in plan.dates:
            if reporting_date > date:
                break
            first = first_arrival.get((unit, reporting_date))
            if first is None:
                rows.append(Timeliness(unit, reporting_date, "missing"))
                continue
            arrived = first.arrival(tz)
            late_by = (arrived - reporting_date).days
            if late_by > 0:
                rows.append(Timeliness(unit, reporting_date, "late", late_by, first.name, arrived))
                selection.problems.append(
                    Problem.make(
                        "submission-late", first.name, days=late_by,
                        deadline=reporting_date.strftime("%d.%m.%Y"),
                    )
                )
            else:
                rows.append(Timeliness(unit, reporting_date, "on_time", 0, first.name, arrived))
    selection.timeliness = tuple(rows)
    return selection
