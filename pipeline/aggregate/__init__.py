"""Stage 4: choose the submissions a report uses and aggregate them with pandas."""

from pipeline.aggregate.build import aggregate, figures_table, numeric_codes
from pipeline.aggregate.model import OBLAST, DepartmentReport, ReportData, Timeliness
from pipeline.aggregate.select import Selection, select

__all__ = [
    "OBLAST", "DepartmentReport", "ReportData", "Selection", "Timeliness", "aggregate", "figures_table",
    "numeric_codes", "select",
]
