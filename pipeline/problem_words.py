"""A problem's message in the reader's language for one plan.

The catalogue (`pipeline/data/problems.yaml`) has every message in Kazakh and Russian; a problem records its
values as the form gave them, so a figure is named by its Kazakh label and a unit by its Kazakh name. Said
in Russian, those values become the plan's Russian label and name. Every face (the portal's pages, the mail
letters) asks here, so a district reads the same words by either route.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.plan.model import Plan
from pipeline.problems import Problem

#: The recorded values that name a figure, and those that name a unit (or the department).
FIGURE_PARAMS = ("figure", "parent", "other")
UNIT_PARAMS = ("unit", "link_unit")

_WORDS: dict[int, tuple[Plan, dict[str, dict[str, str]]]] = {}


def _russian_words(plan: Plan) -> dict[str, dict[str, str]]:
    """Kazakh label or name → the plan's Russian one (kept per plan object; a plan is not hashable)."""
    kept = _WORDS.get(id(plan))
    if kept is None or kept[0] is not plan:
        figures = {f.label: f.label_ru for f in plan.figures if f.label_ru}
        units = {u.name: u.name_ru for u in plan.units if u.name_ru}
        if plan.department.name_ru:
            units[plan.department.name] = plan.department.name_ru
        kept = _WORDS[id(plan)] = (plan, {"figure": figures, "unit": units})
    return kept[1]


def params_in(params: Mapping[str, str], lang: str, plan: Plan) -> dict[str, str]:
    """The recorded values with figure labels and unit names in `lang` (as recorded for Kazakh)."""
    if lang != "ru":
        return dict(params)
    words = _russian_words(plan)
    return {k: (words["figure"].get(v, v) if k in FIGURE_PARAMS else
                words["unit"].get(v, v) if k in UNIT_PARAMS else v) for k, v in params.items()}


def problem_message(problem: Problem, lang: str, plan: Plan) -> str:
    """The problem's message in `lang` ("kk" or "ru"), its values named in that language."""
    return problem.message_in(lang, params_in(dict(problem.params), lang, plan))
