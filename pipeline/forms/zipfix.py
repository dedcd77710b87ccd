"""Make a zip-based file (xlsx, docx, ods) byte-for-byte reproducible.

Writers such as openpyxl stamp every zip member with the current time, so the same content saved twice
gives different bytes. Rewriting the archive with one fixed timestamp (and fixed attributes) removes that,
which lets tests compare files and lets a re-run leave unchanged outputs unchanged.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path
from typing import IO

from pipeline.atomic import atomic_write

#: The earliest timestamp a zip entry can hold; used when the caller has no meaningful date.
ZIP_EPOCH: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)


def normalise_zip(path: Path | str, date_time: tuple[int, int, int, int, int, int] = ZIP_EPOCH) -> None:
    """Rewrite the archive at `path` in place: same members in the same order, every one dated `date_time`.

    The rewrite goes to a temporary file beside `path` and replaces it only when complete, so a failure
    leaves the original untouched.
    """
    path = Path(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    with zipfile.ZipFile(path) as src:
        def write(fh: IO[bytes]) -> None:
            with zipfile.ZipFile(fh, "w") as dst:
                copy_normalised(src, dst, date_time)
        atomic_write(path, write, mode=mode)  # keeps the original's permissions


def copy_normalised(
    src: zipfile.ZipFile,
    dst: zipfile.ZipFile,
    date_time: tuple[int, int, int, int, int, int] = ZIP_EPOCH,
    compress_type: int | None = None,
) -> None:
    """Copy every member of `src` into `dst` in order, dated `date_time`.

    `compress_type` None keeps each member's compression; a writer that built `src` uncompressed in memory
    passes ZIP_DEFLATED to compress once, on the way out.
    """
    for info in src.infolist():
        data = src.read(info)
        fixed = zipfile.ZipInfo(info.filename, date_time=date_time)
        # ODF's `mimetype` member must stay stored, so a member already stored is never compressed
        # unless the caller asks for it.
        fixed.compress_type = info.compress_type if compress_type is None else compress_type
        # Attributes from the writer's platform would make bytes differ between machines.
        fixed.create_system = 0
        fixed.external_attr = 0
        dst.writestr(fixed, data)
