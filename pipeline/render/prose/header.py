"""The report's head and foot: addressee, heading, title, registration lines, signatory, executor, annex."""

from __future__ import annotations

from typing import Any

from pipeline.render.prose.writer import Writer


def header(wr: Writer, *, annex_sheets: int = 1) -> dict[str, Any]:
    """`annex_sheets`: how many sheets the annex takes (the annex line states it)."""
    plan, lang, data = wr.plan, wr.lang, wr.data
    w = wr.w["report"]
    campaign = lang.pick(plan.campaign, "name_genitive")
    if wr.final:
        title = str(w["title_final"]).format(campaign=campaign)
    else:
        title = str(w["title_interim"]).format(campaign=campaign, date=lang.day(data.date, "as_of"))
    return {
        "addressee_lines": [*lang.pick(plan.addressee, "lines"), lang.nbsp_initials(lang.pick(plan.addressee, "name_dative"))],
        "heading": w["heading_final" if wr.final else "heading_interim"],
        "title": title,
        "report_date": lang.day(data.date, "full"),
        "is_final": wr.final,
        # The outgoing number and date, filled in when the department registers the letter.
        "registration": [str(line).format(year=data.date.year) for line in w["registration"]],
        "signatory_position": list(lang.pick(plan.signatory, "position_lines")),
        "signatory_name": lang.nbsp_initials(lang.pick(plan.signatory, "name")),
        "executor_name": lang.nbsp_initials(lang.pick(plan.executor, "name")),
        "executor_phone": plan.executor.phone,
        "annex_line": str(w["annex_line"]).format(units=wr.together.genitive,
                                                  sheets=lang.counted(annex_sheets, "sheet")),
    }
