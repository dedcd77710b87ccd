"""List the inbox: which files are candidates for reading and which are set aside (with a reason).

The inbox is raw data and stays untouched: files are only listed, stat'ed and opened read-only; nothing
is written, renamed or deleted there, not even temporary files.

Scope: the inbox folder and all its subfolders (districts' mail often lands in per-sender or per-date
folders). Hidden folders (`.git`, `.Trash`) are not entered, and the files tools and systems leave
(`.gitkeep`, `.DS_Store`, `Thumbs.db`, `desktop.ini`: `is_tool_file`) are not listed: neither is anyone's
form, so neither is ever an "unknown file". Everything else is listed: an office lock file (`~$…`) and a
file whose name says it is not a spreadsheet (a PDF cover letter) are set aside with an `ignored-…` code,
and a FIFO, socket or device is answered `file-not-regular` without being opened. Symlinked folders are not
followed (no loops); symlinked files are read like files.

`check` lists what it is given with the same rules (`scan_paths`), so a file gets the same answer from
`check` and from `report`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.ingest.extract import FileFacts, file_facts
from pipeline.ingest.model import RawForm
from pipeline.privacy import mask
from pipeline.problems import Problem
from pipeline.safe_text import encodes_as_utf8, xml_text

#: Extensions that are clearly not a district's spreadsheet. Anything else — spreadsheet extensions,
#: no extension, odd ones — is read and judged by content, so that a district gets a precise answer.
NOT_SPREADSHEET_EXTENSIONS: frozenset[str] = frozenset({
    ".pdf", ".doc", ".docx", ".docm", ".dot", ".dotx", ".rtf", ".odt", ".txt", ".md", ".log",
    ".ppt", ".pptx", ".odp", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp",
    ".svg", ".zip", ".rar", ".7z", ".tar", ".gz", ".bz2", ".xz", ".msg", ".eml", ".mbox", ".htm", ".html",
    ".mp3", ".mp4", ".mov", ".avi", ".wav", ".ogg", ".exe", ".dll", ".lnk", ".url", ".ini", ".db",
    ".tmp", ".bak", ".json", ".py", ".sig", ".p7s",
})


#: Files an operating system or a tool keeps in any folder (beside hidden files, whose name starts with a dot).
SYSTEM_FILES: frozenset[str] = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})


def _is_lock_file(name: str) -> bool:
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def is_tool_file(name: str) -> bool:
    """A file no district sends: hidden (`.gitkeep`, `.DS_Store`, `._x.xlsx`) or a system file. Not listed."""
    return (name.startswith(".") and not _is_lock_file(name)) or name.casefold() in SYSTEM_FILES


def ignore_code(name: str) -> str | None:
    """Why a listed file is set aside unread (an info problem), or None to read it."""
    if _is_lock_file(name):
        return "ignored-lock-file"
    if Path(name).suffix.lower() in NOT_SPREADSHEET_EXTENSIONS:
        return "ignored-not-spreadsheet"
    return None


def display_name(path: Path, root: Path | None) -> str:
    """The name people see for a file: relative to `root`, made safe (see `safe_name`)."""
    return safe_name(_relative(path, root))[0]


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix() if root is None else path.name


def safe_name(raw: str) -> tuple[str, bool]:
    """(name every output can hold, whether personal data was masked out of it).

    A name from a zip made on Windows may not be valid UTF-8 (Python keeps such bytes as surrogates,
    which no UTF-8 writer accepts): those bytes show as U+FFFD. Control characters become spaces, and
    the one masking pass runs on the name, as on every other text a district sends.
    """
    if not encodes_as_utf8(raw):
        try:
            raw = os.fsencode(raw).decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate no file system put there: nothing to recover
            raw = raw.encode("utf-8", "replace").decode("utf-8")
    return mask(xml_text(raw))


def name_of(path: Path, root: Path | None) -> tuple[str, bool]:
    return safe_name(_relative(path, root))


def scan_inbox(inbox: Path, max_bytes: int | None = None) -> tuple[list[Path], list[RawForm]]:
    """(candidate files to read, ignored files as RawForms with their info problem), each sorted by name
    (relative to the inbox).

    An ignored file over `max_bytes` is not hashed (sha256 ""): a 20 GB archive dropped in the inbox
    costs a stat."""
    candidates: list[Path] = []
    ignored: list[RawForm] = []
    for path in _walk(inbox):
        _sort_out(path, inbox, max_bytes, candidates, ignored)
    candidates.sort(key=lambda p: display_name(p, inbox))
    ignored.sort(key=lambda f: f.name)
    return candidates, ignored


def scan_paths(paths: list[Path], max_bytes: int | None = None) -> tuple[list[Path], list[RawForm]]:
    """What `check` was given, listed as the inbox is: a folder stands for every file in it and its
    subfolders (by `scan_inbox`'s rules), a file for itself; names are the paths as given. A tool file
    named on its own is not listed either."""
    candidates: list[Path] = []
    ignored: list[RawForm] = []
    for given in paths:
        found = _walk(given) if given.is_dir() else ([] if is_tool_file(given.name) else [given])
        for path in found:
            _sort_out(path, None, max_bytes, candidates, ignored)
    return candidates, ignored


def _walk(folder: Path) -> list[Path]:
    """Every listed entry under `folder`, by folder and name; hidden folders and tool files left out.
    Non-regular entries (a FIFO, a socket) are listed: the reader answers them without opening them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            if is_tool_file(fname) or not path.exists():
                continue  # not a district's file; or a dangling link, which names nothing to read
            found.append(path)
    return found


def _sort_out(path: Path, root: Path | None, max_bytes: int | None, candidates: list[Path],
              ignored: list[RawForm]) -> None:
    code = ignore_code(path.name)
    if code is None:
        candidates.append(path)
        return
    name, masked = name_of(path, root)
    try:
        facts = file_facts(path, max_bytes) if path.is_file() else FileFacts("", 0, 0.0)
    except OSError:
        facts = FileFacts("", 0, 0.0)
    ignored.append(RawForm(name, facts.sha256, facts.size, facts.mtime, None,
                           problems=(Problem.make(code, name),), source=str(path), name_masked=masked))
