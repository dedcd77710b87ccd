"""Charts draw every Kazakh letter (no missing-glyph warnings) and give the same PNG bytes each time."""

from __future__ import annotations

import warnings
from pathlib import Path

from pipeline.render.charts import draw_charts
from render_factory import make_report_data


def test_charts_without_glyph_warnings(tmp_path: Path) -> None:
    data = make_report_data("2017-09-28")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = draw_charts(data, tmp_path / "a")
    glyphs = [w for w in caught if "glyph" in str(w.message).lower() or "font" in str(w.message).lower()]
    assert glyphs == []
    second = draw_charts(data, tmp_path / "b")
    for name, path in first.items():
        assert path.stat().st_size > 5000
        assert path.read_bytes() == second[name].read_bytes()
