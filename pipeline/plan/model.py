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
#: What an oblast total does with a unit whose value is missing or rejected at a date: `carry` takes the
#: unit's last valid value from an earlier date (marked as carried), `gap` leaves the unit out (named).
WhenMissing = Literal["carry", "gap"]
Reporter = Literal["units", "department"]
DateKind = Literal["interim", "final"]

#: Header fields of the district form. Their codes stand in the form like figure codes, so a reader finds
#: them the same way (by code, whatever the layout).
HEADER_FIELDS: tuple[str, ...] = ("unit", "report_date", "executor", "phone", "filled_date")


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
    # Russian copy of the report: the campaign's name in the genitive («… акции «Дорога в школу – 2017»»).
    name_ru: str = ""
    name_genitive_ru: str = ""


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


@dataclass(frozen=True)
class UnitCases(_Model):
    genitive: str
    dative: str
    locative: str
    ablative: str


@dataclass(frozen=True)
class Unit(_Model):
    code: str
    name: str
    short: str
    name_ru: str
    kind: Literal["city", "district"]
    cases: UnitCases
    aliases: tuple[str, ...] = ()


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

    @staticmethod
    def _code_shape(value: object) -> object:
        if isinstance(value, str) and not FIGURE_CODE.match(value):
            raise ValueError(f"figure code {value!r} must be lower_snake_case")
        return value

    _before = {"code": _code_shape}

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

    @staticmethod
    def _code_shape(value: object) -> object:
        if isinstance(value, str) and not ITEM_CODE.match(value):
            raise ValueError(f"item code {value!r} must look like I.3 or II.1")
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
        """Whether the item can be expected to be under way on `date` (I.14 falls in October)."""
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


@dataclass(frozen=True)
class Limits(_Model):
    max_file_bytes: int = 20_000_000
    max_cells: int = 200_000
    reader_seconds: float = 10.0
    reader_memory_mb: int = 1024


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
    rules: Rules = Rules()
    limits: Limits = Limits()
    totals: Totals = Totals()

    def _check(self) -> None:
        self._check_references()

    def _check_references(self) -> Plan:
        _unique("units[].code", [u.code for u in self.units] + [self.department.code, "oblast"])
        _unique("sections[].items[].code", [i.code for i in self.items])
        _unique("sections[].items[].figures[].code", [f.code for f in self.figures])
        _unique("statuses[].code", [s.code for s in self.statuses])
        _unique("reporting_dates[].date", [d.date.isoformat() for d in self.reporting_dates])
        dates = [d.date for d in self.reporting_dates]
        if dates != sorted(dates):
            raise ValueError("reporting_dates: dates must be in calendar order")
        if sum(1 for d in self.reporting_dates if d.kind == "final") != 1:
            raise ValueError("reporting_dates: exactly one date must be of kind 'final'")
        if self.reporting_dates[-1].kind != "final":
            raise ValueError("reporting_dates: the final date must be the last one")
        for d in dates:
            if not self.campaign.starts <= d <= self.campaign.ends:
                raise ValueError(f"reporting_dates: {d} lies outside campaign.starts..campaign.ends")
        figures = {f.code: f for f in self.figures}
        for item in self.items:
            for fig in item.figures:
                if fig.of is None:
                    continue
                parent = figures.get(fig.of)
                if parent is None:
                    raise ValueError(f"figures.{fig.code}.of: unknown parent figure {fig.of!r}")
                if parent.unit != fig.unit:
                    raise ValueError(f"figures.{fig.code}.of: parent {fig.of!r} has another unit")
                if parent.of is not None:
                    raise ValueError(f"figures.{fig.code}.of: parent {fig.of!r} is itself an 'of which'")
        for a, b in self.rules.paired:
            for code in (a, b):
                if code not in figures:
                    raise ValueError(f"rules.paired: unknown figure {code!r}")
        for ratio in self.rules.ratios:
            for code in (ratio.numerator, ratio.denominator):
                if code not in figures:
                    raise ValueError(f"rules.ratios.{ratio.code}: unknown figure {code!r}")
        for code in self.rules.max_values:
            if code not in figures:
                raise ValueError(f"rules.max_values: unknown figure {code!r}")
        return self

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


def _unique(where: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{where}: duplicate code {value!r}")
        seen.add(value)
