"""Run the real report pipeline in process on hand-built forms whose text cells carry given text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.aggregate import aggregate, select
from pipeline.aggregate.across import check_across
import dataclasses

from pipeline.ingest.extract import made_safe
from pipeline.ingest.inbox import safe_name
from pipeline.ingest.model import RawForm
from pipeline.plan import DEFAULT_PLAN, Plan
from pipeline.render.chart_process import ChartProcess
from pipeline.report import verdicts, write_outputs
from pipeline.tools.samples import sample_values
from pipeline.validate import Validation
from tests.rawforms import raw_form

AUG8 = dt.date(2017, 8, 8)
HOSTILE_UNIT = "kaztalov"


def text_codes(plan: Plan) -> list[str]:
    """Every row code of the units' form that holds free text: comments, executor, phone, text figures."""
    codes = ["form.executor", "form.phone"]
    for item in plan.items_for("units"):
        codes.append(item.comment_code)
        codes.extend(f.code for f in item.figures if f.unit == "text")
    return codes


def as_ingest_leaves_it(raw: RawForm) -> RawForm:
    """The form as the reader hands it on: the same one pass over values and sheet names (made_safe)."""
    cells, duplicates, problems = made_safe(raw.name, raw.cells, raw.duplicates)
    return dataclasses.replace(raw, cells=cells, duplicates=duplicates, problems=raw.problems + problems)


def build_report(plan: Plan, folder: Path, text: str) -> tuple[Path, dict[str, str]]:
    """All 13 units report for 8 August; one unit's every text cell (and its file name, one status, one
    number) holds `text`, and another file's identity cells hold it. Returns the output folder and the
    hostile unit's text cells as given."""
    return build_report_with(plan, folder, {code: text for code in text_codes(plan)}, text)


def build_report_with(plan: Plan, folder: Path, texts: dict[str, str], text: str) -> tuple[Path, dict[str, str]]:
    """As `build_report`, with each of the hostile unit's text cells given its own text (`texts`: row code →
    text; the other text cells keep their sample values); `text` goes into the file names, one status, one
    number and the other file's identity cells."""
    not_done = next(s.label for s in plan.statuses if s.code == "not_done")
    raws: list[RawForm] = []
    given: dict[str, str] = {}
    for unit in plan.units:
        values = sample_values(plan, unit.code, AUG8)
        header = {k: values.pop(k) for k in list(values) if k.startswith("form.")}
        if unit.code == HOSTILE_UNIT:
            for code, cell_text in texts.items():
                values[code] = cell_text
                given[code] = cell_text
            # I.7 is due by 31 July: «not done» then has its comment quoted in the report itself.
            values["I.7.status"] = not_done
            values["I.6.status"] = text
            values["raids"] = text
            name = safe_name(f"{text}.xlsx")[0]
        else:
            name = f"{unit.code}.xlsx"
        raws.append(raw_form(plan, name, unit=header["form.unit"], date=AUG8, filled=header["form.filled_date"],
                             values=values))
    raws.append(raw_form(plan, "identity.xlsx", unit=text, date=text, values={}))
    raws = [as_ingest_leaves_it(raw) for raw in raws]
    validation = Validation(plan)
    subs = validation.results(raws)
    selection = select(plan, subs, AUG8)
    files = verdicts(subs, selection, selection.problems + check_across(plan, selection))
    data = aggregate(plan, selection)
    folder.mkdir(parents=True, exist_ok=True)
    with ChartProcess() as charts:
        write_outputs(folder, plan, DEFAULT_PLAN, data, files, inbox=folder / "no-inbox", pdf=False, charts=charts)
    return folder, given
