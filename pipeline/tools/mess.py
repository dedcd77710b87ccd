"""What a real inbox holds besides good forms: corrections, typos, broken and stray files.

`add_mess` drops such files beside a generated sample set, so the demo and the end-to-end tests show the
pipeline answering each one. `Mess` records what each file is and which problem codes it must produce,
and how the figures the report should show differ from the clean sample set.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.forms import layout
from pipeline.plan.model import Plan
from pipeline.tools.samples import SampleSet, fill_form


@dataclass(frozen=True)
class MessFile:
    name: str
    kind: str  # correction | typo-values | unknown-unit | not-spreadsheet | truncated | lock | hidden | cover-letter
    codes: frozenset[str]  # problem codes this file must produce (at least)
    status: str  # its expected status in the manifest: used | superseded | rejected | ignored


@dataclass
class Mess:
    files: list[MessFile] = field(default_factory=list)
    #: (unit, date) → code → the value the report must show instead of the clean sample's (None: no value).
    overrides: dict[tuple[str, dt.date], dict[str, object]] = field(default_factory=dict)
    #: sample files that a correction replaced.
    superseded: set[str] = field(default_factory=set)


def add_mess(plan: Plan, samples: SampleSet, date: dt.date) -> Mess:
    """Add messy files for reporting date `date` to `samples.outdir` (it must hold files for that date)."""
    out = samples.outdir
    mess = Mess()
    present = [f for f in samples.files if f.report_date == date and f.unit != plan.department.code]
    if len(present) < 3:
        raise ValueError(f"the sample set has too few files for {date}")
    first, second, third = present[0], present[1], present[2]

    # 1. A correction sent two days later, with the unit typed in Latin lookalike letters: it supersedes.
    # The same unit's previous report had an extra zero in one figure; this one gives it right, so the
    # oblast total falls (see `_overstate_previous`).
    unit_name = plan.unit_by_code[first.unit].name
    latin = unit_name.replace("а", "a").replace("о", "o").replace("е", "e")
    corrected = int(first.values["help_children"]) + 25  # type: ignore[call-overload]
    name = f"{Path(first.path.name).stem} (түзетілген).xlsx"
    changes: dict[str, object] = {"help_children": corrected}
    fell = _overstate_previous(plan, samples, first.unit, date, mess)
    fill_form(first.path, out / name, {
        layout.HEADER_CODES["unit"]: latin,
        layout.HEADER_CODES["filled_date"]: date + dt.timedelta(days=2),
        **changes,
    })
    _touch(out / name, date + dt.timedelta(days=2))
    codes = {"unit-alias"} | ({"total-decreased"} if fell else set())
    mess.files.append(MessFile(name, "correction", frozenset(codes), "used"))
    mess.superseded.add(first.path.name)
    mess.files.append(MessFile(first.path.name, "superseded", frozenset({"submission-superseded"}), "superseded"))
    mess.overrides[(first.unit, date)] = changes

    # 2. Numbers typed by hand as text: one unambiguous (converted), one ambiguous (rejected, cell named).
    fill_form(second.path, second.path, {
        "sponsors_involved": f"{int(second.values['sponsors_involved']):,}".replace(",", " ") + " ",  # type: ignore[call-overload]
        "leaflets": "1.500",
    })
    _touch(second.path, second.filled_date)
    mess.files.append(MessFile(second.path.name, "typo-values",
                               frozenset({"value-converted", "value-ambiguous-number"}), "used"))
    mess.overrides[(second.unit, date)] = {"leaflets": None}

    # 3. A unit nobody knows: rejected, the nearest names offered.
    name = f"Жаңа аудан {date:%d.%m}.xlsx"
    fill_form(third.path, out / name, {layout.HEADER_CODES["unit"]: "Жаңажол ауданы"})
    mess.files.append(MessFile(name, "unknown-unit", frozenset({"unit-unknown"}), "rejected"))

    # 4. Broken and stray files.
    (out / "Ілеспе хат.xlsx").write_text("Құрметті әріптестер! Ақпаратты жолдаймыз.\n", encoding="utf-8")
    mess.files.append(MessFile("Ілеспе хат.xlsx", "not-spreadsheet", frozenset({"file-not-spreadsheet"}), "rejected"))
    data = third.path.read_bytes()
    (out / "Нысан_толық емес.xlsx").write_bytes(data[: len(data) // 2])
    mess.files.append(MessFile("Нысан_толық емес.xlsx", "truncated", frozenset({"file-corrupt"}), "rejected"))
    (out / f"~${first.path.name}").write_bytes(b"\x0bowner\x00" * 20)
    mess.files.append(MessFile(f"~${first.path.name}", "lock", frozenset({"ignored-lock-file"}), "ignored"))
    (out / "Ілеспе хат.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
    mess.files.append(MessFile("Ілеспе хат.pdf", "cover-letter", frozenset({"ignored-not-spreadsheet"}), "ignored"))
    # They arrived with that date's mail: a file whose date cannot be read belongs to the report of the
    # day it arrived (see pipeline.report.file_date), as it would in real use.
    for stray in ("Ілеспе хат.xlsx", "Нысан_толық емес.xlsx", f"~${first.path.name}", "Ілеспе хат.pdf"):
        _touch(out / stray, date)
    return mess


#: The figure a unit overstated on the previous date (an extra zero) and gave right on this one.
OVERSTATED = "out_of_school_found"


def _overstate_previous(plan: Plan, samples: SampleSet, unit: str, date: dt.date, mess: Mess) -> bool:
    """Rewrite `unit`'s previous-date file with one figure ten times too large, so that the right value
    on `date` makes the oblast total fall: the report must say «кеміді», not growth of a negative number."""
    previous = plan.previous_date(date)
    old = samples.get(unit, previous) if previous is not None else None
    value = old.values.get(OVERSTATED) if old is not None else None
    if old is None or previous is None or not isinstance(value, int) or value <= 0:
        return False
    fill_form(old.path, old.path, {OVERSTATED: value * 10})
    _touch(old.path, old.filled_date)
    mess.overrides[(unit, previous)] = {OVERSTATED: value * 10}
    return True


def _touch(path: Path, day: dt.date) -> None:
    stamp = dt.datetime.combine(day, dt.time(18, 0)).timestamp()
    os.utime(path, (stamp, stamp))
