"""Which numbered chart the prose refers to («(1-сурет)»).

The charts and their order are R2's: `pipeline.render.charts.planned_charts(data) -> list[str]`, chart
number = position + 1. Until branch i16b is merged, `planned_charts` below is a LOCAL STAND-IN returning
the two charts main draws today; the lead replaces it with
`from pipeline.render.charts import planned_charts` and adjusts `ILLUSTRATES` to R2's chart names.
"""

from __future__ import annotations

from pipeline.aggregate.model import ReportData

#: The part of the prose a chart illustrates → the chart's name in `planned_charts`.
ILLUSTRATES: dict[str, str] = {"results": "children", "change": "dynamics"}


def planned_charts(data: ReportData) -> list[str]:  # stand-in for R2's function (see the module's note)
    return ["children", "dynamics"]


def chart_numbers(data: ReportData) -> dict[str, int]:
    """Prose anchor → the number of the chart that illustrates it (anchors without a chart are absent)."""
    order = {name: n + 1 for n, name in enumerate(planned_charts(data))}
    return {anchor: order[name] for anchor, name in ILLUSTRATES.items() if name in order}
