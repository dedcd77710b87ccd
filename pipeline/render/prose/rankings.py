"""The units ranked, as the plan asks (`report.rankings`): by a figure, by the per-head figure, or by a
part's share of its whole; the first and the last named with their values.

«Көмек көрсетілген балалар саны бойынша алдыңғы қатарда – X облысы (30 057), …; ең төменгі
көрсеткіштер – …». Any level may ask for it: a republic ranks its regions, an oblast its districts.
"""

from __future__ import annotations

from pipeline.aggregate import facts
from pipeline.plan.model import Ranking
from pipeline.render.prose.writer import Writer


def rankings(wr: Writer) -> list[str]:
    """A paragraph per ranking of the plan that has at least two units with a value (four rankings of
    sixteen regions in one paragraph read as a wall of names)."""
    sentences = []
    for ranking in wr.plan.report.rankings:
        if ranking.by != "per_head" and not wr.due(wr.plan.figure_by_code[ranking.figure]):
            continue
        result = facts.ranked(wr.data, ranking)
        if len(result.order) < 2:
            continue
        top = _units(wr, ranking, result.top)
        key = "sentence" if result.bottom else "top_only"
        sentences.append(wr.lang.upper_first(wr.word("rankings", key).format(
            label=label(wr, ranking), top=top, bottom=_units(wr, ranking, result.bottom))))
    return sentences


def label(wr: Writer, ranking: Ranking) -> str:
    """The measure as the sentence names it: the plan's own label, else the figure's, the per-head label,
    or the part's share of its whole in the wording file's words."""
    own = wr.lang.pick(ranking, "label")
    if own:
        return str(own)
    if ranking.by == "per_head":
        head = wr.plan.report.per_head
        assert head is not None  # the plan's load refuses a per-head ranking without report.per_head
        return str(wr.lang.pick(head, "label"))
    fig = wr.plan.figure_by_code[ranking.figure]
    if ranking.by == "figure":
        return wr.label(fig)
    whole = wr.plan.figure_by_code[str(fig.of)]
    return wr.word("rankings", "share_label").format(part=wr.drop_of_prefix(wr.lower(fig)), whole=wr.label(whole))


def _units(wr: Writer, ranking: Ranking, pairs: list[tuple[str, float]]) -> str:
    return ", ".join(wr.word("rankings", "unit").format(unit=wr.unit(code, "subject"), value=_value(wr, ranking, v))
                     for code, v in pairs)


def _value(wr: Writer, ranking: Ranking, value: float) -> str:
    if ranking.by == "share":
        return wr.lang.percent(value)
    if ranking.by == "per_head":
        return wr.word("numbers", "amount_value").format(value=wr.lang.amount(value))
    return wr.value(wr.plan.figure_by_code[ranking.figure], value)
