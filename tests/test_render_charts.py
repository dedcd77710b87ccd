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


KAZAKH_ONLY = set("ӘәҒғҚқҢңӨөҰұҮүҺһІі")


def _drawn_text(monkeypatch, data, tmp_path: Path, language: str) -> tuple[dict[str, Path], list[str]]:
    """Every piece of text each chart carries (titles, ticks, legend, value labels), read off the figure."""
    import matplotlib.text

    from pipeline.render import charts

    texts: list[str] = []
    real_save = charts._save

    def save(fig, path):
        texts.extend(t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text())
        return real_save(fig, path)

    monkeypatch.setattr(charts, "_save", save)
    try:
        return charts.draw_charts(data, tmp_path, language), texts
    finally:
        monkeypatch.undo()


def test_russian_charts_speak_russian(monkeypatch, tmp_path: Path) -> None:
    """The Russian copy's charts: labels from russian.yaml and the plan's Russian names, not a Kazakh word."""
    from pipeline.render.language import KAZAKH, RUSSIAN

    data = make_report_data("2017-09-28")
    ru_paths, ru = _drawn_text(monkeypatch, data, tmp_path / "ru", "ru")
    kk_paths, kk = _drawn_text(monkeypatch, data, tmp_path / "kk", "kk")
    text = "\n".join(ru)
    assert not KAZAKH_ONLY & set(text), [t for t in ru if KAZAKH_ONLY & set(t)]
    for unit in data.plan.units:
        assert any(t.rstrip("*") == RUSSIAN.unit_name(unit) for t in ru), unit.code
        assert any(t.rstrip("*") == KAZAKH.unit_name(unit) for t in kk), unit.code
    charts_words = RUSSIAN.words["charts"]
    assert charts_words["dynamics_title"] in ru and charts_words["dynamics_title"] not in kk
    assert RUSSIAN.day(data.date, "as_of") in text
    # Own files beside the Kazakh set: both can sit in one charts/ folder.
    assert {p.name for p in ru_paths.values()}.isdisjoint({p.name for p in kk_paths.values()})
    assert all(p.name.endswith("-ru.png") for p in ru_paths.values())


def test_a_chart_is_a_function_of_data_and_language(tmp_path: Path) -> None:
    """Same (data, language) → same bytes; another language → other bytes (a cache key needs both)."""
    data = make_report_data("2017-08-17")
    first = draw_charts(data, tmp_path / "a", "ru")
    second = draw_charts(data, tmp_path / "b", "ru")
    kazakh = draw_charts(data, tmp_path / "c", "kk")
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes()
        assert first[name].read_bytes() != kazakh[name].read_bytes()


def _plan_with(tmp_path: Path, change) -> "object":
    """The 2017 plan file with `change(raw)` applied to its YAML, loaded (and checked) like any plan."""
    import yaml

    from pipeline.plan import load_plan
    from pipeline.plan.load import DEFAULT_PLAN

    raw = yaml.safe_load(Path(DEFAULT_PLAN).read_text(encoding="utf-8"))
    change(raw)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plan(path)


def _figures(raw: dict):
    return [f for s in raw["sections"] for i in s["items"] for f in i.get("figures") or []]


def test_planned_charts_follow_the_plans_roles(tmp_path: Path) -> None:
    from pipeline.render.charts import by_unit_figures, planned_charts

    # 2017: headline figures help_children (count) and help_amount; one date so far → only the by-unit chart.
    assert planned_charts(make_report_data("2017-08-08")) == ["by_unit"]
    assert planned_charts(make_report_data("2017-08-17")) == ["by_unit", "over_dates"]
    assert planned_charts(make_report_data("2017-09-28")) == ["by_unit", "over_dates"]
    whole, part = by_unit_figures(make_report_data("2017-08-08").plan)
    assert (whole.code, part.code) == ("help_children", "sponsor_children")

    def no_roles(raw: dict) -> None:
        for f in _figures(raw):
            if f.get("role") == "headline":
                del f["role"]

    plain = _plan_with(tmp_path / "a", no_roles)
    assert planned_charts(make_report_data("2017-09-28", plain)) == []

    def amount_only(raw: dict) -> None:
        for f in _figures(raw):
            if f["code"] == "help_children":
                f.pop("role")

    amount = _plan_with(tmp_path / "b", amount_only)
    assert planned_charts(make_report_data("2017-08-08", amount)) == ["by_unit"]
    whole, part = by_unit_figures(amount)
    assert (whole.code, part.code) == ("help_amount", "sponsor_amount")
