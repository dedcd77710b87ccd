"""Read untrusted files in worker processes, so that a file which crashes or hangs the reader costs that
file only.

calamine can abort the whole process on a 1 KiB file (a looping OLE chain makes it allocate without
bound); no `except` catches that. So reading happens in a small pool of worker processes, each with an
address-space limit, and the parent:

* sends paths in small batches (one pickle per batch out, one per file back: IPC stays a few percent of
  the read time of a small form);
* gives every file a wall-clock budget, counted from the moment the worker finished the previous file;
* when a worker dies or overruns, kills it, starts a fresh one, puts the unstarted files of its batch
  back in the queue, and retries the file it was reading once, alone, in a fresh worker;
* answers a file that fails twice with file-reader-crashed or file-reader-timeout.

The parent never raises because of a file, and kills every worker it started before returning.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import multiprocessing.connection as mpc
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.ingest.alloc import detach_inherited_heap
from pipeline.ingest.extract import FileFacts, ReadSpec, file_facts, read_path
from pipeline.ingest.model import RawForm
from pipeline.problems import Problem

#: reader(path, name, spec) -> RawForm. Must be a module-level function (pickled under `spawn`).
Reader = Callable[[str, str, ReadSpec], RawForm]

Task = tuple[int, str, str]  # (index in the caller's list, path, display name)

#: on_form(index, form): one file answered (in arrival order, not list order).
OnForm = Callable[[int, RawForm], None]

MAX_BATCH = 16


@dataclass
class PoolSettings:
    workers: int = 2
    seconds: float = 10.0
    memory_mb: int = 1024
    reader: Reader = read_path


def _start_method() -> str:
    # fork costs ~1 ms and needs no re-import; elsewhere fork is unsafe or missing.
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _worker_main(conn: mpc.Connection, inherited: list[mpc.Connection], spec: ReadSpec,
                 memory_mb: int, reader: Reader) -> None:
    # A forked child holds copies of the parent's ends of every pipe; keeping them open would stop
    # the workers from seeing EOF when the parent goes away.
    for other in inherited:
        try:
            other.close()
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # A crash here is expected and answered by the parent; an inherited faulthandler (pytest enables
    # one) would only dump the parent's stack onto the shared stderr.
    faulthandler.disable()
    die_with_parent()
    detach_inherited_heap()
    if memory_mb > 0:
        try:
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for idx, path, name in batch:
            try:
                form = reader(path, name, spec)
            except BaseException:  # noqa: BLE001 - the reader promised not to raise; answer anyway
                form = _final_answer(path, name, "file-reader-crashed")
            try:
                conn.send((idx, form))
            except (OSError, ValueError):
                return


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies, so no reader or helper process outlives a run."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _final_answer(path: str, name: str, code: str, **params: object) -> RawForm:
    try:
        facts = file_facts(Path(path))
    except OSError:
        facts = FileFacts("", 0, 0.0)
    return RawForm(name, facts.sha256, facts.size, facts.mtime, None,
                   problems=(Problem.make(code, name, **params),))


@dataclass
class _Worker:
    proc: Any
    conn: mpc.Connection
    inflight: deque[Task] = field(default_factory=deque)
    started: float = 0.0  # when the worker began the head of `inflight`
    solo: bool = False  # reading a suspect alone: its failure is final


class ReaderPool:
    """One pool per call of `run`; not thread-safe."""

    def __init__(self, spec: ReadSpec, settings: PoolSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.ctx = multiprocessing.get_context(_start_method())
        self.workers: list[_Worker] = []
        self.on_form: OnForm | None = None

    def _spawn(self) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        inherited: list[mpc.Connection] = []
        if self.ctx.get_start_method() == "fork":
            inherited = [parent_end, *(w.conn for w in self.workers)]
        proc = self.ctx.Process(
            target=_worker_main,
            args=(child_end, inherited, self.spec, self.settings.memory_mb, self.settings.reader),
            daemon=True,
        )
        proc.start()
        child_end.close()
        worker = _Worker(proc, parent_end)
        self.workers.append(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        try:
            worker.conn.close()
        except OSError:
            pass
        if worker.proc.is_alive():
            worker.proc.kill()
        worker.proc.join(5)
        worker.proc.close()

    def close(self) -> None:
        for worker in list(self.workers):
            self._kill(worker)

    def run(self, items: Sequence[tuple[str, str]], on_done: Callable[[int], None] | None = None,
            on_form: OnForm | None = None) -> list[RawForm]:
        """Read (path, name) pairs; the answers come back in the same order. `on_done(n)`: n more answered;
        `on_form(i, form)`: the answer for items[i], as soon as it is known (so that the caller can work on
        it while the workers read on)."""
        self.on_form = on_form
        results: list[RawForm | None] = [None] * len(items)
        if not items:
            return []
        pending: deque[Task] = deque((i, p, n) for i, (p, n) in enumerate(items))
        suspects: deque[Task] = deque()
        try:
            for _ in range(max(1, min(self.settings.workers, len(items)))):
                self._spawn()
            remaining = len(items)
            while remaining:
                self._dispatch(pending, suspects)
                done = self._collect(results, pending, suspects)
                remaining -= done
                if done and on_done is not None:
                    on_done(done)
        finally:
            self.close()
        return [r for r in results if r is not None]

    def _batch_size(self, pending: int) -> int:
        # Large batches cut IPC; small ones near the end keep both workers busy till the last file.
        return max(1, min(MAX_BATCH, pending // (4 * max(1, self.settings.workers))))

    def _dispatch(self, pending: deque[Task], suspects: deque[Task]) -> None:
        for worker in list(self.workers):
            if worker.solo:
                if worker.inflight:
                    continue
                # Its suspect is answered; keep it only if the pool is short of regular workers.
                if sum(1 for w in self.workers if not w.solo) >= self.settings.workers or not pending:
                    self._kill(worker)
                    continue
                worker.solo = False
            if pending and len(worker.inflight) <= 1:
                size = min(len(pending), self._batch_size(len(pending)))
                self._send(worker, [pending.popleft() for _ in range(size)])
        while suspects:
            worker = self._spawn()
            worker.solo = True
            self._send(worker, [suspects.popleft()])

    def _send(self, worker: _Worker, batch: list[Task]) -> None:
        if not worker.inflight:
            worker.started = time.monotonic()
        worker.inflight.extend(batch)
        try:
            worker.conn.send(batch)
        except (OSError, ValueError):
            pass  # a dead worker shows up as such in _collect

    def _collect(self, results: list[RawForm | None], pending: deque[Task], suspects: deque[Task]) -> int:
        busy = [w for w in self.workers if w.inflight]
        if not busy:
            return 0
        now = time.monotonic()
        seconds = self.settings.seconds
        timeout = max(0.0, min(w.started + seconds for w in busy) - now)
        waitables: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
        ready = set(mpc.wait(waitables, timeout=timeout))
        done = 0
        for worker in busy:
            dead = False
            if worker.conn in ready or worker.proc.sentinel in ready:
                try:
                    while worker.inflight and worker.conn.poll():
                        idx, form = worker.conn.recv()
                        head = worker.inflight.popleft()
                        assert head[0] == idx
                        results[idx] = form
                        if self.on_form is not None:
                            self.on_form(idx, form)
                        done += 1
                        worker.started = time.monotonic()
                except (EOFError, OSError):
                    dead = True
                if worker.proc.sentinel in ready and not worker.proc.is_alive():
                    dead = True
            if worker.inflight and not dead and time.monotonic() - worker.started > seconds:
                done += self._fail(worker, "file-reader-timeout", results, pending, suspects)
            elif worker.inflight and dead:
                done += self._fail(worker, "file-reader-crashed", results, pending, suspects)
            elif dead:
                self._kill(worker)
        # Keep the pool at strength while there is work; suspects get their own fresh workers.
        while pending and sum(1 for w in self.workers if not w.solo) < self.settings.workers:
            self._spawn()
        return done

    def _fail(self, worker: _Worker, code: str, results: list[RawForm | None],
              pending: deque[Task], suspects: deque[Task]) -> int:
        suspect = worker.inflight.popleft()
        unstarted = list(worker.inflight)
        worker.inflight.clear()
        solo = worker.solo
        self._kill(worker)
        pending.extendleft(reversed(unstarted))
        if not solo:
            suspects.append(suspect)
            return 0
        idx, path, name = suspect
        params: dict[str, object] = {}
        if code == "file-reader-timeout":
            s = self.settings.seconds
            params["seconds"] = int(s) if float(s).is_integer() else s
        results[idx] = _final_answer(path, name, code, **params)
        if self.on_form is not None:
            self.on_form(idx, results[idx])
        return 1


def read_isolated(items: Sequence[tuple[str, str]], spec: ReadSpec, settings: PoolSettings,
                  on_done: Callable[[int], None] | None = None, on_form: OnForm | None = None) -> list[RawForm]:
    pool = ReaderPool(spec, settings)
    return pool.run(items, on_done, on_form)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
