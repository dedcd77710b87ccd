"""What became of one input file in a run: its form, its validation, its problems and its status.

Shared vocabulary: the run decides it, the feedback writer and the outputs read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.problems import Problem

if TYPE_CHECKING:  # types only: the ground floor never imports a stage at run time
    from pipeline.ingest.model import RawForm
    from pipeline.validate.submission import Submission


@dataclass
class FileVerdict:
    raw: RawForm
    submission: Submission | None
    problems: list[Problem]
    status: str  # used | superseded | after-date | rejected | ignored | checked

    @property
    def verdict(self) -> str:
        if any(p.code.startswith("ignored-") for p in self.problems):
            return "ignored"
        severities = {p.severity for p in self.problems}
        if "error" in severities:
            return "errors"
        if "warning" in severities:
            return "warnings"
        return "ok"

    @property
    def counts_as_error(self) -> bool:
        """Errors that concern this report: not those of a file replaced by a correction or of a later date."""
        return self.verdict == "errors" and self.status not in ("superseded", "after-date")
