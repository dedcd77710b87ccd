"""`python -m pipeline plan check FILE`: what a department's plan for its next campaign typically gets wrong.

Loading already refuses what cannot be used at all (unknown keys, wrong types, dangling references, dates
out of order or outside the campaign, sentences naming no figure). The rules here catch what would load but
make wrong documents: last year's year left in a deadline, a renamed district still declined under its old
name, two districts whose names read alike, a yes/no figure with nothing to say, Kazakh letters in the
Russian copy, «10 күн сайын» for a 20-day calendar … Every mistake is a `PlanProblem` (key path, code,
values); `describe` says them in Kazakh or Russian from messages.yaml (`plan_check:`). The command line runs
this check before every command: a plan that fails it stops the command (exit 2).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Iterator
from pathlib import Path

from pipeline.plan.load import PlanError, PlanProblem, load_plan
from pipeline.plan.model import Figure, Plan, Source, Unit, YesNoSentences
from pipeline.plan.names import fold

#: The statuses' semantic codes: the vocabulary the code reasons with (their labels are the plan's).
STATUS_CODES = ("done", "in_progress", "not_done", "not_due")
#: How far an item's deadline may lie from the campaign (a report before it, honouring in October).
AROUND = dt.timedelta(days=92)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_KAZAKH_ONLY = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_CYRILLIC = "А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі"
_MIXED_WORD = re.compile(rf"\w*(?:[{_CYRILLIC}][A-Za-z]|[A-Za-z][{_CYRILLIC}])\w*")
_NUMBER = re.compile(r"\d+")
#: Texts where a year other than the campaign's is a copy of last year's plan left unchanged.
_YEAR_CHECKED = re.compile(r"^campaign\.|\.items\[[^]]+\]\.(deadline|completion_form|title|title_ru)$")


def check_plan(path: Path | str) -> tuple[Plan | None, list[PlanProblem]]:
    """The plan and every mistake found in it: those that stop loading, else the rules below."""
    try:
        plan = load_plan(path)
    except PlanError as exc:
        return None, exc.problems
    return plan, lint(plan)


def lint(plan: Plan) -> list[PlanProblem]:
    return [*_dates(plan), *_texts(plan), *_units(plan), *_figures(plan), *_statuses(plan), *_region(plan)]


def describe(problems: list[PlanProblem], file: Path | str, words: dict[str, str]) -> list[str]:
    """One line per mistake in the language of `words` (messages.yaml `plan_check:` of one language)."""
    lines = [words["header"].format(count=len(problems), file=file)]
    for problem in problems:
        template = words.get(problem.code)
        message = template.format(**problem.params) if template else problem.english
        lines.append(words["line"].format(path=problem.path or "–", message=message, code=problem.code))
    return lines


def _problem(where: str, problem_code: str, english: str, **params: object) -> PlanProblem:
    return PlanProblem(where, problem_code, english, {k: str(v) for k, v in params.items()})


# --- dates -----------------------------------------------------------------------------------------------
def _dates(plan: Plan) -> Iterator[PlanProblem]:
    c = plan.campaign
    if c.starts > c.ends:
        yield _problem("campaign.ends", "plan-campaign-dates", "the campaign ends before it starts",
                       starts=c.starts, ends=c.ends)
    if c.starts.year != c.year:
        yield _problem("campaign.year", "plan-year-mismatch", f"the campaign of {c.year} starts on {c.starts}",
                       year=c.year, date=c.starts)
    if not c.starts - dt.timedelta(days=366) <= c.approved_on <= c.ends:
        yield _problem("campaign.approved_on", "plan-approved-on", f"{c.approved_on} is not near the campaign",
                       date=c.approved_on, starts=c.starts, ends=c.ends)
    for item in plan.items:
        where = plan.item_path(item.code)
        for key in ("due", "due_from"):
            date = getattr(item, key)
            if date is not None and not c.starts - AROUND <= date <= c.ends + AROUND:
                yield _problem(f"{where}.{key}", "plan-due-outside", f"{date} is far from the campaign",
                               date=date, starts=c.starts, ends=c.ends)
        if item.due is not None and item.due_from is not None and item.due_from > item.due:
            yield _problem(f"{where}.due_from", "plan-due-from-after-due", "due_from is after due",
                           due_from=item.due_from, due=item.due)
    number = _only_number(c.rhythm)
    gaps = [(b - a).days for a, b in zip(plan.dates, plan.dates[1:])]
    if number and gaps:
        gap = statistics.median(gaps)
        if abs(gap - number) > 0.4 * number:
            yield _problem("campaign.rhythm", "plan-rhythm-calendar", f"{c.rhythm!r} but dates are {gap:g} days apart",
                           value=c.rhythm, gap=f"{gap:g}")


def _only_number(text: str) -> int | None:
    numbers = _NUMBER.findall(text)
    return int(numbers[0]) if len(numbers) == 1 and int(numbers[0]) > 0 else None


# --- texts -----------------------------------------------------------------------------------------------
def _text_fields(plan: Plan) -> Iterator[tuple[str, str, bool]]:
    """(key path, text, required) of every text a document or a form shows."""
    c, r = plan.campaign, plan.region
    for key in ("name", "name_genitive", "slogan", "clock", "rhythm", "name_ru", "name_genitive_ru", "clock_ru",
                "rhythm_ru"):
        yield f"campaign.{key}", getattr(c, key), key != "slogan"
    yield "campaign.code", c.code, True
    yield "region.name", r.name, True
    yield "region.name_ru", r.name_ru, True
    for key in ("whole", "whole_ru"):
        for case in ("locative", "by", "total"):
            yield f"region.{key}.{case}", getattr(getattr(r, key), case), True
    for key in ("units", "units_ru"):
        for case in ("nominative", "genitive", "header"):
            yield f"region.{key}.{case}", getattr(getattr(r, key), case), True
    yield "region.units_ru.instrumental", r.units_ru.instrumental, True
    for path, lines in (("addressee.lines", plan.addressee.lines), ("addressee.lines_ru", plan.addressee.lines_ru),
                        ("signatory.position_lines", plan.signatory.position_lines),
                        ("signatory.position_lines_ru", plan.signatory.position_lines_ru)):
        if not lines:
            yield path, "", True
        for n, line in enumerate(lines):
            yield f"{path}[{n}]", line, True
    yield "addressee.name_dative", plan.addressee.name_dative, True
    yield "addressee.name_dative_ru", plan.addressee.name_dative_ru, True
    for key in ("name", "name_ru"):
        yield f"signatory.{key}", getattr(plan.signatory, key), True
        yield f"executor.{key}", getattr(plan.executor, key), True
    yield "executor.phone", plan.executor.phone, True
    for key in ("name", "name_ru", "name_dative"):
        yield f"department.{key}", getattr(plan.department, key), True
    for status in plan.statuses:
        yield f"statuses[{status.code}].label", status.label, True
        yield f"statuses[{status.code}].label_ru", status.label_ru, True
    for unit in plan.units:
        for key in ("name", "short", "name_ru"):
            yield f"units[{unit.code}].{key}", getattr(unit, key), True
        for case in ("genitive", "dative", "locative", "ablative"):
            yield f"units[{unit.code}].cases.{case}", getattr(unit.cases, case), True
    for section in plan.sections:
        yield f"sections[{section.code}].title", section.title, True
        yield f"sections[{section.code}].title_ru", section.title_ru, True
        for item in section.items:
            where = f"sections[{section.code}].items[{item.code}]"
            for key in ("title", "title_ru", "deadline", "completion_form", "responsible"):
                yield f"{where}.{key}", getattr(item, key), key != "completion_form"
            for n, sentence in enumerate(item.sentences):
                yield f"{where}.sentences[{n}].kk", sentence.kk, True
                yield f"{where}.sentences[{n}].ru", sentence.ru, True
            for fig in item.figures:
                at = f"{where}.figures[{fig.code}]"
                yield f"{at}.label", fig.label, True
                yield f"{at}.label_ru", fig.label_ru, True
                for key in ("short", "short_ru"):
                    if getattr(fig, key):
                        yield f"{at}.{key}", getattr(fig, key), False
                for suffix in ("", "_ru"):
                    said = getattr(fig, "sentences" + suffix)
                    if said is not None:
                        for key in ("all", "some", "not_yet", "yes", "no"):
                            if getattr(said, key):
                                yield f"{at}.sentences{suffix}.{key}", getattr(said, key), False
    for n, sentence in enumerate(plan.report.summary):
        yield f"report.summary[{n}].kk", sentence.kk, True
        yield f"report.summary[{n}].ru", sentence.ru, True
    head = plan.report.per_head
    if head is not None:
        yield "report.per_head.label", head.label, True
        yield "report.per_head.label_ru", head.label_ru, True
    for n, ranking in enumerate(plan.report.rankings):
        for key in ("label", "label_ru"):
            if getattr(ranking, key):
                yield f"report.rankings[{n}].{key}", getattr(ranking, key), False
    for key in ("short", "short_ru"):
        if getattr(plan.department, key):
            yield f"department.{key}", getattr(plan.department, key), False
    if plan.region.unit_label:
        yield "region.unit_label", plan.region.unit_label, False


def _texts(plan: Plan) -> Iterator[PlanProblem]:
    year = str(plan.campaign.year)
    for path, text, required in _text_fields(plan):
        if not text.strip():
            if required:
                yield _problem(path, "plan-empty-text", "empty")
            continue
        if _YEAR_CHECKED.search(path):
            others = sorted({y for y in _YEAR.findall(text) if y != year})
            if others:
                yield _problem(path, "plan-other-year", f"names {', '.join(others)}, the campaign is of {year}",
                               found=", ".join(others), year=year, value=_short(text))
        russian = path.endswith("_ru") or "_ru." in path or "_ru[" in path or path.endswith(".ru")
        if russian and _KAZAKH_ONLY.search(text):
            yield _problem(path, "plan-kazakh-in-russian", "Kazakh letters in the Russian text", value=_short(text))
        mixed = _MIXED_WORD.search(text)
        if mixed:
            yield _problem(path, "plan-latin-in-cyrillic", "a Latin letter inside a Cyrillic word", word=mixed.group())


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "…"


# --- units and names -------------------------------------------------------------------------------------
def _units(plan: Plan) -> Iterator[PlanProblem]:
    owners: dict[str, tuple[str, str, str]] = {}  # folded name → (owner code, key path, the name as written)
    names: list[tuple[str, str, str]] = []  # (owner code, key path, name)
    for unit in plan.units:
        where = f"units[{unit.code}]"
        names += [(unit.code, f"{where}.name", unit.name), (unit.code, f"{where}.short", unit.short),
                  (unit.code, f"{where}.name_ru", unit.name_ru)]
        names += [(unit.code, f"{where}.aliases[{n}]", alias) for n, alias in enumerate(unit.aliases)]
        first = unit.name.split()[0] if unit.name.split() else ""
        for case in ("genitive", "dative", "locative", "ablative"):
            form = getattr(unit.cases, case)
            if form.strip() and first and not form.startswith(first):
                yield _problem(f"{where}.cases.{case}", "plan-unit-case-name",
                               f"{form!r} does not start with the unit's name {unit.name!r}", value=form, name=unit.name)
    dept = plan.department
    names += [(dept.code, "department.name", dept.name), (dept.code, "department.name_ru", dept.name_ru)]
    titles = {u.code: u.name for u in plan.units} | {dept.code: dept.name}
    for owner, path, name in names:
        key = fold(name)
        if not key:
            if name.strip():
                yield _problem(path, "plan-name-empty", f"{name!r} is only words such as «ауданы»", value=name)
            continue
        if key in owners and owners[key][0] != owner:
            # Named at both keys: which of the two is wrong only the department knows.
            other, other_path, other_name = owners[key]
            yield _problem(path, "plan-name-clash", f"{name!r} reads as {other_name!r} of {other}",
                           value=name, unit=titles[owner], other=titles[other], other_name=other_name)
            yield _problem(other_path, "plan-name-clash", f"{other_name!r} reads as {name!r} of {owner}",
                           value=other_name, unit=titles[other], other=titles[owner], other_name=name)
        owners.setdefault(key, (owner, path, name))
    yes = {fold(a): a for a in (*plan.yes_no.yes.aliases, plan.yes_no.yes.label)}
    for n, alias in enumerate((*plan.yes_no.no.aliases, plan.yes_no.no.label)):
        if fold(alias) in yes and fold(alias):
            where = f"yes_no.no.aliases[{n}]" if n < len(plan.yes_no.no.aliases) else "yes_no.no.label"
            yield _problem(where, "plan-yes-no-clash", f"{alias!r} reads as yes and as no", value=alias)


# --- figures ---------------------------------------------------------------------------------------------
def _figures(plan: Plan) -> Iterator[PlanProblem]:
    for item in plan.items:
        for fig in item.figures:
            where = plan.figure_path(fig.code)
            if fig.of is not None and fig.of in plan.figure_by_code:
                whole_item = plan.item_of_figure[fig.of]
                if set(whole_item.reported_by) != set(item.reported_by):
                    yield _problem(f"{where}.of", "plan-part-reporters", "a part and its whole have other reporters",
                                   figure=fig.code, parent=fig.of)
            if fig.unit == "yesno":
                yield from _yes_no(where, fig, item.reported_by)
            if fig.key and fig.unit == "text":
                yield _problem(f"{where}.key", "plan-key-text", "a text figure has no column", figure=fig.code)
            if fig.typical is not None:
                low, high = fig.typical
                if low < 0 or low > high:
                    yield _problem(f"{where}.typical", "plan-typical", "typical is not [low, high]")


def _yes_no(where: str, fig: Figure, reporters: tuple[str, ...]) -> Iterator[PlanProblem]:
    keys = (("all", "some", "not_yet") if "units" in reporters else ()) + (
        ("yes", "no") if "department" in reporters else ())
    for suffix in ("", "_ru"):
        said: YesNoSentences | None = getattr(fig, "sentences" + suffix)
        for key in keys:
            text = getattr(said, key) if said is not None else ""
            path = f"{where}.sentences{suffix}.{key}"
            if not text.strip():
                yield _problem(path, "plan-yesno-sentences", "a yes/no figure needs this sentence", figure=fig.code,
                               key=f"sentences{suffix}.{key}")
                continue
            needed = {"some": "count", "not_yet": "units"}.get(key)
            if needed and "{" + needed + "}" not in text:
                yield _problem(path, "plan-yesno-needs", f"the sentence needs {{{needed}}}", key=key, name=needed)


# --- statuses --------------------------------------------------------------------------------------------
def _statuses(plan: Plan) -> Iterator[PlanProblem]:
    codes = [s.code for s in plan.statuses]
    for status in plan.statuses:
        if status.code not in STATUS_CODES:
            yield _problem(f"statuses[{status.code}].code", "plan-status-unknown", f"unknown status {status.code!r}",
                           status=status.code, codes=", ".join(STATUS_CODES))
    for code in STATUS_CODES:
        if code not in codes:
            yield _problem("statuses", "plan-status-missing", f"status {code!r} is missing", status=code,
                           codes=", ".join(STATUS_CODES))
    for key in ("label", "label_ru"):
        seen: dict[str, str] = {}
        for status in plan.statuses:
            label = getattr(status, key)
            folded = fold(label)
            if folded and folded in seen:
                yield _problem(f"statuses[{status.code}].{key}", "plan-label-clash", f"{label!r} reads as {seen[folded]!r}",
                               value=label, other=seen[folded])
            seen.setdefault(folded, label)


# --- the region's words ----------------------------------------------------------------------------------
def _region(plan: Plan) -> Iterator[PlanProblem]:
    """The words for all units together name the centre city («аудандар мен … қаласы»): a plan copied
    from another oblast keeps that oblast's city there unless it is changed."""
    for unit in plan.units:
        if unit.kind != "city" or not unit.short.strip():
            continue
        for case in ("nominative", "genitive"):
            text = getattr(plan.region.units, case)
            if text.strip() and unit.short not in text:
                yield _problem(f"region.units.{case}", "plan-region-city", f"{text!r} does not name {unit.short!r}",
                               value=text, city=unit.short)
        words = unit.name_ru.split()
        stem = words[-1][:-1] if words and len(words[-1]) > 3 else ""
        for case in ("nominative", "genitive", "instrumental"):
            text = getattr(plan.region.units_ru, case)
            if stem and text.strip() and stem not in text:
                yield _problem(f"region.units_ru.{case}", "plan-region-city", f"{text!r} does not name {unit.name_ru!r}",
                               value=text, city=unit.name_ru)


# --- a lower level's plan feeding this one (`sources`) --------------------------------------------------
def region_unit(plan: Plan, source: Plan) -> Unit | None:
    """The unit of `plan` that is the territory of `source` (an oblast among the republic's regions): its
    name, short name, Russian name or an alias reads as the source's `region.name` (or `name_ru`), compared
    the way the form reader compares names."""
    keys: dict[str, Unit] = {}
    for unit in plan.units:
        for name in (unit.name, unit.short, unit.name_ru, *unit.aliases):
            keys.setdefault(fold(name), unit)
    for typed in (source.region.name, source.region.name_ru):
        unit = keys.get(fold(typed))
        if unit is not None and fold(typed):
            return unit
    return None


def source_problems(plan: Plan, source: Plan, file: Path | str) -> list[PlanProblem]:
    """What keeps `source`'s published reports from filling `plan`'s forms as its `sources` mapping says:
    no mapping for its campaign, a figure it does not have or of another unit, a part fed by what is no
    part there, one figure counted twice, its region not among the units."""
    mapping = plan.source_for(source.campaign.code)
    if mapping is None:
        known = ", ".join(s.campaign for s in plan.sources) or "–"
        return [_problem("sources", "plan-source-none", f"no mapping for {source.campaign.code!r}",
                         campaign=source.campaign.code, file=file, known=known)]
    return list(_source_mapping(plan, mapping, source, file))


def _source_mapping(plan: Plan, mapping: Source, source: Plan, file: Path | str) -> Iterator[PlanProblem]:
    where = f"sources[{mapping.campaign}]"
    theirs = source.figure_by_code
    fed_by: dict[str, str] = {}
    for code, their_code in mapping.figures.items():
        at = f"{where}.figures.{code}"
        their = theirs.get(their_code)
        if their is None:
            yield _problem(at, "plan-source-unknown", f"{their_code!r} is no figure of {file}", figure=their_code,
                           file=file)
            continue
        ours = plan.figure_by_code[code]
        if their.unit != ours.unit:
            yield _problem(at, "plan-source-unit", f"{their_code!r} ({their.unit}) cannot feed {code!r} ({ours.unit})",
                           figure=code, unit=ours.unit, source_figure=their_code, source_unit=their.unit)
        if their_code in fed_by:
            yield _problem(at, "plan-source-twice", f"{their_code!r} already feeds {fed_by[their_code]!r}",
                           source_figure=their_code, figure=code, other=fed_by[their_code])
        fed_by.setdefault(their_code, code)
        whole = ours.of
        if whole is not None and whole in mapping.figures and their.of != mapping.figures[whole]:
            yield _problem(at, "plan-source-part", f"{code!r} is part of {whole!r}, {their_code!r} is no part of "
                           f"{mapping.figures[whole]!r}", figure=code, whole=whole, source_figure=their_code,
                           source_whole=mapping.figures[whole])
    if region_unit(plan, source) is None:
        yield _problem(where, "plan-source-region", f"{source.region.name!r} is none of the units",
                       region=source.region.name, file=file)


def sources_problems(plan: Plan, plan_path: Path | str, extra: list[Path] | tuple[Path, ...] = ()) -> list[PlanProblem]:
    """The mapping of every source plan file the plan names (`sources[].plan`, relative to the plan file)
    and of the files given (`plan check --source FILE`): each file loaded and checked against it."""
    files: list[tuple[str, Path, Source | None]] = []
    for mapping in plan.sources:
        if mapping.plan:
            path = Path(mapping.plan)
            if not path.is_absolute():
                path = Path(plan_path).resolve().parent / path
            files.append((f"sources[{mapping.campaign}].plan", path, mapping))
    files += [("--source", Path(p), None) for p in extra]
    out: list[PlanProblem] = []
    for where, path, mapping in files:
        try:
            source = load_plan(path)
        except PlanError as exc:
            out.append(_problem(where, "plan-source-file", f"{path} cannot be used ({len(exc.problems)} mistakes)",
                                file=path, count=len(exc.problems)))
            continue
        if mapping is not None and source.campaign.code != mapping.campaign:
            out.append(_problem(where, "plan-source-campaign", f"{path} is the plan of {source.campaign.code!r}",
                                file=path, campaign=source.campaign.code, expected=mapping.campaign))
            continue
        out += source_problems(plan, source, path)
    return out
