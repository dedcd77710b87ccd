"""The campaign plan as typed, immutable objects (frozen dataclasses, built by `pipeline.plan.schema`).

Every model forbids unknown keys, so a typo in the plan file stops the run with the key named instead of
being silently ignored. Cross-references (an "of which" parent, a rule's figures) are checked once the
whole plan is known, in `Plan._check` (`_check_references`).
"""

from __future__ import annotations

import datetime as dt
import re
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

FIGURE_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
ITEM_CODE = re.compile(r"^(I|II|III|IV|V)\.[1-9][0-9]?$")

FigureUnit = Literal["count", "tenge", "yesno", "text"]
#: headline: a main result of the campaign (page 1, the change since the last date, charts, the
#: whole-campaign table, last year, rankings); in_kind: a thing given, listed by `{in_kind}` with its noun;
#: honour: a text figure naming whom to honour, listed in the final report.
FigureRole = Literal["headline", "in_kind", "honour"]
#: What an oblast total does with a unit whose value is missing or rejected at a date: `carry` takes the
#: unit's last valid value from an earlier date (marked as carried), `gap` leaves the unit out (named).
WhenMissing = Literal["carry", "gap"]
Reporter = Literal["units", "department"]
DateKind = Literal["interim", "final"]

#: Header fields of the district form. Their codes stand in the form like figure codes, so a reader finds
#: them the same way (by code, whatever the layout).
HEADER_FIELDS: tuple[str, ...] = ("unit", "report_date", "executor", "phone", "filled_date")


class PlanRuleError(ValueError):
    """A rule of the plan broken. `code` names its message in messages.yaml (`plan_check:`, Kazakh and
    Russian), `path` the key it is about (relative to the model that checks it; "" = the model itself),
    `params` the values the message shows; str() is the English sentence for logs and tests."""

    def __init__(self, code: str, english: str, *, path: str = "", **params: object) -> None:
        super().__init__(english)
        self.code = code
        self.path = path
        self.params = {k: str(v) for k, v in params.items()}


@dataclass(frozen=True)
class _Model:
    """Frozen: a plan is shared by every stage and never changes under them."""

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        """A copy with some fields replaced (derived views are computed afresh)."""
        return dataclasses.replace(self, **(update or {}))


@dataclass(frozen=True)
class Campaign(_Model):
    code: str
    year: int
    form_version: int
    name: str
    name_genitive: str
    slogan: str
    starts: dt.date
    ends: dt.date
    approved_by: str
    approved_on: dt.date
    # Hours from UTC of the campaign's office: a deadline ends at midnight there, "today" is its today.
    utc_offset: float
    # How the portal, the forms and reminders name that clock («… уақыты») and the reporting rhythm
    # («10 күн сайын»), in each language.
    clock: str
    clock_ru: str
    rhythm: str
    rhythm_ru: str
    # Russian copy of the report: the campaign's name in the genitive («… акции «Дорога в школу – 2017»»).
    name_ru: str = ""
    name_genitive_ru: str = ""

    def _check(self) -> None:
        if not -12 <= self.utc_offset <= 14:
            raise PlanRuleError("plan-utc-offset", f"{self.utc_offset} is not an offset from UTC in hours (-12..14)",
                                path="utc_offset", value=self.utc_offset)


@dataclass(frozen=True)
class ReportingDate(_Model):
    date: dt.date
    kind: DateKind


@dataclass(frozen=True)
class Addressee(_Model):
    lines: tuple[str, ...]
    name_dative: str
    lines_ru: tuple[str, ...] = ()
    name_dative_ru: str = ""


@dataclass(frozen=True)
class Signatory(_Model):
    position_lines: tuple[str, ...]
    name: str
    position_lines_ru: tuple[str, ...] = ()
    name_ru: str = ""


@dataclass(frozen=True)
class Executor(_Model):
    name: str
    phone: str
    name_ru: str = ""


@dataclass(frozen=True)
class Department(_Model):
    code: str
    name: str
    name_ru: str
    # The department as the forms and messages address it («облыстық білім басқармасына»: send the form
    # to …). Optional for old plans; `pipeline plan check` asks for it.
    name_dative: str = ""
    # The department in a narrow column or a link back to its page (the portal's grid): «Басқарма»,
    # «Министрлік». Optional: without it the portal's own word (portal.yaml `department_short`).
    short: str = ""
    short_ru: str = ""


@dataclass(frozen=True)
class Status(_Model):
    code: str
    label: str
    label_ru: str


@dataclass(frozen=True)
class YesNoValue(_Model):
    label: str
    aliases: tuple[str, ...]

    @staticmethod
    def _as_text(value: object) -> object:
        # YAML reads bare 1/0/true as numbers and booleans; aliases are compared as text.
        if isinstance(value, list):
            return [str(v).lower() for v in value]
        return value

    _before = {"aliases": _as_text}


@dataclass(frozen=True)
class YesNo(_Model):
    yes: YesNoValue
    no: YesNoValue


#: A noun as the report puts it after a number: case → CLDR plural category (one, few, many, other) → form.
#: Kazakh nouns do not change after a number, so a plan may give a case as one string; it is read as
#: {"other": …}. "other" is always present (filled from "many" when a plan gives only one/few/many).
Noun = dict[str, dict[str, str]]
CLDR_CATEGORIES = ("zero", "one", "two", "few", "many", "other")


def _noun(value: object) -> object:
    if not isinstance(value, dict):
        return value
    out: dict[object, object] = {}
    for case, forms in value.items():
        if isinstance(forms, str):
            out[case] = {"other": forms}
        elif isinstance(forms, dict):
            unknown = [k for k in forms if k not in CLDR_CATEGORIES]
            if unknown:
                raise PlanRuleError("plan-noun-category",
                                    f"{case}: {unknown[0]!r} is not a plural category ({', '.join(CLDR_CATEGORIES)})",
                                    case=case, category=unknown[0], categories=", ".join(CLDR_CATEGORIES))
            filled = dict(forms)
            if "other" not in filled and "many" in filled:
                filled["other"] = filled["many"]
            if "other" not in filled:
                raise PlanRuleError("plan-noun-other", f"{case}: the form for 'other' (or 'many') is missing", case=case)
            out[case] = filled
        else:
            out[case] = forms
    return out


@dataclass(frozen=True)
class Sentence(_Model):
    """One sentence pattern of the report in both languages. Placeholders in {braces}: a figure's code
    gives its total as formatted for its unit («5 104», «40 338,5»); `{code.case}` the total with the
    figure's noun in that case («5 104 балаға» / «5 104 детям»); `{in_kind}` the list of things given in
    kind; `{date}`, `{start}`, `{end}`, `{approved_on}` the report date and the campaign's dates."""

    kk: str
    ru: str
    # Which reports say it: every one, the interim ones only, or the final one only.
    when: Literal["always", "interim", "final"] = "always"

    def said_on(self, final: bool) -> bool:
        return self.when == "always" or (self.when == "final") == final


@dataclass(frozen=True)
class Whole(_Model):
    """The territory as a whole in running text: «облыста» / «в области» (locative), «облыс бойынша» /
    «по области» (by), «Облыс бойынша барлығы» / «Итого по области» (the total row)."""

    locative: str
    by: str
    total: str


@dataclass(frozen=True)
class UnitsTogether(_Model):
    """All reporting units together, as headings name them: «аудандар мен … қаласы(ның)» / «районы и
    г. …», «районов и г. …», «районами и г. …»; `header`: a table's unit column."""

    nominative: str
    genitive: str
    header: str
    instrumental: str = ""


@dataclass(frozen=True)
class Region(_Model):
    """The territory the report covers and the words that name it and its units (no code names a place)."""

    name: str
    name_ru: str
    whole: Whole
    whole_ru: Whole
    units: UnitsTogether
    units_ru: UnitsTogether
    # One reporting unit's body, counted: «12 әкімдік» (subject), «12 әкімдікте» (place).
    unit_noun: Noun
    unit_noun_ru: Noun
    # The form's row naming the reporting unit («Облыс (қала)» for regions). Optional: without it the
    # form's own label (form_text.yaml `header_labels`, «Аудан (қала)»).
    unit_label: str = ""

    _before = {"unit_noun": _noun, "unit_noun_ru": _noun}

    def _check(self) -> None:
        for name in ("unit_noun", "unit_noun_ru"):
            missing = {"subject", "place"} - set(getattr(self, name))
            if missing:
                case = sorted(missing)[0]
                raise PlanRuleError("plan-unit-noun-case", f"the case {case!r} is missing (subject and place are needed)",
                                    path=name, case=case)


@dataclass(frozen=True)
class YesNoSentences(_Model):
    """How the report says a yes/no figure. Units' answers: `all` (every unit yes), `some` ({count}: «10
    әкімдікте»), `not_yet` ({units}: the units that answered no, in the place case); the department's own
    answer: `yes` / `no` ({approved_on}: the plan's approval date)."""

    all: str = ""
    some: str = ""
    not_yet: str = ""
    yes: str = ""
    no: str = ""


@dataclass(frozen=True)
class Remainder(_Model):
    """A whole minus its parts, said in words: «мектепке әлі қайтарылмаған балалар» (found − returned).
    `attention`: the remainder belongs among the matters that need the reader's attention."""

    label: str
    label_ru: str
    attention: bool = False


@dataclass(frozen=True)
class UnitCases(_Model):
    genitive: str
    dative: str
    locative: str
    ablative: str


@dataclass(frozen=True)
class UnitCasesRu(_Model):
    """A unit's Russian name in the cases the Russian copy needs («Зеленовского района», «Зеленовскому
    району», «Зеленовском районе»; «г. Уральска» …). Several districts share one plural noun («в Зеленовском
    и Сырымском районах»): the wording file's singular noun is taken off each form to get the adjective."""

    genitive: str
    dative: str
    locative: str


#: What a reporting unit is: a district or a city of an oblast, an oblast of the republic (a city of
#: republican significance is a `city`). Units of one kind share a plural noun in lists («X және Y
#: аудандарында», «X және Y облыстарында»: the wording files' `lists.plural`).
UnitKind = Literal["city", "district", "oblast"]


@dataclass(frozen=True)
class Unit(_Model):
    code: str
    name: str
    short: str
    name_ru: str
    kind: UnitKind
    cases: UnitCases
    aliases: tuple[str, ...] = ()
    # Optional: without it the Russian copy names the unit in the nominative («в 2 акиматах (…)»).
    cases_ru: UnitCasesRu | None = None


@dataclass(frozen=True)
class Figure(_Model):
    code: str
    label: str
    unit: FigureUnit
    of: str | None = None
    key: bool = False
    required: bool = False
    label_ru: str = ""
    # None: the plan's `totals.when_missing`.
    when_missing: WhenMissing | None = None
    # The annex's column header when the label is too long for a narrow column.
    short: str = ""
    short_ru: str = ""
    # What the figure does in the report beyond its item's section (see FigureRole).
    role: FigureRole | None = None
    # Which way is good news: a rise of `down` figures (children out of school) is never told as an
    # achievement.
    good: Literal["up", "down"] = "up"
    # The noun said after the figure's number, by case (see Noun): needed by `{code.case}` placeholders
    # and by in-kind figures.
    noun: Noun = field(default_factory=dict)
    noun_ru: Noun = field(default_factory=dict)
    # A yes/no figure's sentences (required for yes/no figures; `pipeline plan check` says so).
    sentences: YesNoSentences | None = None
    sentences_ru: YesNoSentences | None = None
    # A whole whose parts do not cover it: what the rest is called (e.g. calls not yet resolved).
    remainder: Remainder | None = None
    # What one district usually reaches by the final date, [low, high] (a count, or tenge): only for sample
    # forms (`make demo`), where the figure's structure alone cannot tell (visits run in thousands, talk
    # shows in ones). Without it samples draw from the figure's role, parts and unit.
    typical: tuple[float, float] | None = None

    @staticmethod
    def _code_shape(value: object) -> object:
        if isinstance(value, str) and not FIGURE_CODE.match(value):
            raise PlanRuleError("plan-figure-code", f"figure code {value!r} must be lower_snake_case", value=value)
        return value

    _before = {"code": _code_shape, "noun": _noun, "noun_ru": _noun}

    def noun_in(self, language: str) -> Noun:
        return self.noun_ru if language == "ru" else self.noun

    @property
    def numeric(self) -> bool:
        return self.unit in ("count", "tenge", "yesno")


@dataclass(frozen=True)
class Item(_Model):
    code: str
    title: str
    deadline: str
    completion_form: str
    responsible: str
    reported_by: tuple[Reporter, ...]
    figures: tuple[Figure, ...] = ()
    due_from: dt.date | None = None
    # The deadline as a date (`deadline` is the plan's wording): after it, an item not done is overdue.
    due: dt.date | None = None
    title_ru: str = ""
    # How the item's section says its figures (any figure not in a sentence is still said, plainly).
    sentences: tuple[Sentence, ...] = ()
    # The item about reporting itself (the units' reporting calendar): its section states timeliness.
    about_reporting: bool = False
    # The deadline in Russian (the Russian copy says `deadline` in words no more precise than the plan's;
    # without it, the `due` date or its month is said).
    deadline_ru: str = ""
    # A few words naming the item where its title is too long (page 1, the final's list of overdue items).
    short: str = ""
    short_ru: str = ""

    @staticmethod
    def _code_shape(value: object) -> object:
        if isinstance(value, str) and not ITEM_CODE.match(value):
            raise PlanRuleError("plan-item-code", f"item code {value!r} must look like III.2 or IV.10", value=value)
        return value

    _before = {"code": _code_shape}

    @property
    def status_code(self) -> str:
        return f"{self.code}.status"

    @property
    def comment_code(self) -> str:
        return f"{self.code}.comment"

    @property
    def number(self) -> str:
        return self.code.split(".", 1)[1]

    def due_by(self, date: dt.date) -> bool:
        """Whether the item can be expected to be under way on `date` (honouring sponsors falls in October)."""
        return self.due_from is None or date >= self.due_from

    def overdue_at(self, date: dt.date) -> bool:
        """Whether the item's deadline has passed on `date` (whoever has not done it is late)."""
        return self.due is not None and date > self.due


@dataclass(frozen=True)
class Section(_Model):
    code: str
    title: str
    items: tuple[Item, ...]
    title_ru: str = ""


@dataclass(frozen=True)
class Totals(_Model):
    """How oblast totals treat a unit with no valid value for a figure at a date (see `WhenMissing`)."""

    when_missing: WhenMissing = "carry"


@dataclass(frozen=True)
class Ratio(_Model):
    code: str
    numerator: str
    denominator: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Rules(_Model):
    monotonic_units: tuple[FigureUnit, ...] = ("count", "tenge")
    paired: tuple[tuple[str, str], ...] = ()
    ratios: tuple[Ratio, ...] = ()
    max_values: dict[str, float] = field(default_factory=dict)
    outlier_factor: float = 5.0
    #: Above these a figure's value is no one's meaning (a stuck key, a count typed as hundreds of digits):
    #: `value-out-of-range`, an error, so it never reaches a total. Per unit of measure.
    impossible_above: dict[str, float] = field(default_factory=lambda: {"count": 100_000_000.0,
                                                                        "tenge": 1_000_000_000_000.0})
    #: A fill date more than this many days before the campaign starts or after it ends is a typo
    #: (`filled-date-implausible`): not trusted to order corrections or to judge timeliness.
    filled_days_before_start: int = 60
    filled_days_after_end: int = 92


@dataclass(frozen=True)
class Limits(_Model):
    max_file_bytes: int = 20_000_000
    max_cells: int = 200_000
    reader_seconds: float = 10.0
    reader_memory_mb: int = 1024


@dataclass(frozen=True)
class PerHead(_Model):
    """An amount per counted person the report states for the whole and each unit (help per child):
    numerator (tenge) ÷ denominator (count), shown in thousands of tenge."""

    numerator: str
    denominator: str
    label: str
    label_ru: str
    short: str = ""
    short_ru: str = ""


#: What a ranking orders the units by: a figure's value, the plan's per-head figure (`report.per_head`), or
#: a part's share of its whole (an "of which" figure divided by its `of`).
RankingBy = Literal["figure", "per_head", "share"]


@dataclass(frozen=True)
class Ranking(_Model):
    """The units ranked by one measure, the first `top` and the last `bottom` named with their values
    («Көмек көрсетілген балалар саны бойынша алдыңғы қатарда: …; ең төменгі көрсеткіш: …»). Units with no
    value are left out; equal values keep the plan's order."""

    by: RankingBy
    # The figure (`figure`) or the part (`share`); empty for `per_head`.
    figure: str = ""
    top: int = 3
    bottom: int = 0
    # How the measure is named in the sentence; default: the figure's label, the per-head label, or
    # «{part}: {whole} ішіндегі үлесі» from the wording file.
    label: str = ""
    label_ru: str = ""


@dataclass(frozen=True)
class ReportPlan(_Model):
    """What the consolidated report says on its first page, in the plan's own words."""

    # The results paragraph(s), sentence by sentence.
    summary: tuple[Sentence, ...] = ()
    # Figures compared with the previous reporting date and over the campaign (default: the headline
    # figures and their parts).
    compare: tuple[str, ...] = ()
    per_head: PerHead | None = None
    # The units ranked (page 1, after the results): any level may ask for it.
    rankings: tuple[Ranking, ...] = ()


@dataclass(frozen=True)
class Previous(_Model):
    """The previous campaign, for the final report's comparison. Its final figures come from its
    figures.csv (a path relative to this plan file) or are given here (as published), or both (the file
    wins for what it holds)."""

    name: str
    name_ru: str
    figures_csv: str = ""
    # figure code → the previous final's total; unit code → figure code → value.
    totals: dict[str, float] = field(default_factory=dict)
    units: dict[str, dict[str, float]] = field(default_factory=dict)
    # Codes the previous campaign's figures.csv spells otherwise: its code → this plan's (a renamed
    # figure, a renamed unit). Figures of the file this plan no longer has are left out.
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceStatuses(_Model):
    """The status an exported form gives each item of this plan, by the kind of the source's report: its
    interim reports say the work is under way, its final that it is done (status codes; empty: left blank)."""

    interim: str = ""
    final: str = ""


@dataclass(frozen=True)
class Source(_Model):
    """A lower level's campaign whose published reports feed this plan's forms (`python -m pipeline
    export`): an oblast's campaign feeding the republic's. Its reports are found by its campaign code; the
    unit they fill is the one whose name (or alias) is the source plan's `region.name`."""

    # The source campaign's `campaign.code`.
    campaign: str
    # This plan's figure → the source plan's figure whose whole it takes (the oblast's total).
    figures: dict[str, str]
    # This plan's figures the source does not collect: left empty in the exported form, and named.
    not_collected: tuple[str, ...] = ()
    # The source's plan file, relative to this plan file (optional): `plan check` checks the mapping
    # against it, `make demo` runs its demo and exports it.
    plan: str = ""
    statuses: SourceStatuses = SourceStatuses()


@dataclass(frozen=True)
class Plan(_Model):
    campaign: Campaign
    reporting_dates: tuple[ReportingDate, ...]
    addressee: Addressee
    signatory: Signatory
    executor: Executor
    department: Department
    statuses: tuple[Status, ...]
    yes_no: YesNo
    units: tuple[Unit, ...]
    sections: tuple[Section, ...]
    region: Region
    report: ReportPlan = ReportPlan()
    previous: Previous | None = None
    rules: Rules = Rules()
    limits: Limits = Limits()
    totals: Totals = Totals()
    # Lower levels whose reports feed this plan's forms (see Source): the republic's plan names the oblasts'.
    sources: tuple[Source, ...] = ()

    def _check(self) -> None:
        self._check_references()

    def _check_references(self) -> Plan:
        _unique("units", [u.code for u in self.units] + [self.department.code, "oblast"])
        _unique("sections[].items", [i.code for i in self.items])
        _unique("sections[].items[].figures", [f.code for f in self.figures])
        _unique("statuses", [s.code for s in self.statuses])
        _unique("reporting_dates", [d.date.isoformat() for d in self.reporting_dates])
        dates = [d.date for d in self.reporting_dates]
        for n, (a, b) in enumerate(zip(dates, dates[1:])):
            if b < a:
                raise PlanRuleError("plan-dates-order", f"dates must be in calendar order ({b} after {a})",
                                    path=f"reporting_dates[{n + 1}].date", date=b, before=a)
        finals = sum(1 for d in self.reporting_dates if d.kind == "final")
        if finals != 1:
            raise PlanRuleError("plan-one-final", f"exactly one date must be of kind 'final' (found {finals})",
                                path="reporting_dates", count=finals)
        if self.reporting_dates[-1].kind != "final":
            raise PlanRuleError("plan-final-last", "the final date must be the last one",
                                path=f"reporting_dates[{len(dates) - 1}].kind")
        for n, d in enumerate(dates):
            if not self.campaign.starts <= d <= self.campaign.ends:
                raise PlanRuleError("plan-date-outside", f"{d} lies outside campaign.starts..campaign.ends",
                                    path=f"reporting_dates[{n}].date", date=d, starts=self.campaign.starts,
                                    ends=self.campaign.ends)
        figures = {f.code: f for f in self.figures}
        for item in self.items:
            for fig in item.figures:
                if fig.of is None:
                    continue
                where = f"{self.figure_path(fig.code)}.of"
                parent = figures.get(fig.of)
                if parent is None:
                    raise PlanRuleError("plan-part-unknown", f"unknown parent figure {fig.of!r}", path=where,
                                        figure=fig.code, parent=fig.of)
                if parent.unit != fig.unit:
                    raise PlanRuleError("plan-part-unit", f"parent {fig.of!r} has another unit", path=where,
                                        figure=fig.code, parent=fig.of, unit=fig.unit, parent_unit=parent.unit)
                if parent.of is not None:
                    raise PlanRuleError("plan-part-of-part", f"parent {fig.of!r} is itself an 'of which'",
                                        path=where, figure=fig.code, parent=fig.of, whole=parent.of)
        for n, pair in enumerate(self.rules.paired):
            for code in pair:
                _known_figure(f"rules.paired[{n}]", code, figures)
        for ratio in self.rules.ratios:
            for code in (ratio.numerator, ratio.denominator):
                _known_figure(f"rules.ratios[{ratio.code}]", code, figures)
        for code in self.rules.max_values:
            _known_figure(f"rules.max_values.{code}", code, figures)
        self._check_report(figures)
        self._check_sources(figures)
        return self

    def _check_report(self, figures: dict[str, Figure]) -> None:
        """What the report says must name figures that exist, in a form they have: a sentence naming a
        renamed figure would otherwise drop it silently."""
        for n, code in enumerate(self.report.compare):
            if code not in figures or figures[code].unit not in ("count", "tenge"):
                raise PlanRuleError("plan-compare-figure", f"{code!r} is not a count or amount figure",
                                    path=f"report.compare[{n}]", figure=code)
        head = self.report.per_head
        if head is not None:
            for key, code, unit in (("numerator", head.numerator, "tenge"), ("denominator", head.denominator, "count")):
                if code not in figures or figures[code].unit != unit:
                    raise PlanRuleError("plan-per-head", f"{code!r} is not a figure of unit {unit!r}",
                                        path=f"report.per_head.{key}", figure=code, unit=unit)
        self._check_rankings(figures)
        for n, sentence in enumerate(self.report.summary):
            _check_sentence(f"report.summary[{n}]", sentence, figures)
        for item in self.items:
            for n, sentence in enumerate(item.sentences):
                _check_sentence(f"{self.item_path(item.code)}.sentences[{n}]", sentence, figures)
        about = [item.code for item in self.items if item.about_reporting]
        if len(about) > 1:
            raise PlanRuleError("plan-about-reporting-twice", "only one item can be about reporting",
                                path=f"{self.item_path(about[1])}.about_reporting", items=", ".join(about))
        for fig in self.figures:
            where = self.figure_path(fig.code)
            if fig.role == "in_kind":
                for language in ("kk", "ru"):
                    if "nominative" not in fig.noun_in(language):
                        suffix = "_ru" if language == "ru" else ""
                        raise PlanRuleError("plan-in-kind-noun", "an in-kind figure needs its nominative noun",
                                            path=f"{where}.noun{suffix}", figure=fig.code)
            for suffix in ("", "_ru"):
                said = getattr(fig, "sentences" + suffix)
                if said is None:
                    continue
                if fig.unit != "yesno":
                    raise PlanRuleError("plan-sentences-not-yesno", "only a yes/no figure has sentences",
                                        path=f"{where}.sentences{suffix}", figure=fig.code)
                for key in ("all", "some", "not_yet", "yes", "no"):
                    for name in sentence_fields(getattr(said, key), f"{where}.sentences{suffix}.{key}"):
                        if name not in YESNO_FIELDS:
                            raise PlanRuleError("plan-yesno-placeholder", f"unknown placeholder {{{name}}}",
                                                path=f"{where}.sentences{suffix}.{key}", name=name,
                                                names=", ".join(sorted(YESNO_FIELDS)))
            needs = {"in_kind": ("count",), "honour": ("text",), "headline": ("count", "tenge")}
            if fig.role is not None and fig.unit not in needs[fig.role]:
                raise PlanRuleError("plan-role-unit", f"a {fig.role} figure must be of unit {' or '.join(needs[fig.role])}",
                                    path=f"{where}.role", figure=fig.code, role=fig.role,
                                    units=", ".join(needs[fig.role]))
        previous = self.previous
        if previous is not None:
            for code in previous.totals:
                _known_figure(f"previous.totals.{code}", code, figures)
            units = {u.code for u in self.units}
            for unit, values in previous.units.items():
                if unit not in units:
                    raise PlanRuleError("plan-unknown-unit", f"unknown unit {unit!r}", path=f"previous.units.{unit}",
                                        unit=unit)
                for code in values:
                    _known_figure(f"previous.units.{unit}.{code}", code, figures)

    def _check_rankings(self, figures: dict[str, Figure]) -> None:
        for n, ranking in enumerate(self.report.rankings):
            where = f"report.rankings[{n}]"
            if ranking.top < 1 or ranking.bottom < 0:
                raise PlanRuleError("plan-ranking-count", "top must be 1 or more, bottom 0 or more",
                                    path=where, top=ranking.top, bottom=ranking.bottom)
            if ranking.by == "per_head":
                if self.report.per_head is None:
                    raise PlanRuleError("plan-ranking-per-head", "ranking by per head needs report.per_head",
                                        path=f"{where}.by")
                continue
            fig = figures.get(ranking.figure)
            if fig is None or fig.unit not in ("count", "tenge"):
                raise PlanRuleError("plan-ranking-figure", f"{ranking.figure!r} is not a count or amount figure",
                                    path=f"{where}.figure", figure=ranking.figure)
            if ranking.by == "share" and fig.of is None:
                raise PlanRuleError("plan-ranking-share", f"{ranking.figure!r} is no part of a whole (no 'of')",
                                    path=f"{where}.figure", figure=ranking.figure)

    def _check_sources(self, figures: dict[str, Figure]) -> None:
        """A source's mapping names this plan's figures, each once, and says of every figure the units
        report whether the source feeds it or leaves it empty: a figure forgotten in the mapping would
        reach the ministry as silently missing."""
        _unique("sources", [s.campaign for s in self.sources])
        statuses = {s.code for s in self.statuses}
        wanted = [f.code for item in self.items_for("units") for f in item.figures if f.numeric]
        for source in self.sources:
            where = f"sources[{source.campaign}]"
            if source.campaign == self.campaign.code:
                raise PlanRuleError("plan-source-self", "a plan cannot feed itself", path=f"{where}.campaign",
                                    campaign=source.campaign)
            for code in [*source.figures, *source.not_collected]:
                fig = figures.get(code)
                key = "figures" if code in source.figures else "not_collected"
                # A count or an amount is fed by the oblast's total; a yes/no has no such total (the oblast's
                # «yes» units counted), so it can only be left empty.
                kinds = ("count", "tenge") if key == "figures" else ("count", "tenge", "yesno")
                if fig is None or fig.unit not in kinds:
                    raise PlanRuleError("plan-source-figure", f"{code!r} is no {' or '.join(kinds)} figure of this plan",
                                        path=f"{where}.{key}.{code}", figure=code)
                if "units" not in self.item_of_figure[code].reported_by:
                    raise PlanRuleError("plan-source-figure", f"{code!r} is not reported by the units",
                                        path=f"{where}.{key}.{code}", figure=code)
            both = sorted(set(source.figures) & set(source.not_collected))
            if both:
                raise PlanRuleError("plan-source-both", f"{both[0]!r} is both fed and not collected",
                                    path=f"{where}.not_collected", figure=both[0])
            left = [c for c in wanted if c not in source.figures and c not in source.not_collected]
            if left:
                raise PlanRuleError("plan-source-incomplete", f"{left[0]!r} is neither fed nor not_collected",
                                    path=f"{where}.figures", figure=left[0], figures=", ".join(left))
            for code in source.not_collected:
                if figures[code].required:
                    raise PlanRuleError("plan-source-required", f"{code!r} is required and cannot be left empty",
                                        path=f"{where}.not_collected", figure=code)
            for kind in ("interim", "final"):
                status = getattr(source.statuses, kind)
                if status and status not in statuses:
                    raise PlanRuleError("plan-source-status", f"{status!r} is no status of this plan",
                                        path=f"{where}.statuses.{kind}", status=status,
                                        codes=", ".join(sorted(statuses)))

    def source_for(self, campaign: str) -> Source | None:
        """The mapping for reports of the campaign with this code, or None."""
        return next((s for s in self.sources if s.campaign == campaign), None)

    def item_path(self, code: str) -> str:
        """The readable key path of an item, as plan messages name it: `sections[III].items[III.2]`."""
        for section in self.sections:
            for item in section.items:
                if item.code == code:
                    return f"sections[{section.code}].items[{code}]"
        return f"sections[].items[{code}]"

    def figure_path(self, code: str) -> str:
        """`sections[III].items[III.2].figures[visits]`."""
        for section in self.sections:
            for item in section.items:
                if any(f.code == code for f in item.figures):
                    return f"sections[{section.code}].items[{item.code}].figures[{code}]"
        return f"sections[].items[].figures[{code}]"

    # Derived views. cached_property works on frozen dataclasses because it writes to __dict__.
    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(fig for item in self.items for fig in item.figures)

    @cached_property
    def figure_by_code(self) -> dict[str, Figure]:
        return {f.code: f for f in self.figures}

    @cached_property
    def item_of_figure(self) -> dict[str, Item]:
        return {f.code: item for item in self.items for f in item.figures}

    @cached_property
    def item_by_code(self) -> dict[str, Item]:
        return {i.code: i for i in self.items}

    @cached_property
    def unit_by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    @cached_property
    def status_by_code(self) -> dict[str, Status]:
        return {s.code: s for s in self.statuses}

    @cached_property
    def dates(self) -> tuple[dt.date, ...]:
        return tuple(d.date for d in self.reporting_dates)

    @property
    def final_date(self) -> dt.date:
        return self.reporting_dates[-1].date

    def items_for(self, reporter: Reporter) -> tuple[Item, ...]:
        return tuple(i for i in self.items if reporter in i.reported_by)

    def when_missing(self, figure_code: str) -> WhenMissing:
        figure = self.figure_by_code[figure_code]
        return figure.when_missing or self.totals.when_missing

    def reporter_of(self, unit_code: str) -> Reporter:
        return "department" if unit_code == self.department.code else "units"

    def previous_date(self, date: dt.date) -> dt.date | None:
        earlier = [d for d in self.dates if d < date]
        return earlier[-1] if earlier else None


#: Placeholders every report sentence may use besides figure codes.
SENTENCE_FIELDS = frozenset({"date", "start", "end", "approved_on", "in_kind"})
#: Placeholders of a yes/no figure's sentences: units counted, units named, the plan's approval date.
YESNO_FIELDS = frozenset({"count", "units", "approved_on"})


def sentence_fields(text: str, where: str = "") -> list[str]:
    """The placeholder names of a sentence pattern («{children_helped.dative}» → "children_helped.dative")."""
    import string

    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:  # an unmatched brace
        raise PlanRuleError("plan-sentence-brace", f"{exc} in {text!r}", path=where, text=text) from None


def _check_sentence(where: str, sentence: Sentence, figures: dict[str, Figure]) -> None:
    for language in ("kk", "ru"):
        text = getattr(sentence, language)
        for name in sentence_fields(text, f"{where}.{language}"):
            code, _, case = name.partition(".")
            if not code:
                raise PlanRuleError("plan-sentence-empty", f"an empty placeholder {{}} in {text!r}",
                                    path=f"{where}.{language}", text=text)
            if code in SENTENCE_FIELDS and not case:
                continue
            fig = figures.get(code)
            if fig is None or fig.unit not in ("count", "tenge"):
                raise PlanRuleError("plan-sentence-unknown", f"{{{name}}} names no count or amount figure",
                                    path=f"{where}.{language}", name=name)
            if case and case not in fig.noun_in(language):
                suffix = "_ru" if language == "ru" else ""
                raise PlanRuleError("plan-sentence-case", f"{{{name}}}: figure {code!r} has no {case!r} in noun{suffix}",
                                    path=f"{where}.{language}", name=name, figure=code, case=case,
                                    noun=f"noun{suffix}")


def _known_figure(where: str, code: str, figures: dict[str, Figure]) -> None:
    if code not in figures:
        raise PlanRuleError("plan-unknown-figure", f"unknown figure {code!r}", path=where, figure=code)


def _unique(where: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise PlanRuleError("plan-duplicate-code", f"duplicate code {value!r}", path=f"{where}[{value}].code",
                                value=value)
        seen.add(value)
