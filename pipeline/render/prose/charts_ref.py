"""Which numbered chart the prose refers to («(1-сурет)»).

The charts and their order are the form's: `pipeline.render.charts.planned_charts(data) -> list[str]`,
chart number = position + 1 (a chart the plan's roles do not call for has no number, and the prose names
none).
"""

from __future__ import annotations

from pipeline.aggregate.model import ReportData
from pipeline.render.charts import BY_UNIT, OVER_DATES, planned_charts

#: The part of the prose a chart illustrates → the chart's name in `planned_charts`: the results by unit,
#: the change over the reporting dates.
ILLUSTRATES: dict[str, str] = {"results": BY_UNIT, "change": OVER_DATES}


def chart_numbers(data: ReportData) -> dict[str, int]:
    """Prose anchor → the number of the chart that illustrates it (anchors without a chart are absent)."""
    order = {name: n + 1 for n, name in enumerate(planned_charts(data))}
    return {anchor: order[name] for anchor, name in ILLUSTRATES.items() if name in order}
