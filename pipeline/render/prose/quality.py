"""The one paragraph on the data itself: units late, units that missed the date (their earlier figures
counted), units that never reported, corrected files, values rejected or left blank (an earlier value
counted), figures some units did not give, and values lower than the unit's earlier ones."""

from __future__ import annotations

import datetime as dt

from pipeline.aggregate import facts
from pipeline.plan.model import Figure
from pipeline.render.prose import change
from pipeline.render.prose.writer import Writer


def quality(wr: Writer) -> list[str]:
    sentences = [*reporting(wr), *carried(wr), *gaps(wr), *falls(wr)]
    return [" ".join(sentences)] if sentences else []


def reporting(wr: Writer) -> list[str]:
    data, lang = wr.data, wr.lang
    units = {u.code for u in wr.plan.units}
    out = []
    by_days: dict[int, list[str]] = {}
    for t in data.timeliness_at(data.date):
        if t.unit in units and t.state == "late":
            by_days.setdefault(t.days_late, []).append(t.unit)
    if by_days:
        parts = [wr.word("quality", "late_part").format(units=wr.units(us, "subject"), days=lang.counted(days, "day"))
                 for days, us in sorted(by_days.items())]
        out.append(wr.word("quality", "late").format(parts=lang.join(parts)))
    by_source: dict[dt.date, list[str]] = {}
    for unit in facts.stale_units(data):
        by_source.setdefault(data.source_dates[unit], []).append(unit)  # type: ignore[arg-type]
    for source, stale in sorted(by_source.items()):
        out.append(wr.word("quality", "stale", len(stale)).format(units=wr.units(stale, "subject"),
                                                                 date=wr.day(source, "as_of", year=False)))
    never = [u.code for u in wr.plan.units if data.source_dates.get(u.code) is None]
    if never:
        out.append(wr.word("quality", "never").format(units=wr.units(never, "subject")))
    if data.corrected:
        out.append(wr.word("quality", "corrected", len(data.corrected)).format(units=wr.units(data.corrected, "subject")))
    return [lang.upper_first(s) for s in out]


def _numeric_due(wr: Writer) -> list:
    return [f for f in wr.plan.figures if f.unit in ("count", "tenge") and wr.due(f)
            and "units" in wr.plan.item_of_figure[f.code].reported_by]


def carried(wr: Writer) -> list[str]:
    """Values a unit that reported on the date did not give (left blank or rejected): an earlier one counts."""
    out = []
    for fig in _numeric_due(wr):
        groups: dict[tuple[dt.date, bool], list[str]] = {}
        rejected = wr.data.rejected
        for unit, source in facts.carried_values(wr.data, fig.code).items():
            groups.setdefault((source, fig.code in rejected.get(unit, ())), []).append(unit)
        for (source, refused), units in sorted(groups.items()):
            key = "carried_rejected" if refused else "carried_blank"
            out.append(wr.lang.upper_first(wr.word("quality", key).format(
                label=wr.label(fig), units=wr.units(units, "owner"), date=wr.day(source, "as_of", year=False))))
    return out


def gaps(wr: Writer) -> list[str]:
    # Figures the same units left out are said together: «радиосюжеттер және ток-шоулар (… аудандары)».
    by_units: dict[tuple[str, ...], list[Figure]] = {}
    for fig in _numeric_due(wr):
        missing = tuple(facts.gaps(wr.data, fig.code))
        if missing:
            by_units.setdefault(missing, []).append(fig)
    parts = [wr.word("quality", "gap").format(label=_labels(wr, figs), units=wr.units_or_count(list(units), "subject"))
             for units, figs in by_units.items()]
    return [wr.word("quality", "gaps").format(parts="; ".join(parts))] if parts else []


def _labels(wr: Writer, figs: list[Figure]) -> str:
    """The figures' labels joined; parts of one whole left out together are said under it once, without
    their «оның ішінде»: «рейдтерге қатысқандар саны – педагогтер, … және ата-аналар өкілдері»."""
    pieces: list[str] = []
    done: set[str] = set()
    for fig in figs:
        if fig.code in done:
            continue
        siblings = [f for f in figs if fig.of is not None and f.of == fig.of]
        if len(siblings) > 1:
            whole = wr.plan.figure_by_code[fig.of]  # type: ignore[index]
            names = wr.lang.join([wr.drop_of_prefix(wr.lower(f)) for f in siblings])
            pieces.append(wr.word("quality", "gap_parts").format(whole=wr.lower(whole), parts=names))
            done |= {f.code for f in siblings}
        else:
            pieces.append(wr.lower(fig))
            done.add(fig.code)
    return wr.lang.join_groups(pieces)


def falls(wr: Writer) -> list[str]:
    """A unit's running total lower than its earlier value, where the change paragraph has not said it."""
    data = wr.data
    previous = data.previous_date
    if previous is None or previous not in data.history:
        return []
    explained = {c for c in change.compare_codes(wr.plan)
                 if (wr.total(c) or 0.0) < (wr.total(c, previous) or 0.0)}
    lang, w = wr.lang, wr.w["change"]
    parts = []
    for fig in _numeric_due(wr):
        if fig.code in explained or fig.unit not in wr.plan.rules.monotonic_units:
            continue
        for c in facts.unit_changes(data, fig.code, previous):
            if c.new is None or c.diff >= 0:
                continue
            cause = str(w["cause_fell"]).format(unit=wr.unit(c.unit, "subject"), owner=wr.unit(c.unit, "owner"),
                                                date=lang.day(c.old_date, "as_of", year=False),
                                                old=wr.bare(fig, c.old), new=wr.bare(fig, c.new))
            parts.append(wr.word("quality", "fall").format(label=wr.lower(fig), cause=cause))
    return [wr.word("quality", "falls").format(parts="; ".join(parts))] if parts else []
