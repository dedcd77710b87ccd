"""Charts: which ones a report carries (from the plan's roles), every glyph of their text in the font that
draws it (also where a glyph-less «Liberation Serif» is found first by name), and the same PNG bytes each time."""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import pytest
import yaml

from pipeline.plan import load_plan
from pipeline.render.charts import draw_charts
from render_factory import make_report_data

REPO = Path(__file__).resolve().parent.parent
#: Every plan shipped with the package or the tests: the charts must draw each one's unit names.
BUNDLED_PLANS = sorted(glob.glob(str(REPO / "pipeline/data/plans/*.yaml")) + glob.glob(str(REPO / "tests/plans/*.yaml")))
KAZAKH_ONLY = set("ӘәҒғҚқҢңӨөҰұҮүҺһІі")
#: Where Debian puts fonts-liberation 1.07 (no қ ө ң ә ұ ү ғ), installed by .ci/run as a usual LibreOffice
#: install does.
LIBERATION_1 = Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf")


def _cmap(path: str | Path) -> set[int]:
    """The font's character map read with fontTools (not the FreeType reader the code uses)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return set(font.getBestCmap())


@pytest.fixture
def glyphless_serif_first(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A machine where the first «Liberation Serif» (and «serif») found by name has no Kazakh letters: the
    real fonts-liberation 1.07 when installed, and matplotlib's own Computer Modern (no Cyrillic at all)
    registered under that name, both at the front of the font list, every default family pointing at them."""
    import matplotlib
    from matplotlib import font_manager

    impostors = [str(Path(matplotlib.get_data_path()) / "fonts/ttf/cmr10.ttf")]
    if LIBERATION_1.exists():
        impostors.insert(0, str(LIBERATION_1))
    for path in impostors:
        assert not KAZAKH_ONLY <= {chr(c) for c in _cmap(path)}, f"{path} is not glyph-less for Kazakh"
    entries = [font_manager.FontEntry(fname=path, name="Liberation Serif", style="normal", variant="normal",
                                      weight=400, stretch="normal", size="scalable") for path in impostors]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", entries + list(font_manager.fontManager.ttflist))
    for family in ("font.serif", "font.sans-serif"):
        monkeypatch.setitem(matplotlib.rcParams, family, ["Liberation Serif", *matplotlib.rcParams[family]])
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["serif"])
    font_manager.fontManager._findfont_cached.cache_clear()
    yield impostors
    font_manager.fontManager._findfont_cached.cache_clear()


def _drawn(monkeypatch: pytest.MonkeyPatch, data, out: Path, language: str, math: bool = False
           ) -> tuple[dict[str, Path], list]:
    """Draw the charts with warnings as errors; return their paths and (text, resolved font file) of every
    text each chart shows (titles, ticks, legend, value labels), read off the drawn figure."""
    from matplotlib import font_manager
    import matplotlib.text

    from pipeline.render import charts

    seen: list[tuple[str, str, str]] = []
    real_save = charts._save

    def save(fig, path, font):
        result = real_save(fig, path, font)
        for t in fig.findobj(matplotlib.text.Text):
            if t.get_visible() and t.get_text():
                found = (t.get_text(), font_manager.findfont(t.get_fontproperties(), fallback_to_default=False),
                         str(font))
                # Whether matplotlib drew the text as TeX math (its own test, as it draws).
                seen.append((*found, t._preprocess_math(t.get_text())[1]) if math else found)
        return result

    monkeypatch.setattr(charts, "_save", save)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = charts.draw_charts(data, out, language)
    monkeypatch.setattr(charts, "_save", real_save)
    return paths, seen


@pytest.mark.parametrize("plan_file", BUNDLED_PLANS, ids=lambda p: Path(p).stem)
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_glyph_of_every_unit_name_is_in_the_font_that_draws_it(
    glyphless_serif_first, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plan_file: str, language: str
) -> None:
    import matplotlib

    raw = yaml.safe_load(Path(plan_file).read_text(encoding="utf-8"))
    names = [u["name_ru" if language == "ru" else "name"] for u in raw["units"]]
    plan = load_plan(plan_file)
    data = make_report_data(plan.final_date, plan)
    paths, seen = _drawn(monkeypatch, data, tmp_path, language)
    assert set(paths) == {"by_unit", "over_dates"}
    drawn = [text for text, _, _ in seen]
    for name in names:
        # «г.\u00a0Астана» on the chart: the no-break space keeps the abbreviation with the name.
        assert any(t.rstrip("*").replace("\u00a0", " ") == name for t in drawn), name
    matplotlib_fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for text, resolved, chosen in seen:
        assert Path(resolved) == Path(chosen), (text, resolved)
        assert Path(chosen).parent == matplotlib_fonts and Path(chosen).name.startswith("DejaVu"), chosen
        assert resolved not in glyphless_serif_first
        missing = {c for c in text if c not in "\n" and ord(c) not in _cmap(chosen)}
        assert not missing, (text, missing, chosen)
    if language == "kk":
        assert KAZAKH_ONLY & set("".join(drawn)), "a Kazakh chart without a Kazakh letter proves nothing"


def test_a_glyph_no_chart_font_has_is_an_error_in_the_tests(tmp_path: Path) -> None:
    """A unit named in a script neither DejaVu face has: the chart still draws, with a ChartGlyphWarning
    (an error under warnings-as-errors), never silent boxes."""
    from pipeline.render.charts import ChartGlyphWarning, chart_font

    with pytest.warns(ChartGlyphWarning):
        chart_font(["Орал қаласы", "東京"])
    assert chart_font(["Орал қаласы", "Шыңғырлау", "«Иә» – 1\u00a0234,5"]).name == "DejaVuSerif.ttf"


def test_charts_give_the_same_bytes_each_time(tmp_path: Path) -> None:
    data = make_report_data("2017-09-28")
    first = draw_charts(data, tmp_path / "a")
    second = draw_charts(data, tmp_path / "b")
    assert set(first) == {"by_unit", "over_dates"}
    for name, path in first.items():
        assert path.stat().st_size > 5000
        assert path.read_bytes() == second[name].read_bytes()


def _many_units_data(tmp_path: Path, units: int):
    from pipeline.tools.bench import write_synthetic_plan

    return make_report_data("2017-08-17", write_synthetic_plan(tmp_path / "plan.yaml", units))


def test_many_units_show_the_largest_and_one_bar_for_the_rest(tmp_path: Path) -> None:
    from pipeline.render.charts import MAX_BARS, TOP_UNITS, _unit_bars
    from pipeline.render.language import KAZAKH

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
    assert others.label == KAZAKH.words["charts"]["others"].format(count=len(data.plan.units) - TOP_UNITS)
    assert others.total == children.sum() - sum(shown)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = draw_charts(data, tmp_path / "a")
    second = draw_charts(data, tmp_path / "b")
    assert first["by_unit"].read_bytes() == second["by_unit"].read_bytes()


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
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_russian_charts_speak_russian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The Russian copy's charts: labels from russian.yaml and the plan's Russian names, not a Kazakh word."""
    data = make_report_data("2017-09-28")
    raw = yaml.safe_load(Path(BUNDLED_PLANS[0]).read_text(encoding="utf-8"))
    figures = {f["code"]: f for s in raw["sections"] for i in s["items"] for f in i.get("figures") or []}
    ru_paths, ru = _drawn(monkeypatch, data, tmp_path / "ru", "ru")
    kk_paths, kk = _drawn(monkeypatch, data, tmp_path / "kk", "kk")
    ru_text = [t for t, _, _ in ru]
    assert not KAZAKH_ONLY & set("".join(ru_text)), [t for t in ru_text if KAZAKH_ONLY & set(t)]
    # The headline figures by their plan labels (raw YAML: label_ru), amounts «…, тыс. тенге».
    assert figures["help_children"]["label_ru"] in ru_text
    assert f'{figures["help_amount"]["label_ru"]}, тыс. тенге' in ru_text
    assert figures["sponsor_children"]["label_ru"] in ru_text
    assert figures["help_children"]["label"] in [t for t, _, _ in kk]
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
    plain_data = make_report_data("2017-09-28", plain)
    assert planned_charts(plain_data) == []
    assert draw_charts(plain_data, tmp_path / "none") == {}

    def amount_only(raw: dict) -> None:
        for f in _figures(raw):
            if f["code"] == "help_children":
                f.pop("role")

    amount = _plan_with(tmp_path / "b", amount_only)
    assert planned_charts(make_report_data("2017-08-08", amount)) == ["by_unit"]
    whole, part = by_unit_figures(amount)
    assert (whole.code, part.code) == ("help_amount", "sponsor_amount")


def test_charts_follow_a_renamed_headline_figure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The charts ask the plan for roles, not codes: renaming the headline figures keeps both charts."""

    def rename(raw: dict) -> None:
        renames = {"help_children": "children_helped", "help_amount": "amount_given"}
        for f in _figures(raw):
            f["code"] = renames.get(f["code"], f["code"])
            if f.get("of") in renames:
                f["of"] = renames[f["of"]]
        for rule in raw.get("rules", {}).get("paired", []):
            rule[:] = [renames.get(c, c) for c in rule]
        for ratio in raw.get("rules", {}).get("ratios", []):
            ratio["numerator"] = renames.get(ratio["numerator"], ratio["numerator"])
            ratio["denominator"] = renames.get(ratio["denominator"], ratio["denominator"])
        raw["rules"]["max_values"] = {renames.get(k, k): v for k, v in raw["rules"]["max_values"].items()}
        raw["report"]["compare"] = [renames.get(c, c) for c in raw["report"]["compare"]]
        head = raw["report"]["per_head"]
        head["numerator"], head["denominator"] = "amount_given", "children_helped"
        for s in raw["report"]["summary"]:
            for lang in ("kk", "ru"):
                for old, new in renames.items():
                    s[lang] = s[lang].replace("{" + old, "{" + new)

    plan = _plan_with(tmp_path / "p", rename)
    data = make_report_data("2017-08-17", plan)
    paths, seen = _drawn(monkeypatch, data, tmp_path / "c", "kk")
    assert set(paths) == {"by_unit", "over_dates"}
    assert plan.figure_by_code["children_helped"].label in [t for t, _, _ in seen]


def test_names_are_drawn_as_written_never_as_tex(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A plan's name with «$», «^» or «\\» is text: drawn verbatim, never parsed as TeX math (a name
    between two «$» was drawn as a formula), no missing glyph."""
    odd = "Жаңа $қала^2 \\alpha$"

    def rename(raw: dict) -> None:
        raw["units"][0]["name"] = odd
        raw["units"][0]["name_ru"] = odd

    data = make_report_data("2017-08-17", _plan_with(tmp_path / "p", rename))
    for language in ("kk", "ru"):
        _, seen = _drawn(monkeypatch, data, tmp_path / language, language, math=True)
        assert odd in [t.rstrip("*") for t, _, _, _ in seen]
        assert not [t for t, _, _, math in seen if math]


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_star_after_a_units_bar_is_explained_under_the_chart(language: str) -> None:
    """A unit that missed the date keeps its earlier figures, marked «*» after its name on the chart; the
    caption under the chart says what the star means (which unit, figures of which date), as the annex does."""
    import dataclasses
    import datetime as dt

    from pipeline.render.charts import BY_UNIT, _unit_bars, chart_captions

    data = make_report_data("2017-08-26")
    assert "*" not in chart_captions(data, language)[BY_UNIT]
    unit = data.plan.units[-2]
    earlier = dt.date(2017, 8, 17)
    stale = dataclasses.replace(data, source_dates={**data.source_dates, unit.code: earlier})
    caption = chart_captions(stale, language)[BY_UNIT]
    name = unit.name_ru if language == "ru" else unit.name
    starred = [b.label for b in _unit_bars(stale, language)[0] if b.label.endswith("*")]
    assert starred == [name + "*"], starred
    note = caption.split("\n")[-1]
    assert note.startswith("*") and name in note, caption
    assert ("17 августа" if language == "ru" else "17 тамыздағы") in note.replace("\u00a0", " "), caption
