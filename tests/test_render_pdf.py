"""PDF through LibreOffice (skipped where soffice is not installed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.render import render_report, to_pdf
from render_factory import make_report_data


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="soffice not installed")
def test_pdf(tmp_path: Path) -> None:
    docx = render_report(make_report_data("2017-08-17"), tmp_path / "report.docx")
    pdf = to_pdf(docx, tmp_path / "pdf")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF")
