"""PDF copy of a rendered .docx through LibreOffice (optional: returns None when soffice is absent)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 120


def to_pdf(docx: Path, outdir: Path, *, timeout: float = TIMEOUT_SECONDS) -> Path | None:
    """Convert `docx` into `outdir`/<stem>.pdf; None when LibreOffice is not installed.

    Each call uses its own LibreOffice profile: two conversions sharing one profile fail.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    docx, outdir = Path(docx).resolve(), Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mz-soffice-") as profile:
        cmd = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(docx),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    pdf = outdir / (docx.stem + ".pdf")
    if result.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"soffice could not convert {docx.name}: {result.stderr.strip() or result.stdout.strip()}")
    return pdf
