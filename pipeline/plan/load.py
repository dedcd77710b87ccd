"""Read a plan file and turn any mistake in it into one `PlanError` that names the key.

A `PlanError` holds every mistake found as a `PlanProblem`: the key path (`units[oral].kind`), a stable
code whose message is in pipeline/data/messages.yaml (`plan_check:`, Kazakh and Russian) and the values the
message shows. `str(error)` is English, for logs; `pipeline.plan.check.describe` says it to a person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pipeline.plan.model import Plan, PlanRuleError
from pipeline.plan.schema import SchemaError, validate
from pipeline.texts import SafeLoader
from pipeline.yaml_cache import cached_yaml

DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "data" / "plans" / "mektepke-zhol-2017.yaml"


@dataclass(frozen=True)
class PlanProblem:
    """One mistake in a plan file: where (`path`), what (`code`, a key of `plan_check:` in messages.yaml),
    the values its message shows, and the same in English for logs."""

    path: str
    code: str
    english: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {self.english}" if self.path else self.english


class PlanError(Exception):
    """The plan file cannot be used; `problems` name the keys (str() lists them in English)."""

    def __init__(self, file: Path | str, problems: list[PlanProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [PlanProblem("", "plan-invalid", problems, {"detail": problems})]
        self.file = str(file)
        self.problems = list(problems)
        super().__init__(f"{file}: " + "; ".join(str(p) for p in self.problems))


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml's when available) that refuses a key given twice in one mapping (plain YAML
    keeps the last one)."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: object, mark: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", mark)
        self.key = key


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_plan(path: Path | str = DEFAULT_PLAN) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise PlanError(path, [PlanProblem("", "plan-unreadable", f"cannot read the plan file ({exc})",
                                           {"detail": str(detail)})]) from None
    key = hashlib.sha256(text.encode("utf-8")).digest()
    if key in _LOADED:  # the command line checks the plan before the command loads it: parse it once
        return _LOADED[key]
    plan = _parse(path, text)
    if len(_LOADED) >= 8:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = plan
    return plan


#: Plans parsed in this process, by the sha256 of their text (a Plan is frozen: sharing it is safe).
_LOADED: dict[bytes, Plan] = {}


def _parse(path: Path, text: str) -> Plan:
    try:
        # Parsed before (the same text): its data from the cache of parsed YAML (pipeline.yaml_cache).
        data = cached_yaml(text, lambda: yaml.load(text, Loader=_UniqueKeyLoader),  # noqa: S506 - SafeLoader's
                           kind="unique keys")
    except _DuplicateKey as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise PlanError(path, [PlanProblem("", "plan-duplicate-key", f"not valid YAML: {exc}",
                                           {"key": str(exc.key), "line": str(line)})]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = str(mark.line + 1) if mark is not None else "?"
        raise PlanError(path, [PlanProblem("", "plan-not-yaml", f"not valid YAML: {exc}",
                                           {"line": line, "detail": str(getattr(exc, "problem", "") or exc)})]) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # YAML's own date type: `2017-02-30` matches its pattern and fails in datetime.date, outside
        # YAMLError; an absurd nesting depth fails in the parser's recursion.
        raise PlanError(path, [PlanProblem("", "plan-bad-value",
                                           f"a value cannot be read ({type(exc).__name__}: {exc})",
                                           {"detail": str(exc)})]) from None
    if not isinstance(data, dict):
        raise PlanError(path, [PlanProblem("", "plan-not-mapping", "the plan must be a mapping of keys")])
    try:
        return validate(Plan, data)
    except SchemaError as exc:
        raise PlanError(path, _problems(exc, data)) from None


def plan_fingerprint(path: Path | str = DEFAULT_PLAN) -> str:
    """Hash of the plan file's bytes: caches of parsed submissions are only valid for the same plan."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


#: schema error type → the code of its message (messages.yaml `plan_check:`).
_TYPE_CODES = {
    "extra_forbidden": "plan-unknown-key",
    "missing": "plan-missing-key",
    "literal_error": "plan-not-allowed",
    "model_type": "plan-not-mapping-here",
    "dict_type": "plan-not-mapping-here",
    "tuple_type": "plan-not-list",
    "too_short": "plan-list-length",
    "string_type": "plan-not-text",
    "bool_type": "plan-not-boolean",
    "int_type": "plan-not-integer",
    "float_type": "plan-not-number",
    "date_type": "plan-not-date",
    "date_from_datetime_inexact": "plan-not-date",
    "union": "plan-wrong-type",
}


def _problems(exc: SchemaError, data: dict) -> list[PlanProblem]:
    out = []
    for error in exc.errors():
        location, value = _readable_location(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        rule = error.get("rule")
        if isinstance(rule, PlanRuleError):
            path = ".".join(p for p in (location, rule.path) if p)
            out.append(PlanProblem(path, rule.code, message.removeprefix(f"{rule.path}: "), rule.params))
            continue
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        code = _TYPE_CODES.get(error["type"], "plan-invalid")
        params = {"value": _shown(value), "detail": message, **{k: str(v) for k, v in error.get("ctx", {}).items()}}
        out.append(PlanProblem(location, code, message, params))
    return out


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _readable_location(loc: tuple[int | str, ...], data: object) -> tuple[str, object]:
    """`sections.0.items.2.figures.1.unit` → `sections[III].items[III.2].figures[visits].unit`, and the value
    found there (None when the key is missing)."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            label = node.get("code") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1]}[{label if label is not None else step}]" if parts else str(step)
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts), node
