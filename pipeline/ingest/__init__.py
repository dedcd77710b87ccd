"""Stage 2: read inbox files into `RawForm`s, isolated from the reader's crashes and hangs.

    read_inbox(plan, inbox)          every file in the inbox (ignored ones included), sorted by name
    read_files(plan, paths, root=…)  the given files, in the given order

Both never raise because of a file's content: every file gets a RawForm, with problems when needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.ingest.alloc import gc_paused
from pipeline.ingest.extract import ReadSpec, file_facts
from pipeline.ingest.inbox import display_name, scan_inbox
from pipeline.ingest.isolate import PoolSettings, read_isolated
from pipeline.ingest.model import RawCell, RawForm
from pipeline.ingest.sniff import sniff
from pipeline.plan.model import Plan

if TYPE_CHECKING:
    from pipeline.ingest.cache import IngestCache

#: progress(done, total): files answered so far (cached ones included) out of all to read.
Progress = Callable[[int, int], None]
#: on_form(form): called once for each form read_files returns, as soon as it is known (cached ones first,
#: then in the order the workers answer), so that the caller's own work overlaps with the reading.
OnForm = Callable[[RawForm], None]

__all__ = ["RawCell", "RawForm", "read_files", "read_inbox", "scan_inbox", "sniff"]


def read_files(plan: Plan, paths: Iterable[Path], *, root: Path | None = None, workers: int = 2,
               cache: IngestCache | None = None, progress: Progress | None = None,
               on_form: OnForm | None = None) -> list[RawForm]:
    """Read each file; `name` is the path relative to `root` (the path as given when root is None).

    With a `cache`, files whose bytes were read before (under the same plan) are not read again, and
    what the workers read is stored in it.
    """
    with gc_paused():
        return _read_files(plan, [Path(p) for p in paths], root, workers, cache, progress, on_form)


def _read_files(plan: Plan, paths: list[Path], root: Path | None, workers: int, cache: IngestCache | None,
                progress: Progress | None, on_form: OnForm | None) -> list[RawForm]:
    settings = PoolSettings(
        workers=max(1, workers),
        seconds=plan.limits.reader_seconds,
        memory_mb=plan.limits.reader_memory_mb,
    )
    items = [(str(p), display_name(p, root)) for p in paths]
    results: list[RawForm | None] = [None] * len(items)
    # An empty cache cannot hit: skip hashing every file in the parent (a cold run pays nothing for it).
    if cache is not None and cache.enabled and len(cache):
        keys = []
        for path, name in items:
            try:
                facts = file_facts(Path(path))
                keys.append((facts.sha256, name, facts.mtime))
            except OSError:
                keys.append(("", name, 0.0))  # the worker will say what is wrong with it
        for index, form in cache.get_many(keys).items():
            results[index] = form
            if on_form is not None:
                on_form(form)
    todo = [i for i, r in enumerate(results) if r is None]
    done = len(items) - len(todo)
    if progress is not None:
        progress(done, len(items))

    def answered(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, len(items))

    fresh = read_isolated([items[i] for i in todo], ReadSpec.from_plan(plan), settings, answered,
                          None if on_form is None else lambda _, form: on_form(form))
    for i, form in zip(todo, fresh):
        results[i] = form
    if cache is not None:
        cache.put_many(fresh)
    return [r for r in results if r is not None]


def read_inbox(plan: Plan, inbox: Path, *, workers: int = 2, cache: IngestCache | None = None,
               progress: Progress | None = None, on_form: OnForm | None = None) -> list[RawForm]:
    """`on_form` sees the files read, not the ignored ones (those come back without being read)."""
    candidates, ignored = scan_inbox(inbox)
    forms = read_files(plan, candidates, root=inbox, workers=workers, cache=cache, progress=progress,
                       on_form=on_form)
    return sorted([*forms, *ignored], key=lambda f: f.name)
