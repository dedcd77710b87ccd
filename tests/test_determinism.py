"""Same inbox and DATE → the same bytes of the report and the analysts' workbook."""

from __future__ import annotations

import datetime as dt

from pipeline.report import run_report
from pipeline.tools.samples import generate_samples


def test_two_runs_give_byte_identical_docx_and_xlsx(plan, tmp_path):
    inbox = tmp_path / "inbox"
    generate_samples(plan, inbox, dates=[dt.date(2017, 8, 8), dt.date(2017, 8, 17)])
    first = run_report("2017-08-17", inbox=inbox, outbox=tmp_path / "a")
    second = run_report("2017-08-17", inbox=inbox, outbox=tmp_path / "b")
    for name in ("akparat-2017-08-17.docx", "akparat-2017-08-17-ru.docx", "summary.xlsx", "figures.csv", "issues.csv"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes(), name
    assert first.outputs == second.outputs
