"""Turn `ReportData` into the plain strings and lists the .docx template shows, in one language.

All decisions about what the reader sees (which figures, which units to name, what "change" means, which
units a total leaves out) are made here once; every word comes from the language's wording file
(`pipeline/data/kazakh.yaml`, `russian.yaml`), the plan file or the template. The language is a parameter:
no sentence is built differently for Kazakh and Russian except through those files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.aggregate.model import CARRIED, MISSING, ReportData
from pipeline.plan.model import Figure, Item, Plan, Unit
from pipeline.render.language import KAZAKH, LANGUAGES, Language

STATUS_ORDER: tuple[str, ...] = ("done", "in_progress", "not_done", "not_due")
# In-progress units are named only when few; otherwise the list would swamp the paragraph.
MAX_NAMED_IN_PROGRESS = 4


def key_figures(plan: Plan) -> list[Figure]:
    return [f for f in plan.figures if f.key and f.unit in ("count", "tenge")]


def _status_code(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _column(frame: pd.DataFrame, column: str) -> dict[str, object]:
    """unit → value of one column, as a plain dict ({} when the frame has no such column).

    Loops over units read one column at a time: `DataFrame.at` per unit × item costs ~40 us a lookup,
    which made most of the context's time at 1,667 units.
    """
    return dict(zip(frame.index, frame[column].tolist())) if column in frame.columns else {}


def _text(value: object) -> str | None:
    status = _status_code(value)
    return status.strip() or None if status is not None else None


class _Builder:
    """One report's context in one language; `w` is the language's wording."""

    def __init__(self, data: ReportData, lang: Language) -> None:
        self.data, self.lang, self.plan = data, lang, data.plan
        self.w = lang.words
        self.final = data.date == data.plan.final_date
        self.totals = data.totals
        self.stale = set(data.stale_units())

    # --- small pieces ---------------------------------------------------------------------------------
    def label(self, fig: Figure) -> str:
        return str(self.lang.pick(fig, "label"))

    def value(self, fig: Figure, value: object) -> str:
        w = self.w["items"]
        if fig.unit == "tenge":
            return str(w["amount_value"]).format(value=self.lang.amount(value))  # type: ignore[arg-type]
        return self.lang.count(value)  # type: ignore[arg-type]

    def status_label(self, code: str | None) -> str:
        if code is None or code not in self.plan.status_by_code:
            return str(self.w["items"]["no_status"])
        return str(self.lang.pick(self.plan.status_by_code[code], "label"))

    def in_order(self, codes: set[str] | list[str]) -> list[Unit]:
        wanted = set(codes)
        return [u for u in self.plan.units if u.code in wanted]

    def coverage_note(self, code: str) -> str:
        parts = self.coverage_parts(code)
        return str(self.w["coverage"]["wrap"]).format(notes="; ".join(parts)) if parts else ""

    def coverage_parts(self, code: str) -> list[str]:
        """«… мәліметі жоқ», «… – 8 тамыздағы мәлімет»: the units a total leaves out or carries.

        Units that missed the whole date are named once in the summary and starred in the table; here only
        values missing, or carried because one value was rejected or left blank, are named.
        """
        data, lang, w = self.data, self.lang, self.w["coverage"]
        parts = []
        missing = self.in_order(data.units_in(code, MISSING))
        if missing:
            parts.append(str(w["missing"]).format(units=lang.units(missing, "owner")))
        carried = [u for u in data.units_in(code, CARRIED) if u not in self.stale]
        by_date: dict[dt.date, list[str]] = {}
        sources = _column(data.carried_from[data.date], code)
        for unit in carried:
            by_date.setdefault(pd.Timestamp(sources[unit]).date(), []).append(unit)
        for source, units in sorted(by_date.items()):
            parts.append(str(w["carried"]).format(units=lang.units(self.in_order(units), "owner"),
                                                  date=lang.day(source, "as_of", year=False)))
        return parts

    def figures_text(self, figures: list[Figure], values: Mapping[str, object], *, notes: bool = True) -> str:
        """«көмек көрсетілген балалар саны – 5 104, оның ішінде … – 3 164; …»: "of which" joins its parent;
        each figure followed by the units it leaves out."""
        w = self.w["items"]
        pieces: list[str] = []
        parent: str | None = None
        siblings = 0
        for fig in figures:
            note = self.coverage_note(fig.code) if notes else ""
            label = self.lang.lower_first(self.label(fig))
            joins = fig.of is not None and fig.of == parent and bool(pieces)
            if joins and siblings:
                # A second part of the same whole: «…, оның ішінде A – 1, оның ішінде B – 2» reads twice;
                # the wording file lists the "of which" openings a later sibling drops.
                label = self.drop_of_prefix(label)
            text = str(w["figure"]).format(label=self.before_dash(label),
                                           value=self.value(fig, values.get(fig.code))) + note
            if joins:
                pieces[-1] += ", " + text
                siblings += 1
            else:
                pieces.append(text)
                parent = fig.code if fig.of is None else None
                siblings = 0
        return "; ".join(pieces)

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

    # --- header -----------------------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        plan, lang, w = self.plan, self.lang, self.w["report"]
        title_key = "title_final" if self.final else "title_interim"
        return {
            "addressee_lines": [*lang.pick(plan.addressee, "lines"),
                                lang.nbsp_initials(lang.pick(plan.addressee, "name_dative"))],
            "heading": w["heading_final" if self.final else "heading_interim"],
            "title": str(w[title_key]).format(campaign=lang.pick(plan.campaign, "name_genitive"),
                                              date=lang.day(self.data.date, "as_of")),
            "report_date": lang.day(self.data.date, "full"),
            "is_final": self.final,
            "signatory_position": list(lang.pick(plan.signatory, "position_lines")),
            "signatory_name": lang.nbsp_initials(lang.pick(plan.signatory, "name")),
            "executor_name": lang.nbsp_initials(lang.pick(plan.executor, "name")),
            "executor_phone": plan.executor.phone,
            "annex_line": w["annex_line"],
        }

    # --- summary ----------------------------------------------------------------------------------------
    def summary(self) -> list[str]:
        plan, lang, w, t = self.plan, self.lang, self.w["report"], self.totals
        campaign, date = plan.campaign, self.data.date
        intro = str(w["intro_running" if date < campaign.ends else "intro_ended"]).format(
            campaign=lang.pick(campaign, "name"), start=lang.day(campaign.starts, "since", year=False),
            end=lang.day(campaign.ends, "until", year=False),
        )
        if self.final:
            intro += " " + str(w["intro_final_note"])
        fig = plan.figure_by_code
        lead = str(w["summary_lead_final" if self.final else "summary_lead"]).format(
            date=lang.day(date, "as_of"),
            children=lang.counted(t.get("help_children"), "child_dative"),
            amount=lang.amount(t.get("help_amount")),
            sponsor_children=lang.counted(t.get("sponsor_children"), "child_dative"),
            sponsor_amount=lang.amount(t.get("sponsor_amount")),
            fund_amount=lang.amount(t.get("fund_amount")),
        )
        # In kind: «1 747 мектеп сөмкесі, …» / «1 747 школьных ранцев, …», each noun agreeing with its
        # number and followed by the units its total leaves out.
        in_kind_text = lang.join([
            lang.counted(t.get(code), noun) + self.coverage_note(code)
            for code, noun in w["in_kind"].items() if code in fig
        ])
        # Each count both with its noun («25 рейд», «5 104 детям») and bare (`*_n`), so a wording file can
        # use either: a Russian sentence of the «рейдов – 25» kind needs no agreement.
        counts = {"sponsors": ("sponsors_involved", "sponsor"), "raids": ("raids", "raid"),
                  "participants": ("raid_participants", "person"), "home_visits": ("home_visits", "home"),
                  "risk": ("risk_children_found", "child"), "found": ("out_of_school_found", "child")}
        numbers: dict[str, str] = {"in_kind": in_kind_text, "returned": lang.count(t.get("returned_to_school"))}
        for name, (code, noun) in counts.items():
            numbers[name] = lang.counted(t.get(code), noun)
            numbers[f"{name}_n"] = lang.count(t.get(code))
        # The totals of the lead and raid sentences that leave a unit out or carry an earlier value: named
        # after them, figure by figure, so no total in the summary silently lacks a unit.
        noted = ["help_children", "help_amount", "sponsor_children", "sponsor_amount", "fund_amount",
                 *(code for code, _ in counts.values()), "returned_to_school"]
        notes = [str(w["summary_note"]).format(label=lang.lower_first(self.label(fig[c])), notes="; ".join(parts))
                 for c in dict.fromkeys(noted) if c in fig for parts in [self.coverage_parts(c)] if parts]
        sponsors = str(w["summary_sponsors"]).format(**numbers)
        raids = str(w["summary_raids"]).format(**numbers)
        if notes:
            raids += " " + str(w["summary_notes"]).format(notes="; ".join(notes))
        paragraphs = [intro, f"{lead} {sponsors}", raids]
        change = self.change()
        if change:
            paragraphs.append(change)
        reporting = self.reporting()
        if reporting:
            paragraphs.append(reporting)
        return paragraphs

    def change(self) -> str:
        """The change since the previous reporting date: figures grouped by direction, one verb per group
        («… 2 091-ге (95,8%), … 47-ге (79,7%) артты; … 166-ға (52,9%) кеміді»), chosen by the sign."""
        data, lang, w = self.data, self.lang, self.w["change"]
        previous = data.previous_date
        if previous is None or previous not in data.history:
            return ""
        before = data.totals_at(previous)
        groups: dict[str, list[str]] = {"up": [], "down": [], "none": []}
        for code in w["figures"]:
            fig = self.plan.figure_by_code[code]
            new = 0.0 if lang.missing(self.totals.get(code)) else float(self.totals.get(code))
            old = 0.0 if lang.missing(before.get(code)) else float(before.get(code))
            diff = new - old
            label = lang.lower_first(self.label(fig))
            if diff == 0:
                groups["none"].append(str(w["part_none"]).format(label=label))
                continue
            if fig.unit == "tenge":
                by = str(w["by_amount"]).format(value=lang.amount(abs(diff)))
            else:
                by = str(w["by_count"]).format(value=lang.count(abs(diff)), ending=lang.number_ending(abs(diff)))
            pct = str(w["percent"]).format(value=lang.percent(abs(diff) / old * 100.0)) if old else ""
            groups["up" if diff > 0 else "down"].append(
                str(w["part"]).format(label=self.before_dash(label), by=by, percent=pct))
        said = [str(w[direction]).format(parts=str(w["join"]).join(parts))
                for direction, parts in groups.items() if parts]
        lead = str(w["lead"]).format(date=lang.day(previous, "full"))
        return f"{lead} {str(w['groups_join']).join(said)}."

    def reporting(self) -> str:
        """Who sent this date's report late, who did not send it, who never reported."""
        data, lang, w = self.data, self.lang, self.w["report"]
        now = data.timeliness_at(data.date)
        units = {u.code for u in self.plan.units}
        late = [t for t in now if t.unit in units and t.state == "late"]
        sentences = []
        by_days: dict[int, list[str]] = {}
        for t in late:
            by_days.setdefault(t.days_late, []).append(t.unit)
        if by_days:
            parts = [str(w["late_part"]).format(units=lang.units(self.in_order(us), "subject"),
                                                days=lang.counted(days, "day"))
                     for days, us in sorted(by_days.items())]
            sentences.append(str(w["late_units"]).format(parts="; ".join(parts)))
        # Units that missed the date, grouped by the date whose figures stand in for theirs.
        by_source: dict[dt.date, list[Unit]] = {}
        for unit in self.in_order(self.stale):
            by_source.setdefault(data.source_dates[unit.code], []).append(unit)  # type: ignore[arg-type]
        for source, stale in sorted(by_source.items()):
            sentences.append(str(w["stale_unit" if len(stale) == 1 else "stale_units"]).format(
                units=lang.units(stale, "subject"), date=lang.day(source, "as_of", year=False)))
        never = self.in_order([u for u, d in data.source_dates.items() if d is None])
        if never:
            sentences.append(str(w["never_reported"]).format(units=lang.units(never, "subject")))
        return " ".join(sentences)

    # --- sections by plan item --------------------------------------------------------------------------
    def unit_groups(self, item: Item) -> dict[str | None, list[Unit]]:
        groups: dict[str | None, list[Unit]] = {}
        statuses = _column(self.data.statuses, item.code)
        for unit in self.plan.units:
            groups.setdefault(_status_code(statuses.get(unit.code)), []).append(unit)
        return groups

    def status_line(self, item: Item) -> str:
        lang, w = self.lang, self.w["items"]
        groups = self.unit_groups(item)
        parts = []
        total = len(self.plan.units)
        for code in [*STATUS_ORDER, None]:
            units = groups.get(code, [])
            if not units:
                continue
            label = self.status_label(code)
            if len(units) == total:
                parts.append(str(w["status_all"]).format(label=label))
            elif code in ("done", "not_due") or (code == "in_progress" and len(units) > MAX_NAMED_IN_PROGRESS):
                parts.append(str(w["status_count"]).format(label=label, count=lang.counted(len(units), "akimat")))
            else:
                parts.append(str(w["status_named"]).format(label=label, units=lang.units(units, "place")))
        return str(w["status_sentence"]).format(parts=str(w["status_join"]).join(parts))

    def overdue_line(self, item: Item) -> str:
        if item.due is None or not item.overdue_at(self.data.date):
            return ""
        groups = self.unit_groups(item)
        late = [u for code in ("in_progress", "not_done", None) for u in groups.get(code, [])]
        if not late:
            return ""
        w = self.w["items"]
        return str(w["overdue"]).format(date=self.lang.day(item.due, "full"),
                                        units=self.lang.units(self.in_order([u.code for u in late]), "place"))

    def yesno_line(self, fig: Figure, values: Mapping[str, object]) -> str:
        """A yes/no figure of the units as a sentence: who has it, who has not yet."""
        lang, w = self.lang, self.w["yesno"][fig.code]
        yes = [u for u in self.plan.units if not lang.missing(values.get(u.code)) and float(values[u.code]) >= 0.5]
        no = [u for u in self.plan.units if not lang.missing(values.get(u.code)) and float(values[u.code]) < 0.5]
        silent = [u for u in self.plan.units if lang.missing(values.get(u.code))]
        parts = []
        if len(yes) == len(self.plan.units):
            parts.append(str(w["all"]))
        elif yes:
            parts.append(str(w["some"]).format(count=lang.counted(len(yes), "akimat")))
        if no:
            parts.append(str(w["not_yet"]).format(units=lang.units(no, "place")))
        if silent:
            parts.append(str(self.w["items"]["yesno_silent"]).format(units=lang.units(silent, "owner")))
        return lang.upper_first("; ".join(parts)) + "."

    def department_yesno(self, fig: Figure, value: object) -> str:
        w = self.w["yesno"][fig.code]
        if self.lang.missing(value):
            return ""
        approved = self.lang.day(self.plan.campaign.approved_on, "on")
        return str(w["yes" if float(value) >= 0.5 else "no"]).format(approved_on=approved)  # type: ignore[arg-type]

    def contradiction(self, status: str | None, comment: str) -> str:
        """The department's comment says the opposite of its status («орындалды» beside «орындалуда»)."""
        words = self.w["items"]["contradicts"].get(status or "", [])
        folded = comment.lower()
        if any(word in folded for word in words):
            return str(self.w["items"]["contradiction"]).format(status=self.status_label(status))
        return ""

    def item_lines(self, item: Item) -> list[str]:
        plan, lang, w, data = self.plan, self.lang, self.w["items"], self.data
        if not item.due_by(data.date):
            assert item.due_from is not None
            return [str(w["not_due"]).format(date=lang.day(item.due_from, "on"))]
        lines: list[str] = []
        if "units" in item.reported_by:
            lines.append(self.status_line(item))
            overdue = self.overdue_line(item)
            if overdue:
                lines.append(overdue)
            numeric = [f for f in item.figures if f.unit in ("count", "tenge")]
            if numeric:
                totals = {f.code: self.totals.get(f.code) for f in numeric}
                lines.append(f"{w['totals_lead']} {self.figures_text(numeric, totals)}.")
            for fig in item.figures:
                if fig.unit == "yesno":
                    lines.append(self.yesno_line(fig, _column(data.values, fig.code)))
            reasons = []
            statuses, comments = _column(data.statuses, item.code), _column(data.comments, item.code)
            for unit in plan.units:
                if _status_code(statuses.get(unit.code)) != "not_done":
                    continue
                comment = _text(comments.get(unit.code))
                if comment:
                    reasons.append(str(w["comment"]).format(unit=lang.unit_name(unit),
                                                            comment=lang.lower_first(comment).rstrip(".")))
            if reasons:
                lines.append(f"{w['comments_lead']} {'; '.join(reasons)}.")
            if item.code == w["timeliness_item"]:
                lines.append(self.timeliness_line())
        if "department" in item.reported_by:
            dep = data.department
            status = _status_code(dep.statuses.get(item.code))
            line = str(w["department"]).format(status=self.status_label(status))
            sentences = [self.department_yesno(f, dep.figures.get(f.code)) for f in item.figures if f.unit == "yesno"]
            line += "".join(" " + s for s in sentences if s)
            dep_figs = [f for f in item.figures if f.unit in ("count", "tenge") and f.code in dep.figures]
            if dep_figs:
                line += " " + lang.upper_first(self.figures_text(dep_figs, dep.figures, notes=False)) + "."
            comment = _text(dep.comments.get(item.code))
            if comment:
                line += " " + str(w["department_comment"]).format(comment=comment.rstrip("."))
                flag = self.contradiction(status, comment)
                if flag:
                    line += " " + flag
            lines.append(line)
        return lines

    def timeliness_line(self) -> str:
        """«Есепті күнге мәліметті 12 әкімдік мерзімінде және 1 әкімдік кешігіп ұсынды.»: counts said with
        their noun; a zero is left out instead of printed («ұсынбағандар – 0»)."""
        lang, w = self.lang, self.w["items"]
        counts = _timeliness_counts(self.data, self.data.date)
        parts = [str(w["timeliness_parts"][k]).format(count=lang.counted(counts[k], "akimat_subject"))
                 for k in ("on_time", "late") if counts[k]]
        sentences = [str(w["timeliness_line"]).format(parts=lang.join(parts))] if parts else []
        if counts["missing"]:
            sentences.append(str(w["timeliness_missing"]).format(
                count=lang.counted(counts["missing"], "akimat_subject")))
        return " ".join(sentences)

    def sections(self) -> list[dict[str, Any]]:
        out = []
        for section in self.plan.sections:
            entries = [
                {"code": item.code, "title": self.lang.pick(item, "title"), "lines": self.item_lines(item)}
                for item in section.items
            ]
            out.append({"heading": f"{section.code}. {self.lang.pick(section, 'title')}", "entries": entries})
        return out

    # --- final report -----------------------------------------------------------------------------------
    def final_part(self) -> dict[str, Any]:
        plan, lang, w, data = self.plan, self.lang, self.w["final"], self.data
        empty: dict[str, Any] = {"heading": w["heading"], "lines": [], "honour_heading": "", "honour_lines": []}
        if not self.final:
            return empty
        by_status: dict[str, list[str]] = {}
        for item in plan.items:
            by_status.setdefault(overall_status(data, item), []).append(item.code)
        parts = [
            str(w["items_part"]).format(label=self.status_label(code), count=lang.count(len(by_status[code])),
                                        codes=", ".join(by_status[code]))
            for code in STATUS_ORDER
            if by_status.get(code)
        ]
        lines = [f"{str(w['items_lead']).format(total=lang.counted(len(plan.items), 'item'))} {'; '.join(parts)}."]
        honour_item = plan.item_of_figure.get("sponsors_to_honour")
        honour_lines: list[str] = []
        if "sponsors_to_honour" in data.texts.columns:
            honour = _column(data.texts, "sponsors_to_honour")
            for unit in plan.units:
                names = _text(honour.get(unit.code))
                if names:
                    honour_lines.append(str(w["honour_line"]).format(unit=lang.unit_name(unit), names=names.rstrip(".")))
        if not honour_lines:
            honour_lines.append(str(w["honour_none"]))
        heading = str(w["honour_heading"]).format(code=honour_item.code) if honour_item else ""
        return {"heading": w["heading"], "lines": lines, "honour_heading": heading, "honour_lines": honour_lines}


def overall_status(data: ReportData, item: Item) -> str:
    """One status for an item across everyone who reports it: done only when all say done."""
    if not item.due_by(data.date):
        return "not_due"
    codes: list[str | None] = []
    if "units" in item.reported_by:
        statuses = _column(data.statuses, item.code)
        codes += [_status_code(statuses.get(u.code)) for u in data.plan.units]
    if "department" in item.reported_by:
        codes.append(_status_code(data.department.statuses.get(item.code)))
    if codes and all(c == "done" for c in codes):
        return "done"
    if any(c == "not_done" or c is None for c in codes):
        return "not_done"
    return "in_progress"


def _timeliness_counts(data: ReportData, date: dt.date | None = None) -> dict[str, int]:
    """Counts over the reporting units only: the department's own submission is not among them."""
    units = {u.code for u in data.plan.units}
    counts = {"on_time": 0, "late": 0, "missing": 0}
    for t in data.timeliness:
        if t.unit in units and (date is None or t.date == date):
            counts[t.state] += 1
    return counts


def build_context(
    data: ReportData, *, chart_paths: Mapping[str, Path] | None = None, language: str | Language = KAZAKH
) -> dict[str, Any]:
    """Everything the template shows, as plain strings and lists (charts as file paths), in `language`
    ("kk" or "ru")."""
    from pipeline.render import tables
    from pipeline.render.charts import charts_context

    lang = LANGUAGES[language] if isinstance(language, str) else language
    b = _Builder(data, lang)
    context: dict[str, Any] = b.header()
    context["summary"] = b.summary()
    context["sections"] = b.sections()
    context["final"] = b.final_part()
    # Blocks the template carries for issue 16's prose (filled by the prose builder): empty until then,
    # and the template hides an empty block.
    context.setdefault("registration", [])
    context.setdefault("attention", {"heading": "", "lines": []})
    context.setdefault("quality", [])
    # The form's parts (pipeline/render/tables.py, charts.py): tables and charts from the plan's roles.
    context["annex"] = tables.annex(data, lang)
    context["timeliness"] = tables.timeliness(data, lang)
    context["campaign_table"] = tables.campaign_table(data, lang)
    context["charts"] = charts_context(data, chart_paths, lang)
    return context
