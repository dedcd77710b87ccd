"""Charts for the report, drawn with matplotlib (Agg; the serif fonts cover every Kazakh letter).

A chart is a pure function of (data, language): every label comes from the language's wording file
(`charts` in kazakh.yaml / russian.yaml), the plan's names in that language and its number formats, so
the Russian copy gets its own set, and a cache keyed by (inputs, language) stays correct.

Grey-scale friendly: greys and hatches, value labels on the bars, so a black-and-white print reads the
same. PNG output is deterministic: fixed size and dpi, no software/time metadata.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.aggregate.model import ReportData
from pipeline.plan.model import Figure, Plan
from pipeline.render.language import LANGUAGES, Language

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

DPI = 150
# Serif, like the Times text around the charts: Liberation Serif has Times' metrics; DejaVu Serif is the
# fallback matplotlib finds wherever it is installed.
FONT = "serif"
SERIF = ["Liberation Serif", "DejaVu Serif"]
GREYS = ("#4d4d4d", "#a6a6a6", "#d9d9d9")
# Above this many units one bar each is unreadable on an A4 page: the largest TOP_UNITS are shown and
# the rest summed into one bar.
MAX_BARS = 30
TOP_UNITS = 25
_RC = {
    "font.family": FONT,
    "font.serif": SERIF,
    "font.size": 9,
    "svg.hashsalt": "mektepke-zhol",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.color": "#333333",
}


@contextmanager
def _figure(figsize: tuple[float, float]) -> Iterator[Any]:
    """A figure on its own Agg canvas, with the chart style applied only while it is drawn.

    No pyplot: it keeps a global registry of open figures and imports GUI backend machinery that a
    report run never needs; rc_context restores the settings so other users of matplotlib see none of ours.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        yield fig


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    return path


def _value(v: object) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@dataclass(frozen=True)
class _Bar:
    label: str
    total: float | None  # None: no figure given
    sponsor: float | None


def _language(language: str | Language) -> Language:
    return LANGUAGES[language] if isinstance(language, str) else language


def _unit_bars(data: ReportData, language: str | Language = "kk") -> tuple[list[_Bar], bool]:
    """Bars top to bottom, and whether they are only the largest units plus one bar for the rest."""
    lang = _language(language)
    w = lang.words["charts"]
    frame = data.values
    stale = set(data.stale_units())
    bars = []
    for u in data.plan.units:
        known = u.code in frame.index
        total = frame.at[u.code, "help_children"] if known else None
        sponsor = frame.at[u.code, "sponsor_children"] if known else None
        bars.append(_Bar(lang.unit_name(u) + ("*" if u.code in stale else ""),
                         None if _missing(total) else float(total),  # type: ignore[arg-type]
                         None if _missing(sponsor) else float(sponsor)))  # type: ignore[arg-type]
    if len(bars) <= MAX_BARS:
        return bars, False
    # Stable sort: units with equal figures keep plan order, so the chart is the same every run.
    ranked = sorted(bars, key=lambda b: -_value(b.total))
    top, rest = ranked[:TOP_UNITS], ranked[TOP_UNITS:]
    known_rest = [b for b in rest if b.total is not None]
    others = _Bar(
        w["others"].format(count=lang.count(len(rest))),
        sum(b.total for b in known_rest) if known_rest else None,  # type: ignore[misc]
        sum(_value(b.sponsor) for b in rest) if known_rest else None,
    )
    return [*top, others], True


def children_by_unit(data: ReportData, path: Path, language: str | Language = "kk") -> Path:
    """Horizontal bars: children helped by each unit at the report date, units in plan order from the top.

    With more than MAX_BARS units: the TOP_UNITS largest, largest at the top, and one bar for the rest.
    """
    lang = _language(language)
    w = lang.words["charts"]
    fmt_count = lang.count
    bars, shortened = _unit_bars(data, lang)
    title = w["children_title_top" if shortened else "children_title"].format(
        date=lang.day(data.date, "as_of"), count=fmt_count(TOP_UNITS)
    )
    with _figure((7.0, 5.2)) as fig:
        ax = fig.add_subplot()
        y = list(range(len(bars)))[::-1]
        total = [_value(b.total) for b in bars]
        spons = [_value(b.sponsor) for b in bars]
        ax.barh(y, total, color=GREYS[2], edgecolor="black", linewidth=0.6, label=lang.pick(data.plan.figure_by_code["help_children"], "label"))
        ax.barh(y, spons, height=0.45, color=GREYS[1], edgecolor="black", linewidth=0.6, hatch="///",
                label=lang.pick(data.plan.figure_by_code["sponsor_children"], "label"))
        ax.set_yticks(y, [b.label for b in bars])
        # The scale follows the units' own bars: the «others» sum may be many times the largest unit and
        # would squash every other bar to a sliver, so it is cut at the edge with its value written in.
        own = total[:-1] if shortened else total
        top = max(own) if own and max(own) > 0 else 1.0
        edge = top * 1.15
        for yi, v, bar in zip(y, total, bars):
            text = fmt_count(v) if bar.total is not None else w["no_data"]
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
        ax.set_xlabel(w["children_axis"])
        ax.xaxis.set_major_formatter(lambda x, _pos: fmt_count(x))
        ax.set_title(title, fontsize=10)
        if shortened:
            # Bars of similar length leave no free corner inside the axes: the legend goes under the axis.
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, fontsize=8, frameon=False)
        else:
            ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        return _save(fig, path)


def oblast_dynamics(data: ReportData, path: Path, language: str | Language = "kk") -> Path:
    """Oblast totals of children helped and amount (thousand tenge) at each reporting date so far."""
    lang = _language(language)
    w = lang.words["charts"]
    fmt_count, fmt_thousand_tenge = lang.count, lang.amount
    dates = sorted(data.history)
    children = [_value(data.totals_at(d).get("help_children")) for d in dates]
    amount = [_value(data.totals_at(d).get("help_amount")) for d in dates]
    labels = [lang.day(d, "full", year=False) for d in dates]
    with _figure((7.0, 5.0)) as fig:
        # One above the other: side by side, six value labels like «115 563,6» run into each other.
        left, right = fig.subplots(2, 1)
        for ax, values, title, color, hatch, fmt in (
            (left, children, w["dynamics_children"], GREYS[2], "", fmt_count),
            (right, amount, w["dynamics_amount"], GREYS[1], "///", fmt_thousand_tenge),
        ):
            shown = [v / 1000.0 for v in values] if fmt is fmt_thousand_tenge else values
            x = list(range(len(dates)))
            ax.bar(x, shown, color=color, edgecolor="black", linewidth=0.6, hatch=hatch, width=0.6)
            top = max(shown) if shown and max(shown) > 0 else 1.0
            for xi, v in zip(x, values):
                ax.text(xi, (v / 1000.0 if fmt is fmt_thousand_tenge else v) + top * 0.02, fmt(v),
                        ha="center", fontsize=8)
            ax.set_ylim(0, top * 1.15)
            ax.set_xticks(x, labels, fontsize=8)
            ax.yaxis.set_major_formatter(lambda y, _pos: fmt_count(y))
            ax.set_title(title, fontsize=9)
        fig.suptitle(w["dynamics_title"], fontsize=10)
        fig.tight_layout()
        return _save(fig, path)


def warm_up() -> None:
    """Import matplotlib and load its font list ahead of the first chart (see chart_process.py)."""
    from matplotlib import font_manager
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib import figure  # noqa: F401

    font_manager.findfont(_RC.get("font.family", "DejaVu Sans"))


def chart_file_names(date_text: str, language: str = "kk") -> dict[str, str]:
    """The charts' file names: stable, so the report refers to them the same way each run; the Kazakh
    set keeps its names, another language's set carries its code («…-2017-08-17-ru.png»)."""
    tail = "" if language == "kk" else f"-{language}"
    return {"children": f"children-by-unit-{date_text}{tail}.png",
            "dynamics": f"oblast-dynamics-{date_text}{tail}.png"}


def draw_charts(data: ReportData, out_dir: Path, language: str = "kk") -> dict[str, Path]:
    """Both charts of `language` ("kk" or "ru") into `out_dir`."""
    out_dir = Path(out_dir)
    names = chart_file_names(data.date.isoformat(), language)
    return {
        "children": children_by_unit(data, out_dir / names["children"], language),
        "dynamics": oblast_dynamics(data, out_dir / names["dynamics"], language),
    }
