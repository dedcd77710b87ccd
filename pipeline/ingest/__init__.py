"""Stage 2: read inbox files into `RawForm`s, isolated from the reader's crashes and hangs.

    read_inbox(plan, inbox)          every file in the inbox (ignored ones included), sorted by name
    read_files(plan, paths, root=…)  the given files, in the given order

Both never raise because of a file's content: every file gets a RawForm, with problems when needed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.ingest.alloc import gc_paused
from pipeline.ingest.extract import FileFacts, ReadSpec, file_facts, too_large
from pipeline.ingest.inbox import name_of, scan_inbox
from pipeline.ingest.isolate import MAX_WORKERS, PoolSettings, ReaderService, read_isolated
from pipeline.ingest.model import RawCell, RawForm
from pipeline.ingest.sniff import sniff
from pipeline.plan.model import Plan
from pipeline.problems import Problem

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
               on_form: OnForm | None = None, readers: ReaderService | None = None) -> list[RawForm]:
    """Read each file; `name` is the path relative to `root` (the path as given when root is None).

    With a `cache`, files whose bytes were read before (under the same plan) are not read again, and
    what the workers read is stored in it. `readers`: warm reader processes to read in (a server's),
    instead of a pool started for this call.
    """
    with gc_paused():
        return _read_files(plan, [Path(p) for p in paths], root, workers, cache, progress, on_form, readers)


def _read_files(plan: Plan, paths: list[Path], root: Path | None, workers: int, cache: IngestCache | None,
                progress: Progress | None, on_form: OnForm | None,
                readers: ReaderService | None = None) -> list[RawForm]:
    settings = PoolSettings(
        workers=max(1, min(workers, MAX_WORKERS)),
        seconds=plan.limits.reader_seconds,
        memory_mb=plan.limits.reader_memory_mb,
    )
    spec = ReadSpec.from_plan(plan)
    named = [name_of(p, root) for p in paths]
    items = [(str(p), name) for p, (name, _) in zip(paths, named)]
    results: list[RawForm | None] = [None] * len(items)

    def stamp(index: int, form: RawForm) -> RawForm:
        # Frozen, but not yet seen by anyone: the source path and whether the name was masked are facts
        # of this inbox, not of the file's bytes, so they are never cached and are put on here.
        object.__setattr__(form, "source", items[index][0])
        object.__setattr__(form, "name_masked", named[index][1])
        return form

    def answer(index: int, form: RawForm) -> None:
        results[index] = stamp(index, form)
        if on_form is not None:
            on_form(form)

    # Refused by a stat alone, before anything opens or hashes them: a FIFO or device (an open would block
    # or never end) and a file over the size limit (a link to a 20 GB sparse file).
    for index, (path, name) in enumerate(items):
        early = refuse_by_stat(path, name, spec)
        if early is not None:
            answer(index, early)
    # An empty cache cannot hit: skip hashing every file in the parent (a cold run pays nothing for it).
    keys: list[tuple[str, str, float]] = []
    stored: set[str] = set()
    if cache is not None and cache.enabled and len(cache):
        for index, (path, name) in enumerate(items):
            if results[index] is not None:
                keys.append(("", name, 0.0))
                continue
            try:
                facts = file_facts(Path(path), spec.max_file_bytes)
                keys.append((facts.sha256, name, facts.mtime))
            except OSError:
                keys.append(("", name, 0.0))  # the worker will say what is wrong with it
        stored = cache.stored_shas({sha for sha, _, _ in keys if sha})
    waiting = [i for i, r in enumerate(results) if r is None and keys and keys[i][0] in stored]
    todo = [i for i, r in enumerate(results) if r is None and not (keys and keys[i][0] in stored)]
    done = len(items) - len(todo) - len(waiting)
    if progress is not None:
        progress(done, len(items))

    def answered(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, len(items))

    def thaw() -> None:
        # The cached forms are decoded once the workers are forked and reading the new files: the workers
        # start from a small heap (their memory is not the parent's thousands of forms over again) and the
        # decoding overlaps with their reading.
        assert cache is not None
        got = cache.get_many([keys[i] for i in waiting])
        for j, form in got.items():
            answer(waiting[j], form)
        answered(len(got))

    fresh: list[RawForm] = []
    read: list[int] = []
    for batch, prepare in ((todo, thaw if waiting else None), (None, None)):
        if batch is None:
            # A stored row that did not decode is a miss: that file is read after all.
            batch = [i for i in waiting if results[i] is None]
        if not batch:
            if prepare is not None:
                prepare()
            continue
        if readers is not None:
            if prepare is not None:
                prepare()
            part = []
            for i in batch:
                part.append(readers.read(*items[i]))
                answer(i, part[-1])
                answered(1)
        else:
            part = read_isolated([items[i] for i in batch], spec, settings, answered,
                                 lambda i, form, batch=batch: answer(batch[i], form), prepare=prepare)
        fresh += part
        read += batch
    for i, form in zip(read, fresh):
        if results[i] is not form:
            results[i] = stamp(i, form)
    if cache is not None:
        cache.put_many(fresh)
    return [r for r in results if r is not None]


def refuse_by_stat(path: str, name: str, spec: ReadSpec) -> RawForm | None:
    """The answer for a file that must not be opened or read, from `os.stat` alone; None to read it."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # the worker says what is wrong with it (file-unreadable)
    if not stat.S_ISREG(st.st_mode):
        return RawForm(name, "", 0, st.st_mtime, None, problems=(Problem.make("file-not-regular", name),))
    if st.st_size > spec.max_file_bytes:
        return too_large(name, FileFacts("", st.st_size, st.st_mtime), spec)
    return None


def read_inbox(plan: Plan, inbox: Path, *, workers: int = 2, cache: IngestCache | None = None,
               progress: Progress | None = None, on_form: OnForm | None = None) -> list[RawForm]:
    """`on_form` sees the files read, not the ignored ones (those come back without being read)."""
    candidates, ignored = scan_inbox(inbox, plan.limits.max_file_bytes)
    forms = read_files(plan, candidates, root=inbox, workers=workers, cache=cache, progress=progress,
                       on_form=on_form)
    return sorted([*forms, *ignored], key=lambda f: f.name)
