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


@pytest.fixture(scope="module")
def small_inbox(plan, tmp_path_factory) -> Path:
    import datetime as dt

    from pipeline.tools.samples import generate_samples

    folder = tmp_path_factory.mktemp("inbox")
    generate_samples(plan, folder, seed=2014, dates=[dt.date(2017, 8, 8)])
    return folder


def _report(inbox: Path, outbox: Path, path: str | None = None):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MZ_LANG": ""}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "pipeline", "report", "--date", "2017-08-08", "--inbox", str(inbox),
                           "--outbox", str(outbox), "--pdf", "--no-progress"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=600, env=env)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="soffice and pdftotext (poppler-utils) needed")
def test_pdf_copies_of_both_languages(small_inbox: Path, tmp_path: Path) -> None:
    import json
    import subprocess

    out = _report(small_inbox, tmp_path / "outbox")
    assert out.returncode in (0, 1), out.stderr
    folder = tmp_path / "outbox" / "2017-08-08"
    text = {}
    for name in ("akparat-2017-08-08.pdf", "akparat-2017-08-08-ru.pdf"):
        assert (folder / name).read_bytes().startswith(b"%PDF")
        text[name] = subprocess.run(["pdftotext", str(folder / name), "-"], capture_output=True, text=True,
                                    check=True).stdout
    assert "АҚПАРАТ" in text["akparat-2017-08-08.pdf"]
    assert "ИНФОРМАЦИЯ" in text["akparat-2017-08-08-ru.pdf"] and "АҚПАРАТ" not in text["akparat-2017-08-08-ru.pdf"]
    outputs = {o["file"] for o in json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["outputs"]}
    assert {"akparat-2017-08-08.pdf", "akparat-2017-08-08-ru.pdf"} <= outputs


def test_without_libreoffice_the_run_says_there_is_no_pdf(small_inbox: Path, tmp_path: Path) -> None:
    import os
    import sys

    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)  # a PATH that has no soffice
    out = _report(small_inbox, tmp_path / "outbox", path=f"{bare}{os.pathsep}/usr/bin/env-none")
    assert out.returncode in (0, 1), out.stderr
    assert "PDF жасалмады" in out.stderr and "LibreOffice" in out.stderr
    assert not list((tmp_path / "outbox" / "2017-08-08").glob("*.pdf"))
