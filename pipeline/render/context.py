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
from pipeline.render.language import KAZAKH, LANGUAGES, Language
from pipeline.render.prose import prose
from pipeline.render.tables import key_figures

__all__ = ["build_context", "key_figures"]


def build_context(
    data: ReportData, *, chart_paths: Mapping[str, Path] | None = None, language: str | Language = KAZAKH
) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists (charts as file paths), in `language`
    ("kk" or "ru")."""
    lang = LANGUAGES[language] if isinstance(language, str) else language
    context: dict[str, Any] = {}
    context["district"] = tables.district(data, lang)
    context["timeliness"] = tables.timeliness(data, lang)
    context["charts"] = [{"name": name, "path": str(path)} for name, path in (chart_paths or {}).items()]
    # The annex line states the annex's real size: one sheet per annex table.
    sheets = len(context["annex"]["tables"]) if "annex" in context else 1
    context.update(prose(data, lang, annex_sheets=sheets))
    return context
