"""What reading one file yields, before any validation: cells found by row code, and file-level problems.

This is the contract between the reader (which runs in isolated worker processes and may be cached) and
validation (which knows the plan's rules). Everything here is plain data and pickles cheaply.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported lazily at run time: pipeline.validate's package imports this module, and importing
    # pipeline.problems from here at load time would make the two packages a cycle.
    from pipeline.problems import Problem

CellValue = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None


@dataclass(frozen=True)
class RawCell:
    sheet: str
    cell: str  # A1 address of the value cell
    value: CellValue  # as the reader returned it; '' and None both mean empty
    formula_without_value: bool = False  # a formula whose result was never computed
    error: str | None = None  # '#DIV/0!' and the like, when the reader exposes it
    masked: bool = False  # personal data was masked out of `value` at ingest (see pipeline.privacy)

    @property
    def empty(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sheet": self.sheet, "cell": self.cell, "value": value_to_json(self.value)}
        if self.formula_without_value:
            out["formula_without_value"] = True
        if self.error is not None:
            out["error"] = self.error
        if self.masked:
            out["masked"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RawCell:
        # The hot path of a cached re-run (~90 cells a form, 10,000 forms): filled in one dict update
        # instead of the frozen __init__'s six object.__setattr__ calls, about half the time. Same object.
        cell = object.__new__(cls)
        cell.__dict__.update(
            sheet=data["sheet"], cell=data["cell"], value=value_from_json(data["value"]),
            formula_without_value=bool(data.get("formula_without_value", False)), error=data.get("error"),
            masked=bool(data.get("masked", False)),
        )
        return cell


class LazyCells(Mapping[str, "RawCell"]):
    """Row code → RawCell of a form thawed from the cache, each cell made when first asked for.

    A re-run takes most forms' validated submissions from the cache too and never looks at their cells
    (only feedback and a re-validation do), so making ~90 cell objects for each of 10,000 forms would be
    wasted. Two ways to be built by the cache (`pipeline.ingest.cache`):

    * from the decoded cells (`RawForm.from_dict(..., lazy=True)`), after `check_cells` found every cell
      decodable;
    * from the stored row's text, not decoded at all (`stored=`), when the row's digest proved the text to
      be the one the cache wrote: the text then decodes as it did when written. `count` and `peek` (the
      few cells every run asks of every form, with None for one the form lacks) answer without decoding.

    Either way a later access cannot fail on a row the cache accepted: a bad row stays a miss at thaw time.
    """

    __slots__ = ("_json", "_made", "_text", "_count", "_peek")

    def __init__(self, data: dict[str, dict[str, Any]] | None = None, *, stored: str | bytes = "", count: int = 0,
                 peek: dict[str, dict[str, Any] | None] | None = None) -> None:
        self._json = data
        self._made: dict[str, RawCell] = {}
        self._text = stored
        self._count = len(data) if data is not None else count
        self._peek = peek or {}

    def _cells(self) -> dict[str, dict[str, Any]]:
        if self._json is None:
            try:
                self._json = check_cells(json.loads(self._text)["cells"])
            except (ValueError, TypeError, KeyError, RecursionError) as exc:
                # Only a row rewritten by hand with a matching digest gets here: a fault, not a form's.
                raise RuntimeError("a cached form no longer decodes: delete the outbox's .cache folder") from exc
            self._text = b""
        return self._json

    def __getitem__(self, code: str) -> RawCell:
        cell = self._made.get(code)
        if cell is None:
            if self._json is None and code in self._peek:
                known = self._peek[code]
                if known is None:
                    raise KeyError(code)
                cell = RawCell.from_dict(known)
            else:
                cell = RawCell.from_dict(self._cells()[code])
            self._made[code] = cell
        return cell

    def __iter__(self) -> Iterator[str]:
        return iter(self._cells())

    def __len__(self) -> int:
        return self._count

    def __contains__(self, code: object) -> bool:
        if self._json is None and code in self._peek:
            return self._peek[code] is not None  # type: ignore[index]
        return code in self._cells()

    @property
    def decoded(self) -> bool:
        """Whether the stored text was decoded (for tests and the benchmark's curiosity)."""
        return self._json is not None

    def __repr__(self) -> str:
        # The plain dict's repr: output-reuse keys hash a verdict by its repr (pipeline.render.reuse), and
        # a form from the cache must give the key the same form read afresh gives.
        return repr(dict(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))  # pickled (to a worker, a queue) as the plain dict it stands for


def check_cells(data: object) -> dict[str, dict[str, Any]]:
    """The cache's cells of one form, or ValueError when one would not decode (what `RawCell.from_dict`
    needs: a mapping with sheet, cell and a value `value_from_json` takes). Cheap: no object is made for a
    plain value; a typed one (a date) is decoded once to prove it and again when the cell is made."""
    if type(data) is not dict:
        raise ValueError("cells: expected a mapping")
    for cell in data.values():
        if type(cell) is not dict or "sheet" not in cell or "cell" not in cell or "value" not in cell:
            raise ValueError("a cell without sheet, cell or value")
        if type(cell["value"]) is dict:
            value_from_json(cell["value"])
    return data


@dataclass(frozen=True)
class RawForm:
    """One inbox file as read. `cells` is empty when the file could not be read; `problems` says why."""

    name: str  # file name relative to the inbox, as shown to people: valid UTF-8, personal data masked
    sha256: str
    size: int
    mtime: float  # seconds since the epoch (file modification time)
    format: str | None  # 'xlsx', 'xlsm', 'xls', 'ods'; None when not a readable spreadsheet
    #: row code → value cell (a LazyCells mapping for a form thawed from the cache)
    cells: Mapping[str, RawCell] = field(default_factory=dict)
    duplicates: dict[str, tuple[RawCell, ...]] = field(default_factory=dict)  # code found more than once
    has_defined_names: bool = False
    problems: tuple[Problem, ...] = ()
    #: the file's path as the reader opened it (str, may hold surrogates): never shown, never cached. Empty
    #: for forms built in memory. Writers that copy the original file (feedback) open this, not `name`.
    source: str = field(default="", compare=False)
    name_masked: bool = field(default=False, compare=False)  # `name` lost personal data when made

    @property
    def readable(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for the cache keyed by sha256); `from_dict` gives an equal RawForm back."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "mtime": self.mtime,
            "format": self.format,
            "cells": {code: c.to_dict() for code, c in self.cells.items()},
            "duplicates": {code: [c.to_dict() for c in cs] for code, cs in self.duplicates.items()},
            "has_defined_names": self.has_defined_names,
            "problems": [
                {"code": p.code, "file": p.file, "sheet": p.sheet, "cell": p.cell, "params": [list(kv) for kv in p.params]}
                for p in self.problems
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, lazy: bool = False, cells: LazyCells | None = None) -> RawForm:
        """`lazy`: cells made when first used (LazyCells), after checking that each would decode; `cells`:
        the form's cells as they are (then `data` needs no "cells")."""
        from pipeline.problems import Problem

        if cells is None:
            cells = LazyCells(check_cells(data["cells"])) if lazy \
                else {code: RawCell.from_dict(c) for code, c in data["cells"].items()}
        return cls(
            name=data["name"],
            sha256=data["sha256"],
            size=int(data["size"]),
            mtime=float(data["mtime"]),
            format=data["format"],
            cells=cells,
            duplicates={code: tuple(RawCell.from_dict(c) for c in cs) for code, cs in data["duplicates"].items()},
            has_defined_names=bool(data["has_defined_names"]),
            problems=tuple(
                Problem(p["code"], p["file"], p["sheet"], p["cell"], tuple((k, v) for k, v in p["params"]))
                for p in data["problems"]
            ),
        )


# JSON has no dates: temporal values travel as {"$type": ..., "v": ISO text}. Plain JSON values as they are.
def value_to_json(value: CellValue) -> Any:
    # Nearly every value is text, a finite number or empty: given back as it is without the chain below
    # (storing 1,000 read forms made ~90,000 calls, a third of the cache's encoding time).
    kind = value.__class__
    if kind is str or kind is int or kind is bool or value is None or (kind is float and value - value == 0.0):
        return value
    # datetime before date: a datetime is also a date.
    if isinstance(value, dt.datetime):
        return {"$type": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$type": "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$type": "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$type": "timedelta", "v": value.total_seconds()}
    if isinstance(value, float) and value != value:
        return {"$type": "float", "v": "nan"}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return {"$type": "float", "v": "inf" if value > 0 else "-inf"}
    return value


def value_from_json(data: Any) -> CellValue:
    if not isinstance(data, dict):
        return data
    kind, v = data["$type"], data["v"]
    if kind == "datetime":
        return dt.datetime.fromisoformat(v)
    if kind == "date":
        return dt.date.fromisoformat(v)
    if kind == "time":
        return dt.time.fromisoformat(v)
    if kind == "timedelta":
        return dt.timedelta(seconds=v)
    if kind == "float":
        return float(v)
    raise ValueError(f"unknown cell value type {kind!r}")
