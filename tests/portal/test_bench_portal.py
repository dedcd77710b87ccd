"""The portal under load (issue 17): 100 clients at once on a real `python -m pipeline serve` (uvicorn) over
an inbox of 200 files — page loads, uploads, and both mixed — with no error, every stored upload in the
inbox and in the audit log, and no file in the inbox without its record. The same run is `make bench`'s
portal lines; nothing here asserts a time."""

from __future__ import annotations

import re

import pytest


@pytest.mark.slow
def test_a_hundred_clients_at_once_no_error_nothing_lost_every_stored_file_audited() -> None:
    from pipeline.tools.bench import run_portal_bench

    lines: list[str] = []
    run = run_portal_bench(clients=100, files=200, say=lines.append)
    assert [line.split()[2] for line in lines] == ["pages", "uploads", "mixed"]
    assert re.fullmatch(r"bench portal pages clients=100 files=200 p50_s=[\d.]+ p95_s=[\d.]+ errors=0", lines[0]), lines
    assert re.fullmatch(r"bench portal uploads clients=100 p50_s=[\d.]+ p95_s=[\d.]+ errors=0 lost=0", lines[1]), lines
    assert re.fullmatch(r"bench portal mixed clients=100 p50_s=[\d.]+ p95_s=[\d.]+ errors=0 lost=0 unaudited=0",
                        lines[2]), lines
    assert len(run.pages.answers) == 100 and len(run.uploads.answers) == 100 and len(run.mixed.answers) == 100
    assert all("<h1>" in body["page"] for _, body in run.pages.answers)
    stored = [body for burst in (run.uploads, run.mixed) for status, body in burst.answers if "stored" in body]
    assert len(stored) == 150 and all(body["stored"] is True for body in stored)  # distinct bytes each time
    assert run.lost == 0 and run.unaudited == 0
