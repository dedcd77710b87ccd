"""Charts drawn in their own process equal charts drawn in-process; a dead chart process costs nothing."""

from __future__ import annotations

from pathlib import Path

from render_factory import make_report_data

from pipeline.render.chart_process import ChartProcess
from pipeline.render.charts import draw_charts


def _bytes(paths: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in paths.items()}


def test_chart_process_draws_the_same_pngs(tmp_path):
    data = make_report_data("2017-08-17")
    expected = _bytes(draw_charts(data, tmp_path / "here"))
    with ChartProcess() as charts:
        charts.submit(data, tmp_path / "there")
        got = charts.result()
    assert _bytes(got) == expected
    assert all(path.parent == tmp_path / "there" for path in got.values())


def test_dead_chart_process_falls_back_to_drawing_here(tmp_path):
    data = make_report_data("2017-08-17")
    charts = ChartProcess()
    if charts._proc is not None:
        charts._proc.kill()
        charts._proc.join()
    charts.submit(data, tmp_path / "charts")
    paths = charts.result()
    charts.close()
    assert set(paths) == {"by_unit", "over_dates"} and all(p.stat().st_size > 1000 for p in paths.values())


def test_chart_process_dies_with_a_killed_run_and_never_holds_the_lock(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from pipeline.publish import outbox_lock

    script = (
        "import sys, time\nfrom pathlib import Path\n"
        "from pipeline.publish import outbox_lock\nfrom pipeline.render.chart_process import ChartProcess\n"
        "with ChartProcess() as charts, outbox_lock(Path(sys.argv[1])):\n"
        "    print(charts._proc.pid if charts._proc else 0, flush=True)\n    time.sleep(60)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = int(run.stdout.readline())
    assert child > 0
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    deadline = time.monotonic() + 60  # a wait, not a speed check: the child goes at once; a loaded CI may be slow
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        try:
            os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            pass
        if open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z"
    with outbox_lock(tmp_path, wait=False):
        pass


def test_chart_process_draws_each_language_asked_for(tmp_path):
    """One job, both sets: result() is the Kazakh set, result("ru") the Russian one, as drawn in-process."""
    data = make_report_data("2017-08-17")
    expected = {lang: _bytes(draw_charts(data, tmp_path / "here", lang)) for lang in ("kk", "ru")}
    with ChartProcess() as charts:
        charts.submit(data, tmp_path / "there", languages=("kk", "ru"))
        got = {"kk": charts.result(), "ru": charts.result("ru")}
    assert {lang: _bytes(paths) for lang, paths in got.items()} == expected


def test_each_language_is_answered_on_its_own_and_a_process_dying_between_them_costs_nothing(tmp_path, monkeypatch):
    """Issue 20: the chart process sends each language's set when it is drawn (the Kazakh copy is written
    while the Russian charts are drawn). Dying after the first set, the second is drawn here, the same."""
    import os

    from pipeline.render import chart_process

    data = make_report_data("2017-08-17")
    expected = {lang: _bytes(draw_charts(data, tmp_path / "here", lang)) for lang in ("kk", "ru")}
    parent, real_draw = os.getpid(), chart_process._draw
    drawn_in: list[tuple[int, tuple[str, ...]]] = []

    def draw(data, out_dir, languages):
        if os.getpid() != parent and "ru" in languages:
            os._exit(3)  # the chart process dies after sending the Kazakh set
        if os.getpid() == parent:
            drawn_in.append((os.getpid(), tuple(languages)))
        return real_draw(data, out_dir, languages)

    monkeypatch.setattr(chart_process, "_draw", draw)
    with ChartProcess() as charts:
        if charts._proc is None:
            return  # no fork on this platform: drawn in-process (the other tests)
        charts.submit(data, tmp_path / "there", languages=("kk", "ru"))
        kk = charts.result()
        assert drawn_in == []  # the Kazakh set came from the chart process
        ru = charts.result("ru")
        charts.finish()
    assert drawn_in == [(parent, ("ru",))]  # only the missing language was drawn here
    assert {"kk": _bytes(kk), "ru": _bytes(ru)} == expected


def test_the_second_language_is_drawn_at_the_same_time_in_a_process_of_its_own(tmp_path, monkeypatch):
    """The chart process draws the Kazakh set and forks a helper for the Russian one, so two cores draw at
    once; the sets are those drawn in-process, and the helper is gone when the last set is in."""
    import os

    from pipeline.render import chart_process

    data = make_report_data("2017-08-17")
    expected = {lang: _bytes(draw_charts(data, tmp_path / "here", lang)) for lang in ("kk", "ru")}
    real_draw = chart_process._draw

    def draw(data, out_dir, languages):
        for language in languages:
            (tmp_path / f"drawn-{language}").write_text(str(os.getpid()))
        return real_draw(data, out_dir, languages)

    monkeypatch.setattr(chart_process, "_draw", draw)
    with ChartProcess() as charts:
        if charts._proc is None:
            return  # no fork on this platform: drawn in-process (the other tests)
        server = charts._proc.pid
        charts.submit(data, tmp_path / "there", languages=("kk", "ru"))
        got = {"kk": charts.result(), "ru": charts.result("ru")}
        charts.finish()
    pids = {lang: int((tmp_path / f"drawn-{lang}").read_text()) for lang in ("kk", "ru")}
    assert pids["kk"] == server and pids["ru"] not in (server, os.getpid())
    assert not os.path.exists(f"/proc/{pids['ru']}") or open(f"/proc/{pids['ru']}/stat").read().split()[2] == "Z"
    assert {lang: _bytes(paths) for lang, paths in got.items()} == expected
