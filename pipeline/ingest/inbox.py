"""List the inbox: which files are candidates for reading and which are set aside (with a reason).

The inbox is raw data and stays untouched: files are only listed, stat'ed and opened read-only; nothing
is written, renamed or deleted there, not even temporary files.

Scope: the inbox folder and all its subfolders (districts' mail often lands in per-sender or per-date
folders). Hidden folders (`.git`, `.Trash`) are not entered and not reported. Symlinked folders are
not followed (no loops); symlinked files are read like files.
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


def _ignore_code(name: str) -> str | None:
    if name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#")):
        return "ignored-lock-file"
    if name.startswith("."):
        return "ignored-hidden-file"
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
    """(candidate files to read, ignored files as RawForms with their info problem), each sorted by name.

    An ignored file over `max_bytes` is not hashed (sha256 ""): a 20 GB archive dropped in the inbox
    costs a stat."""
    candidates: list[Path] = []
    ignored: list[RawForm] = []
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            if not path.is_file():
                continue  # a socket, a dangling link: nothing to read or report
            code = _ignore_code(fname)
            if code is None:
                candidates.append(path)
                continue
            name, masked = name_of(path, inbox)
            try:
                facts = file_facts(path, max_bytes)
            except OSError:
                facts = FileFacts("", 0, 0.0)
            ignored.append(RawForm(name, facts.sha256, facts.size, facts.mtime, None,
                                   problems=(Problem.make(code, name),), source=str(path), name_masked=masked))
    candidates.sort(key=lambda p: display_name(p, inbox))
    ignored.sort(key=lambda f: f.name)
    return candidates, ignored
