"""Stage 3: validation. Problems are data (`Problem`, codes from data/problems.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.ingest.alloc import gc_paused
from pipeline.ingest.model import RawForm
from pipeline.plan.model import Plan
from pipeline.problems import Problem, catalogue
from pipeline.validate.plausibility import check_plausibility
from pipeline.validate.submission import FormValidator, Submission


def validate_forms(plan: Plan, raws: Iterable[RawForm]) -> list[Submission]:
    """Validate each file on its own (rules that compare files run after selection)."""
    return Validation(plan).results(raws)


class Validation:
    """`validate_forms`, one form at a time as forms arrive: `add` each form when it is read (for example
    as `read_files(on_form=…)`), then `results(raws)` gives exactly what validate_forms(plan, raws) gives,
    validating whatever was not added. This lets validation run while the workers still read, instead of
    after the slowest of them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.validator = FormValidator(plan)
        # Keyed by the RawForm's identity: the Submission holds its form, so the id cannot be reused.
        self._done: dict[int, Submission] = {}

    def add(self, raw: RawForm) -> None:
        with gc_paused():  # thousands of acyclic objects: see pipeline.ingest.alloc
            self._done[id(raw)] = self._validate(raw)

    def results(self, raws: Iterable[RawForm]) -> list[Submission]:
        subs = []
        with gc_paused():
            for raw in raws:
                sub = self._done.pop(id(raw), None)
                subs.append(sub if sub is not None and sub.raw is raw else self._validate(raw))
        return subs

    def _validate(self, raw: RawForm) -> Submission:
        sub = self.validator.validate(raw)
        if sub.raw.readable and sub.raw.cells:
            check_plausibility(self.plan, sub)
        return sub


__all__ = ["FormValidator", "Problem", "Submission", "Validation", "catalogue", "validate_forms"]
