"""The one way an output file is written: whole or not at all, flushed to disk, readable like any document.

The bytes go to a temporary file beside the target, are fsync'ed, and replace the target with one
`os.replace`; the folder is fsync'ed too, so after a power cut the target is either the old or the new
file, never a torn one. mkstemp creates files 0600; outputs are ordinary documents, so they get 0644.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

FILE_MODE = 0o644


def atomic_write(path: Path, payload: bytes | Callable[[IO[bytes]], None], *, mode: int = FILE_MODE) -> Path:
    """Write `payload` (bytes, or a function writing into the open file) to `path` whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(payload, bytes):
                fh.write(payload)
            else:
                payload(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable (a no-op where the OS cannot open folders)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
