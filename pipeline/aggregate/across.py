"""Rules that compare submissions: running totals that fell, and units far from the others."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence

from pipeline.aggregate.select import Selection
from pipeline.plan.model import Plan
from pipeline.problems import Problem
from pipeline.validate.submission import show_number


def check_across(plan: Plan, selection: Selection) -> list[Problem]:
    return [*_running_totals(plan, selection), *_outliers(plan, selection)]


def _running_totals(plan: Plan, selection: Selection) -> list[Problem]:
    problems: list[Problem] = []
    monotonic = [f for f in plan.figures if f.unit in plan.rules.monotonic_units]
    for by_date in selection.used.values():
        ordered = [by_date[d] for d in sorted(by_date)]
        for before, after in zip(ordered, ordered[1:]):
            for figure in monotonic:
                old, new = before.values.get(figure.code), after.values.get(figure.code)
                if old is None or new is None or new >= old:
                    continue
                cell, old_cell = after.cell_of(figure.code), before.cell_of(figure.code)
                assert cell is not None and old_cell is not None and before.report_date is not None
                problems.append(
                    Problem.make(
                        "total-decreased", after.name, cell.sheet, cell.cell, figure=figure.label,
                        value=show_number(new), previous_value=show_number(old),
                        previous_date=before.report_date.strftime("%d.%m.%Y"),
                        previous_file=before.name, previous_cell=old_cell.cell,
                    )
                )
    return problems


def _outliers(plan: Plan, selection: Selection) -> list[Problem]:
    """Help per child far from the median of the other units at the same date (DHIS2-style outlier)."""
    problems: list[Problem] = []
    factor = plan.rules.outlier_factor
    for ratio in plan.rules.ratios:
        current = {}
        for unit in selection.used:
            sub = selection.used[unit].get(selection.date)
            if sub is None:
                continue
            num, den = sub.values.get(ratio.numerator), sub.values.get(ratio.denominator)
            if num and den:
                current[unit] = (sub, num / den)
        if len(current) < 4:
            continue  # too few units for a median to mean anything
        ordered = sorted(v for _, v in current.values())
        exact = any(math.isnan(v) for v in ordered)  # no order to search in: the plain way
        for unit, (sub, value) in current.items():
            if exact:
                median = statistics.median([v for u, (_, v) in current.items() if u != unit])
            else:
                median = median_without(ordered, value)
            if median > 0 and (value > median * factor or value < median / factor):
                cell = sub.cell_of(ratio.numerator)
                assert cell is not None
                problems.append(
                    Problem.make(
                        "ratio-outlier", sub.name, cell.sheet, cell.cell, ratio=show_number(round(value)),
                        median=show_number(round(median)),
                    )
                )
    return problems


def median_without(ordered: Sequence[float], value: float) -> float:
    """`statistics.median` of `ordered` (sorted, holding `value`) without one occurrence of `value`: each
    unit is compared with the others, and sorting the others again for each of 1,667 units was quadratic."""
    skip = bisect.bisect_left(ordered, value)
    count = len(ordered) - 1

    def at(k: int) -> float:
        return ordered[k] if k < skip else ordered[k + 1]

    if count <= 0:
        raise statistics.StatisticsError("no median for empty data")
    if count % 2:
        return at(count // 2)
    return (at(count // 2 - 1) + at(count // 2)) / 2
