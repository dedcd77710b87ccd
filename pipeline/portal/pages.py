"""Server-rendered pages: the Jinja2 environment, the wording (pipeline/data/portal.yaml) and view helpers."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from pipeline.plan import Plan
from pipeline.plan.clock import campaign_tz
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


def wording(lang: str, plan: Plan | None = None) -> dict[str, Any]:
    """portal.yaml in `lang`; with a plan, its words take the campaign's own: {clock} («… уақыты»),
    {department} (its name), the department's short word (`department.short`) — the other placeholders
    are left for the page to fill."""
    words = load_data("portal.yaml")[lang if lang in LANGS else "kk"]
    if plan is None:
        return words
    ru = lang == "ru"
    own = {"clock": plan.campaign.clock_ru if ru else plan.campaign.clock,
           "department": plan.department.name_ru if ru else plan.department.name}
    words = _filled(words, own)
    # The plan's own short word for its department («Министрлік»), else the portal's («Басқарма»).
    short = plan.department.short_ru if ru else plan.department.short
    if short:
        words = {**words, "department_short": short, "back": str(words["back_to"]).format(short=short)}
    return words


_OWN = re.compile(r"\{(clock|department)\}")


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
