"""The one way an output file is written: whole or not at all, flushed to disk, readable like any document.

The bytes go to a temporary file beside the target, are fsync'ed, and replace the target with one
`os.replace`; the folder is fsync'ed too, so after a power cut the target is either the old or the new
file, never a torn one. mkstemp creates files 0600; outputs are ordinary documents, so they get the mode
any program would give them: 0666 less the user's umask (0644 under the usual 022, 0600 under 077 where
the user asked for private files). Folders likewise: 0777 less the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux /proc), since the
    portal writes from many threads; elsewhere set and restored at once under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        current = os.umask(0o022)
        os.umask(current)
    return current


def file_mode() -> int:
    """What an ordinary new file gets: 0666 less the umask."""
    return 0o666 & ~umask()


def folder_mode() -> int:
    """What an ordinary new folder gets: 0777 less the umask."""
    return 0o777 & ~umask()


def atomic_write(path: Path, payload: bytes | Callable[[IO[bytes]], None], *, mode: int | None = None) -> Path:
    """Write `payload` (bytes, or a function writing into the open file) to `path` whole or not at all.
    `mode`: a fixed mode (secrets: 0600); by default the umask's (`file_mode`)."""
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
        os.chmod(tmp, file_mode() if mode is None else mode)
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
