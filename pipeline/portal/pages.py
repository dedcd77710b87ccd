"""Server-rendered pages: the Jinja2 environment, the wording (pipeline/data/portal.yaml) and view helpers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from pipeline.plan import Plan
from pipeline.problem_words import problem_message
from pipeline.problems import Problem, catalogue
from pipeline.texts import load_data

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANGS = ("kk", "ru")
#: the static files the portal serves: URL name → (file in static/, media type). Nothing else is served.
STATIC_FILES = {
    "portal.css": ("portal.css", "text/css; charset=utf-8"),
    "upload.js": ("upload.js", "text/javascript; charset=utf-8"),
}
#: problem parameters that hold a figure's label or a unit's name as the plan writes it in Kazakh: a Russian
#: page shows the plan's Russian label or name instead.


def wording(lang: str, plan: Plan | None = None) -> dict[str, Any]:
    """portal.yaml in `lang`; with a plan, its words take the campaign's own: {clock} («… уақыты»),
    {department} (its name), {units_genitive} (all its units: «аудандар мен … қаласының»), the department's short word (`department.short`) — the other placeholders
    are left for the page to fill."""
    words = load_data("portal.yaml")[lang if lang in LANGS else "kk"]
    if plan is None:
        return words
    ru = lang == "ru"
    units = plan.region.units_ru if ru else plan.region.units
    own = {"clock": plan.campaign.clock_ru if ru else plan.campaign.clock,
           "department": plan.department.name_ru if ru else plan.department.name,
           "units_genitive": units.genitive}
    words = _filled(words, own)
    # The plan's own short word for its department («Министрлік»), else the portal's («Басқарма»).
    short = plan.department.short_ru if ru else plan.department.short
    if short:
        words = {**words, "department_short": short, "back": str(words["back_to"]).format(short=short)}
    return words


_OWN = re.compile(r"\{(clock|department|units_genitive)\}")


def _filled(value: Any, own: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _OWN.sub(lambda m: own[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _filled(v, own) for k, v in value.items()}
    return value


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["ddmmyyyy"] = ddmmyyyy
    env.filters["ddmm"] = lambda d: d.strftime("%d.%m")
    env.filters["when"] = _when_on_page
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def ddmmyyyy(value: dt.date | str | None) -> str:
    """A date (or an ISO date string from the audit log) as «DD.MM.YYYY»."""
    if not value:
        return "–"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y")


@pass_context
def _when_on_page(context: Context, value: str | float | dt.datetime | None) -> str:
    return when(value, context["tz"])


def when(value: str | float | dt.datetime | None, tz: dt.tzinfo) -> str:
    """An ISO time, a timestamp or a datetime as «DD.MM.YYYY HH:MM» on the campaign's clock `tz`
    (pages get it as `tz` in their context: `campaign_tz(plan)`)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, (int, float)):
        moment = dt.datetime.fromtimestamp(value, tz=tz)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%d.%m.%Y %H:%M")


def unit_names(plan: Plan, lang: str) -> dict[str, str]:
    names = {u.code: (u.name_ru if lang == "ru" else u.name) for u in plan.units}
    names[plan.department.code] = plan.department.name_ru if lang == "ru" else plan.department.name
    return names


def short_names(plan: Plan, lang: str) -> dict[str, str]:
    """Names for the narrow grid column: the units' short names, and the department's own short word."""
    names = {u.code: u.short for u in plan.units}
    names[plan.department.code] = wording(lang, plan)["department_short"]
    return names


def next_date(plan: Plan, today: dt.date) -> dt.date | None:
    """The first reporting date not yet past (a date's deadline is the end of that day)."""
    return next((d for d in plan.dates if d >= today), None)


def problem_view(problem: Problem | Mapping[str, Any], lang: str, plan: Plan) -> dict[str, Any]:
    """One problem as a page shows it: severity, sheet, cell, code and the message in the page's language.

    A problem of the audit log is a dict; its recorded `params` let a Russian page say it in Russian
    (records written before they were kept say it in Kazakh, as recorded)."""
    if isinstance(problem, Problem):
        code, severity, sheet, cell = problem.code, problem.severity, problem.sheet, problem.cell
        params: dict[str, str] | None = dict(problem.params)
        recorded = problem.message
    else:
        code, severity = str(problem.get("code", "")), str(problem.get("severity", ""))
        sheet, cell = problem.get("sheet"), problem.get("cell")
        raw = problem.get("params")
        params = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else None
        recorded = str(problem.get("message", ""))
    message = recorded
    if code in catalogue() and params is not None:
        message = problem_message(Problem(code, "", params=tuple(sorted(params.items()))), lang, plan)
    return {"code": code, "severity": severity, "sheet": sheet, "cell": cell, "message": message}


def first_to_fix(problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a district should correct first: the first error in its workbook (the one that keeps a figure
    out of the report), else None."""
    return next((p for p in problems if p["severity"] == "error"), None)


def query(base: Mapping[str, str], **changes: str | None) -> str:
    """`?a=1&b=2` from the page's own query with some values changed (None drops a key)."""
    values = {k: v for k, v in base.items() if k in ("lang", "upload", "built")}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return "?" + urlencode(values) if values else ""
