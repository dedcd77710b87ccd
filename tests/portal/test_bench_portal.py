"""The portal benchmark's line: a real `pipeline serve`, concurrent uploads, nothing lost (no timing asserted)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.slow
def test_portal_bench_line_and_nothing_lost() -> None:
    from pipeline.tools.bench import run_portal_bench

    lines: list[str] = []
    result = run_portal_bench(clients=3, uploads=4, say=lines.append)
    [line] = lines
    assert re.fullmatch(r"bench portal clients=3 uploads=4 p50_s=[\d.]+ p95_s=[\d.]+ errors=0 lost=0", line), line
    assert result["lost"] == 0 and result["errors"] == 0
