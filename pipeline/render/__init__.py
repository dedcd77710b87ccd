"""Stage 6: render the consolidated Kazakh «Ақпарат» (.docx, charts, analysts' workbook, PDF)."""

from pipeline.render.charts import draw_charts
from pipeline.render.context import build_context
from pipeline.render.docx import DEFAULT_TEMPLATE, RenderError, render_report, template_fields
from pipeline.render.pdf import to_pdf
from pipeline.render.summary_xlsx import write_summary

__all__ = [
    "DEFAULT_TEMPLATE",
    "RenderError",
    "build_context",
    "draw_charts",
    "render_report",
    "template_fields",
    "to_pdf",
    "write_summary",
]
