"""The final report's conclusion: the plan's items sorted into done, continuing to the campaign's end,
past the deadline and not done (with the units and the reasons they state), not yet due; then whom the
units propose to honour (legal forms in Russian in the Russian copy)."""

from __future__ import annotations

import re
from typing import Any

from pipeline.aggregate import facts
from pipeline.render.prose.attention import overdue_line
from pipeline.render.prose.writer import Writer

ORDER: tuple[facts.Outcome, ...] = ("done", "continuing", "overdue", "not_due")
#: A proper name in quotes, as registered: «Ақ Жайық», "Ақ Жайық".
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”")


def final_part(wr: Writer) -> dict[str, Any]:
    w = wr.w["final"]
    if not wr.final:
        return {"heading": w["heading"], "lines": [], "honour_heading": "", "honour_lines": []}
    progress = [facts.item_progress(wr.data, item) for item in wr.plan.items]
    by_outcome: dict[str, list[str]] = {}
    for p in progress:
        by_outcome.setdefault(p.outcome, []).append(p.item.code)
    parts = [str(w["items_part"]).format(label=w["labels"][o], count=wr.lang.count(len(by_outcome[o])),
                                         codes=", ".join(by_outcome[o]))
             for o in ORDER if by_outcome.get(o)]
    lines = [str(w["items_lead"]).format(total=wr.lang.counted(len(wr.plan.items), "item"), parts="; ".join(parts))]
    lines += [overdue_line(wr, p) for p in progress if p.outcome == "overdue"]
    heading, honour = honour_lines(wr)
    return {"heading": w["heading"], "lines": lines, "honour_heading": heading, "honour_lines": honour}


def honour_lines(wr: Writer) -> tuple[str, list[str]]:
    w = wr.w["final"]
    figures = [f for f in wr.plan.figures if f.role == "honour"]
    if not figures:
        return "", []
    lines = []
    for fig in figures:
        texts = facts.column(wr.data.texts, fig.code)
        for unit in wr.plan.units:
            names = facts.status_code(texts.get(unit.code))
            names = names.strip().rstrip(".") if names else ""
            if not names:
                continue
            if wr.lang.code != "kk":
                names = in_russian(names, wr.w.get("legal_forms", {}))
            lines.append(str(w["honour_line"]).format(unit=wr.lang.unit_name(unit), names=names))
    if not lines:
        lines.append(str(w["honour_none"]))
    item = wr.plan.item_of_figure[figures[0].code]
    heading = str(w["honour_heading"]).format(code=item.code, name=wr.item_name(item))
    return heading, lines


def in_russian(names: str, forms: dict[str, str]) -> str:
    """«"Батыс Су Арнасы" ЖШС, "Еркін" шаруа қожалығы» → «ТОО «Батыс Су Арнасы», КХ «Еркін»»: each
    organisation's legal form (or other words the table knows) said in Russian before its name in quotes.
    A name without quotes, or with words the table does not know, is kept as written (a proper name)."""
    out = []
    for entry in _split(names):
        quoted = _QUOTED.findall(entry)
        rest = " ".join(_QUOTED.sub(" ", entry).split())
        if len(quoted) == 1 and rest in forms:
            name = "«" + quoted[0][1:-1] + "»"
            out.append(f"{forms[rest]} {name}")
        else:
            out.append(entry)
    return ", ".join(out)


def _split(names: str) -> list[str]:
    """Entries separated by commas outside quotes."""
    entries, depth, current = [], 0, ""
    for ch in names:
        if ch in "«“":
            depth += 1
        elif ch in "»”":
            depth = max(depth - 1, 0)
        elif ch == '"':
            depth = 0 if depth else 1
        if ch in ",;" and depth == 0:
            entries.append(current.strip())
            current = ""
        else:
            current += ch
    entries.append(current.strip())
    return [e for e in entries if e]
