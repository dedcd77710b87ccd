"""Charts for the report, drawn with matplotlib (Agg, bundled DejaVu Sans covers every Kazakh letter).

Grey-scale friendly: greys and hatches, value labels on the bars, so a black-and-white print reads the
same. PNG output is deterministic: fixed size and dpi, no software/time metadata.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pipeline.aggregate.model import ReportData
from pipeline.render.kazakh import date_case, day_month, fmt_count, fmt_thousand_tenge, words

DPI = 150
FONT = "DejaVu Sans"
GREYS = ("#4d4d4d", "#a6a6a6", "#d9d9d9")


def _pyplot() -> Any:
    # Imported here: matplotlib costs ~1 s to import and only chart drawing needs it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": FONT,
            "font.size": 9,
            "svg.hashsalt": "mektepke-zhol",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "hatch.color": "#333333",
        }
    )
    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    return path


def _value(v: object) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def children_by_unit(data: ReportData, path: Path) -> Path:
    """Horizontal bars: children helped by each unit at the report date, units in plan order from the top."""
    plt = _pyplot()
    w = words()["charts"]
    units = list(data.plan.units)
    values = [data.values.at[u.code, "help_children"] if u.code in data.values.index else None for u in units]
    sponsor = [data.values.at[u.code, "sponsor_children"] if u.code in data.values.index else None for u in units]
    stale = set(data.stale_units())
    labels = [u.name + ("*" if u.code in stale else "") for u in units]
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    try:
        y = list(range(len(units)))[::-1]
        total = [_value(v) for v in values]
        spons = [_value(v) for v in sponsor]
        ax.barh(y, total, color=GREYS[2], edgecolor="black", linewidth=0.6, label=data.plan.figure_by_code["help_children"].label)
        ax.barh(y, spons, height=0.45, color=GREYS[1], edgecolor="black", linewidth=0.6, hatch="///",
                label=data.plan.figure_by_code["sponsor_children"].label)
        ax.set_yticks(y, labels)
        top = max(total) if total and max(total) > 0 else 1.0
        for yi, v, raw in zip(y, total, values):
            text = fmt_count(v) if raw is not None and not (isinstance(raw, float) and math.isnan(raw)) else w["no_data"]
            ax.text(v + top * 0.01, yi, text, va="center", fontsize=8)
        ax.set_xlim(0, top * 1.15)
        ax.set_xlabel(w["children_axis"])
        ax.xaxis.set_major_formatter(lambda x, _pos: fmt_count(x))
        ax.set_title(w["children_title"].format(date=date_case(data.date, "attributive")), fontsize=10)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        return _save(fig, path)
    finally:
        plt.close(fig)


def oblast_dynamics(data: ReportData, path: Path) -> Path:
    """Oblast totals of children helped and amount (thousand tenge) at each reporting date so far."""
    plt = _pyplot()
    w = words()["charts"]
    dates = sorted(data.history)
    children = [_value(data.totals_at(d).get("help_children")) for d in dates]
    amount = [_value(data.totals_at(d).get("help_amount")) for d in dates]
    labels = [day_month(d, "nominative") for d in dates]
    # One above the other: side by side, six value labels like «115 563,6» run into each other.
    fig, (left, right) = plt.subplots(2, 1, figsize=(7.0, 5.0))
    try:
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
    finally:
        plt.close(fig)


def draw_charts(data: ReportData, out_dir: Path) -> dict[str, Path]:
    """Both charts into `out_dir`; names are stable so the report refers to them the same way each run."""
    out_dir = Path(out_dir)
    stem = data.date.isoformat()
    return {
        "children": children_by_unit(data, out_dir / f"children-by-unit-{stem}.png"),
        "dynamics": oblast_dynamics(data, out_dir / f"oblast-dynamics-{stem}.png"),
    }
