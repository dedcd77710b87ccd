"""The benchmark runs end to end on a tiny N and prints its summary line; timings are never asserted."""

from __future__ import annotations

import re
import zipfile

from pipeline.tools.bench import run_bench, synthetic_plan_data, write_synthetic_plan
from pipeline.plan import DEFAULT_PLAN

LINE = re.compile(r"^bench files=(\d+) pipeline_s=\d+\.\d\d calamine_s=\d+\.\d\d ratio=\d+\.\d\d peak_rss_mb=\d+ peak_pss_mb=\d+$")
FIGURE = re.compile(r"^bench (P[1-5]) .*target(<=[\d.]+ (met|NOT met)|=-) load=[\d.]+/[\d.]+/[\d.]+$")


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
    figures = [FIGURE.match(line) for line in lines if line.startswith("bench P")]
    assert all(figures), lines
    # P1, P3 and P4 once per size; P2 and P5 need the start-up runs, left out here
    assert sorted(m.group(1) for m in figures) == ["P1", "P1", "P3", "P3", "P4", "P4"]  # type: ignore[union-attr]
    assert all(r.peak_pss_mb > 0 and r.rerun_peak_pss_mb > 0 for r in results)
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


def test_pss_counts_pages_shared_by_a_forked_child_once():
    """The bench's memory figure: a child forked after the parent filled 64 MiB shares those pages, so the
    tree's summed RSS counts them twice and its summed PSS once."""
    import os

    from pipeline.tools.bench import tree_memory_kb

    block = bytearray(os.urandom(64 << 20))  # touched: resident in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: keep the shared pages mapped (and read them) until told to end
        os.close(write)
        _ = sum(block[::4096])
        os.read(read, 1)
        os._exit(0)
    os.close(read)
    try:
        import time

        for _ in range(100):  # until the child has touched the block (its RSS includes it)
            rss, pss = tree_memory_kb(os.getpid())
            if rss - pss > 48 << 10:
                break
            time.sleep(0.05)
        assert rss - pss > 48 << 10, (rss, pss)  # ≥ 48 of the 64 MiB counted twice by RSS, once by PSS
    finally:
        os.write(write, b"x")
        os.waitpid(pid, 0)
        os.close(write)
    del block


MAIL_LINE = re.compile(r"^bench mail fetch messages=(\d+) distinct_forms=(\d+) seconds=\d+\.\d\d per_second=\d+\.\d "
                       r"stored=(\d+)$")


def test_mail_bench_prints_its_lines(tmp_path):
    from pipeline.tools.bench import run_mail_bench
    from pipeline.tools.mailservers import dovecot_missing

    lines: list[str] = []
    results = run_mail_bench(30, work=tmp_path, say=lines.append)
    if dovecot_missing():
        assert lines == [f"bench mail skipped: {dovecot_missing()}"] and results == []
        return
    matched = [MAIL_LINE.match(line) for line in lines]
    assert all(matched), lines
    # 30 messages, the 25th without an attachment: the campaign's mailbox has fewer distinct forms than
    # messages (stored once each), the synthetic one a distinct form in every other message.
    assert [m.group(1) for m in matched] == ["30", "30"]  # type: ignore[union-attr]
    assert int(matched[1].group(3)) == 29  # type: ignore[union-attr]


COMPARE = re.compile(r"^bench compare (P[1-5]) (files=\d+ )?\w+ base=\d+\.\d{3} new=\d+\.\d{3} new/base=\d+\.\d\d "
                     r"load=[\d.]+/[\d.]+/[\d.]+$")


def test_compare_measures_two_trees_alternately_and_prints_each_figure_side_by_side(tmp_path):
    """`bench --compare BASE`: both trees on the same files, round after round (base, new, base, new), then
    each side's P-lines and one `bench compare` line per figure. Here both sides are this checkout."""
    from pipeline.tools.bench import OWN_CODE, run_compare

    lines: list[str] = []
    base, new = run_compare([3], OWN_CODE, work=tmp_path, repeat=2, startup=False, say=lines.append)
    rounds = [line.split(":")[0].split()[-1] for line in lines if line.startswith("  run ")]
    assert rounds == ["base", "new", "base", "new"], lines
    assert sorted(base) == sorted(new)
    assert {"P1 files=3 ratio", "P3 files=3 cold_s", "P4 files=3 rerun_s"} <= set(new)
    compared = [COMPARE.match(line) for line in lines if line.startswith("bench compare ")]
    assert compared and all(compared), lines
    assert len(compared) == len(new)
    assert any(line.startswith("bench base P1 files=3 ") for line in lines)
    assert any(line.startswith("bench new P4 files=3 ") for line in lines)


def test_a_git_revision_is_exported_as_a_source_tree(tmp_path):
    import shutil
    import subprocess

    from pipeline.tools.bench import OWN_CODE, source_tree

    if shutil.which("git") is None or subprocess.run(["git", "-C", str(OWN_CODE), "rev-parse", "HEAD"],
                                                     capture_output=True).returncode != 0:
        import pytest

        pytest.skip("not a git checkout")
    tree = source_tree("HEAD", tmp_path)
    assert (tree / "pipeline" / "__main__.py").is_file()
    assert tree.is_relative_to(tmp_path)


def test_an_unknown_base_is_a_usage_error_not_a_traceback(tmp_path):
    import subprocess
    import sys

    for bad in ("no-such-revision-xyz", "--output=/tmp/x", str(tmp_path)):
        done = subprocess.run([sys.executable, "-m", "pipeline", "bench", f"--compare={bad}", "--files", "3",
                               "--no-startup", "--work", str(tmp_path / "w")], capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "[bench-no-code]" in done.stderr
        assert "Traceback" not in done.stderr
