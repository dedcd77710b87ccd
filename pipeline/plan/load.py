"""Read a plan file and turn any mistake in it into one `PlanError` that names the key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pipeline.plan.model import Plan
from pipeline.plan.schema import SchemaError, validate
from pipeline.texts import SafeLoader

DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "data" / "plans" / "mektepke-zhol-2017.yaml"


class PlanError(Exception):
    """The plan file cannot be used; the message names the file and the key."""


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml's when available) that refuses a key given twice in one mapping (plain YAML
    keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_plan(path: Path | str = DEFAULT_PLAN) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read the plan file ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # YAML's own date type: `2017-02-30` matches its pattern and fails in datetime.date, outside
        # YAMLError; an absurd nesting depth fails in the parser's recursion.
        raise PlanError(f"{path}: a value cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: the plan must be a mapping of keys")
    try:
        return validate(Plan, data)
    except SchemaError as exc:
        raise PlanError(f"{path}: {_describe(exc, data)}") from None


def plan_fingerprint(path: Path | str = DEFAULT_PLAN) -> str:
    """Hash of the plan file's bytes: caches of parsed submissions are only valid for the same plan."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _describe(exc: SchemaError, data: dict) -> str:
    lines = []
    for error in exc.errors():
        location = _readable_location(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        lines.append(f"{location}: {message}" if location else message)
    return "; ".join(lines)


def _readable_location(loc: tuple[int | str, ...], data: object) -> str:
    """`sections.0.items.2.figures.1.unit` → `sections[I].items[I.3].figures[raids].unit`."""
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
    return ".".join(parts)
