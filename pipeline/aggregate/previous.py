"""The previous campaign's final figures, as the plan names them (`previous:`), for the final report.

They come from the figures.csv this tool wrote for the previous campaign's final date (`figures_csv`, a
path relative to the plan file: the oblast total row `oblast` and the unit rows) and from numbers written
into the plan itself (`totals`, `units`: figures published on paper). The file wins for what it holds.

A code the previous campaign spelt otherwise is mapped by `previous.renamed` (old → new: a renamed figure,
a district renamed with a new code). Figures the new plan no longer has are left out: an item dropped from
the plan has nothing to be compared with. A unit the new plan does not know is a mistake of the plan (the
comparison would silently lose a district), as is a file that cannot be read; both are `PlanError`s with
the key `previous.figures_csv`, said in Kazakh by the plan check.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.aggregate.model import OBLAST
from pipeline.plan.load import PlanError, PlanProblem
from pipeline.plan.model import Plan

#: The columns of figures.csv a previous campaign's file must have (pipeline.aggregate.build.FIGURE_COLUMNS).
NEEDED = ("unit", "figure", "value")


@dataclass(frozen=True)
class PreviousFigures:
    name: str
    name_ru: str
    totals: dict[str, float] = field(default_factory=dict)  # figure code -> the previous final's total
    units: dict[str, dict[str, float]] = field(default_factory=dict)  # unit code -> figure code -> value


def load_previous(plan: Plan, plan_path: Path | str | None) -> PreviousFigures | None:
    """The previous campaign's figures keyed by this plan's codes, or None when the plan names none."""
    previous = plan.previous
    if previous is None:
        return None
    totals = {code: float(v) for code, v in previous.totals.items()}
    units = {unit: {code: float(v) for code, v in values.items()} for unit, values in previous.units.items()}
    if previous.figures_csv:
        file_totals, file_units = _read_csv(plan, _csv_path(plan_path, previous.figures_csv))
        totals.update(file_totals)
        for unit, values in file_units.items():
            units.setdefault(unit, {}).update(values)
    return PreviousFigures(previous.name, previous.name_ru, totals, units)


def previous_problems(plan: Plan, plan_path: Path | str | None) -> list[PlanProblem]:
    """What `load_previous` would refuse, as the plan check's problems (empty when all is well)."""
    try:
        load_previous(plan, plan_path)
    except PlanError as exc:
        return exc.problems
    return []


_WHERE = "previous.figures_csv"


def _csv_path(plan_path: Path | str | None, name: str) -> Path:
    path = Path(name)
    if not path.is_absolute() and plan_path is not None:
        path = Path(plan_path).resolve().parent / path
    return path


def _fail(path: Path, code: str, english: str, **params: object) -> PlanError:
    shown = {"file": str(path), **{k: str(v) for k, v in params.items()}}
    return PlanError(path, [PlanProblem(_WHERE, code, english, shown)])


def _read_csv(plan: Plan, path: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    renamed = plan.previous.renamed if plan.previous is not None else {}
    for old, new in renamed.items():
        if new not in plan.figure_by_code and new not in plan.unit_by_code:
            raise PlanError(path, [PlanProblem(f"previous.renamed.{old}", "plan-previous-renamed",
                                               f"{new!r} is no code of this plan", {"code": new})])
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
            columns = rows[0].keys() if rows else ()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise _fail(path, "plan-previous-file", f"cannot read {path} ({exc})", detail=detail) from None
    if not rows or any(c not in columns for c in NEEDED):
        raise _fail(path, "plan-previous-columns", f"{path} has no unit, figure, value columns")
    totals: dict[str, float] = {}
    units: dict[str, dict[str, float]] = {}
    known_units = set(plan.unit_by_code) | {plan.department.code}
    for line, row in enumerate(rows, start=2):
        unit = renamed.get(row["unit"] or "", row["unit"] or "")
        code = renamed.get(row["figure"] or "", row["figure"] or "")
        text = (row["value"] or "").strip()
        if unit != OBLAST and unit not in known_units:
            raise _fail(path, "plan-previous-unit", f"{path}: unit {unit!r} is not in this plan", unit=unit)
        if code not in plan.figure_by_code or not text:
            continue  # a figure the new plan dropped; a value the previous campaign did not have
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise _fail(path, "plan-previous-value", f"{path}:{line}: {text!r} is not a number", line=line,
                        value=text[:40])
        if unit == OBLAST:
            totals[code] = value
        else:
            units.setdefault(unit, {})[code] = value
    return totals, units
