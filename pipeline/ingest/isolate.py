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
import queue
import shutil
import signal
import sys
import tempfile
import threading
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
#: More reader processes than this only thrash a small machine (and each may take reader_memory_mb):
#: requests above it are capped here and refused by the CLI.
MAX_WORKERS = 16

#: Held while a worker process is started or its exit status is collected, by every pool of the process.
#: The portal checks uploads in many threads at once, each with its own pool, and multiprocessing is not
#: safe for that on its own: `Process.start()` polls every child of the process (`_cleanup`), so a thread
#: asking about its own worker could lose the exit status to another thread's waitpid and be told the
#: dead worker still runs (`Process.close()` then raised "Cannot close a process while it is still
#: running": 2 uploads in 200 answered 500). Under this lock a fork also never inherits another pool's
#: pipe ends half-made, which would keep that worker's sentinel open after it died.
_PROCESSES = threading.Lock()
#: How long to wait for a worker's exit status after its sentinel said it ended (see `_reap`).
REAP_SECONDS = 10.0


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
                 memory_mb: int, reader: Reader, log_path: str = "") -> None:
    # A forked child holds copies of the parent's ends of every pipe; keeping them open would stop
    # the workers from seeing EOF when the parent goes away.
    for other in inherited:
        try:
            other.close()
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The native reader prints its panic text and backtrace to fd 2: that belongs in a log the parent
    # summarises in one line, never on the user's console.
    if log_path:
        _stderr_to(log_path)
    # A crash here is expected and answered by the parent; an inherited faulthandler (pytest enables
    # one) would only dump the parent's stack onto the shared stderr.
    faulthandler.disable()
    die_with_parent()
    detach_inherited_heap()
    if memory_mb > 0:
        try:
            import resource

            limit = address_space_limit(memory_mb)
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
            _mark_log(idx)
            try:
                form = reader(path, name, spec)
            except BaseException as exc:  # noqa: BLE001 - a native panic (pyo3 PanicException) lands here
                form = _final_answer(path, name, "file-reader-crashed", detail=_one_line(exc))
            try:
                conn.send((idx, form))
            except (OSError, ValueError):
                return


def address_space_limit(memory_mb: int) -> int:
    """RLIMIT_AS for a worker: what it already has + `memory_mb`. RLIMIT_AS counts the whole address
    space, and a forked worker starts with its parent's (a portal server with many threads has most of a
    GiB in thread stacks and arenas): an absolute limit would leave such a worker no room to read."""
    return vm_size() + memory_mb * 1024 * 1024


def vm_size() -> int:
    """This process's address space in bytes (VmSize), 0 where /proc does not say."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_MARK = "\x1e"  # starts the log lines written before each file: the parent reads from the last one


def _stderr_to(log_path: str) -> None:
    try:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 2)
    os.close(fd)


def _mark_log(idx: int) -> None:
    try:
        os.write(2, f"{_MARK}{idx}\n".encode())
    except OSError:
        pass


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:117] + "…" if len(text) > 120 else text


def crash_reason(log_text: str, exitcode: int | None) -> str:
    """One line for a user from what a dead worker left in its log: the panic message, else the signal."""
    tail = log_text.rsplit(_MARK, 1)[-1]
    lines = [line.strip() for line in tail.splitlines()[1:] if line.strip()]
    for i, line in enumerate(lines):
        if "panicked" in line:
            # Rust ≥ 1.73 puts the message on the line after "panicked at file:line:col:".
            message = line.split("panicked at", 1)[-1].strip()
            if message.endswith(":") and i + 1 < len(lines):
                message = lines[i + 1]
            return _one_line(Exception(f"panic: {message}"))
    if any("MemoryError" in line or "memory allocation" in line for line in lines):
        return "memory limit"
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit {exitcode}" if exitcode is not None else "?"


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
    log: Path | None = None  # the worker's stderr (see _stderr_to)
    exitcode: int | None = None  # set when killed/joined


class ReaderPool:
    """One pool per call of `run`; not thread-safe."""

    def __init__(self, spec: ReadSpec, settings: PoolSettings) -> None:
        self.spec = spec
        self.settings = settings
        self._log_dir: Path | None = None
        self._spawned = 0
        self.ctx = multiprocessing.get_context(_start_method())
        self.workers: list[_Worker] = []
        self.on_form: OnForm | None = None

    def _spawn(self) -> _Worker:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="mz-reader-logs-"))
        self._spawned += 1
        log = self._log_dir / f"worker-{self._spawned}.log"
        with _PROCESSES:
            parent_end, child_end = self.ctx.Pipe(duplex=True)
            inherited: list[mpc.Connection] = []
            if self.ctx.get_start_method() == "fork":
                inherited = [parent_end, *(w.conn for w in self.workers)]
            proc = self.ctx.Process(
                target=_worker_main,
                args=(child_end, inherited, self.spec, self.settings.memory_mb, self.settings.reader, str(log)),
                daemon=True,
            )
            proc.start()
            child_end.close()
        worker = _Worker(proc, parent_end, log=log)
        self.workers.append(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        try:
            worker.conn.close()
        except OSError:
            pass
        with _PROCESSES:
            if worker.proc.exitcode is None:
                worker.proc.kill()  # SIGKILL cannot be refused: the sentinel below closes soon
        worker.exitcode = _reap(worker.proc)

    def close(self) -> None:
        for worker in list(self.workers):
            self._kill(worker)
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def run(self, items: Sequence[tuple[str, str]], on_done: Callable[[int], None] | None = None,
            on_form: OnForm | None = None, prepare: Callable[[], None] | None = None) -> list[RawForm]:
        """Read (path, name) pairs; the answers come back in the same order. `on_done(n)`: n more answered;
        `on_form(i, form)`: the answer for items[i], as soon as it is known (so that the caller can work on
        it while the workers read on); `prepare()`: the caller's own work, run once the workers are forked
        and have their first files."""
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
                if prepare is not None:
                    prepare, work = None, prepare
                    work()
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
                if worker.proc.sentinel in ready:
                    dead = True  # the sentinel closes when the process ends (its status is `_reap`'s)
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
        reason = crash_reason(_read_log(worker.log), worker.exitcode)
        pending.extendleft(reversed(unstarted))
        if not solo:
            suspects.append(suspect)
            return 0
        idx, path, name = suspect
        params: dict[str, object] = {}
        if code == "file-reader-timeout":
            s = self.settings.seconds
            params["seconds"] = int(s) if float(s).is_integer() else s
        else:
            params["detail"] = reason
        results[idx] = _final_answer(path, name, code, **params)
        if self.on_form is not None:
            self.on_form(idx, results[idx])
        return 1


def _reap(proc: Any) -> int | None:
    """Wait for a killed worker to end, collect its exit status and free it; never raises.

    The end is awaited on the sentinel (a pipe the process holds open until it dies), not with waitpid:
    another thread's `Process.start()` may take the status first, and records it in the same object a
    moment later, so the status is asked for under `_PROCESSES` until it is there. If it never is (someone
    else's waitpid), the object is left to the garbage collector instead of `close()`, which would raise.
    """
    deadline = time.monotonic() + REAP_SECONDS
    mpc.wait([proc.sentinel], timeout=REAP_SECONDS)
    while True:
        with _PROCESSES:
            code = proc.exitcode
            if code is not None:
                proc.close()
                return code
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)


def _read_log(path: Path | None, limit: int = 16384) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


class ReaderService:
    """Reader processes kept warm for the life of a server (the portal checks every upload in one): no fork,
    start-up and reaping per file, which cost more than the read itself. Thread-safe: a read takes an
    idle worker (waiting for one when all are busy) and gives it back. A file that crashes or hangs its
    worker is retried once in a fresh one, as in `ReaderPool`, and answered file-reader-crashed or
    file-reader-timeout the second time; the dead worker is replaced. A worker is also replaced after
    `RECYCLE_AFTER` files, so that no heap grows for the life of the server."""

    RECYCLE_AFTER = 500

    def __init__(self, spec: ReadSpec, settings: PoolSettings) -> None:
        self.spec = spec
        self.settings = settings
        self._pool = ReaderPool(spec, settings)
        self._lock = threading.Lock()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._served: dict[int, int] = {}
        self._started = False

    def _start(self) -> None:
        """The workers are forked at the first read, not before: a server that never reads needs none."""
        with self._lock:
            if self._started:
                return
            self._started = True
            for _ in range(max(1, self.settings.workers)):
                self._idle.put(self._pool._spawn())

    def _replace(self, worker: _Worker) -> tuple[_Worker, str]:
        """A fresh worker instead of `worker` (killed), and what the dead one's log says of its end."""
        with self._lock:
            self._pool._kill(worker)
            self._served.pop(id(worker), None)
            fresh = self._pool._spawn()
        reason = crash_reason(_read_log(worker.log), worker.exitcode)
        if worker.log is not None:
            worker.log.unlink(missing_ok=True)
        return fresh, reason

    def read(self, path: str, name: str) -> RawForm:
        if not self._started:
            self._start()
        worker = self._idle.get()
        try:
            form, worker, failure = self._attempt(worker, path, name)
            if form is None:  # retried once, alone, in a fresh worker (a crash may be the worker's, not the file's)
                form, worker, failure = self._attempt(worker, path, name)
            if form is None:
                code, params = failure
                form = _final_answer(path, name, code, **params)
            self._served[id(worker)] = self._served.get(id(worker), 0) + 1
            if self._served[id(worker)] >= self.RECYCLE_AFTER:
                worker, _ = self._replace(worker)
            return form
        finally:
            self._idle.put(worker)

    def _attempt(self, worker: _Worker, path: str, name: str
                 ) -> tuple[RawForm | None, _Worker, tuple[str, dict[str, object]]]:
        """(the form, the worker to go on with, why not): on a crash or a timeout the worker is replaced."""
        seconds = self.settings.seconds
        try:
            worker.conn.send([(0, path, name)])
            ready = mpc.wait([worker.conn, worker.proc.sentinel], timeout=seconds)
            if worker.conn in ready:
                _, form = worker.conn.recv()
                return form, worker, ("", {})
        except (EOFError, OSError, ValueError):
            ready = [worker.proc.sentinel]
        if ready:
            code, params = "file-reader-crashed", {}
        else:
            code, params = "file-reader-timeout", {"seconds": int(seconds) if float(seconds).is_integer() else seconds}
        fresh, reason = self._replace(worker)
        if code == "file-reader-crashed":
            params = {"detail": reason}
        return None, fresh, (code, params)

    def close(self) -> None:
        """Kill every worker (a read still under way answers file-reader-crashed)."""
        with self._lock:
            self._pool.close()
            self._started = False
            while not self._idle.empty():
                self._idle.get_nowait()


def read_isolated(items: Sequence[tuple[str, str]], spec: ReadSpec, settings: PoolSettings,
                  on_done: Callable[[int], None] | None = None, on_form: OnForm | None = None,
                  prepare: Callable[[], None] | None = None) -> list[RawForm]:
    pool = ReaderPool(spec, settings)
    return pool.run(items, on_done, on_form, prepare)

