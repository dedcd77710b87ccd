"""What every part of the report's prose shares: the data, the language, the plan's words, and the one
function that formats a sentence of the plan.

A `Writer` is made once per report and language. It knows which figures page 1 has already said
(`said`), so an item's section adds what page 1 does not and no figure of the plan falls through.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

from pipeline.aggregate import facts
from pipeline.aggregate.model import ReportData
from pipeline.plan.model import Figure, Item, Unit
from pipeline.render.language import Language
from pipeline.render.prose.charts_ref import chart_numbers

#: Placeholders of a plan sentence that are not figures (see pipeline.plan.model.SENTENCE_FIELDS).
DATE_FIELDS = ("date", "start", "end", "approved_on")


def fill(pattern: str, resolve: Callable[[str], str | None]) -> str | None:
    """The plan's sentence `pattern` with each {placeholder} replaced by `resolve(name)`; None when a
    placeholder has no value (the caller then says the figures another way, never «– балаға»)."""
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(pattern):
        out.append(literal)
        if name is None:
            continue
        value = resolve(name)
        if value is None:
            return None
        out.append(value)
    return "".join(out)


class Writer:
    def __init__(self, data: ReportData, lang: Language) -> None:
        self.data, self.lang, self.plan = data, lang, data.plan
        self.w: dict[str, Any] = lang.words
        self.final = data.date == data.plan.final_date
        #: figure codes page 1 has said with their value (an item's section does not repeat them).
        self.said: set[str] = set()
        self.charts = chart_numbers(data)
        self.whole = lang.pick(self.plan.region, "whole")
        self.together = lang.pick(self.plan.region, "units")

    # --- words ------------------------------------------------------------------------------------------
    def word(self, section: str, key: str, n: float | int | None = None) -> str:
        """A pattern of the wording file; one given by plural category (one/few/many) is chosen by `n`."""
        value = self.w[section][key]
        if isinstance(value, Mapping):
            return self.lang.plural(n, value)
        return str(value)

    def label(self, fig: Figure) -> str:
        return str(self.lang.pick(fig, "label"))

    def lower(self, fig: Figure) -> str:
        return self.lang.lower_first(self.label(fig))

    def before_dash(self, label: str) -> str:
        """A label followed by «– value». Russian closes a participial clause before the dash
        («дети, получившие помощь, – 4 274»); the wording file says whether its language does."""
        if self.w["items"].get("comma_closes_clause") and "," in label and not label.endswith(","):
            return label + ","
        return label

    def drop_of_prefix(self, label: str) -> str:
        for prefix in self.w["items"].get("of_prefixes", []):
            if label.startswith(prefix):
                return label[len(prefix):]
        return label

    def status_label(self, code: str | None) -> str:
        if code is None or code not in self.plan.status_by_code:
            return str(self.w["items"]["no_status"])
        return str(self.lang.pick(self.plan.status_by_code[code], "label"))

    def chart(self, anchor: str) -> str:
        """« (1-сурет)» when a chart illustrates this part of the prose, else ""."""
        number = self.charts.get(anchor)
        return "" if number is None else " (" + self.word("report", "chart").format(number=number) + ")"

    @staticmethod
    def with_chart(sentence: str, ref: str) -> str:
        """The chart reference before the sentence's full stop."""
        if not ref:
            return sentence
        return sentence[:-1] + ref + "." if sentence.endswith(".") else sentence + ref

    def department_name(self) -> str:
        return self.lang.lower_first(str(self.lang.pick(self.plan.department, "name")))

    # --- dates ------------------------------------------------------------------------------------------
    def day(self, date: dt.date, role: str, *, year: bool = True) -> str:
        return self.lang.day(date, role, year=year)  # type: ignore[arg-type]

    def deadline(self, item: Item) -> str:
        """The item's deadline in the plan's words (never more precise than the plan): Kazakh `deadline`,
        Russian `deadline_ru`, else the `due` date when the Kazakh text names its day, else its month."""
        if self.lang.code == "kk":
            return item.deadline
        if item.deadline_ru:
            return item.deadline_ru
        if item.due is not None:
            if str(item.due.day) in item.deadline.split():
                return self.day(item.due, "full")
            month = self.lang.locale.months["stand-alone"]["wide"][item.due.month]
            return self.word("dates", "month_year").format(month=month, year=item.due.year)
        return self.word("dates", "as_planned")

    def item_name(self, item: Item) -> str:
        """The item's few words («ведомствоаралық комиссияны құру»), else its title."""
        short = self.lang.pick(item, "short")
        return self.lang.lower_first(str(short or self.lang.pick(item, "title")))

    # --- units ------------------------------------------------------------------------------------------
    def unit_noun(self, case: str) -> dict[str, str]:
        forms = self.lang.pick(self.plan.region, "unit_noun")
        return dict(forms.get(case) or forms["subject"])

    def count_units(self, n: int, case: str = "place") -> str:
        """«9 әкімдікте», «11 әкімдік» / «в 9 акиматах» (the preposition is the pattern's)."""
        return self.lang.counted_with(n, self.unit_noun(case))

    def all_units_place(self) -> str:
        """The unit noun after «барлық» / «во всех»: its plural place form."""
        return self.lang.plural(5, self.unit_noun("place"))

    def in_order(self, codes: Iterable[str]) -> list[Unit]:
        """The units of `codes` in plan order. Through a position index: the text names units one at a
        time thousands of times, and a pass over every unit per call was quadratic at national scale."""
        position = self._position
        found = sorted({position[c] for c in codes if c in position})
        units = self.plan.units
        return [units[i] for i in found]

    @cached_property
    def _position(self) -> dict[str, int]:
        return {u.code: i for i, u in enumerate(self.plan.units)}

    def units(self, codes: Iterable[str], role: str, notes: Mapping[str, str] | None = None) -> str:
        """Units named in the case of their role; a plan without the case form counts them instead
        («2 акиматах (г. Алау и …)»)."""
        units = self.in_order(codes)
        noun = self.unit_noun("place" if role == "place" else "subject")
        return self.lang.units(units, role, notes=notes, noun=noun)  # type: ignore[arg-type]

    def unit(self, code: str, role: str) -> str:
        return self.units([code], role)

    def units_or_count(self, codes: list[str], role: str, notes: Mapping[str, str] | None = None) -> str:
        """Named when few (the wording file's `max_named`), counted otherwise."""
        if len(codes) <= int(self.w["items"]["max_named"]) or notes:
            return self.units(codes, role, notes)
        return self.count_units(len(codes), "place" if role == "place" else "subject")

    def note(self, comment: object) -> str | None:
        """A unit's comment as a note beside its name, when written in this copy's language (a Kazakh one
        is not quoted in the Russian copy, nor a Russian one in the Kazakh copy)."""
        text = facts.status_code(comment)
        text = text.strip().rstrip(".") if text else ""
        if not text or not self.lang.can_quote(text):
            return None
        return self.word("items", "note").format(comment=text)

    # --- values -----------------------------------------------------------------------------------------
    def total(self, code: str, date: dt.date | None = None) -> float | None:
        return facts.whole_total(self.data, code, date)

    def bare(self, fig: Figure, value: float | None) -> str:
        """«5 104», amounts in thousands «40 338,5»."""
        return self.lang.amount(value) if fig.unit == "tenge" else self.lang.count(value)

    def value(self, fig: Figure, value: float | None) -> str:
        """A value after a dash: «5 104», «40 338,5 мың теңге», «мәлімет жоқ»."""
        if value is None:
            return str(self.w["numbers"]["no_data"])
        if fig.unit == "tenge":
            return self.word("numbers", "amount_value").format(value=self.lang.amount(value))
        return self.lang.count(value)

    def with_noun(self, fig: Figure, value: float | None, case: str) -> str | None:
        """«5 104 балаға» from the figure's noun in the plan; None when it has no such case."""
        forms = fig.noun_in(self.lang.code).get(case)
        if value is None:
            return None
        if not forms:
            return self.bare(fig, value)
        return self.lang.counted_with(value, forms)

    def in_kind(self) -> tuple[str | None, list[str]]:
        """«1 747 мектеп сөмкесі, … және 1 216 жиынтық кеңсе тауары» and the figures it says."""
        parts, codes = [], []
        for fig in self.plan.figures:
            if fig.role != "in_kind" or not self.plan.item_of_figure[fig.code].due_by(self.data.date):
                continue
            text = self.with_noun(fig, self.total(fig.code), "nominative")
            if text is not None:
                parts.append(text)
                codes.append(fig.code)
        return (self.lang.join(parts) if parts else None), codes

    def fill(self, pattern: str, extra: Mapping[str, str] | None = None) -> tuple[str | None, set[str]]:
        """A plan sentence with its placeholders: a figure's code → its whole total («5 104», «40 338,5»);
        `{code.case}` → the total with the figure's noun in that case (CLDR plural via Babel); {in_kind};
        {date} (as of), {start} (since), {end} (until), {approved_on} (on); plus `extra` (yes/no sentences:
        {count}, {units}). Returns the sentence (None when a value is missing) and the figures it says."""
        used: set[str] = set()
        campaign = self.plan.campaign
        dates = {"date": self.day(self.data.date, "as_of"), "start": self.day(campaign.starts, "since", year=False),
                 "end": self.day(campaign.ends, "until", year=False), "approved_on": self.day(campaign.approved_on, "on")}

        def resolve(name: str) -> str | None:
            if extra is not None and name in extra:
                return extra[name]
            if name in dates:
                return dates[name]
            if name == "in_kind":
                text, codes = self.in_kind()
                used.update(codes)
                return text
            code, _, case = name.partition(".")
            fig = self.plan.figure_by_code.get(code)
            if fig is None:
                return None
            value = self.total(code)
            used.add(code)
            return self.with_noun(fig, value, case) if case else (None if value is None else self.bare(fig, value))

        return fill(pattern, resolve), used

    def figures_text(self, figures: list[Figure], values: Callable[[Figure], float | None]) -> str:
        """«аралап шығылған үйлер саны – 15 685; … – 148, оның ішінде … – 110»: "of which" joins its whole;
        a second part of the same whole drops its «оның ішінде» opening."""
        pieces: list[str] = []
        parent: str | None = None
        siblings = 0
        for fig in figures:
            label = self.lower(fig)
            joins = fig.of is not None and fig.of == parent and bool(pieces)
            if joins and siblings:
                label = self.drop_of_prefix(label)
            text = self.word("items", "figure").format(label=self.before_dash(label), value=self.value(fig, values(fig)))
            if joins:
                pieces[-1] += ", " + text
                siblings += 1
            else:
                pieces.append(text)
                parent = fig.code if fig.of is None else None
                siblings = 0
        return "; ".join(pieces)

    def due(self, fig: Figure) -> bool:
        return self.plan.item_of_figure[fig.code].due_by(self.data.date)
