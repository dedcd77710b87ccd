"""Validating one read form against the plan: typed values out, every problem recorded as data.

Only what can be judged from the file alone happens here. Rules that compare files (a running total that
fell since the previous date, a unit far from the others) live in `pipeline.aggregate.across`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from pipeline.forms.layout import FORM_ID_CODE, HEADER_CODES, form_id
from pipeline.ingest.model import RawCell, RawForm
from pipeline.plan.clock import local_today
from pipeline.plan.model import Figure, Item, Plan
from pipeline.problems import Problem
from pipeline.validate.dates import parse_date
from pipeline.validate.numbers import parse_number
from pipeline.privacy import mask
from pipeline.safe_text import xml_text
from pipeline.validate.units import UnitResolver, fold


@dataclass
class Submission:
    """One file's content as the pipeline understood it."""

    raw: RawForm
    unit: str | None = None  # unit code, or the department's code
    report_date: dt.date | None = None
    filled_date: dt.date | None = None
    executor: str = ""
    phone: str = ""
    values: dict[str, float] = field(default_factory=dict)  # numeric figures (yes/no as 1/0)
    statuses: dict[str, str] = field(default_factory=dict)  # item code → status code
    comments: dict[str, str] = field(default_factory=dict)  # item code → comment, personal data masked
    texts: dict[str, str] = field(default_factory=dict)  # text figure code → text, masked
    problems: list[Problem] = field(default_factory=list)
    #: the unit as typed, when it was recognised from another spelling than the official name (else "")
    unit_alias: str = ""

    @property
    def name(self) -> str:
        return self.raw.name

    @property
    def identified(self) -> bool:
        """Readable, and both unit and reporting date are known: the file can take part in a report."""
        return self.raw.readable and self.unit is not None and self.report_date is not None

    def cell_of(self, code: str) -> RawCell | None:
        return self.raw.cells.get(code)

    def arrival(self, tz: dt.tzinfo) -> dt.date:
        """When the file came in: the form's fill date, else the file's modification date on the campaign's
        clock `tz` (`pipeline.plan.clock.campaign_tz`)."""
        if self.filled_date is not None:
            return self.filled_date
        return dt.datetime.fromtimestamp(self.raw.mtime, tz=tz).date()



class FormValidator:
    """Validates read forms of one plan. Build once per run: it caches lookups derived from the plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.units = UnitResolver(plan)
        self._status_keys = {}
        for status in plan.statuses:
            for name in (status.code, status.label, status.label_ru):
                self._status_keys[fold(name)] = status.code
        self._yes = {fold(a) for a in plan.yes_no.yes.aliases} | {fold(plan.yes_no.yes.label)}
        self._no = {fold(a) for a in plan.yes_no.no.aliases} | {fold(plan.yes_no.no.label)}
        self._form_id = form_id(plan)
        #: fold(text) of the status cells seen so far: a handful of spellings recur in every form
        self._folded: dict[str, str] = {}
        self._status_labels = ", ".join(s.label for s in plan.statuses)
        rules = plan.rules
        self._earliest_fill = plan.campaign.starts - dt.timedelta(days=rules.filled_days_before_start)
        self._latest_fill = plan.campaign.ends + dt.timedelta(days=rules.filled_days_after_end)

    def validate(self, raw: RawForm) -> Submission:
        sub = Submission(raw=raw, problems=list(raw.problems))
        if raw.name_masked:
            sub.problems.append(Problem.make("personal-data-in-name", raw.name))
        if not raw.readable or not raw.cells:
            return sub
        # Masked at ingest (pipeline.privacy): say where, once a cell, so the district can clean its form.
        for cell in [*raw.cells.values(), *(c for cs in raw.duplicates.values() for c in cs)]:
            if cell.masked:
                self._warn_masked(sub, cell)
        self._check_form_id(sub)
        self._read_header(sub)
        for code, cells in raw.duplicates.items():
            first = cells[0]
            sub.problems.append(
                Problem.make(
                    "form-ambiguous-code", raw.name, first.sheet, first.cell, row_code=code,
                    cells=", ".join(c.cell for c in cells),
                )
            )
        reporter = self.plan.reporter_of(sub.unit) if sub.unit else "units"
        for item in self.plan.items_for(reporter):
            self._read_item(sub, item)
        self._check_of_which(sub)
        return sub

    # --- header -------------------------------------------------------------------------------------------
    def _check_form_id(self, sub: Submission) -> None:
        cell = sub.cell_of(FORM_ID_CODE)
        if cell is None or cell.empty:
            return  # a copied form may lose its identity row; the codes still say what it is
        if str(cell.value).strip() != self._form_id:
            sub.problems.append(
                Problem.make(
                    "form-other-campaign", sub.name, cell.sheet, cell.cell,
                    value=cell.value, expected=self._form_id,
                )
            )

    def _read_header(self, sub: Submission) -> None:
        name = sub.name
        unit_cell = self._filled_header(sub, "unit", "unit-missing")
        if unit_cell is not None:
            typed = str(unit_cell.value)
            match = self.units.resolve(typed)
            if match.code is None:
                sub.problems.append(
                    Problem.make(
                        "unit-unknown", name, unit_cell.sheet, unit_cell.cell, value=typed.strip(),
                        nearest=", ".join(match.nearest) or "—",
                    )
                )
            else:
                sub.unit = match.code
                if not match.exact:
                    sub.unit_alias = typed.strip()
                    sub.problems.append(
                        Problem.make(
                            "unit-alias", name, unit_cell.sheet, unit_cell.cell, value=typed.strip(),
                            unit=match.name,
                        )
                    )

        date_cell = self._filled_header(sub, "report_date", "date-missing")
        if date_cell is not None:
            date = parse_date(date_cell.value)
            if date is None:
                sub.problems.append(
                    Problem.make("date-invalid", name, date_cell.sheet, date_cell.cell, value=date_cell.value)
                )
            elif date not in self.plan.dates:
                sub.problems.append(
                    Problem.make(
                        "date-unknown", name, date_cell.sheet, date_cell.cell, value=date.strftime("%d.%m.%Y"),
                        dates=", ".join(d.strftime("%d.%m.%Y") for d in self.plan.dates),
                    )
                )
            else:
                sub.report_date = date

        filled_cell = sub.cell_of(HEADER_CODES["filled_date"])
        filled = parse_date(filled_cell.value) if filled_cell is not None else None
        if filled is None:
            where = filled_cell or _nowhere(sub)
            value = "" if filled_cell is None or filled_cell.empty else filled_cell.value
            sub.problems.append(Problem.make("filled-date-invalid", name, where.sheet, where.cell, value=value))
        elif filled > local_today(self.plan):
            # A form cannot be filled after today: a typo (2071 for 2017) must not put this file after every
            # later correction. Not trusted: the file's time orders it instead (Submission.arrival).
            assert filled_cell is not None
            sub.problems.append(Problem.make("filled-date-future", name, filled_cell.sheet, filled_cell.cell,
                                             value=filled.strftime("%d.%m.%Y")))
        elif not self._earliest_fill <= filled <= self._latest_fill:
            # Years before or after the campaign (2016, 2019 for 2017): a typo as well, not trusted either.
            assert filled_cell is not None
            sub.problems.append(Problem.make(
                "filled-date-implausible", name, filled_cell.sheet, filled_cell.cell,
                value=filled.strftime("%d.%m.%Y"), start=self._earliest_fill.strftime("%d.%m.%Y"),
                end=self._latest_fill.strftime("%d.%m.%Y"),
            ))
        else:
            sub.filled_date = filled
        for field_name in ("executor", "phone"):
            cell = sub.cell_of(HEADER_CODES[field_name])
            if cell is not None and not cell.empty:
                setattr(sub, field_name, self._text(sub, cell))

    @staticmethod
    def _filled_header(sub: Submission, field_name: str, missing_code: str) -> RawCell | None:
        """The header field's cell when it holds something; otherwise None, with `missing_code` recorded
        where the field stands (or on the form's sheet when its row is gone)."""
        cell = sub.cell_of(HEADER_CODES[field_name])
        if cell is not None and not cell.empty:
            return cell
        where = cell or _nowhere(sub)
        sub.problems.append(Problem.make(missing_code, sub.name, where.sheet, where.cell))
        return None

    # --- items --------------------------------------------------------------------------------------------
    def _read_item(self, sub: Submission, item: Item) -> None:
        due = sub.report_date is None or item.due_by(sub.report_date)
        status_cell = sub.cell_of(item.status_code)
        if status_cell is not None and not status_cell.empty:
            status = self._status_keys.get(self._fold(str(status_cell.value)))
            if status is None:
                sub.problems.append(
                    Problem.make(
                        "status-invalid", sub.name, status_cell.sheet, status_cell.cell, item=item.code,
                        value=status_cell.value, allowed=self._status_labels,
                    )
                )
            else:
                sub.statuses[item.code] = status
        elif due and status_cell is not None:
            sub.problems.append(Problem.make("status-missing", sub.name, status_cell.sheet, status_cell.cell, item=item.code))

        comment_cell = sub.cell_of(item.comment_code)
        if comment_cell is not None and not comment_cell.empty:
            sub.comments[item.code] = self._text(sub, comment_cell)

        for figure in item.figures:
            if figure.code in sub.raw.duplicates:
                continue
            cell = sub.cell_of(figure.code)
            if cell is None:
                if figure.required and due:
                    where = _nowhere(sub)
                    sub.problems.append(
                        Problem.make("required-missing", sub.name, where.sheet, None, figure=figure.label)
                    )
                continue
            self._read_figure(sub, figure, cell, required=figure.required and due)

    def _read_figure(self, sub: Submission, figure: Figure, cell: RawCell, *, required: bool) -> None:
        def problem(code: str, **params: object) -> None:
            sub.problems.append(Problem.make(code, sub.name, cell.sheet, cell.cell, figure=figure.label, **params))

        if cell.formula_without_value:
            problem("value-formula-no-result")
            return
        if cell.error:
            problem("value-error-cell", value=cell.error)
            return
        if figure.unit == "text":
            if not cell.empty:
                sub.texts[figure.code] = self._text(sub, cell)
            return
        if figure.unit == "yesno":
            if cell.empty:
                return
            answer = self._yes_no(cell.value)
            if answer is None:
                problem("yesno-invalid", value=cell.value)
            else:
                sub.values[figure.code] = answer
            return
        parsed = parse_number(cell.value)
        if parsed.outcome == "empty":
            if required:
                problem("required-missing")
            return
        if parsed.outcome == "ambiguous":
            problem("value-ambiguous-number", value=cell.value)
            return
        if parsed.outcome == "not_number" or parsed.value is None:
            problem("value-not-number", value=cell.value)
            return
        value = parsed.value
        bound = self.plan.rules.impossible_above.get(figure.unit)
        if not math.isfinite(value) or (bound is not None and abs(value) > bound):
            # Never a traceback (int(inf) raises) and never in a total: a stuck key in one district.
            problem("value-out-of-range", value=typed_briefly(cell.value),
                    limit=show_number(bound) if bound is not None else "∞")
            return
        if value < 0:
            problem("value-negative", value=show_number(value))
            return
        if figure.unit == "count" and value != int(value):
            problem("value-not-whole", value=show_number(value))
            return
        if parsed.outcome == "converted":
            problem("value-converted", value=str(cell.value).strip(), number=show_number(value))
        sub.values[figure.code] = value

    def _check_of_which(self, sub: Submission) -> None:
        for figure in self.plan.figures:
            if figure.of is None or figure.code not in sub.values or figure.of not in sub.values:
                continue
            part, total = sub.values[figure.code], sub.values[figure.of]
            if part > total:
                cell = sub.cell_of(figure.code)
                assert cell is not None  # a value was read from it
                parent = self.plan.figure_by_code[figure.of]
                sub.problems.append(
                    Problem.make(
                        "of-which-exceeds-total", sub.name, cell.sheet, cell.cell, figure=figure.label,
                        value=show_number(part), parent=parent.label, parent_value=show_number(total),
                    )
                )
                # The total is the more often checked figure; the part is the one not used.
                del sub.values[figure.code]

    def _fold(self, text: str) -> str:
        folded = self._folded.get(text)
        if folded is None:
            folded = fold(text)
            if len(text) <= 64:
                if len(self._folded) >= 4096:
                    self._folded.clear()
                self._folded[text] = folded
        return folded

    def _yes_no(self, value: object) -> float | None:
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, (int, float)) and value in (0, 1):
            return float(value)
        key = self._fold(str(value))
        if key in self._yes:
            return 1.0
        if key in self._no:
            return 0.0
        return None

    def _text(self, sub: Submission, cell: RawCell) -> str:
        # Ingest masked it already; masking again costs little and covers forms built in memory.
        text, masked = mask(xml_text(str(cell.value).strip()))
        if masked:
            self._warn_masked(sub, cell)
        return text

    @staticmethod
    def _warn_masked(sub: Submission, cell: RawCell) -> None:
        problem = Problem.make("personal-data-masked", sub.name, cell.sheet, cell.cell)
        if problem not in sub.problems:
            sub.problems.append(problem)


def _nowhere(sub: Submission) -> RawCell:
    """Where a missing row would have stood: the form's sheet, no cell."""
    sheet = next(iter(sub.raw.cells.values())).sheet if sub.raw.cells else None
    return RawCell(sheet=sheet or "", cell="", value=None)


def show_number(value: float) -> str:
    """A figure as people type it: 1500, not 1500.0."""
    if not math.isfinite(value):
        return str(value)
    return str(int(value)) if value == int(value) else str(value)


BRIEF_CHARS = 24


def typed_briefly(value: object) -> str:
    """What a cell held, short enough to quote: a 400-digit number becomes «99999999999…9999 (400)»."""
    text = str(value).strip() if isinstance(value, str) else (show_number(value) if isinstance(value, float)
                                                              else str(value))
    if len(text) <= BRIEF_CHARS:
        return text
    return f"{text[:12]}…{text[-4:]} ({len(text)})"
