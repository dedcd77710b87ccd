"""Stage 2: read inbox files into `RawForm`s, isolated from the reader's crashes and hangs.

    read_inbox(plan, inbox)          every file in the inbox (ignored ones included), sorted by name
    read_files(plan, paths, root=…)  the given files, in the given order

Both never raise because of a file's content: every file gets a RawForm, with problems when needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.ingest.extract import ReadSpec
from pipeline.ingest.inbox import display_name, scan_inbox
from pipeline.ingest.isolate import PoolSettings, read_isolated
from pipeline.ingest.model import RawCell, RawForm
from pipeline.ingest.sniff import sniff
from pipeline.plan.model import Plan

__all__ = ["RawCell", "RawForm", "read_files", "read_inbox", "scan_inbox", "sniff"]


def read_files(plan: Plan, paths: Iterable[Path], *, root: Path | None = None, workers: int = 2) -> list[RawForm]:
    """Read each file; `name` is the path relative to `root` (the path as given when root is None)."""
    paths = [Path(p) for p in paths]
    settings = PoolSettings(
        workers=max(1, workers),
        seconds=plan.limits.reader_seconds,
        memory_mb=plan.limits.reader_memory_mb,
    )
    items = [(str(p), display_name(p, root)) for p in paths]
    return read_isolated(items, ReadSpec.from_plan(plan), settings)


def read_inbox(plan: Plan, inbox: Path, *, workers: int = 2) -> list[RawForm]:
    candidates, ignored = scan_inbox(inbox)
    forms = read_files(plan, candidates, root=inbox, workers=workers)
    return sorted([*forms, *ignored], key=lambda f: f.name)
