"""Plausibility rules of one submission, with bounds from the plan file (`rules:`)."""

from __future__ import annotations

from pipeline.plan.model import Plan
from pipeline.problems import Problem
from pipeline.validate.submission import Submission, show_number


def check_plausibility(plan: Plan, sub: Submission) -> None:
    rules = plan.rules
    figures = plan.figure_by_code
    for first, second in rules.paired:
        a, b = sub.values.get(first), sub.values.get(second)
        if a is None or b is None:
            continue
        for code, value, other, other_value in ((first, a, second, b), (second, b, first, a)):
            if value > 0 and other_value == 0:
                cell = sub.cell_of(code)
                if cell is not None:
                    sub.problems.append(
                        Problem.make(
                            "amount-without-count", sub.name, cell.sheet, cell.cell,
                            figure=figures[code].label, value=show_number(value),
                            other=figures[other].label, other_value=show_number(other_value),
                        )
                    )
    for ratio in rules.ratios:
        num, den = sub.values.get(ratio.numerator), sub.values.get(ratio.denominator)
        if not num or not den:
            continue
        value = num / den
        low = ratio.min if ratio.min is not None else 0
        high = ratio.max if ratio.max is not None else float("inf")
        if not low <= value <= high:
            cell = sub.cell_of(ratio.numerator)
            if cell is not None:
                sub.problems.append(
                    Problem.make(
                        "ratio-out-of-range", sub.name, cell.sheet, cell.cell, ratio=show_number(round(value)),
                        low=show_number(low), high=show_number(high) if high != float("inf") else "∞",
                    )
                )
    for code, bound in rules.max_values.items():
        value = sub.values.get(code)
        if value is not None and value > bound:
            cell = sub.cell_of(code)
            if cell is not None:
                sub.problems.append(
                    Problem.make(
                        "value-above-bound", sub.name, cell.sheet, cell.cell, figure=figures[code].label,
                        value=show_number(value), bound=show_number(bound),
                    )
                )
