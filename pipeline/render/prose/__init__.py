"""What the report says, in one language: small builders over one `Writer` (pipeline/render/prose/writer.py).

`prose(data, language)` returns the context keys the template shows as text: the header, `summary`,
`attention`, `quality`, `sections` and `final`. Every campaign fact comes from the plan (figure roles,
nouns, sentences, region words, deadlines), every grammatical word from the language's wording file.
"""

from __future__ import annotations

from typing import Any

from pipeline.aggregate.model import ReportData
from pipeline.render.language import Language
from pipeline.render.prose.attention import attention
from pipeline.render.prose.final import final_part
from pipeline.render.prose.header import header
from pipeline.render.prose.items import sections
from pipeline.render.prose.quality import quality
from pipeline.render.prose.summary import summary
from pipeline.render.prose.writer import Writer

__all__ = ["prose"]


def prose(data: ReportData, lang: Language, *, annex_sheets: int = 1) -> dict[str, Any]:
    wr = Writer(data, lang)
    context = header(wr, annex_sheets=annex_sheets)
    # Page 1 first: what it says, an item's section does not repeat.
    context["summary"] = summary(wr)
    context["attention"] = attention(wr)
    context["quality"] = quality(wr)
    context["sections"] = sections(wr)
    context["final"] = final_part(wr)
    return context
