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
    assert set(paths) == {"children", "dynamics"} and all(p.stat().st_size > 1000 for p in paths.values())
