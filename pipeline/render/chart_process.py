"""Drawing the charts in a process of their own, started as a run begins.

Importing matplotlib and drawing two PNGs take about a second, most of a small run's rendering. Started
early, the chart process imports matplotlib while the main process reads and validates the inbox, and draws
while the main process writes the other outputs; the .docx waits for the PNGs only at the end. If the
process cannot be started, dies or fails, the charts are drawn in the main process as before, so the
report never depends on it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.ingest.isolate import die_with_parent

if TYPE_CHECKING:
    from pipeline.aggregate.model import ReportData
    from pipeline.render.reuse import OutputCache

#: Generous: drawing takes about a second; a chart process slower than this is treated as dead.
WAIT_SECONDS = 120.0


class ChartProcess:
    """Start it before taking the outbox lock: a forked child keeps every file descriptor it inherits, and
    one holding the lock's would keep the lock after the parent died."""

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._submitted: tuple[ReportData, Path, tuple[str, ...]] | None = None
        # language → chart name → PNG: drawn, or reused from an earlier run (then nothing is drawn); the
        # chart process answers one language at a time, so this fills up as its answers are collected
        self._ready: dict[str, dict[str, Path]] | None = None
        self._reuse: tuple[OutputCache, str] | None = None
        self._kept = False  # the drawn sets were put in the output cache (or came from it)
        if sys.platform != "linux":
            return  # forking is the cheap part of the plan; elsewhere draw in-process
        try:
            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, parent), daemon=True, name="charts")
            proc.start()
            child.close()
        except OSError:
            return
        self._conn, self._proc = parent, proc

    def submit(
        self, data: ReportData, out_dir: Path, reuse: OutputCache | None = None, languages: tuple[str, ...] = ("kk",)
    ) -> None:
        """Draw one chart set per language (see charts.chart_file_names) in one job. `reuse`: charts kept
        from earlier runs, keyed by every field of `data`, the languages, and the chart code and wording:
        when the same input was drawn before, its PNGs are copied instead of drawn."""
        languages = tuple(languages)
        self._submitted = (data, out_dir, languages)
        self._ready, self._reuse, self._kept = None, None, False
        if reuse is not None:
            from pipeline.render.reuse import data_digest, key_of

            key = key_of("charts", [*data_digest(data), list(languages)])
            self._reuse = (reuse, key)
            ready = _reused(reuse, key, out_dir)
            if ready is not None:
                self._ready, self._kept = ready, True
                self._discard()  # nothing to draw: not waited for (it may still be importing matplotlib)
                return
        if self._conn is None:
            return
        try:
            self._conn.send(self._submitted)
        except (OSError, ValueError):
            self._stop()

    def result(self, language: str = "kk") -> dict[str, Path]:
        """The chart paths of `language`: from the chart process, or drawn here when it could not deliver.

        Only `language` is waited for: the process sends each language's set as soon as it is drawn, so the
        first copy is written while the next language's charts are still being drawn."""
        assert self._submitted is not None, "submit() first"
        if self._ready is None:
            self._ready = {}
        if language not in self._ready:
            self._collect(language, self._ready)
        return self._ready[language]

    def finish(self) -> None:
        """Wait until every language's charts are drawn (or drawn here): nothing writes into the run folder
        any more once this returns."""
        if self._submitted is not None:
            for language in self._submitted[2]:
                self.result(language)

    def _collect(self, language: str, got: dict[str, dict[str, Path]]) -> None:
        assert self._submitted is not None
        data, out_dir, languages = self._submitted
        if self._conn is not None:
            try:
                while language not in got and self._conn.poll(WAIT_SECONDS):
                    status, payload = self._conn.recv()
                    if status != "ok":
                        break
                    got.update(payload)
            except (EOFError, OSError):
                pass
            if language not in got or all(lang in got for lang in languages):
                self._stop()  # dead, failed or done: what is still missing is drawn here
        if language not in got:
            got.update(_draw(data, out_dir, tuple(lang for lang in languages if lang not in got)))
        if not self._kept and all(lang in got for lang in languages):
            self._kept = True
            self._keep(got)

    def _keep(self, sets: dict[str, dict[str, Path]]) -> dict[str, dict[str, Path]]:
        if self._reuse is not None:
            import json

            cache, key = self._reuse
            try:
                for language, paths in sorted(sets.items()):
                    for name, path in sorted(paths.items()):
                        cache.put(f"{key}.{language}.{name}", Path(path).read_bytes())
                index = {lang: {name: Path(p).name for name, p in paths.items()} for lang, paths in sets.items()}
                cache.put(key, json.dumps(index, sort_keys=True).encode())
            except OSError:
                pass
        return sets

    def close(self) -> None:
        self._stop()

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
            self._proc = None

    def _stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except (OSError, ValueError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc = None

    def __enter__(self) -> ChartProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reused(cache: OutputCache, key: str, out_dir: Path) -> dict[str, dict[str, Path]] | None:
    """The kept charts of `key` written into `out_dir`, or None when any of them is missing or damaged."""
    import json

    from pipeline.atomic import atomic_write

    index = cache.get(key)
    if index is None:
        return None
    try:
        sets = json.loads(index)
        found = {(lang, name): cache.get(f"{key}.{lang}.{name}") for lang, names in sets.items() for name in names}
        if not found or any(v is None for v in found.values()):
            return None
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, dict[str, Path]] = {lang: {} for lang in sets}
        for (lang, name), data in found.items():
            file_name = Path(str(sets[lang][name])).name  # a bare name, never a path out of the folder
            atomic_write(out_dir / file_name, data)  # type: ignore[arg-type]
            paths[lang][name] = out_dir / file_name
        return paths
    except (ValueError, TypeError, AttributeError):
        return None


def _serve(conn: Connection, parent_end: Connection) -> None:
    # The parent's end of the pipe came along with the fork: closed here, so that when the parent dies the
    # pipe reports EOF and this process ends instead of waiting for a job for ever.
    parent_end.close()
    die_with_parent()
    # Warm up while the main process is busy: the import is the expensive part.
    from pipeline.render.charts import warm_up

    warm_up()
    try:
        job = conn.recv()
    except EOFError:
        return
    if job is None:
        return
    data, out_dir, languages = job
    # The first language is drawn here; the others at the same time in a child forked now, which shares the
    # imported matplotlib (a second core draws the Russian set while this one draws the Kazakh one).
    helper = _Helper.start(data, out_dir, languages[1:], conn)
    try:
        _answer_each(conn, data, out_dir, languages[:1] if helper is not None else languages)
        if helper is not None:
            for answer in helper.answers():
                conn.send(answer)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which draws the rest in-process
        if helper is not None:
            helper.stop()  # nothing may write into the run folder once the parent takes over
        conn.send(("error", repr(exc)))


def _answer_each(conn: Connection, data: ReportData, out_dir: Path, languages: tuple[str, ...]) -> None:
    """One answer a language, sent as soon as its set is drawn (the run renders a copy as its set arrives)."""
    for language in languages:
        conn.send(("ok", _draw(data, out_dir, (language,))))


class _Helper:
    """The chart process's own child drawing the languages after the first; it answers as `_serve` does.

    Forked with os.fork: multiprocessing refuses children to a daemon process, and the chart process is one
    (it must never keep a run waiting)."""

    def __init__(self, pid: int, conn: Connection, count: int) -> None:
        self.pid, self.conn, self.count = pid, conn, count

    @classmethod
    def start(cls, data: ReportData, out_dir: Path, languages: tuple[str, ...], upstream: Connection
              ) -> _Helper | None:
        if not languages:
            return None
        try:
            mine, theirs = multiprocessing.Pipe()
            pid = os.fork()
        except OSError:
            return None  # drawn one after the other here
        if pid == 0:  # the helper: never returns into the chart process's code
            code = 0
            try:
                upstream.close()  # the run must see EOF when the chart process dies, helper or not
                mine.close()
                _help(theirs, data, out_dir, languages)
            except BaseException:  # noqa: BLE001 - the chart process reports a helper that said nothing
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        return cls(pid, mine, len(languages))

    def answers(self) -> Iterator[tuple[str, object]]:
        """Each language's answer; a helper that died or failed is an error (the parent draws the rest)."""
        for _ in range(self.count):
            try:
                answer = self.conn.recv()
            except (EOFError, OSError):
                answer = ("error", "the chart helper died")
            if answer[0] != "ok":
                self.stop()
                yield answer
                return
            yield answer
        self.stop()

    def stop(self) -> None:
        """Ended and reaped: after this the helper writes nothing more."""
        self.conn.close()
        try:
            if os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _help(conn: Connection, data: ReportData, out_dir: Path, languages: tuple[str, ...]) -> None:
    die_with_parent()
    try:
        _answer_each(conn, data, out_dir, languages)
    except Exception as exc:  # noqa: BLE001 - reported up, as the chart process does
        conn.send(("error", repr(exc)))


def _draw(data: ReportData, out_dir: Path, languages: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    from pipeline.render.charts import draw_charts

    return {language: draw_charts(data, out_dir, language) for language in languages}
