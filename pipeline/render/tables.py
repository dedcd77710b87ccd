"""The report's tables as plain strings for the template: the annex, timeliness, and the final's campaign table.

What the tables show follows the plan alone: the annex has a column for every key figure (`key: true`) and
the per-head column (`report.per_head`), split over as many tables as one landscape page needs (never a
column dropped); its headers are the figures' `short` labels; the unit column, the heading and the total row
say the plan's region words (`region.units`, `region.whole`). The campaign table (final report only) shows
`report.compare` over every reporting date, and last year's final when the data carry it.

Column widths are decided here with the split (they are part of the same decision); render/docx.py applies
them to the tables the template's column loops made (`widths`, millimetres, the № and unit columns first).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from pipeline.aggregate import facts
from pipeline.aggregate.model import CARRIED, ReportData
from pipeline.plan.model import Figure, Plan, Unit
from pipeline.render.language import Language

#: Text width of the landscape annex page (A4, margins 30/10 mm) and of a portrait page, millimetres.
LANDSCAPE_WIDTH_MM = 257.0
PORTRAIT_WIDTH_MM = 170.0
NUMBER_MM = 8.0
NAME_MM = 36.0
NAME_MAX_MM = 60.0
#: The narrowest column that still holds its widest value at the annex's 10 pt («115 563,6», «12 345»,
#: «иә») and a vertical header; a column never grows past COLUMN_MAX_MM.
COLUMN_MIN_MM = {"count": 13.0, "tenge": 20.0, "yesno": 11.0, "per_head": 14.0}
COLUMN_MAX_MM = 32.0
#: The campaign table (portrait, 11 pt): its name column and the narrowest value column.
CAMPAIGN_NAME_MM = 50.0
CAMPAIGN_COLUMN_MIN_MM = 17.0
#: Value columns narrower than this do not hold «100 974,0» at 11 pt (LibreOffice then breaks it after the
#: comma; a header breaks inside «қыркүйек»): such a table is set in CAMPAIGN_NARROW_PT with a narrower name
#: column (the style guide: 10–11 pt for very wide tables).
CAMPAIGN_COLUMN_FULL_MM = 20.0
CAMPAIGN_NAME_NARROW_MM = 40.0
CAMPAIGN_NARROW_PT = 10
PER_HEAD = "per_head"
#: The timeliness table's first and last rows that keep with their neighbours: the table may break over a
#: page, but never after its header and one row, nor before its last rows and total (and the signature).
KEEP_ROWS = 3


def annex_figures(plan: Plan) -> list[Figure]:
    """The key figures the annex shows, in plan order: every `key: true` figure with a number (a text figure
    has no place in a table of numbers)."""
    return [f for f in plan.figures if f.key and f.numeric]


@dataclass
class _Column:
    code: str  # a figure code, or PER_HEAD
    kind: str  # count | tenge | yesno | per_head
    header: str
    cells: list[str] = field(default_factory=list)
    department: str = ""  # the department's own value ("" when it does not report the figure)
    total: str = ""
    carried: set[str] = field(default_factory=set)  # units whose cell carries an earlier date's value

    @property
    def min_mm(self) -> float:
        return COLUMN_MIN_MM[self.kind]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def per_head_value(numerator: object, denominator: object) -> float | None:
    """Tenge per head, or None when either is missing or nobody was counted."""
    if _missing(numerator) or _missing(denominator) or float(denominator) <= 0:  # type: ignore[arg-type]
        return None
    return float(numerator) / float(denominator)  # type: ignore[arg-type]


class _Tables:
    """One report's tables in one language; `w` is the language's `district_table` wording."""

    def __init__(self, data: ReportData, lang: Language) -> None:
        self.data, self.lang, self.plan = data, lang, data.plan
        self.stale = set(data.stale_units())
        self._totals: Any = None

    # --- cells ------------------------------------------------------------------------------------------
    # (A national annex formats ~20,000 numbers, many equal: Language keeps each formatted number.)
    def cell(self, kind: str, value: object) -> str:
        lang = self.lang
        if kind in ("tenge", PER_HEAD):
            return lang.amount(value)  # type: ignore[arg-type]
        if kind == "yesno":
            if _missing(value):
                return str(lang.words["numbers"]["no_value"])
            return str(lang.words["district_table"]["yes" if float(value) >= 0.5 else "no"])  # type: ignore[arg-type]
        return lang.count(value)  # type: ignore[arg-type]

    def header(self, fig: Figure) -> str:
        w = self.lang.words["district_table"]
        label = str(self.lang.pick(fig, "short") or self.lang.pick(fig, "label"))
        return str(w["amount_header"]).format(label=label) if fig.unit == "tenge" else label

    def units_words(self) -> Any:
        return self.lang.pick(self.plan.region, "units")

    def whole_words(self) -> Any:
        return self.lang.pick(self.plan.region, "whole")

    # --- annex ------------------------------------------------------------------------------------------
    def reporters(self, code: str) -> tuple[str, ...]:
        return self.plan.item_of_figure[code].reported_by

    def whole_total(self, code: str) -> object:
        """The territory's total of a figure: the units' sum plus the department's own value when it reports
        the figure too (an item both report) — «облыс бойынша» means the oblast, department included."""
        if self._totals is None:
            self._totals = self.data.totals  # a sum over every unit: once, not once a column
        units = self._totals.get(code) if "units" in self.reporters(code) else None
        own = self.data.department.figures.get(code) if "department" in self.reporters(code) else None
        if _missing(units) and _missing(own):
            return None
        return (0.0 if _missing(units) else float(units)) + (0.0 if _missing(own) else float(own))  # type: ignore[arg-type]

    def annex_columns(self) -> list[list[_Column]]:
        """The annex's columns in blocks that stay in one table: a whole with its "of which" parts; the
        per-head column joins the block of its numerator (else its denominator, else stands alone last).
        A cell of someone who does not report the figure (a unit for the department's own item) is empty."""
        data, plan = self.data, self.plan
        frame, state = data.values, data.coverage[data.date]
        own = data.department.figures
        blocks: list[list[_Column]] = []
        block_of: dict[str, int] = {}  # figure code → its block
        for fig in annex_figures(plan):
            values, states = facts.column(frame, fig.code), facts.column(state, fig.code)
            reporters = self.reporters(fig.code)
            col = _Column(fig.code, fig.unit, self.header(fig))
            col.cells = [self.cell(fig.unit, values.get(u.code)) if "units" in reporters else "" for u in plan.units]
            col.carried = {u for u, s in states.items() if s == CARRIED and u not in self.stale} if "units" in reporters else set()
            col.department = self.cell(fig.unit, own.get(fig.code)) if "department" in reporters else ""
            if fig.unit == "yesno":
                yes = self.yes_total([*values.values(), own.get(fig.code)])
                col.total = self.cell("count", yes)
            else:
                col.total = self.cell(fig.unit, self.whole_total(fig.code))
            if fig.of is not None and fig.of in block_of:
                block_of[fig.code] = block_of[fig.of]
                blocks[block_of[fig.code]].append(col)
            else:
                block_of[fig.code] = len(blocks)
                blocks.append([col])
        head = plan.report.per_head
        if head is not None:
            col = self.per_head_column()
            where = block_of.get(head.numerator, block_of.get(head.denominator))
            if where is None:
                blocks.append([col])
            else:
                blocks[where].append(col)
        return blocks

    @staticmethod
    def yes_total(values: list[object]) -> float:
        """A yes/no column's total: how many said yes."""
        return float(sum(1 for v in values if not _missing(v) and float(v) >= 0.5))  # type: ignore[arg-type]

    def per_head_column(self) -> _Column:
        data, lang, plan = self.data, self.lang, self.plan
        head = plan.report.per_head
        assert head is not None
        w = lang.words["district_table"]
        label = str(lang.pick(head, "short") or lang.pick(head, "label"))
        col = _Column(PER_HEAD, PER_HEAD, str(w["amount_header"]).format(label=label))
        num, den = facts.column(data.values, head.numerator), facts.column(data.values, head.denominator)
        state = data.coverage[data.date]
        carried = {u for code in (head.numerator, head.denominator)
                   for u, s in facts.column(state, code).items() if s == CARRIED and u not in self.stale}
        col.cells = [self.cell(PER_HEAD, per_head_value(num.get(u.code), den.get(u.code))) for u in plan.units]
        col.carried = carried
        own = data.department.figures
        if any("department" in self.reporters(c) for c in (head.numerator, head.denominator)):
            col.department = self.cell(PER_HEAD, per_head_value(own.get(head.numerator), own.get(head.denominator)))
        col.total = self.cell(PER_HEAD, per_head_value(self.whole_total(head.numerator),
                                                       self.whole_total(head.denominator)))
        return col

    def annex(self) -> dict[str, Any]:
        data, lang, plan = self.data, self.lang, self.plan
        w = lang.words["district_table"]
        mark = str(w["stale_mark"])
        blocks = self.annex_columns()
        groups = split_columns(blocks, LANDSCAPE_WIDTH_MM - NUMBER_MM - NAME_MM)
        tables = []
        for n, columns in enumerate(groups):
            widths = fill_widths([c.min_mm for c in columns], LANDSCAPE_WIDTH_MM - NUMBER_MM)
            rows = []
            for i, unit in enumerate(plan.units):
                name = lang.unit_name(unit) + (mark if unit.code in self.stale else "")
                cells = [c.cells[i] + (mark if unit.code in c.carried else "") for c in columns]
                rows.append({"no": str(i + 1), "name": name, "cells": cells})
            if any(c.department for c in columns):
                # The department's own figures, on a row of their own in a table where it reports one of the
                # columns: part of the territory's total.
                rows.append({"no": "", "name": str(lang.pick(plan.department, "name")),
                             "cells": [c.department for c in columns]})
            tables.append({
                "continued": str(w["continued"]) if n else "",
                "headers": [c.header for c in columns],
                "widths": [NUMBER_MM, *widths],
                "rows": rows,
                "total": {"name": self.whole_words().total, "cells": [c.total for c in columns]},
            })
        return {
            "heading": lang.upper_first(str(w["heading"]).format(units=self.units_words().genitive,
                                                                 date=lang.day(data.date, "as_of"))),
            "number_header": w["number"],
            "unit_header": self.units_words().header,
            "tables": tables,
            "notes": self.annex_notes([c for block in blocks for c in block]),
        }

    def annex_notes(self, columns: list[_Column]) -> list[str]:
        data, lang, plan = self.data, self.lang, self.plan
        w = lang.words["district_table"]
        notes = []
        by_source: dict[dt.date, list[Unit]] = {}
        for unit in plan.units:
            if unit.code in self.stale:
                by_source.setdefault(data.source_dates[unit.code], []).append(unit)  # type: ignore[arg-type]
        for source, units in sorted(by_source.items()):
            notes.append(str(w["stale_note"]).format(units=lang.units(units, "subject"),
                                                     date=lang.day(source, "as_of", year=False)))
        for unit in plan.units:
            labels = [lang.lower_first(c.header) for c in columns if unit.code in c.carried]
            if labels:
                notes.append(str(w["carried_note"]).format(unit=lang.unit_name(unit), labels=", ".join(labels)))
        never = [u for u in plan.units if data.source_dates.get(u.code) is None]
        if never:
            notes.append(str(w["never_note"]).format(units=lang.units(never, "subject")))
        return notes

    # --- timeliness -------------------------------------------------------------------------------------
    def timeliness(self) -> dict[str, Any]:
        data, lang, plan = self.data, self.lang, self.plan
        w = lang.words["timeliness"]
        now = {t.unit: t for t in data.timeliness_at(data.date)}
        rows = []
        totals = {"on_time": 0, "late": 0, "missing": 0}
        # Counted in one pass: scanning every record for every unit was quadratic (5 s at 1,667 units).
        so_far: dict[str, dict[str, int]] = {}
        for record in data.timeliness:
            if record.date <= data.date:
                counts = so_far.setdefault(record.unit, {"on_time": 0, "late": 0, "missing": 0})
                counts[record.state] += 1
        small: dict[int, str] = {}
        for n, unit in enumerate(plan.units, start=1):
            t = now.get(unit.code)
            if t is None or t.state == "missing":
                state = w["missing"]
            elif t.state == "late":
                state = str(w["late"]).format(days=lang.counted(t.days_late, "day"))
            else:
                state = w["on_time"]
            counts = so_far.get(unit.code, {"on_time": 0, "late": 0, "missing": 0})
            for k, v in counts.items():
                totals[k] += v
            # Per-unit counts are a handful of small numbers; each is formatted once.
            shown = {k: small.setdefault(v, lang.count(v)) for k, v in counts.items()}
            rows.append({"no": str(n), "name": lang.unit_name(unit), "state": state, **shown})
        now_counts = timeliness_counts(data, data.date)
        summary = "; ".join(
            str(w["total_part"]).format(label=w[f"{k}_total"], value=lang.count(now_counts[k]))
            for k in ("on_time", "late", "missing")
        )
        units = self.units_words()
        pattern = str(w["heading"])
        if "{units_instrumental}" in pattern and not units.instrumental:
            pattern = str(w["heading_fallback"])  # a plan without the instrumental form of its units
        heading = pattern.format(units_genitive=units.genitive, units_nominative=units.nominative,
                                 units_instrumental=units.instrumental)
        keep = min(KEEP_ROWS, len(rows) // 2)
        return {
            "heading": lang.upper_first(heading),
            "unit_header": units.header,
            "date_header": lang.day(data.date, "full"),
            "rows": rows,
            # The same rows in three runs for the template's page breaks (see KEEP_ROWS).
            "rows_first": rows[:keep], "rows_middle": rows[keep:len(rows) - keep], "rows_last": rows[len(rows) - keep:],
            "total": {"name": w["total"], "state": summary, **{k: lang.count(v) for k, v in totals.items()}},
        }

    # --- the campaign over its dates (final report) -------------------------------------------------------
    def compare_figures(self) -> list[Figure]:
        plan = self.plan
        if plan.report.compare:
            return [plan.figure_by_code[c] for c in plan.report.compare]
        heads = [f for f in plan.figures if f.role == "headline"]
        codes = {f.code for f in heads}
        return [f for f in plan.figures if f.code in codes or (f.of in codes and f.unit in ("count", "tenge"))]

    def campaign_table(self) -> dict[str, Any] | None:
        data, lang, plan = self.data, self.lang, self.plan
        if data.date != plan.final_date:
            return None
        w = lang.words["campaign_table"]
        dates = sorted(d for d in data.history if d <= data.date)
        totals = {d: data.totals_at(d) for d in dates}
        previous = getattr(data, "previous", None)  # issue 15's ReportData.previous (None: no last year)
        # An ordinary space between day and month: a narrow column breaks the header there, not inside the month.
        headers = [lang.day(d, "full", year=False).replace("\u00a0", " ") for d in dates]
        if previous is not None:
            headers.append(str(w["previous_header"]).format(name=lang.pick(previous, "name")))
        rows = []
        for fig in self.compare_figures():
            label = str(lang.pick(fig, "label"))
            name = str(w["amount_row"]).format(label=label) if fig.unit == "tenge" else label
            cells = [self.cell(fig.unit, totals[d].get(fig.code)) for d in dates]
            if previous is not None:
                cells.append(self.cell(fig.unit, previous.totals.get(fig.code)))
            rows.append({"name": name, "cells": cells})
        head = plan.report.per_head
        if head is not None:
            name = str(w["amount_row"]).format(label=lang.pick(head, "label"))
            cells = [self.cell(PER_HEAD, per_head_value(totals[d].get(head.numerator), totals[d].get(head.denominator)))
                     for d in dates]
            if previous is not None:
                cells.append(self.cell(PER_HEAD, per_head_value(previous.totals.get(head.numerator),
                                                                previous.totals.get(head.denominator))))
            rows.append({"name": name, "cells": cells})
        if not rows:
            return None  # a plan that compares nothing and has no per-head figure: no table of nothing
        whole = self.whole_words()
        notes = self.corrected_notes(dates[:-1])
        if previous is not None:
            notes.append(str(w["previous_note"]).format(name=lang.pick(previous, "name")))
        return {
            "heading": lang.upper_first(str(w["heading"]).format(whole_by=whole.by)),
            "name_header": w["name_header"],
            "headers": headers,
            "rows": rows,
            "tables": campaign_parts(headers, rows),
            "caption": " ".join(notes),
        }

    def corrected_notes(self, dates: list[dt.date]) -> list[str]:
        """A row whose value at an earlier date holds a unit's figure lowered afterwards (a correction: 139,
        then 112) says so under the table, so the fall is not read as the campaign's."""
        lang, w = self.lang, self.lang.words["campaign_table"]
        said: dict[tuple[dt.date, tuple[str, ...]], list[str]] = {}
        for fig in self.compare_figures():
            for date in dates:
                units = facts.lowered_later(self.data, [fig.code], date)
                if units:
                    label = str(lang.pick(fig, "label"))
                    name = str(w["amount_row"]).format(label=label) if fig.unit == "tenge" else label
                    said.setdefault((date, tuple(units)), []).append(name)
        units_of = {u.code: u for u in self.plan.units}
        return [lang.plural(len(labels), w["corrected_note"]).format(
                    labels="», «".join(labels), date=lang.day(date, "as_of", year=False),
                    units=lang.units([units_of[u] for u in units], "owner"))
                for (date, units), labels in said.items()]


def campaign_parts(headers: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The campaign table as the portrait page holds it: as many date columns a table as fit beside the
    name column (a long calendar gives two or more tables of even size, each with the names), widths in mm."""
    fit = max(1, int((PORTRAIT_WIDTH_MM - CAMPAIGN_NAME_MM) // CAMPAIGN_COLUMN_MIN_MM))
    count = max(1, math.ceil(len(headers) / fit))
    size = math.ceil(len(headers) / count)
    parts = []
    for start in range(0, max(len(headers), 1), size):
        shown = headers[start:start + size]
        # Value columns share what the name column leaves, within their bounds.
        value_mm = min(COLUMN_MAX_MM, math.floor((PORTRAIT_WIDTH_MM - CAMPAIGN_NAME_MM) / max(len(shown), 1) * 10) / 10)
        font_pt = None
        if value_mm < CAMPAIGN_COLUMN_FULL_MM:
            font_pt = CAMPAIGN_NARROW_PT
            value_mm = math.floor((PORTRAIT_WIDTH_MM - CAMPAIGN_NAME_NARROW_MM) / len(shown) * 10) / 10
        name_mm = min(NAME_MAX_MM, PORTRAIT_WIDTH_MM - value_mm * len(shown))
        parts.append({"headers": shown, "widths": [name_mm] + [value_mm] * len(shown), "font_pt": font_pt,
                      "rows": [{"name": r["name"], "cells": r["cells"][start:start + size]} for r in rows]})
    return parts


def split_columns(blocks: list[list[_Column]], available_mm: float) -> list[list[_Column]]:
    """Blocks of columns, in plan order, into as few tables as fit `available_mm` each, and among those the
    split whose widest table is narrowest (the tables come out even). A block wider than a page on its own
    is broken into single columns."""
    flat: list[list[_Column]] = []
    for block in blocks:
        if sum(c.min_mm for c in block) > available_mm:
            flat.extend([c] for c in block)
        else:
            flat.append(block)
    if not flat:
        return [[]]
    sizes = [sum(c.min_mm for c in block) for block in flat]
    count = max(1, math.ceil(sum(sizes) / available_mm))
    while True:
        cuts = _partition(sizes, count, available_mm)
        if cuts is not None:
            bounds = [0, *cuts, len(flat)]
            return [[c for block in flat[a:b] for c in block] for a, b in zip(bounds, bounds[1:])]
        count += 1


def _partition(sizes: list[float], count: int, limit: float) -> list[int] | None:
    """Where to cut `sizes` into `count` consecutive non-empty runs so that the largest run sum is smallest
    (and at most `limit`): the cut positions, or None when no such cut exists."""
    n = len(sizes)
    if count > n:
        return None
    prefix = [0.0]
    for size in sizes:
        prefix.append(prefix[-1] + size)
    inf = float("inf")
    # best[k][i]: the smallest possible widest run when the first i sizes form k runs; cut[k][i]: where the
    # last of those runs starts.
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    cut = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for k in range(1, count + 1):
        for i in range(k, n + 1):
            for j in range(k - 1, i):
                run = prefix[i] - prefix[j]
                if run > limit + 1e-9:
                    continue
                value = max(best[k - 1][j], run)
                if value < best[k][i] - 1e-9:
                    best[k][i], cut[k][i] = value, j
    if best[count][n] == inf:
        return None
    cuts, i = [], n
    for k in range(count, 0, -1):
        i = cut[k][i]
        cuts.append(i)
    return sorted(cuts)[1:]


def fill_widths(minimum: list[float], available_mm: float) -> list[float]:
    """The name column's width followed by the value columns' widths: the value columns grow together in
    proportion to fill the page up to COLUMN_MAX_MM each, the name column takes what is left (up to
    NAME_MAX_MM); a table that still has room left is narrower than the page (centred)."""
    values = sum(minimum)
    room = available_mm - NAME_MM - values
    scale = 1.0
    if values and room > 0:
        scale = min(1.0 + room / values, min(COLUMN_MAX_MM / m for m in minimum))
    widths = [math.floor(m * scale * 10) / 10 for m in minimum]  # down: the sum never passes the page
    name = min(NAME_MAX_MM, max(NAME_MM, available_mm - sum(widths)))
    return [name, *widths]


def timeliness_counts(data: ReportData, date: dt.date | None = None) -> dict[str, int]:
    """Counts over the reporting units only (the department's own submission is not among them), of one
    date or (None) of every date so far."""
    units = {u.code for u in data.plan.units}
    counts = {"on_time": 0, "late": 0, "missing": 0}
    for t in data.timeliness:
        if t.unit in units and (date is None or t.date == date):
            counts[t.state] += 1
    return counts


def annex(data: ReportData, lang: Language) -> dict[str, Any]:
    return _Tables(data, lang).annex()


def timeliness(data: ReportData, lang: Language) -> dict[str, Any]:
    return _Tables(data, lang).timeliness()


def campaign_table(data: ReportData, lang: Language) -> dict[str, Any] | None:
    return _Tables(data, lang).campaign_table()
