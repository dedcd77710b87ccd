"""What reading one file yields, before any validation: cells found by row code, and file-level problems.

This is the contract between the reader (which runs in isolated worker processes and may be cached) and
validation (which knows the plan's rules). Everything here is plain data and pickles cheaply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.validate.catalogue import Problem

CellValue = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None


@dataclass(frozen=True)
class RawCell:
    sheet: str
    cell: str  # A1 address of the value cell
    value: CellValue  # as the reader returned it; '' and None both mean empty
    formula_without_value: bool = False  # a formula whose result was never computed
    error: str | None = None  # '#DIV/0!' and the like, when the reader exposes it

    @property
    def empty(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


@dataclass(frozen=True)
class RawForm:
    """One inbox file as read. `cells` is empty when the file could not be read; `problems` says why."""

    name: str  # file name relative to the inbox, as shown to people
    sha256: str
    size: int
    mtime: float  # seconds since the epoch (file modification time)
    format: str | None  # 'xlsx', 'xlsm', 'xls', 'ods'; None when not a readable spreadsheet
    cells: dict[str, RawCell] = field(default_factory=dict)  # row code → value cell
    duplicates: dict[str, tuple[RawCell, ...]] = field(default_factory=dict)  # code found more than once
    has_defined_names: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def readable(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)
