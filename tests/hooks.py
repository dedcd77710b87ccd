"""Test-only hooks into a real `python -m pipeline` process: a `sitecustomize.py` on PYTHONPATH.

Python imports `sitecustomize` at start-up, before the command runs, so a test can change one function of
the real program in that one process (make a render step raise, pause a run inside the outbox lock) and
drive it through the real command line or through make. Nothing of this is reachable in production: the
file exists only in the test's temporary folder and only the test's subprocess gets the PYTHONPATH.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def hooked_env(folder: Path, code: str, **extra: str) -> dict[str, str]:
    """The environment of a subprocess whose Python first runs `code` (a sitecustomize in `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(code), encoding="utf-8")
    paths = [str(folder), str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


#: A bug planted in the report's rendering: `render_bytes` (the .docx) raises as a bug would.
BROKEN_RENDER = """
    import pipeline.render.docx as docx

    def render_bytes(*args, **kwargs):
        raise ZeroDivisionError("planted by the test: a bug in rendering")

    docx.render_bytes = render_bytes
"""


#: Pause a report run inside the outbox lock: it says so by creating `held`, then waits for `release`.
HOLD_THE_LOCK = """
    import os, time
    import pipeline.report as report

    _tidy = report.tidy

    def tidy(outbox):  # the first thing a run does once it holds the lock
        open(os.environ["MZ_TEST_HELD"], "w").close()
        deadline = time.monotonic() + 300  # only so that a broken test cannot hang CI
        while not os.path.exists(os.environ["MZ_TEST_RELEASE"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        _tidy(outbox)

    report.tidy = tidy
"""
