"""«Назар аударуды қажет ететін мәселелер»: what the reader must act on — items past their deadline with
the units and the reasons they state, remainders the plan marks for attention (children found but not
back at school, calls not resolved) by unit, units late or missing more than once."""

from __future__ import annotations

from typing import Any

from pipeline.aggregate import facts
from pipeline.render.prose.items import notes_for
from pipeline.render.prose.writer import Writer


def attention(wr: Writer) -> dict[str, Any]:
    lines: list[str] = []
    overdue = [p for p in (facts.item_progress(wr.data, i) for i in wr.plan.items) if p.outcome == "overdue"]
    if overdue and wr.final:
        # The final part gives each with its reasons; page 1 lists them.
        items = [wr.word("attention", "overdue_item").format(code=p.item.code, who=who(wr, p, notes=False))
                 for p in overdue]
        lines.append(wr.word("attention", "overdue_brief").format(items="; ".join(items)))
    else:
        lines += [overdue_line(wr, p) for p in overdue]
    lines += remainder_lines(wr)
    reporting = reporting_line(wr)
    if reporting:
        lines.append(reporting)
    return {"heading": wr.word("attention", "heading"), "lines": lines}


def who(wr: Writer, progress: facts.ItemProgress, *, notes: bool = True) -> str:
    """Who has not done an overdue item: the units (with their comments, or «did not report»), then the
    department when it reports the item too."""
    role = str(wr.w["attention"]["who_role"])
    open_units = progress.open_units
    marks: dict[str, str] = {}
    if notes:
        marks = notes_for(wr, progress.item, [u for u in open_units if u in progress.statuses])
        for unit in open_units:
            source = progress.carried.get(unit, (None, None))[0]
            if unit not in progress.statuses:
                marks[unit] = (wr.word("items", "stale_note") if source is None else
                               wr.word("items", "stale_as_of").format(date=wr.day(source, "as_of", year=False)))
    text = wr.units(open_units, role, marks) if open_units else ""
    if progress.department_open:
        department = wr.word("attention", "department").format(department=wr.department_name())
        text = text + ", " + wr.word("attention", "also").format(who=department) if text else department
    return text


def overdue_line(wr: Writer, progress: facts.ItemProgress) -> str:
    item = progress.item
    return wr.word("attention", "overdue").format(code=item.code, name=wr.item_name(item),
                                                  deadline=wr.deadline(item), who=who(wr, progress))


def remainder_lines(wr: Writer) -> list[str]:
    """«Мектепке әлі қайтарылмаған балалар – 107 (5 наурызда – 38, 25 наурызда – 95): Алау қаласында – 30, …»"""
    w = wr.w["attention"]
    lines = []
    for fig in wr.plan.figures:
        if fig.remainder is None or not fig.remainder.attention or not wr.due(fig):
            continue
        left = facts.remainder(wr.data, fig)
        if left is None or not left.whole or left.whole <= 0:
            continue
        points = []
        earlier = [d for d in sorted(left.by_date) if d < wr.data.date and left.by_date[d] is not None]
        for date in dict.fromkeys(earlier[:1] + earlier[-1:]):
            points.append(str(w["trend_point"]).format(
                date=wr.day(date, "on" if wr.lang.code == "kk" else "as_of", year=False),
                value=wr.value(fig, left.by_date[date])))
        trend = str(w["trend"]).format(points=", ".join(points)) if points else ""
        ranked = sorted((kv for kv in left.units.items() if kv[1] > 0), key=lambda kv: -kv[1])
        units = ", ".join(str(w["remainder_unit"]).format(place=wr.unit(u, "place"), unit=wr.unit(u, "subject"),
                                                          value=wr.value(fig, v)) for u, v in ranked)
        label = wr.lang.upper_first(str(wr.lang.pick(fig.remainder, "label")))
        line = str(w["remainder"]).format(label=wr.before_dash(label), value=wr.value(fig, left.whole), trend=trend,
                                          units=units)
        lines.append(line if units else line.replace(": .", "."))
    return lines


def reporting_line(wr: Writer) -> str:
    """Units that sent their report late or not at all more than once so far."""
    w = wr.w["attention"]
    records = facts.reporting_records(wr.data)
    pieces = []
    for unit in wr.plan.units:
        record = records[unit.code]
        if record.late + record.missing < 2:
            continue
        parts = []
        if record.missing:
            parts.append(str(w["reporting_missing"]).format(times=wr.lang.counted(record.missing, "times")))
        if record.late:
            parts.append(str(w["reporting_late"]).format(times=wr.lang.counted(record.late, "times")))
        pieces.append(str(w["reporting_unit"]).format(unit=wr.unit(unit.code, "subject"), parts=", ".join(parts)))
    return str(w["reporting"]).format(units=", ".join(pieces)) if pieces else ""
