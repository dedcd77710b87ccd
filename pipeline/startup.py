"""What the command line does before anything else: make sure the packages it needs are importable, and
know how to say that an unexpected fault happened — both without the message catalogue, whose loader
(PyYAML) may itself be what is missing.

Standard library only, and nothing is imported here: `importlib.util.find_spec` looks a module up on the
path without running it (well under a millisecond for all of them), so a system Python without the
project's packages gets one Kazakh line and exit 6 instead of a traceback (or, for `check`, every good
file called corrupt by reader processes that cannot import their reader).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import sys
import tempfile
import traceback
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.errors import EXIT  # a module without imports

MISSING_PACKAGES = EXIT["missing_packages"]
INTERNAL_ERROR = EXIT["internal_error"]

DATA = Path(__file__).resolve().parent / "data" / "startup.json"
LANG_ENV = "MZ_LANG"
LOGS = ".logs"


@cache
def words() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def lang_of(argv: list[str]) -> str:
    """`--lang ru` / `--lang=ru` on the command line, else MZ_LANG, else Kazakh (as pipeline.messages)."""
    chosen = None
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif arg.startswith("--lang="):
            chosen = arg.split("=", 1)[1]
    if chosen is None:
        chosen = os.environ.get(LANG_ENV, "").strip().lower()
    return chosen if chosen in ("kk", "ru") else "kk"


def missing_packages() -> list[str]:
    """The required distributions (pyproject.toml's names) whose module is not on this Python's path."""
    return [dist for dist, module in words()["modules"].items() if importlib.util.find_spec(module) is None]


def say_missing(missing: list[str], argv: list[str]) -> int:
    print(words()[lang_of(argv)]["missing"].format(packages=", ".join(missing)), file=sys.stderr)
    return MISSING_PACKAGES


def write_fault_log(outbox: Path | None, argv: list[str], exc: BaseException) -> Path | None:
    """The traceback of an unexpected fault, in a file the one-line message names.

    Where: `<outbox>/.logs/` when the outbox is an existing folder that can be written (the department's
    machine keeps it with the reports); else a per-user folder (`$XDG_STATE_HOME/mektepke-zhol/logs`,
    by default `~/.local/state/mektepke-zhol/logs`); else the system's temporary folder. None only when
    none of them can be written."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    name = f"fault-{stamp}-{os.getpid()}.log"
    body = "".join([
        f"time: {dt.datetime.now().isoformat(timespec='seconds')}\n",
        f"argv: {argv!r}\n",
        f"python: {sys.executable} {sys.version.split()[0]}\n",
        f"cwd: {os.getcwd()}\n\n",
        *traceback.format_exception(exc),
    ])
    for folder in _log_folders(outbox):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            with open(path, "x", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(body)
            return path
        except OSError:
            continue
    return None


def _log_folders(outbox: Path | None) -> list[Path]:
    folders = []
    if outbox is not None and outbox.is_dir():
        folders.append(outbox / LOGS)
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state else Path.home() / ".local" / "state"
    folders.append(base / "mektepke-zhol" / "logs")
    folders.append(Path(tempfile.gettempdir()) / f"mektepke-zhol-{os.getuid()}")
    return folders


def say_fault(outbox: Path | None, argv: list[str], exc: BaseException) -> int:
    """One line on stderr naming the log; the traceback only in the log. Exit code INTERNAL_ERROR."""
    log = write_fault_log(outbox, argv, exc)
    print(words()[lang_of(argv)]["fault"].format(log=log if log is not None else "-"), file=sys.stderr)
    if log is None:  # nowhere to write it: the traceback is better on the console than lost
        traceback.print_exception(exc, file=sys.stderr)
    return INTERNAL_ERROR
