"""Changes in short sentences: since the previous reporting date, and (final report) against last year.

One sentence per compared whole, its parts in brackets («… 2 091 балаға, яғни 95,8%-ға артты (оның ішінде
… – 1 091 балаға, яғни 111,7%-ға)»). Good news and bad news stand apart: a change against the figure's
direction (a running total that fell, a rise of a `good: down` figure) gets its own sentence with its cause
when the data knows it (the unit whose value fell, before and after; a unit that gave no value; a value
rejected), or the units where it rose most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Protocol

from pipeline.aggregate import facts
from pipeline.plan.model import Figure, Plan
from pipeline.render.prose.writer import Writer

Kind = Literal["good", "bad", "none"]


class PreviousCampaign(Protocol):
    """The contract of `ReportData.previous` (pipeline/aggregate/previous.py, design note §3)."""

    name: str
    name_ru: str
    totals: dict[str, float]


def compare_codes(plan: Plan) -> list[str]:
    """The plan's `report.compare`, else its headline figures with their parts; a part always comes after
    its whole (its change is said inside the whole's sentence)."""
    codes = list(plan.report.compare) or [
        f.code for f in plan.figures if f.role == "headline" or (f.of and plan.figure_by_code[f.of].role == "headline")
    ]
    ordered: list[str] = []
    for code in codes:
        fig = plan.figure_by_code[code]
        if fig.of is not None and fig.of not in ordered:
            ordered.append(fig.of)
        if code not in ordered:
            ordered.append(code)
    return ordered


@dataclass(frozen=True)
class Move:
    fig: Figure
    old: float | None
    new: float | None

    @property
    def diff(self) -> float:
        return (self.new or 0.0) - (self.old or 0.0)


def _kind(plan: Plan, move: Move, running: bool) -> Kind:
    diff = move.diff
    if diff == 0:
        return "none"
    if diff > 0:
        return "good" if move.fig.good == "up" else "bad"
    # A running total never falls: a fall since the last date is a correction or a gap, not good news.
    if running and move.fig.unit in plan.rules.monotonic_units:
        return "bad"
    return "good" if move.fig.good == "down" else "bad"


class _Changes:
    def __init__(self, wr: Writer, since: dt.date | None) -> None:
        self.wr, self.since = wr, since
        self.w = wr.w["change"]

    def by(self, move: Move) -> str:
        wr, lang, amount = self.wr, self.wr.lang, abs(move.diff)
        if move.fig.unit == "tenge":
            return str(self.w["by_amount"]).format(value=lang.amount(amount))
        case = self.w.get("by_noun_case")
        with_noun = wr.with_noun(move.fig, amount, case) if case and case in move.fig.noun_in(lang.code) else None
        if with_noun is not None:
            return with_noun
        return str(self.w["by_count"]).format(value=lang.count(amount), ending=lang.number_ending(amount))

    def percent(self, move: Move) -> str:
        if not move.old:
            return ""
        return str(self.w["percent"]).format(value=self.wr.lang.percent_by(abs(move.diff) / abs(move.old) * 100.0))

    def phrase(self, key: str, label: str, move: Move) -> str:
        return str(self.w[key]).format(label=self.wr.before_dash(label), by=self.by(move), percent=self.percent(move))

    def causes(self, move: Move) -> str:
        """Why a figure moved against its direction, as far as the data knows (empty when it does not)."""
        if self.since is None:
            return ""
        wr, lang = self.wr, self.wr.lang
        changes = facts.unit_changes(wr.data, move.fig.code, self.since)
        if move.diff > 0:
            risen = sorted((c for c in changes if c.diff > 0), key=lambda c: -c.diff)[: int(self.w["rose_units"])]
            return ", ".join(str(self.w["rose_unit"]).format(place=wr.unit(c.unit, "place"), unit=wr.unit(c.unit, "subject"),
                                                             value=wr.bare(move.fig, c.diff)) for c in risen)
        parts = []
        for c in changes:
            if c.diff >= 0:
                continue
            names = {"unit": wr.unit(c.unit, "subject"), "owner": wr.unit(c.unit, "owner"),
                     "old": wr.bare(move.fig, c.old)}
            if c.new is None:
                parts.append(str(self.w["cause_rejected" if c.rejected else "cause_missing"]).format(**names))
            else:
                parts.append(str(self.w["cause_fell"]).format(
                    **names, date=lang.day(c.old_date, "as_of", year=False), new=wr.bare(move.fig, c.new)))
        return "; ".join(parts)

    def sentences(self, moves: list[Move], *, running: bool) -> tuple[list[str], list[str]]:
        """(good news, bad news) sentences, each without the lead."""
        wr, plan = self.wr, self.wr.plan
        good: list[str] = []
        bad: list[str] = []
        unchanged: list[str] = []
        by_code = {m.fig.code: m for m in moves}
        for move in moves:
            fig = move.fig
            if fig.of is not None and fig.of in by_code:
                continue  # said inside its whole's sentence
            if move.old is None and move.new is None:
                continue  # never given: nothing changed that anyone knows of
            kind = _kind(plan, move, running)
            if kind == "none":
                unchanged.append(wr.lower(fig))
                continue
            sentence = self.phrase("up" if move.diff > 0 else "down", wr.lower(fig), move)
            inside = []
            for part in (m for m in moves if m.fig.of == fig.code):
                part_kind = _kind(plan, part, running)
                if part_kind == "bad" and kind != "bad":
                    alone = str(self.w["part_alone"]).format(whole=wr.lower(fig), part=wr.lower(part.fig))
                    bad.append(self.explained(self.phrase("up" if part.diff > 0 else "down", alone, part), part))
                    continue
                if part.diff == 0:
                    continue
                same = (part.diff > 0) == (move.diff > 0)
                key = "part" if same else ("part_up" if part.diff > 0 else "part_down")
                # A second part drops its «оның ішінде» opening: the first one said it.
                name = wr.drop_of_prefix(wr.lower(part.fig)) if inside else wr.lower(part.fig)
                inside.append(self.phrase(key, name, part))
            if inside:
                sentence = str(self.w["parts"]).format(sentence=sentence, parts="; ".join(inside))
            if kind == "bad":
                bad.append(self.explained(sentence, move))
            else:
                good.append(sentence)
        if unchanged:
            good.append(str(self.w["none"]).format(labels=wr.lang.join(unchanged)))
        return good, bad

    def explained(self, sentence: str, move: Move) -> str:
        causes = self.causes(move)
        if not causes:
            return sentence
        key = "rose_in" if move.diff > 0 else "causes"
        return str(self.w[key]).format(sentence=sentence, causes=causes, units=causes)


def _paragraphs(wr: Writer, lead: str, good: list[str], bad: list[str], chart: str) -> list[str]:
    """Good news, then bad news, each a paragraph; the lead opens the first; the chart showing the change
    is named after the good news (a sentence of its own: brackets would pile up after the parts')."""
    lang = wr.lang
    out = []
    for group in (good, bad):
        if not group:
            continue
        first = lead + " " + lang.lower_first(group[0]) if not out else lang.upper_first(group[0])
        sentences = [first, *(lang.upper_first(s) for s in group[1:])]
        out.append(" ".join(s + "." for s in sentences))
    if out and chart:
        out[0] += " " + chart
    return out


def since_previous_date(wr: Writer) -> list[str]:
    """The change since the previous reporting date, good news and bad news in two paragraphs."""
    data = wr.data
    previous = data.previous_date
    if previous is None or previous not in data.history:
        return []
    moves = [Move(wr.plan.figure_by_code[c], wr.total(c, previous), wr.total(c)) for c in compare_codes(wr.plan)]
    changes = _Changes(wr, previous)
    good, bad = changes.sentences(moves, running=True)
    lead = str(changes.w["lead"]).format(date=wr.day(previous, "full"))
    number = wr.charts.get("change")
    chart = wr.word("report", "chart_change").format(number=number) if number else ""
    return _paragraphs(wr, lead, good, bad, chart)


def against_last_year(wr: Writer) -> list[str]:
    """The final report against last year's final, when the plan names the previous campaign (its totals
    are the units' totals, as its figures.csv holds them); nothing is said otherwise."""
    previous: PreviousCampaign | None = getattr(wr.data, "previous", None)
    if previous is None or not wr.final:
        return []
    moves = [Move(wr.plan.figure_by_code[c], facts.number(previous.totals.get(c)), facts.units_total(wr.data, c))
             for c in compare_codes(wr.plan) if facts.number(previous.totals.get(c)) is not None]
    if not moves:
        return []
    changes = _Changes(wr, None)
    good, bad = changes.sentences(moves, running=False)
    lead = str(changes.w["previous_lead"]).format(name=wr.lang.pick(previous, "name"))
    return _paragraphs(wr, lead, good, bad, "")
