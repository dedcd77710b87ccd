"""The benchmark runs end to end on a tiny N and prints its summary line; timings are never asserted."""

from __future__ import annotations

import re
import zipfile

from pipeline.tools.bench import run_bench, synthetic_plan_data, write_synthetic_plan
from pipeline.plan import DEFAULT_PLAN

LINE = re.compile(r"^bench files=(\d+) pipeline_s=\d+\.\d\d calamine_s=\d+\.\d\d ratio=\d+\.\d\d peak_rss_mb=\d+$")


def test_synthetic_plan_has_distinct_resolvable_units(tmp_path):
    plan = write_synthetic_plan(tmp_path / "plan.yaml", 40, DEFAULT_PLAN)
    assert len(plan.units) == 40
    assert len({u.code for u in plan.units}) == 40
    from pipeline.validate.units import UnitResolver

    resolver = UnitResolver(plan)
    assert all(resolver.resolve(u.name).code == u.code for u in plan.units)


def test_bench_prints_one_summary_line_per_n(tmp_path):
    lines: list[str] = []
    results = run_bench([3, 20], work=tmp_path, repeat=1, startup=False, say=lines.append)
    summary = [line for line in lines if line.startswith("bench files=")]
    assert [LINE.match(line).group(1) for line in summary] == ["3", "20"]  # type: ignore[union-attr]
    assert lines[-2:] == summary
    assert [r.files for r in results] == [3, 20]
    # every generated file is a valid zip holding its own unit's name
    inbox = tmp_path / "n20" / "inbox"
    files = sorted(inbox.iterdir())
    assert len(files) == 20
    for path in files[:3]:
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
    report = tmp_path / "n20" / "outbox" / "2017-08-17"
    assert (report / "manifest.json").exists()
