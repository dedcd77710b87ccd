"""Turn the plan file's YAML data into the frozen dataclasses of `pipeline.plan.model`, checking every key.

Why not pydantic: importing it and building the plan's 20 model classes cost ~120 ms at every start —
half of `python -m pipeline check FILE` — while validating the plan itself takes about a millisecond.
The plan needs only a small part of what pydantic does, done here from the dataclasses' type hints:
str, int, float, bool, date, Literal, `X | None`, `tuple[X, ...]`, fixed tuples, `dict[str, X]` and nested
models; unknown keys are refused, missing keys named, and every mistake is collected with its location
(the same `loc` tuples the plan loader turns into `sections[III].items[III.2]…`).

A model may give `_before` (field → function applied to the raw value first) and `_check(self)` (raises
ValueError for a rule across fields); both errors read "Value error, <message>" like pydantic's, and keep
the exception itself under "rule" (a `PlanRuleError` carries the code and values of its message).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any, Literal, Union

Loc = tuple[int | str, ...]


class SchemaError(Exception):
    """Every mistake found in the data: `errors()` gives dicts with `loc`, `msg` and `type`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return list(self._errors)


class _Invalid(Exception):
    def __init__(self, msg: str, kind: str, **ctx: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.kind = kind
        self.ctx = ctx  # what a message in another language needs: the allowed values, the count expected


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def validate(cls: type, data: Any) -> Any:
    """An instance of the dataclass `cls` from `data`, or SchemaError listing every mistake."""
    errors: list[dict[str, Any]] = []
    result = _model(cls, data, (), errors)
    if errors:
        raise SchemaError(errors)
    return result


def _model(cls: type, data: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        errors.append({"loc": loc, "msg": f"Input should be a valid dictionary or instance of {cls.__name__}",
                       "type": "model_type"})
        return None
    hints = _hints(cls)
    before = getattr(cls, "_before", {})
    values: dict[str, Any] = {}
    failed = False
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            errors.append({"loc": (*loc, key), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"})
            failed = True
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                errors.append({"loc": (*loc, name), "msg": "Field required", "type": "missing"})
                failed = True
            continue
        raw = data[name]
        try:
            if name in before:
                raw = before[name](raw)
            value = _value(hints[name], raw, (*loc, name), errors)
        except _Invalid as exc:
            errors.append({"loc": (*loc, name), "msg": exc.msg, "type": exc.kind, "ctx": exc.ctx})
            failed = True
            continue
        except ValueError as exc:
            errors.append({"loc": (*loc, name), "msg": f"Value error, {exc}", "type": "value_error", "rule": exc})
            failed = True
            continue
        if value is _FAILED:
            failed = True
            continue
        values[name] = value
    if failed:
        return _FAILED
    instance = cls(**values)
    check = getattr(instance, "_check", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            errors.append({"loc": loc, "msg": f"Value error, {exc}", "type": "value_error", "rule": exc})
            return _FAILED
    return instance


class _Failed:
    """A value that had errors (already recorded): its parents are not built either."""


_FAILED: Any = _Failed()


def _value(hint: Any, raw: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _value(options[0], raw, loc, errors)
        raise _Invalid(f"Input should be one of {options}", "union")
    if origin is Literal:
        if raw in args and type(raw) in (type(a) for a in args):
            return raw
        shown = ", ".join(repr(a) for a in args[:-1]) + f" or {args[-1]!r}" if len(args) > 1 else repr(args[0])
        raise _Invalid(f"Input should be {shown}", "literal_error", choices=", ".join(str(a) for a in args))
    if origin is tuple:
        if not isinstance(raw, (list, tuple)):
            raise _Invalid("Input should be a valid tuple", "tuple_type")
        if len(args) == 2 and args[1] is Ellipsis:
            kinds = [args[0]] * len(raw)
        else:
            if len(raw) != len(args):
                raise _Invalid(f"Tuple should have {len(args)} items, not {len(raw)}", "too_short",
                               expected=str(len(args)), given=str(len(raw)))
            kinds = list(args)
        out = [_item(kind, item, (*loc, i), errors) for i, (kind, item) in enumerate(zip(kinds, raw))]
        return _FAILED if any(v is _FAILED for v in out) else tuple(out)
    if origin is dict:
        if not isinstance(raw, dict):
            raise _Invalid("Input should be a valid dictionary", "dict_type")
        out_dict = {}
        for key, item in raw.items():
            k = _item(args[0], key, (*loc, str(key)), errors)
            v = _item(args[1], item, (*loc, str(key)), errors)
            out_dict[k] = v
        return _FAILED if _FAILED in out_dict.values() or _FAILED in out_dict else out_dict
    if dataclasses.is_dataclass(hint):
        return _model(hint, raw, loc, errors)
    return _scalar(hint, raw)


def _item(hint: Any, raw: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    """An element of a container: its own error is recorded at its own location."""
    try:
        return _value(hint, raw, loc, errors)
    except _Invalid as exc:
        errors.append({"loc": loc, "msg": exc.msg, "type": exc.kind, "ctx": exc.ctx})
    except ValueError as exc:
        errors.append({"loc": loc, "msg": f"Value error, {exc}", "type": "value_error", "rule": exc})
    return _FAILED


_TRUE = {"true", "yes", "on", "1", "t", "y"}
_FALSE = {"false", "no", "off", "0", "f", "n"}


def _scalar(hint: Any, raw: Any) -> Any:
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise _Invalid("Input should be a valid string", "string_type")
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise _Invalid("Input should be a valid boolean", "bool_type")
    if hint is int:
        if isinstance(raw, bool):
            return int(raw)
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        raise _Invalid("Input should be a valid integer", "int_type")
    if hint is float:
        if isinstance(raw, (int, float)):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw.strip())
            except ValueError:
                pass
        raise _Invalid("Input should be a valid number", "float_type")
    if hint is dt.date:
        if isinstance(raw, dt.datetime):
            if raw.time() == dt.time(0):
                return raw.date()
            raise _Invalid("Datetimes provided to dates should have zero time", "date_from_datetime_inexact")
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw.strip())
            except ValueError:
                pass
        raise _Invalid("Input should be a valid date", "date_type")
    raise TypeError(f"the plan schema cannot check {hint!r}")  # a developer's mistake in model.py
