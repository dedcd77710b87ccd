"""The catalogue of problem codes, loaded from data/problems.yaml, and the `Problem` record.

A problem is data: a code, where it is (file, sheet, A1 cell) and the values its message needs. Severity
and wording come from the catalogue, so nothing else in the code decides how serious a problem is or what
it says.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pipeline.texts import safe_load

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "problems.yaml"

Severity = Literal["error", "warning", "info"]
Scope = Literal["file", "cell", "unit"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Entry:
    code: str
    severity: Severity
    scope: Scope
    title: str
    message: str
    message_ru: str

    @property
    def placeholders(self) -> frozenset[str]:
        return _placeholders(self.message)

    def text(self, lang: str = "kk") -> str:
        """The message pattern in a language of the catalogue: `kk` (the default) or `ru`."""
        return self.message_ru if lang == "ru" else self.message


def _placeholders(pattern: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(pattern) if name)


class CatalogueError(Exception):
    """The catalogue file itself is wrong (a developer's mistake, caught by the tests)."""


@cache
def catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Entry]:
    raw = safe_load(path.read_text(encoding="utf-8"))
    entries: dict[str, Entry] = {}
    for code, body in raw.items():
        if set(body) != {"severity", "scope", "title", "message", "message_ru"}:
            raise CatalogueError(f"{path}: {code}: keys must be severity, scope, title, message, message_ru")
        if _placeholders(body["message"]) != _placeholders(body["message_ru"]):
            raise CatalogueError(f"{path}: {code}: message and message_ru must use the same placeholders")
        if body["severity"] not in SEVERITY_ORDER:
            raise CatalogueError(f"{path}: {code}: unknown severity {body['severity']!r}")
        if body["scope"] not in ("file", "cell", "unit"):
            raise CatalogueError(f"{path}: {code}: unknown scope {body['scope']!r}")
        entries[code] = Entry(code=code, **body)
    return entries


@dataclass(frozen=True)
class Problem:
    code: str
    file: str
    sheet: str | None = None
    cell: str | None = None
    params: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.code not in catalogue():
            raise KeyError(f"problem code {self.code!r} is not in the catalogue")

    @classmethod
    def make(
        cls, code: str, file: str, sheet: str | None = None, cell: str | None = None, **params: object
    ) -> Problem:
        return cls(code, file, sheet, cell, tuple((k, _text(v)) for k, v in sorted(params.items())))

    @property
    def entry(self) -> Entry:
        return catalogue()[self.code]

    @property
    def severity(self) -> Severity:
        return self.entry.severity

    @property
    def message(self) -> str:
        return self.message_in("kk")

    def message_in(self, lang: str, params: dict[str, str] | None = None) -> str:
        """The message in `lang` (kk or ru); `params` may replace the recorded values (a Russian page puts
        the plan's Russian label where the Kazakh one was recorded)."""
        values = dict(self.params) if params is None else params
        return self.entry.text(lang).format_map(_Missing(values))

    def as_row(self) -> dict[str, str]:
        return {
            "file": self.file,
            "sheet": self.sheet or "",
            "cell": self.cell or "",
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


class _Missing(dict):
    """format_map helper: a placeholder with no value shows as «?» instead of raising."""

    def __missing__(self, key: str) -> str:
        return "?"


def _text(value: object) -> str:
    """A value quoted in a message, as every output may hold it: the one masking pass runs on it (a
    value may come from any cell, or be a number that is an ИИН), and XML-illegal characters go."""
    from pipeline.privacy import mask
    from pipeline.safe_text import xml_text

    return mask(xml_text(value if isinstance(value, str) else str(value)))[0]

