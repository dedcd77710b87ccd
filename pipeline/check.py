"""`check`: validate files on their own, without a report — apart from pipeline.report, so that the
`check` command (and the portal's and mail's checks) start without the report's modules (selection,
aggregation, publishing): issue 20's P5. `pipeline.report` uses `verdicts` and re-exports the rest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import EXIT, RunStopped, UsageError
from pipeline.ingest import read_files
from pipeline.ingest.inbox import scan_paths
from pipeline.messages import messages
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan
from pipeline.problems import SEVERITY_ORDER
from pipeline.validate import Problem, Submission, Validation
from pipeline.verdicts import FileVerdict

if TYPE_CHECKING:
    from pipeline.aggregate.select import Selection
    from pipeline.ingest.isolate import ReaderService


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, SEVERITY_ORDER[p.severity], p.sheet or "", _cell_key(p.cell), p.code))


def _cell_key(cell: str | None) -> tuple[int, str]:
    if not cell:
        return (0, "")
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    return (int(digits) if digits else 0, letters)


def verdicts(subs: list[Submission], selection: Selection | None, extra: list[Problem]) -> list[FileVerdict]:
    by_file: dict[str, list[Problem]] = {}
    for problem in extra:
        by_file.setdefault(problem.file, []).append(problem)
    used = selection.used_names() if selection else set()
    out = []
    for sub in sorted(subs, key=lambda s: s.name):
        problems = _sorted(sub.problems + by_file.get(sub.name, []))
        if selection is None:
            status = "checked"
        elif any(p.code.startswith("ignored-") for p in problems):
            status = "ignored"
        elif sub.name in used:
            status = "used"
        elif sub.name in selection.superseded:
            status = "superseded"
        elif sub.name in selection.after_date:
            status = "after-date"
        else:
            status = "rejected"
        out.append(FileVerdict(sub.raw, sub, problems, status))
    return out


def check_files(paths: list[Path], *, plan_path: Path = DEFAULT_PLAN, workers: int = 2,
                plan: Plan | None = None, readers: ReaderService | None = None) -> list[FileVerdict]:
    """Validate files on their own, without writing a report (the `check` command). `plan`: the plan
    already loaded, and `readers`: warm reader processes (the portal checks every upload with both).

    Files and folders are listed as `report` lists its inbox (`scan_paths`): a lock file or a PDF is set
    aside with the same `ignored-…` code, a tool file (`.gitkeep`) is not listed. Raises `NothingToCheck`
    (`check-nothing-to-check`, exit 3) when nothing listed is a spreadsheet to check."""
    plan = plan if plan is not None else load_plan(plan_path)
    for path in paths:
        if not (path.exists() or path.is_symlink()):
            raise UsageError(messages()["usage"]["file_missing"].format(path=path), "file-missing")
    candidates, ignored = scan_paths(paths, plan.limits.max_file_bytes)
    validation = Validation(plan)
    raws = read_files(plan, candidates, workers=workers, on_form=validation.add, readers=readers)
    checked = verdicts(validation.results(raws + ignored), None, [])
    if not candidates:
        raise NothingToCheck(checked, ", ".join(str(p) for p in paths))
    return checked


class NothingToCheck(RunStopped):
    """`check` found no spreadsheet in what it was given; `files` holds what it listed (ignored files)."""

    def __init__(self, files: list[FileVerdict], paths: str) -> None:
        super().__init__("check-nothing-to-check", EXIT["nothing_to_report"], paths=paths)
        self.files = files
