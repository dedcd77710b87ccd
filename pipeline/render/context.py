"""Turn `ReportData` into the plain strings and lists the .docx template shows, in one language.

The prose (header, summary, attention, quality, sections, final) is built by `pipeline.render.prose`; the
tables and charts by `pipeline.render.tables` and the chart module. The language is a parameter: no
sentence is built differently for Kazakh and Russian except through the wording files and the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.aggregate.model import ReportData
from pipeline.render import tables
from pipeline.render.charts import charts_context
from pipeline.render.language import KAZAKH, LANGUAGES, Language
from pipeline.render.prose import prose

__all__ = ["build_context"]


def build_context(
    data: ReportData, *, chart_paths: Mapping[str, Path] | None = None, language: str | Language = KAZAKH
) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists (charts as file paths), in `language`
    ("kk" or "ru")."""
    lang = LANGUAGES[language] if isinstance(language, str) else language
    context: dict[str, Any] = {}
    # The form's parts (render/tables.py, render/charts.py): tables and charts from the plan's roles.
    context["annex"] = tables.annex(data, lang)
    context["timeliness"] = tables.timeliness(data, lang)
    context["campaign_table"] = tables.campaign_table(data, lang)
    context["charts"] = charts_context(data, chart_paths, lang)
    # The annex line states the annex's real size: one sheet per annex table.
    context.update(prose(data, lang, annex_sheets=len(context["annex"]["tables"])))
    return context
