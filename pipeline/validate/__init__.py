"""Stage 3: validation. Problems are data (`Problem`, codes from data/problems.yaml)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeline.ingest.alloc import gc_paused
from pipeline.ingest.model import RawForm
from pipeline.plan.model import Plan
from pipeline.problems import Problem, catalogue
from pipeline.validate.plausibility import check_plausibility
from pipeline.validate.submission import FormValidator, Submission

if TYPE_CHECKING:
    from pipeline.ingest.cache import IngestCache


def validate_forms(plan: Plan, raws: Iterable[RawForm]) -> list[Submission]:
    """Validate each file on its own (rules that compare files run after selection)."""
    return Validation(plan).results(raws)


class Validation:
    """`validate_forms`, one form at a time as forms arrive: `add` each form when it is read (for example
    as `read_files(on_form=…)`), then `results(raws)` gives exactly what validate_forms(plan, raws) gives,
    validating whatever was not added. This lets validation run while the workers still read, instead of
    after the slowest of them.

    With a `store` (the reader cache, opened with `rules_fingerprint()`), a form read from the cache gets
    its stored submission instead of being validated again, and `save()` stores what was validated here."""

    def __init__(self, plan: Plan, store: IngestCache | None = None) -> None:
        self.plan = plan
        self.validator = FormValidator(plan)
        self.store = store
        # Keyed by the RawForm's identity: the Submission holds its form, so the id cannot be reused.
        self._done: dict[int, Submission] = {}
        self._fresh: list[Submission] = []

    def add(self, raw: RawForm) -> None:
        with gc_paused():  # thousands of acyclic objects: see pipeline.ingest.alloc
            self._done[id(raw)] = self._stored(raw) or self._validate(raw)

    def save(self) -> None:
        """Store the submissions validated so far (call before the store is closed)."""
        if self.store is None or not self._fresh:
            return
        from pipeline.ingest.cache import cacheable
        from pipeline.validate.store import freeze

        rows = []
        for sub in self._fresh:
            text = freeze(sub) if cacheable(sub.raw) else None
            if text is not None:
                rows.append((sub.raw.sha256, text))
        self.store.put_submissions(rows)
        self._fresh.clear()

    def _stored(self, raw: RawForm) -> Submission | None:
        if self.store is None or not raw.sha256:
            return None
        text = self.store.submission(raw.sha256)
        if text is None:
            return None
        from pipeline.validate.store import thaw

        try:
            sub = thaw(text, raw)
        except Exception:  # noqa: BLE001 - a row of any wrong shape is a miss: validated again, overwritten
            return None
        self.store.sub_hits += 1
        return sub

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
        if self.store is not None:
            self._fresh.append(sub)
        return sub


__all__ = ["FormValidator", "Problem", "Submission", "Validation", "catalogue", "validate_forms"]
