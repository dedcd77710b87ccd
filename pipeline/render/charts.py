"""Charts for the report, drawn with matplotlib (Agg), decided by the plan's figure roles.

Which charts a report carries is `planned_charts(data)`; what each shows follows the plan's roles (headline
figures and their "of which" parts), never a figure code. A chart is a pure function of (data, language):
every label comes from the language's wording file (`charts` in kazakh.yaml / russian.yaml), the plan's
names in that language and its number formats, so the Russian copy gets its own set, and a cache keyed by
(inputs, language) stays correct.

Fonts: chart text is drawn only with a font file whose character map holds every character of the text
(`chart_font`): matplotlib's own DejaVu Serif (serif like the Times text around the charts), else its DejaVu
Sans — files from matplotlib's data path, never a font found by family name. On a machine with LibreOffice's
usual fonts, "Liberation Serif" is fonts-liberation 1.07, which has no қ ө ң ә ұ ү ғ, and it printed boxes.
The same files everywhere also make the PNG bytes independent of the machine's fonts.

Grey-scale friendly: greys and hatches, value labels on the bars, so a black-and-white print reads the
same. PNG output is deterministic: fixed size and dpi, no software/time metadata.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.aggregate import facts
from pipeline.aggregate.model import ReportData
from pipeline.plan.model import Figure, Plan, Unit
from pipeline.render.language import LANGUAGES, Language

DPI = 150
GREYS = ("#4d4d4d", "#a6a6a6", "#d9d9d9")
# Above this many units one bar each is unreadable on an A4 page: the largest TOP_UNITS are shown and
# the rest summed into one bar.
MAX_BARS = 30
TOP_UNITS = 25
#: Chart fonts in the order they are tried, as files of matplotlib's data path (fonts/ttf).
FONT_FILES = ("DejaVuSerif.ttf", "DejaVuSans.ttf")
_RC = {
    "font.size": 9,
    # Names and labels come from the plan as written: «$» or «\» are characters, never TeX math.
    "text.parse_math": False,
    "svg.hashsalt": "mektepke-zhol",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.color": "#333333",
}


class ChartGlyphWarning(UserWarning):
    """A chart's text holds a character no chart font can draw (the PNG would show a box)."""


#: The charts a report can carry (see `planned_charts`).
BY_UNIT = "by_unit"
OVER_DATES = "over_dates"


def headline_figures(plan: Plan) -> list[Figure]:
    """The plan's headline figures (`role: headline`), in plan order."""
    return [f for f in plan.figures if f.role == "headline"]


def by_unit_figures(plan: Plan) -> tuple[Figure, Figure | None] | None:
    """What the by-unit chart shows: the first headline count figure (the first headline amount when the
    plan has no headline count) and its first "of which" part in plan order (None when it has none)."""
    heads = headline_figures(plan)
    whole = next((f for f in heads if f.unit == "count"), heads[0] if heads else None)
    if whole is None:
        return None
    part = next((f for f in plan.figures if f.of == whole.code), None)
    return whole, part


def dates_so_far(data: ReportData) -> list[dt.date]:
    """The reporting dates whose figures the report holds, up to and including its own."""
    return sorted(d for d in data.history if d <= data.date)


def planned_charts(data: ReportData) -> list[str]:
    """The names of the charts this report carries, in the order they appear; a chart's number in the
    document («1-сурет», «Рисунок 1») is its position here + 1. Decided from the plan's roles alone:

    - `"by_unit"` (BY_UNIT): one bar per reporting unit of the first headline count figure (the first
      headline amount when no headline figure is a count), with its first "of which" part drawn inside
      (see `by_unit_figures`); present whenever the plan has a headline figure;
    - `"over_dates"` (OVER_DATES): the oblast total of every headline figure at each reporting date so far,
      one panel per figure; present when the report holds more than one date (not on the first date);
    - `[]` for a plan without headline figures.

    Prose refers to a chart only through this list (its number = index + 1), never by a fixed number.
    Language-independent: both copies carry the same charts under the same numbers.
    """
    if not headline_figures(data.plan):
        return []
    names = [BY_UNIT]
    if len(dates_so_far(data)) > 1:
        names.append(OVER_DATES)
    return names


# --- fonts ------------------------------------------------------------------------------------------------
def font_files() -> tuple[Path, ...]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return tuple(folder / name for name in FONT_FILES)


@cache
def glyphs(path: Path) -> frozenset[int]:
    """The code points the font file maps to a glyph (its character map, read with FreeType)."""
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(str(path)).get_charmap())


def drawn_characters(texts: Iterable[str]) -> set[str]:
    """The characters of `texts` that need a glyph (line breaks and other control characters do not)."""
    return {c for text in texts for c in text if unicodedata.category(c) not in ("Cc", "Zl", "Zp")}


def missing_glyphs(texts: Iterable[str], path: Path) -> set[str]:
    have = glyphs(path)
    return {c for c in drawn_characters(texts) if ord(c) not in have}


def chart_font(texts: Iterable[str]) -> Path:
    """The first of `font_files()` whose character map holds every character of `texts`. When none does
    (a plan naming a unit in a script neither font has), the one missing fewest, with a ChartGlyphWarning."""
    texts = list(texts)
    best: tuple[Path, set[str]] | None = None
    for path in font_files():
        missing = missing_glyphs(texts, path)
        if not missing:
            return path
        if best is None or len(missing) < len(best[1]):
            best = (path, missing)
    assert best is not None
    warnings.warn(ChartGlyphWarning(f"no chart font has {''.join(sorted(best[1]))!r}; drawn with {best[0].name}"),
                  stacklevel=2)
    return best[0]


def _font_family(path: Path) -> str:
    """A family name that means exactly this file: registered once with matplotlib's font manager, so
    every text of a chart (ticks included) resolves to it and to nothing else on the machine."""
    from matplotlib import font_manager

    name = f"mz-chart-{path.stem}"
    manager = font_manager.fontManager
    if not any(entry.name == name for entry in manager.ttflist):
        manager.ttflist.append(font_manager.FontEntry(fname=str(path), name=name, style="normal",
                                                      variant="normal", weight=400, stretch="normal",
                                                      size="scalable"))
    return name


@contextmanager
def _figure(figsize: tuple[float, float], font: Path) -> Iterator[Any]:
    """A figure on its own Agg canvas, with the chart style and `font` applied only while it is drawn.

    No pyplot: it keeps a global registry of open figures and imports GUI backend machinery that a
    report run never needs; rc_context restores the settings so other users of matplotlib see none of ours.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    with matplotlib.rc_context({**_RC, "font.family": [_font_family(font)]}):
        fig = MplFigure(figsize=figsize)
        FigureCanvasAgg(fig)
        yield fig


def figure_texts(fig: Any) -> list[str]:
    """Every text a drawn figure shows (titles, ticks, legend, value labels)."""
    import matplotlib.text

    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


def _save(fig: Any, path: Path, font: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    # Checked on what was really drawn (tick labels exist only after drawing): a glyph the font lacks is
    # a warning here and an error in the tests.
    missing = missing_glyphs(figure_texts(fig), font)
    if missing:
        warnings.warn(ChartGlyphWarning(f"{path.name}: {font.name} has no {''.join(sorted(missing))!r}"),
                      stacklevel=2)
    return path


# --- values -----------------------------------------------------------------------------------------------
def _value(v: object) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _language(language: str | Language) -> Language:
    return LANGUAGES[language] if isinstance(language, str) else language


def _formatter(lang: Language, fig: Figure) -> Any:
    """A figure's value as the report writes it: counts «5 104», amounts in thousand tenge «40 338,5»."""
    return lang.amount if fig.unit == "tenge" else lang.count


def _scale(fig: Figure) -> float:
    return 1000.0 if fig.unit == "tenge" else 1.0


def _number_sample(lang: Language) -> list[str]:
    # Tick labels are made while drawing; their characters are those of any formatted number.
    return [lang.count(1234567), lang.amount(1234567.8), "0123456789-"]


@dataclass(frozen=True)
class _Bar:
    label: str
    total: float | None  # None: no figure given
    part: float | None


def _unit_bars(data: ReportData, language: str | Language = "kk") -> tuple[list[_Bar], bool]:
    """Bars top to bottom, and whether they are only the largest units plus one bar for the rest."""
    lang = _language(language)
    w = lang.words["charts"]
    chosen = by_unit_figures(data.plan)
    if chosen is None:
        return [], False
    whole, part = chosen
    frame = data.values
    stale = set(data.stale_units())
    # Whole columns read once (`frame.at` per unit was 0.15 s a call at 1,667 units); a unit or figure the
    # frame lacks has no value.
    totals = facts.column(frame, whole.code)
    shares = facts.column(frame, part.code) if part is not None else {}
    bars = []
    for u in data.plan.units:
        total, share = totals.get(u.code), shares.get(u.code)
        mark = str(lang.words["district_table"]["stale_mark"]) if u.code in stale else ""
        bars.append(_Bar(lang.unit_name(u) + mark,
                         None if _missing(total) else float(total),  # type: ignore[arg-type]
                         None if _missing(share) else float(share)))  # type: ignore[arg-type]
    if len(bars) <= MAX_BARS:
        return bars, False
    # Stable sort: units with equal figures keep plan order, so the chart is the same every run.
    ranked = sorted(bars, key=lambda b: -_value(b.total))
    top, rest = ranked[:TOP_UNITS], ranked[TOP_UNITS:]
    known_rest = [b for b in rest if b.total is not None]
    others = _Bar(
        str(w["others"]).format(count=lang.count(len(rest))),
        sum(b.total for b in known_rest) if known_rest else None,  # type: ignore[misc]
        sum(_value(b.part) for b in rest) if known_rest else None,
    )
    return [*top, others], True


# --- the charts -------------------------------------------------------------------------------------------
def by_unit(data: ReportData, path: Path, language: str | Language = "kk") -> Path:
    """Horizontal bars: the by-unit figure of each unit at the report date (its "of which" part drawn
    inside), units in plan order from the top. With more than MAX_BARS units: the TOP_UNITS largest,
    largest at the top, and one bar for the rest. What it shows is said by its caption in the document."""
    lang = _language(language)
    w = lang.words["charts"]
    chosen = by_unit_figures(data.plan)
    if chosen is None:
        raise ValueError("the plan has no headline figure: no by-unit chart (see planned_charts)")
    whole, part = chosen
    fmt, scale = _formatter(lang, whole), _scale(whole)
    bars, shortened = _unit_bars(data, lang)
    whole_label = str(lang.pick(whole, "label"))
    part_label = str(lang.pick(part, "label")) if part is not None else ""
    values = [fmt(b.total) if b.total is not None else str(w["no_data"]) for b in bars]
    axis = str(w["amount_axis"]) if whole.unit == "tenge" else ""
    font = chart_font([whole_label, part_label, axis, *(b.label for b in bars), *values, *_number_sample(lang)])
    height = max(2.6, min(9.0, 0.9 + 0.23 * len(bars)))
    with _figure((7.0, height), font) as fig:
        ax = fig.add_subplot()
        y = list(range(len(bars)))[::-1]
        total = [_value(b.total) / scale for b in bars]
        ax.barh(y, total, color=GREYS[2], edgecolor="black", linewidth=0.6, label=whole_label)
        if part is not None:
            ax.barh(y, [_value(b.part) / scale for b in bars], height=0.45, color=GREYS[1], edgecolor="black",
                    linewidth=0.6, hatch="///", label=part_label)
        ax.set_yticks(y, [b.label for b in bars])
        # The scale follows the units' own bars: the «others» sum may be many times the largest unit and
        # would squash every other bar to a sliver, so it is cut at the edge with its value written in.
        own = total[:-1] if shortened else total
        top = max(own) if own and max(own) > 0 else 1.0
        edge = top * 1.18
        for yi, v, text in zip(y, total, values):
            if v > edge:
                ax.text(edge * 0.985, yi, text, va="center", ha="right", fontsize=8,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
                # A slanted white gap across the bar: the usual mark of a bar cut short.
                x0, slant, gap = edge * 0.78, edge * 0.012, edge * 0.012
                ax.fill([x0, x0 + slant, x0 + slant + gap, x0 + gap], [yi - 0.45, yi + 0.45, yi + 0.45, yi - 0.45],
                        color="white", zorder=3)
            else:
                ax.text(v + top * 0.01, yi, text, va="center", fontsize=8)
        ax.set_xlim(0, edge)
        if axis:
            ax.set_xlabel(axis)
        ax.xaxis.set_major_formatter(lambda x, _pos: lang.count(x))
        # Under the axis: bars of similar length leave no free corner inside it for a legend.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 if not axis else -0.14), ncol=1, fontsize=8,
                  frameon=False)
        fig.tight_layout()
        return _save(fig, path, font)


def over_dates(data: ReportData, path: Path, language: str | Language = "kk") -> Path:
    """The whole territory's total of every headline figure at each reporting date so far: one panel a
    figure, one above the other (side by side, six labels like «115 563,6» run into each other)."""
    lang = _language(language)
    w = lang.words["charts"]
    figures = headline_figures(data.plan)
    if not figures:
        raise ValueError("the plan has no headline figure: no chart over the dates (see planned_charts)")
    dates = dates_so_far(data)
    ticks = [lang.day(d, "full", year=False) for d in dates]
    panels = []
    for fig_ in figures:
        label = str(lang.pick(fig_, "label"))
        title = str(w["amount_label"]).format(label=label) if fig_.unit == "tenge" else label
        values = [data.totals_at(d).get(fig_.code) for d in dates]
        panels.append((fig_, title, values, [_formatter(lang, fig_)(v) for v in values]))
    font = chart_font([*ticks, *(p[1] for p in panels), *(t for p in panels for t in p[3]), *_number_sample(lang)])
    with _figure((7.0, 0.4 + 2.0 * len(panels)), font) as fig:
        axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
        for n, (ax, (fig_, title, values, texts)) in enumerate(zip(axes, panels)):
            shown = [_value(v) / _scale(fig_) for v in values]
            x = list(range(len(dates)))
            ax.bar(x, shown, color=GREYS[2 if n % 2 == 0 else 1], edgecolor="black", linewidth=0.6,
                   hatch="" if n % 2 == 0 else "///", width=0.6)
            top = max(shown) if shown and max(shown) > 0 else 1.0
            for xi, v, text in zip(x, shown, texts):
                ax.text(xi, v + top * 0.02, text, ha="center", fontsize=8)
            ax.set_ylim(0, top * 1.18)
            ax.set_xticks(x, ticks, fontsize=8)
            ax.yaxis.set_major_formatter(lambda y, _pos: lang.count(y))
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        return _save(fig, path, font)


DRAW = {BY_UNIT: by_unit, OVER_DATES: over_dates}


def warm_up() -> None:
    """Import matplotlib and read the chart fonts ahead of the first chart (see chart_process.py)."""
    from matplotlib import figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401

    for path in font_files():
        glyphs(path)


def chart_file_names(date_text: str, language: str = "kk") -> dict[str, str]:
    """The charts' file names: stable, so the report refers to them the same way each run; the Kazakh
    set has no language tail, another language's set carries its code («by-unit-<date>-ru.png»)."""
    tail = "" if language == "kk" else f"-{language}"
    return {name: f"{name.replace('_', '-')}-{date_text}{tail}.png" for name in DRAW}


def draw_charts(data: ReportData, out_dir: Path, language: str = "kk") -> dict[str, Path]:
    """The charts of `planned_charts(data)` in `language` ("kk" or "ru") into `out_dir`, name → PNG."""
    out_dir = Path(out_dir)
    names = chart_file_names(data.date.isoformat(), language)
    return {name: DRAW[name](data, out_dir / names[name], language) for name in planned_charts(data)}


# --- in the document --------------------------------------------------------------------------------------
def _stale_notes(data: ReportData, lang: Language) -> list[str]:
    """What the «*» after a bar's unit name means, as the annex says it: the unit missed the date and its
    figures are of an earlier one. Only for units that have a bar of their own."""
    bars, _ = _unit_bars(data, lang)
    mark = str(lang.words["district_table"]["stale_mark"])
    drawn = {b.label for b in bars}
    by_source: dict[object, list[Unit]] = {}
    for unit in data.plan.units:
        source = data.source_dates.get(unit.code)
        if source is not None and source != data.date and lang.unit_name(unit) + mark in drawn:
            by_source.setdefault(source, []).append(unit)
    return [str(lang.words["district_table"]["stale_note"]).format(
                units=lang.units(units, "subject"), date=lang.day(source, "as_of", year=False))  # type: ignore[arg-type]
            for source, units in sorted(by_source.items(), key=lambda kv: str(kv[0]))]


def chart_captions(data: ReportData, language: str | Language = "kk") -> dict[str, str]:
    """Each planned chart's caption text (the template puts the number in front: «1-сурет. …»)."""
    lang = _language(language)
    w = lang.words["charts"]
    region = data.plan.region
    units = lang.pick(region, "units")
    whole = lang.pick(region, "whole")
    captions: dict[str, str] = {}
    chosen = by_unit_figures(data.plan)
    if chosen is not None:
        fig = chosen[0]
        label = str(lang.pick(fig, "label"))
        if fig.unit == "tenge":
            label = str(w["amount_label"]).format(label=label)
        key = "by_unit_caption_top" if len(data.plan.units) > MAX_BARS else "by_unit_caption"
        captions[BY_UNIT] = "\n".join([lang.upper_first(str(w[key]).format(
            label=label, label_lower=lang.lower_first(label), units=units.nominative, units_genitive=units.genitive,
            date=lang.day(data.date, "as_of"), count=lang.count(TOP_UNITS))), *_stale_notes(data, lang)])
    captions[OVER_DATES] = lang.upper_first(str(w["over_dates_caption"]).format(whole_by=whole.by))
    return captions


def charts_context(data: ReportData, chart_paths: Mapping[str, Path] | None,
                   language: str | Language = "kk") -> list[dict[str, Any]]:
    """The template's `charts`: [{name, path, number, caption}] for each planned chart that was drawn;
    the number is the chart's place in `planned_charts` + 1 whatever was drawn, so prose and captions agree."""
    paths = chart_paths or {}
    captions = chart_captions(data, language)
    return [{"name": name, "path": str(paths[name]), "number": str(n), "caption": captions[name]}
            for n, name in enumerate(planned_charts(data), start=1) if name in paths]
