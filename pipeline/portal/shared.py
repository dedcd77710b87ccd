"""The campaign's status, computed once per change of what it is made from and shared by every request.

Every page of the portal shows the status (`pipeline.status.compute_status`): computing it for each request
made 100 concurrent page loads over 172 files take 12.6 s at the median, each load re-validating the whole
inbox. It depends only on the inbox's files, the plan, the published reports' manifests and the day, so a
cheap fingerprint of those (names, sizes, times — a few milliseconds for hundreds of files) says whether
the last status still holds. When it does not, one request computes it and the others that arrived
meanwhile wait for that one result instead of computing their own.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from pipeline.status import CampaignStatus


def listing(folder: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Every entry under `folder` (not following links into folders) with its size, time and inode."""
    found: list[tuple[str, int, int, int]] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files) + [d + "/" for d in dirs]:
            try:
                st = os.lstat(os.path.join(root, name.rstrip("/")))
            except OSError:
                continue
            found.append((os.path.join(root, name), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(found)


def stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True)
class _Computed:
    key: Hashable
    started: float
    status: CampaignStatus


class SharedStatus:
    """`get()` gives the status for what the inbox and outbox hold now, computing it at most once per change.

    A request takes the last status when its fingerprint is unchanged, or one whose computation began after
    the request arrived (it saw everything the request could); otherwise it computes, or waits for the one
    computation under way and looks again.
    """

    def __init__(self, compute: Callable[[], CampaignStatus], key: Callable[[], Hashable]) -> None:
        self._compute = compute
        self._key = key
        self._cond = threading.Condition()
        self._busy = False
        self._last: _Computed | None = None

    def get(self) -> CampaignStatus:
        asked = time.monotonic()
        key = self._key()
        with self._cond:
            while True:
                last = self._last
                if last is not None and (last.key == key or last.started >= asked):
                    return last.status
                if not self._busy:
                    self._busy = True
                    break
                self._cond.wait()
        computed: _Computed | None = None
        try:
            started = time.monotonic()
            now_key = self._key()
            computed = _Computed(now_key, started, self._compute())
            return computed.status
        finally:
            with self._cond:
                self._busy = False
                if computed is not None:
                    self._last = computed
                self._cond.notify_all()


def status_key(inbox: Path, outbox: Path, plan_path: Path, dates: list[dt.date], today: dt.date) -> Hashable:
    """What a status is made of: the inbox's files, the plan file, each date's published manifest (the
    feedback workbooks it names), and the day (a date turns from "not yet due" to "missing")."""
    return (listing(inbox), stamp(plan_path), tuple(stamp(outbox / d.isoformat() / "manifest.json") for d in dates),
            today)
