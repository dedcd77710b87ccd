"""Drawing the charts in a process of their own, started as a run begins.

Importing matplotlib and drawing two PNGs take about a second, most of a small run's rendering. Started
early, the chart process imports matplotlib while the main process reads and validates the inbox, and draws
while the main process writes the other outputs; the .docx waits for the PNGs only at the end. If the
process cannot be started, dies or fails, the charts are drawn in the main process as before, so the
report never depends on it.
"""

from __future__ import annotations

import multiprocessing
import sys

from pipeline.ingest.isolate import die_with_parent
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.aggregate.model import ReportData

#: Generous: drawing takes about a second; a chart process slower than this is treated as dead.
WAIT_SECONDS = 120.0


class ChartProcess:
    """Start it before taking the outbox lock: a forked child keeps every file descriptor it inherits, and
    one holding the lock's would keep the lock after the parent died."""

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._submitted: tuple[ReportData, Path, tuple[str, ...]] | None = None
        self._paths: dict[str, dict[str, Path]] | None = None
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

    def submit(self, data: ReportData, out_dir: Path, languages: tuple[str, ...] = ("kk",)) -> None:
        """Draw the charts of each of `languages` (one set per language, see charts.chart_file_names)."""
        self._submitted = (data, out_dir, tuple(languages))
        self._paths = None
        if self._conn is None:
            return
        try:
            self._conn.send(self._submitted)
        except (OSError, ValueError):
            self._stop()

    def result(self, language: str = "kk") -> dict[str, Path]:
        """The chart paths of `language`: from the chart process, or drawn here when it could not deliver."""
        assert self._submitted is not None, "submit() first"
        if self._paths is None:
            self._paths = self._collect()
        return self._paths[language]

    def _collect(self) -> dict[str, dict[str, Path]]:
        assert self._submitted is not None
        if self._conn is not None:
            try:
                if self._conn.poll(WAIT_SECONDS):
                    status, payload = self._conn.recv()
                    if status == "ok":
                        self._stop()
                        return payload
            except (EOFError, OSError):
                pass
            self._stop()
        return _draw(*self._submitted)

    def close(self) -> None:
        self._stop()

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
    try:
        conn.send(("ok", _draw(*job)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which draws in-process instead
        conn.send(("error", repr(exc)))


def _draw(data: ReportData, out_dir: Path, languages: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    from pipeline.render.charts import draw_charts

    return {language: draw_charts(data, out_dir, language) for language in languages}
