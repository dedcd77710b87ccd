"""Page 1: the campaign and its results in the plan's own sentences, money by source, help per head, the
units ranked (when the plan asks), the change since the previous date and, in the final, against last year."""

from __future__ import annotations

from pipeline.aggregate import facts
from pipeline.render.prose import change
from pipeline.render.prose.rankings import rankings
from pipeline.render.prose.writer import Writer


def summary(wr: Writer) -> list[str]:
    paragraphs = [intro(wr)]
    results = results_paragraph(wr)
    if results:
        paragraphs.append(results)
    money = [s for s in (*by_source(wr), per_head(wr)) if s]
    if money:
        paragraphs.append(" ".join(money))
    paragraphs += rankings(wr)
    paragraphs += change.since_previous_date(wr)
    paragraphs += change.against_last_year(wr)
    return paragraphs


def intro(wr: Writer) -> str:
    lang, campaign = wr.lang, wr.plan.campaign
    key = "intro_running" if wr.data.date < campaign.ends else "intro_ended"
    text = wr.word("report", key).format(
        where=lang.upper_first(wr.whole.locative), campaign=lang.pick(campaign, "name"),
        start=wr.day(campaign.starts, "since", year=False), end=wr.day(campaign.ends, "until", year=False))
    if wr.final:
        text += " " + wr.word("report", "intro_final_note")
    return text


def results_paragraph(wr: Writer) -> str:
    """The plan's `report.summary` sentences of this report (interim or final); a sentence whose figure
    has no value is left out and its figures are said in their item's section. A plan without summary
    sentences: its headline figures, plainly."""
    sentences = []
    for sentence in wr.plan.report.summary:
        if not sentence.said_on(wr.final):
            continue
        text, used = wr.fill(sentence.kk if wr.lang.code == "kk" else sentence.ru)
        if text is None:
            continue
        sentences.append(wr.lang.upper_first(text))
        wr.said |= used
    if not sentences:
        headline = [f for f in wr.plan.figures if f.role == "headline" and wr.due(f)]
        if not headline:
            return ""
        figures = wr.figures_text(headline, lambda f: wr.total(f.code))
        sentences.append(wr.word("report", "plain").format(whole=wr.lang.upper_first(wr.whole.by), figures=figures))
        wr.said |= {f.code for f in headline}
    sentences[0] = wr.with_chart(sentences[0], wr.chart("results"))
    return " ".join(sentences)


def by_source(wr: Writer) -> list[str]:
    """An amount of the headline whose parts are its sources, with what no source covers: «… былай
    бөлінеді: демеушілер … – 68 701,0 мың теңге (48,3%), …, қаржы көзі көрсетілмеген – 44 144,0 мың теңге
    (31,1%)»."""
    out = []
    for fig in wr.plan.figures:
        parts = facts.parts_of(wr.plan, fig.code)
        if fig.unit != "tenge" or fig.role != "headline" or fig.remainder is None or not parts or not wr.due(fig):
            continue
        whole = wr.total(fig.code)
        rest = facts.remainder(wr.data, fig)
        if not whole or rest is None or rest.whole is None:
            continue
        pieces = []
        for label, value in [*((wr.drop_of_prefix(wr.lower(p)), wr.total(p.code)) for p in parts),
                             (wr.lang.pick(fig.remainder, "label"), rest.whole)]:
            if value is None:
                continue
            pieces.append(wr.word("report", "by_source_part").format(
                label=wr.before_dash(label), value=wr.value(fig, value), share=wr.lang.percent(value / whole * 100.0)))
        out.append(wr.word("report", "by_source").format(label=wr.label(fig), parts=", ".join(pieces)))
        wr.said |= {fig.code, *(p.code for p in parts)}
    return out


def per_head(wr: Writer) -> str:
    """The plan's `report.per_head` for the whole, with the units lowest and highest."""
    head = wr.plan.report.per_head
    values = facts.per_head(wr.data)
    if head is None or values is None or values.whole is None:
        return ""
    lang = wr.lang
    label = lang.pick(head, "label")
    low, high = values.lowest(), values.highest()
    # A ranking by the per-head figure names the highest and lowest units itself.
    ranked = any(r.by == "per_head" for r in wr.plan.report.rankings)
    if ranked or low is None or high is None or low[1] == high[1]:
        return wr.word("report", "per_head_whole").format(label=label, whole=wr.whole.by, value=lang.amount(values.whole))
    return wr.word("report", "per_head").format(
        label=label, whole=wr.whole.by, value=lang.amount(values.whole),
        low=wr.unit(low[0], "place"), low_value=lang.amount(low[1]),
        high=wr.unit(high[0], "place"), high_value=lang.amount(high[1]))
