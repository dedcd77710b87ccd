"""Recognising a reporting unit from the name a person typed.

Every known name and alias is folded to one spelling (`pipeline.plan.names.fold`: Kazakh or Russian
letters, Latin lookalikes, spacing and case, words like «ауданы» / «район» aside); a typed name that
folds to the same key is that unit. Anything else is unknown, and the nearest
known names are offered instead of a guess.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

from pipeline.plan.model import Plan
from pipeline.plan.names import fold

__all__ = ["UnitMatch", "UnitResolver", "fold"]


@dataclass(frozen=True)
class UnitMatch:
    code: str | None  # None when unknown
    name: str | None = None  # the official name of the unit recognised
    exact: bool = False  # typed exactly as the official name
    nearest: tuple[str, ...] = ()  # official names of the closest units, when unknown


class UnitResolver:
    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    @cached_property
    def _keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for unit in self._plan.units:
            for name in (unit.name, unit.short, unit.name_ru, *unit.aliases):
                keys[fold(name)] = unit.code
        dept = self._plan.department
        for name in (dept.name, dept.name_ru):
            keys[fold(name)] = dept.code
        keys.pop("", None)
        return keys

    @cached_property
    def _official(self) -> dict[str, str]:
        names = {u.code: u.name for u in self._plan.units}
        names[self._plan.department.code] = self._plan.department.name
        return names

    def resolve(self, typed: str) -> UnitMatch:
        text = " ".join(typed.split())
        key = fold(text)
        code = self._keys.get(key)
        if code is not None:
            official = self._official[code]
            return UnitMatch(code, name=official, exact=text == official)
        close = difflib.get_close_matches(key, list(self._keys), n=6, cutoff=0.5)
        nearest: list[str] = []
        for candidate in close:
            name = self._official[self._keys[candidate]]
            if name not in nearest:
                nearest.append(name)
        return UnitMatch(None, nearest=tuple(nearest[:3]))
