"""Stage 4: choose the submissions a report uses and aggregate them with pandas.

The pandas half (`build`) is loaded on first use (PEP 562): selection and the model need no pandas, and
`check` and `status` must not pay for importing it. (`select` is imported here, not lazily: it is also the
name of a submodule, which importing would otherwise put in its place.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_names

from pipeline.aggregate.model import OBLAST, DepartmentReport, ReportData, Timeliness
from pipeline.aggregate.select import Selection, select

if TYPE_CHECKING:
    from pipeline.aggregate.build import aggregate, figures_table, numeric_codes

_LAZY = {
    "aggregate": "pipeline.aggregate.build",
    "figures_table": "pipeline.aggregate.build",
    "numeric_codes": "pipeline.aggregate.build",
}

__all__ = ["OBLAST", "DepartmentReport", "ReportData", "Selection", "Timeliness", "select", *_LAZY]


__getattr__ = lazy_names(__name__, _LAZY, globals())
