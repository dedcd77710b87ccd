"""Stage 3: validation. Problems are data (`Problem`, codes from data/problems.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.ingest.alloc import gc_paused
from pipeline.ingest.model import RawForm
from pipeline.plan.model import Plan
from pipeline.validate.catalogue import Problem, catalogue, worst
from pipeline.validate.plausibility import check_plausibility
from pipeline.validate.submission import FormValidator, Submission


def validate_forms(plan: Plan, raws: Iterable[RawForm]) -> list[Submission]:
    """Validate each file on its own (rules that compare files run after selection)."""
    validator = FormValidator(plan)
    subs = []
    with gc_paused():  # thousands of acyclic objects: see pipeline.ingest.alloc
        for raw in raws:
            sub = validator.validate(raw)
            if sub.raw.readable and sub.raw.cells:
                check_plausibility(plan, sub)
            subs.append(sub)
    return subs


__all__ = ["FormValidator", "Problem", "Submission", "catalogue", "validate_forms", "worst"]
