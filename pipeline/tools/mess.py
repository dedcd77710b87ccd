"""What a real inbox holds besides good forms: corrections, typos, broken and stray files.

`add_mess` drops such files beside a generated sample set, so the demo and the end-to-end tests show the
pipeline answering each one. `Mess` records what each file is and which problem codes it must produce,
and how the figures the report should show differ from the clean sample set. Which figures the mess touches
comes from the plan's structure (`mess_figures`), for any plan.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.forms import layout
from pipeline.plan.clock import campaign_tz
from pipeline.plan.model import Figure, Plan
from pipeline.tools.samples import SampleSet, fill_form, never_filled_figure


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
    #: the figures the mess touches (see `MessFigures`)
    figures: MessFigures | None = None


@dataclass(frozen=True)
class MessFigures:
    """Which figures of the plan the messy files change: the correction gives `corrected` anew (+25) and
    `overstated` right after the previous date's file had it ten times too large (the total falls); the
    typed-in file writes `converted` as text with a space ("1 234 ", read with a warning) and `rejected`
    as "1.500" (ambiguous: rejected, carried forward or left out). "" where the plan has no such figure."""

    corrected: str
    overstated: str
    converted: str
    rejected: str


def mess_figures(plan: Plan) -> MessFigures:
    unit_figures = [f for item in plan.items_for("units") for f in item.figures]
    wholes = {f.of for f in plan.figures if f.of}
    roots = [f for f in unit_figures if f.unit == "count" and f.of is None]
    head = plan.report.per_head.denominator if plan.report.per_head else None
    corrected = next((f.code for f in roots if f.code == head),
                     next((f.code for f in roots if f.role == "headline"), next((f.code for f in roots if f.key), "")))
    # A figure whose rise is bad news (children out of school) shows a fall best; else any key count.
    candidates = [f for f in roots if f.code != corrected and f.role is None]
    overstated = next((f.code for f in candidates if f.good == "down"),
                      next((f.code for f in candidates if f.key), ""))
    converted = next((f.code for f in candidates if f.key and f.code != overstated and f.code not in wholes), "")
    blank = never_filled_figure(plan)

    def size(f: Figure) -> float:
        return f.typical[1] if f.typical else 0.0

    plain = [f for f in candidates if not f.key and not f.required and f.code not in wholes
             and f.code not in (overstated, converted, blank) and f.code not in plan.rules.max_values]
    rejected = max(plain, key=size).code if plain else ""
    return MessFigures(corrected, overstated, converted, rejected)


def add_mess(plan: Plan, samples: SampleSet, date: dt.date) -> Mess:
    """Add messy files for reporting date `date` to `samples.outdir` (it must hold files for that date)."""
    out = samples.outdir
    mess = Mess()
    present = [f for f in samples.files if f.report_date == date and f.unit != plan.department.code]
    if len(present) < 3:
        raise ValueError(f"the sample set has too few files for {date}")
    first, second, third = present[0], present[1], present[2]
    figures = mess.figures = mess_figures(plan)

    # 1. A correction sent two days later, with the unit typed in Latin lookalike letters: it supersedes.
    # The same unit's previous report had an extra zero in one figure; this one gives it right, so the
    # oblast total falls (see `_overstate_previous`).
    unit_name = plan.unit_by_code[first.unit].name
    latin = unit_name.replace("а", "a").replace("о", "o").replace("е", "e")
    name = f"{Path(first.path.name).stem} (түзетілген).xlsx"
    changes: dict[str, object] = {}
    if isinstance(first.values.get(figures.corrected), int):
        changes[figures.corrected] = int(first.values[figures.corrected]) + 25  # type: ignore[call-overload]
    fell = _overstate_previous(plan, samples, first.unit, date, mess, figures.overstated)
    fill_form(first.path, out / name, {
        layout.HEADER_CODES["unit"]: latin,
        layout.HEADER_CODES["filled_date"]: date + dt.timedelta(days=2),
        **changes,
    })
    _touch(plan, out / name, date + dt.timedelta(days=2))
    codes = {"unit-alias"} | ({"total-decreased"} if fell else set())
    mess.files.append(MessFile(name, "correction", frozenset(codes), "used"))
    mess.superseded.add(first.path.name)
    mess.files.append(MessFile(first.path.name, "superseded", frozenset({"submission-superseded"}), "superseded"))
    mess.overrides[(first.unit, date)] = changes

    # 2. Numbers typed by hand as text: one unambiguous (converted), one ambiguous (rejected, cell named).
    typed: dict[str, object] = {}
    codes = set()
    if isinstance(second.values.get(figures.converted), int):
        value = int(second.values[figures.converted])  # type: ignore[call-overload]
        typed[figures.converted] = f"{value:,}".replace(",", " ") + " "
        codes.add("value-converted")
    if figures.rejected:
        typed[figures.rejected] = "1.500"
        codes.add("value-ambiguous-number")
        mess.overrides[(second.unit, date)] = {figures.rejected: None}
    fill_form(second.path, second.path, typed)
    _touch(plan, second.path, second.filled_date)
    mess.files.append(MessFile(second.path.name, "typo-values", frozenset(codes), "used"))

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
        _touch(plan, out / stray, date)
    return mess


def _overstate_previous(plan: Plan, samples: SampleSet, unit: str, date: dt.date, mess: Mess,
                        code: str) -> bool:
    """Rewrite `unit`'s previous-date file with one figure (`code`, a unit overstated with an extra zero)
    ten times too large, so that the right value on `date` makes the oblast total fall: the report must say
    «кеміді», not growth of a negative number."""
    previous = plan.previous_date(date)
    old = samples.get(unit, previous) if previous is not None else None
    value = old.values.get(code) if old is not None and code else None
    if old is None or previous is None or not isinstance(value, int) or value <= 0:
        return False
    fill_form(old.path, old.path, {code: value * 10})
    _touch(plan, old.path, old.filled_date)
    mess.overrides[(unit, previous)] = {code: value * 10}
    return True


def _touch(plan: Plan, path: Path, day: dt.date) -> None:
    """The file time of a file that came with `day`'s mail: 18:00 on the campaign's clock."""
    stamp = dt.datetime.combine(day, dt.time(18, 0), tzinfo=campaign_tz(plan)).timestamp()
    os.utime(path, (stamp, stamp))
