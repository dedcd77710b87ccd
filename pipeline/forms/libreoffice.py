"""Convert spreadsheets with LibreOffice headless (files saved "by a real spreadsheet program").

Each call gets its own LibreOffice profile directory: two conversions sharing one profile fail, and a
profile left by a crashed run must not break the next one. The result is produced in a private temporary
folder and moved into `outdir`, so a conversion into the folder of its source cannot overwrite the source
and a failed conversion leaves nothing half-written behind.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

#: Short target names → LibreOffice `--convert-to` filter specs.
FILTERS: dict[str, str] = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "xls": "xls:MS Excel 97",
    "ods": "ods:calc8",
    "pdf": "pdf",
    "csv": "csv",
}
DEFAULT_TIMEOUT = 120.0


class LibreOfficeError(RuntimeError):
    """A conversion failed: soffice is missing, timed out, exited with an error or produced no file."""


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def soffice_available() -> bool:
    return soffice_path() is not None


def convert(src: Path, outdir: Path, target: str, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Convert `src` to `target` ('xlsx', 'xls', 'ods', 'pdf', 'csv', or a full `ext:Filter` spec).

    Returns the path of the new file in `outdir` (the source's stem with the target's extension).
    """
    src = Path(src).resolve()
    outdir = Path(outdir)
    if not src.is_file():
        raise LibreOfficeError(f"{src}: no such file")
    soffice = soffice_path()
    if soffice is None:
        raise LibreOfficeError("LibreOffice (soffice) is not installed or not on PATH")
    spec = FILTERS.get(target, target)
    extension = spec.split(":", 1)[0]
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-") as work:
        profile = Path(work) / "profile"
        produced_dir = Path(work) / "out"
        produced_dir.mkdir()
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            spec,
            "--outdir",
            str(produced_dir),
            str(src),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise LibreOfficeError(f"{src.name}: conversion to {spec} took more than {timeout:g} s") from None
        except OSError as exc:
            raise LibreOfficeError(f"{src.name}: cannot run soffice: {exc}") from None
        produced = produced_dir / f"{src.stem}.{extension}"
        if done.returncode != 0 or not produced.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise LibreOfficeError(
                f"{src.name}: conversion to {spec} failed (exit {done.returncode})"
                + (f": {detail[-1]}" if detail else "")
            )
        result = outdir / produced.name
        shutil.move(str(produced), result)
    return result
