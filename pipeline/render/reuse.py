"""Outputs kept from earlier runs and reused when their inputs did not change (issue 12).

A re-run after one new file changes the current date's figures only: the charts and the summary sheets of
earlier dates are drawn from the same inputs as last time. Each is stored under `<outbox>/.cache/outputs/`
keyed by a sha256 of *everything* it is made from — the data it reads, the words and plan it shows, the
options it was asked for (a language, say) and the source of the code that makes it — so a change to any of
them is a miss, never a stale output.

An entry holds the sha256 of its bytes ahead of them: a damaged or truncated entry is a miss and is written
again. The folder is safe to delete at any time. Entries not used for a while are dropped (the newest
`KEEP` stay), so it does not grow without bound.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_write

OUTPUTS_DIR = "outputs"
KEEP = 400
_ROOT = Path(__file__).resolve().parent.parent
#: Modules outputs take text through (masking, safe text, problem wording) besides render/ and forms/.
_GROUND_FLOOR = ("privacy.py", "safe_text.py", "problems.py", "verdicts.py", "texts.py", "aggregate/model.py",
                 "ingest/model.py")


def default_outputs_path(outbox: Path) -> Path:
    return Path(outbox) / ".cache" / OUTPUTS_DIR


class OutputCache:
    """`get(key)` → bytes or None; `put(key, data)`. Failures (a read-only folder) make it go quiet."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.stored = 0

    def _path(self, key: str) -> Path:
        return self.folder / key

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        digest, _, data = blob.partition(b"\n")
        if hashlib.sha256(data).hexdigest().encode() != digest:
            return None  # damaged: a miss, overwritten by the next put
        try:
            os.utime(path)  # recently used: kept by `tidy`
        except OSError:
            pass
        self.hits += 1
        return data

    def put(self, key: str, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self._path(key), hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
            self.stored += 1
        except OSError:
            pass

    def tidy(self, keep: int = KEEP) -> None:
        try:
            entries = sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return
        for path in entries[keep:]:
            try:
                path.unlink()
            except OSError:
                pass


def key_of(kind: str, parts: Iterable[Any]) -> str:
    """sha256 over `kind`, the code and data files outputs are made from, and `parts` (bytes as they are,
    anything else by its repr: plans and frames' digests have a full, stable repr)."""
    digest = hashlib.sha256(kind.encode() + b"\0" + sources_fingerprint().encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part if isinstance(part, bytes) else repr(part).encode("utf-8"))
    return f"{kind}-{digest.hexdigest()[:32]}"


@cache
def sources_fingerprint() -> str:
    """The render and form code, the modules text passes through, and every data file (wording of both
    languages, formats, the catalogue): a change to any is a miss."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("matplotlib").encode())
    files = sorted([*(_ROOT / "render").glob("*.py"), *(_ROOT / "forms").glob("*.py"),
                    *(_ROOT / "data").rglob("*.yaml"), *(_ROOT / n for n in _GROUND_FLOOR)])
    for path in files:
        digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def frame_digest(frame: Any) -> bytes:
    """A pandas frame's index, columns and every value, as bytes for a key."""
    import pandas as pd

    values = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    return repr((list(frame.index), list(frame.columns), [str(t) for t in frame.dtypes])).encode() + values


def data_digest(data: Any) -> list[Any]:
    """Every field of a ReportData (frames by `frame_digest`), for a key of an output drawn from all of it."""
    import dataclasses

    import pandas as pd

    parts: list[Any] = []
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        if isinstance(value, pd.DataFrame):
            parts.append(frame_digest(value))
        elif isinstance(value, dict) and any(isinstance(v, pd.DataFrame) for v in value.values()):
            parts.append([(k, frame_digest(v)) for k, v in sorted(value.items())])
        else:
            parts.append(value)
    return parts
