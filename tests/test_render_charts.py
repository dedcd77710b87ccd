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


def _many_units_data(tmp_path: Path, units: int):
    from pipeline.tools.bench import write_synthetic_plan

    return make_report_data("2017-08-17", write_synthetic_plan(tmp_path / "plan.yaml", units))


def test_many_units_show_the_largest_and_one_bar_for_the_rest(tmp_path: Path) -> None:
    from pipeline.render.charts import MAX_BARS, TOP_UNITS, _unit_bars
    from pipeline.render.kazakh import fmt_count, words

    small, shortened = _unit_bars(make_report_data("2017-08-17"))
    assert not shortened and len(small) == 13

    data = _many_units_data(tmp_path, MAX_BARS + 20)
    bars, shortened = _unit_bars(data)
    assert shortened and len(bars) == TOP_UNITS + 1
    children = data.values["help_children"].dropna()
    shown = [b.total for b in bars[:-1]]
    assert shown == sorted(shown, reverse=True)
    assert shown == sorted(children.tolist(), reverse=True)[:TOP_UNITS]
    others = bars[-1]
    assert others.label == words()["charts"]["others"].format(count=fmt_count(len(data.plan.units) - TOP_UNITS))
    assert others.total == children.sum() - sum(shown)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = draw_charts(data, tmp_path / "a")
    assert [w for w in caught if "glyph" in str(w.message).lower()] == []
    second = draw_charts(data, tmp_path / "b")
    assert first["children"].read_bytes() == second["children"].read_bytes()


def test_charts_do_not_need_pyplot(tmp_path: Path) -> None:
    # pyplot keeps global figure state and costs import time; the charts use a bare Figure on Agg.
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, 'tests'); from pathlib import Path;"
        "from render_factory import make_report_data; from pipeline.render.charts import draw_charts;"
        f"draw_charts(make_report_data('2017-08-17'), Path({str(tmp_path)!r}));"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    repo = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True)


def test_charts_use_a_serif_font_like_the_text() -> None:
    from matplotlib import font_manager, rc_context

    from pipeline.render import charts

    with rc_context(charts._RC):
        path = font_manager.findfont(font_manager.FontProperties(family="serif"), fallback_to_default=False)
    assert any(name in Path(path).name for name in ("LiberationSerif", "DejaVuSerif")), path
