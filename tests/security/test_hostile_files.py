"""Security suite: files and file systems that hang, exhaust or crash a reader (issue 9, classes 8 and 9).

Each attack goes through the real command (`python -m pipeline check/report` as a subprocess) or the real
worker pool, and must end at once with a catalogue code, exit 1 or 2, and no traceback or native panic text
on the console.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.tools.samples import generate_samples
from pipeline.forms.build import write_form
from pipeline.ingest.extract import ReadSpec
from pipeline.ingest.isolate import MAX_WORKERS, PoolSettings, crash_reason, read_isolated
from pipeline.ingest.model import RawForm
from pipeline.plan import DEFAULT_PLAN, Plan
from pipeline.report import run_report
from pipeline.tools.samples import fill_form, sample_values

REPO = Path(__file__).resolve().parents[2]
AUG8 = dt.date(2017, 8, 8)
FAST = 60  # seconds: each of these must answer at once; the limit only keeps a regression from hanging CI


def _cli(*args: str, timeout: float = FAST) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, encoding="utf-8", errors="replace",
                          timeout=timeout)


def _no_traceback(out: subprocess.CompletedProcess[str]) -> None:
    text = out.stdout + out.stderr
    assert "Traceback" not in text and "panicked" not in text and "RUST_BACKTRACE" not in text, text


def _codes_of(check_stdout: str) -> dict[str, str]:
    """file name → codes, from the first line `check` prints for each file."""
    out = {}
    for line in check_stdout.splitlines():
        if not line.startswith(" "):
            parts = line.split("\t")
            out[Path(parts[2]).name] = parts[3]
    return out


@pytest.fixture(scope="module")
def good_form(plan, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("good")
    blank = write_form(plan, "kaztalov", tmp / "blank.xlsx")
    fill_form(blank, tmp / "good.xlsx", sample_values(plan, "kaztalov", AUG8))
    return tmp / "good.xlsx"


def test_a_fifo_or_device_given_or_inside_a_folder_is_file_not_regular(tmp_path, good_form):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    # A folder given to `check` is checked file by file (`make check DIR=…`): a FIFO in it is answered too,
    # never silently left out (and never opened: an open would block until a writer came).
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    os.mkfifo(folder / "inner.xlsx")
    out = _cli("check", str(fifo), str(folder), "/dev/zero")
    _no_traceback(out)
    assert out.returncode == 1
    assert _codes_of(out.stdout) == {"pipe.xlsx": "file-not-regular", "inner.xlsx": "file-not-regular",
                                     "zero": "file-not-regular"}
    # The same FIFO in a report's inbox: the same answer, in issues.csv and the manifest; the run goes on.
    inbox = tmp_path / "inbox"
    (inbox / "Теректі").mkdir(parents=True)
    os.mkfifo(inbox / "Теректі" / "pipe.xlsx")
    arrived = dt.datetime(2017, 8, 7, 12).timestamp()  # it belongs to 8 August, the date of this report
    os.utime(inbox / "Теректі" / "pipe.xlsx", (arrived, arrived))
    (inbox / "good.xlsx").write_bytes(good_form.read_bytes())
    run = _cli("report", "--date", "2017-08-08", "--inbox", str(inbox), "--outbox", str(tmp_path / "out"))
    _no_traceback(run)
    assert run.returncode == 1, run.stderr
    manifest = json.loads((tmp_path / "out" / "2017-08-08" / "manifest.json").read_text(encoding="utf-8"))
    codes = {i["file"]: i["codes"] for i in manifest["inputs"]}
    assert codes["Теректі/pipe.xlsx"] == ["file-not-regular"] and "good.xlsx" in codes
    issues = (tmp_path / "out" / "2017-08-08" / "issues.csv").read_text(encoding="utf-8-sig")
    assert "Теректі/pipe.xlsx,,,file-not-regular,error," in issues


def test_a_link_to_a_huge_sparse_file_is_refused_by_size_unread(tmp_path, plan):
    sparse = tmp_path / "huge.bin"
    with open(sparse, "wb") as fh:
        fh.truncate(20 * 1024**3)  # 20 GB, no blocks: reading or hashing it would take minutes
    link = tmp_path / "Казталов.xlsx"
    link.symlink_to(sparse)
    out = _cli("check", str(link))
    _no_traceback(out)
    assert _codes_of(out.stdout) == {"Казталов.xlsx": "file-too-large"}
    # In a report too: the inbox scan and the cache never hash it either.
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    generate_samples(plan, inbox, seed=2014, dates=[AUG8])  # a report is only written from usable forms
    (inbox / "big.xlsx").symlink_to(sparse)
    (inbox / "big.zip").symlink_to(sparse)  # ignored by its name, and not hashed either
    result = run_report(AUG8.isoformat(), inbox=inbox, outbox=outbox)
    by_name = {v.raw.name: v for v in result.files}
    assert [p.code for p in by_name["big.xlsx"].problems] == ["file-too-large"]
    assert [p.code for p in by_name["big.zip"].problems] == ["ignored-not-spreadsheet"]
    assert by_name["big.xlsx"].raw.sha256 == by_name["big.zip"].raw.sha256 == ""


def test_workers_are_bounded():
    for bad in ("1000", "0", "-3", "many"):
        out = _cli("check", "--workers", bad, str(DEFAULT_PLAN))
        _no_traceback(out)
        assert out.returncode == 2, bad
        assert str(MAX_WORKERS) in out.stderr
    out = _cli("report", "--date", "2017-08-08", "--workers", "1000")
    assert out.returncode == 2


@pytest.mark.parametrize("bad_date", ["2017-02-30", "2017-13-01"])
def test_an_impossible_date_in_the_plan_is_a_plan_error(tmp_path, bad_date):
    text = DEFAULT_PLAN.read_text(encoding="utf-8").replace("{date: 2017-08-08,", f"{{date: {bad_date},", 1)
    assert bad_date in text
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(text, encoding="utf-8")
    out = _cli("--plan", str(plan_path), "check", str(plan_path))
    _no_traceback(out)
    assert out.returncode == 2
    assert str(plan_path) in out.stderr


def test_structurally_bad_cache_rows_are_misses(tmp_path, good_form):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(good_form.read_bytes())
    first = run_report(AUG8.isoformat(), inbox=inbox, outbox=outbox)
    cache = outbox / ".cache" / "ingest.sqlite"
    for bad in ('{"cells": 5}', "[" * 100_000 + "]" * 100_000, '{"cells": {"x": {"sheet": 1}}, "problems": 7}',
                "not json", json.dumps({"format": "xlsx"})):
        with sqlite3.connect(cache) as conn:
            conn.execute("UPDATE forms SET data = ?", (bad,))
        again = run_report(AUG8.isoformat(), inbox=inbox, outbox=outbox)
        assert [v.raw.cells for v in again.files] == [v.raw.cells for v in first.files], bad
        assert again.data is not None and again.data.values.equals(first.data.values)


def _with_dimension(src: Path, out: Path, ref: str) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), data)
                assert n == 1
            zout.writestr(info, data)
    return out


def test_a_huge_declared_dimension_alone_is_read_within_the_memory_limit(tmp_path, good_form):
    """A `<dimension ref="A1:XFD1048576"/>` on every sheet with no cell out there: calamine allocates by the
    real cells, so the form is read — in the reader process, under its address-space limit, where an
    allocation of the declared rectangle would have crashed it (file-reader-crashed)."""
    huge = _with_dimension(good_form, tmp_path / "huge-dimension.xlsx", "A1:XFD1048576")
    fine = _with_dimension(good_form, tmp_path / "fine-dimension.xlsx", "A1:H60")
    out = _cli("check", str(huge), str(fine))
    _no_traceback(out)
    codes = _codes_of(out.stdout)
    assert "file-" not in codes["huge-dimension.xlsx"] and "file-" not in codes["fine-dimension.xlsx"]


def _with_far_cell(src: Path, out: Path, sheet: str, ref: str, *, value: bool = True) -> Path:
    """A copy of the form with a sheet `sheet` (added when missing, holding a note in A1) and one cell at
    `ref`: a real value, or a format only."""
    import openpyxl
    from openpyxl.styles import PatternFill

    wb = openpyxl.load_workbook(src)
    if sheet not in wb.sheetnames:
        wb.create_sheet(sheet)["A1"] = "ескертпе"
    if value:
        wb[sheet][ref] = "x"
    else:
        wb[sheet][ref].fill = PatternFill("solid", start_color="FFFF0000")
    wb.save(out)
    return out


def _xls_with_far_cell(src: Path, out: Path, sheet: int, row: int, col: int) -> Path:
    """A copy of a LibreOffice-saved .xls whose `sheet`-th worksheet has one of its value cells moved to
    (row, col), 0-based: the BIFF record is patched in place, the stream keeps its size."""
    import shutil
    import struct

    import olefile

    shutil.copy(src, out)
    with olefile.OleFileIO(str(out), write_mode=True) as ole:
        raw = bytearray(ole.openstream("Workbook").read())
        offsets, pos = [], 0
        while pos + 4 <= len(raw):
            rec, length = struct.unpack_from("<HH", raw, pos)
            if rec == 0x0085 and raw[pos + 9] == 0:  # BOUNDSHEET of a worksheet
                offsets.append(struct.unpack_from("<I", raw, pos + 4)[0])
            if rec == 0x000A:
                break
            pos += 4 + length
        pos = offsets[sheet]
        while True:
            rec, length = struct.unpack_from("<HH", raw, pos)
            if rec in (0x00FD, 0x0203, 0x027E, 0x0204):  # LABELSST, NUMBER, RK, LABEL
                struct.pack_into("<HH", raw, pos + 4, row, col)
                break
            pos += 4 + length
        ole.write_stream("Workbook", bytes(raw))
    return out


def _with_true_far_cell(src: Path, out: Path, column: str, row: int) -> Path:
    """The form with one real cell at `column``row` on its first sheet, its dimension saying so truthfully."""
    ref = f"{column}{row}"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{ref}"/>'.encode(), data)
                data, m = re.subn(rb"</sheetData>", f'<row r="{row}"><c r="{ref}"><v>1</v></c></row></sheetData>'.encode(),
                                  data)
                assert n == m == 1
            zout.writestr(info, data)
    return out


#: What the reader processes may allocate (the plan's `limits.reader_memory_mb`, the pool's RLIMIT_AS).
READER_MB = 1024
#: calamine keeps a sheet as a dense rectangle (measured: ~32 bytes a cell), so a real cell at CV1000000
#: makes it allocate 100 million cells, ~3 GB: more than a reader process may have.
FAR_COLUMN, FAR_ROW = "CV", 1_000_000


def test_a_real_far_cell_is_refused_before_the_reader_allocates(tmp_path, good_form, plan):
    far = _with_true_far_cell(good_form, tmp_path / "far-cell.xlsx", FAR_COLUMN, FAR_ROW)
    fine = _with_dimension(good_form, tmp_path / "fine-dimension.xlsx", "A1:H60")
    assert plan.limits.reader_memory_mb == READER_MB
    # The ground truth, without our code: calamine itself, opening that sheet in a process limited as a
    # reader is, fails (the allocation is refused: an exception or an abort).
    bare = subprocess.run(
        [sys.executable, "-c",
         "import resource, sys, python_calamine as pc\n"
         "from pipeline.ingest.isolate import address_space_limit\n"
         f"limit = address_space_limit({READER_MB}); resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
         "wb = pc.CalamineWorkbook.from_path(sys.argv[1]); wb.get_sheet_by_name(wb.sheet_names[0])\n"
         "print('allocated')",
         str(far)], cwd=REPO, capture_output=True, text=True, timeout=FAST)
    assert bare.returncode != 0 and "allocated" not in bare.stdout, bare.stdout
    # The same file through `check`, whose reader processes have that limit: refused with its code, so the
    # refusal came before calamine allocated the sheet (after, the reader would have crashed).
    out = _cli("check", str(far), str(fine))
    _no_traceback(out)
    codes = _codes_of(out.stdout)
    assert codes["far-cell.xlsx"] == "file-too-many-cells"
    assert "file-" not in codes["fine-dimension.xlsx"]


def _check_problems(path: Path) -> tuple[str, list[tuple[str, dict[str, str]]], int]:
    from pipeline.report import check_files

    [verdict] = check_files([path], workers=1)
    return verdict.verdict, [(p.code, dict(p.params)) for p in verdict.problems], len(verdict.raw.cells)


@pytest.mark.parametrize("ref", ["Z50000", "XFD1048576"])
def test_one_real_cell_far_away_in_a_side_sheet_does_not_reject_a_good_form(tmp_path, good_form, ref):
    """Issue 17: a note sheet with one stray cell far away made the reader count (and calamine allocate) the
    whole rectangle and refuse a good form (main: file-too-many-cells). The side sheet is skipped, said so
    (file-sheet-skipped, info), and the form is read — in the reader process, under its memory limit."""
    path = _with_far_cell(good_form, tmp_path / "far.xlsx", "Ескертпе", ref)
    verdict, problems, cells = _check_problems(path)
    assert verdict == "ok" and cells > 50
    assert [(code, params["skipped"]) for code, params in problems] == [("file-sheet-skipped", "Ескертпе")]
    out = _cli("check", str(path))
    _no_traceback(out)
    assert out.returncode == 0


def test_a_far_cell_with_a_format_only_is_no_cell(tmp_path, good_form):
    path = _with_far_cell(good_form, tmp_path / "formatted.xlsx", "Нысан", "Z60000", value=False)
    assert _check_problems(path)[:2] == ("ok", [])


def test_a_real_far_cell_in_the_form_sheet_itself_is_too_many_cells(tmp_path, good_form):
    path = _with_far_cell(good_form, tmp_path / "far-in-form.xlsx", "Нысан", "XFD1048576")
    out = _cli("check", str(path))
    _no_traceback(out)
    assert _codes_of(out.stdout) == {"far-in-form.xlsx": "file-too-many-cells"}


XLS = REPO / "tests" / "fixtures" / "libreoffice" / "akzhaiyk-2017-08-26.xls"


def test_an_xls_with_too_many_cells_is_file_too_many_cells_not_a_crash(tmp_path):
    """Issue 17: calamine builds every sheet of an .xls when it opens it, so a far cell (IV65536) made the
    reader die of its memory limit (main: file-reader-crashed). Now it is refused unopened, with its code."""
    huge = _xls_with_far_cell(XLS, tmp_path / "huge.xls", 1, 65535, 255)
    in_form = _xls_with_far_cell(XLS, tmp_path / "far-in-form.xls", 0, 29999, 19)
    out = _cli("check", str(huge), str(in_form))
    _no_traceback(out)
    assert _codes_of(out.stdout) == {"huge.xls": "file-too-many-cells", "far-in-form.xls": "file-too-many-cells"}


def test_an_xls_side_sheet_with_a_moderately_far_cell_is_skipped_and_the_form_read(tmp_path):
    path = _xls_with_far_cell(XLS, tmp_path / "side.xls", 1, 49999, 25)
    verdict, problems, cells = _check_problems(path)
    assert verdict in ("ok", "warnings") and cells > 50
    assert [code for code, _ in problems if code.startswith("file-")] == ["file-sheet-skipped"]


def test_an_xlsb_with_macros_is_an_unsupported_format_not_corrupt(tmp_path):
    path = tmp_path / "macro.xlsb"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"><Override PartName="/xl/workbook.bin" ContentType="application/'
                    'vnd.ms-excel.sheet.binary.macroEnabled.main"/><Override PartName="/xl/vbaProject.bin" '
                    'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00" * 10)
        zf.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    renamed = tmp_path / "macro.xlsm"
    renamed.write_bytes(path.read_bytes())
    out = _cli("check", str(path), str(renamed))
    _no_traceback(out)
    assert _codes_of(out.stdout) == {"macro.xlsb": "file-unsupported-format", "macro.xlsm": "file-unsupported-format"}


# --- the native reader's panic belongs in a log, not on the console -------------------------------------

PANIC = ("thread '<unnamed>' panicked at /cargo/registry/calamine-0.26/src/xlsb/mod.rs:412:9:\n"
         "index out of bounds: the len is 3 but the index is 7\n"
         "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n")


def panicking_reader(path: str, name: str, spec: ReadSpec) -> RawForm:
    """What calamine does on a file that panics it: the text on fd 2, then the process aborts."""
    os.write(2, PANIC.encode())
    os.abort()


def test_a_native_panic_reaches_no_console_and_becomes_one_line(plan: Plan, tmp_path: Path, capfd) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04")
    spec = ReadSpec.from_plan(plan)
    [form] = read_isolated([(str(path), "x.xlsx")], spec,
                           PoolSettings(workers=1, seconds=30, memory_mb=0, reader=panicking_reader))
    captured = capfd.readouterr()
    assert "panicked" not in captured.err + captured.out and "RUST_BACKTRACE" not in captured.err
    [problem] = form.problems
    assert problem.code == "file-reader-crashed"
    detail = dict(problem.params)["detail"]
    assert detail == "panic: index out of bounds: the len is 3 but the index is 7"
    assert "\n" not in problem.message


def test_crash_reason_falls_back_to_the_signal():
    assert crash_reason("", -6) == "SIGABRT"
    assert crash_reason("\x1e0\nMemoryError\n", 1) == "memory limit"


# Pieces of sheet XML around cell tags, written every way the guard must tell apart: the usual tag near A1
# or far from it, a tag without `r`, `r` not first, an empty `<c>`, a namespace prefix, tags that only start
# like a cell (`<col`, `<cols>`), and text that holds the same bytes.
_TAG_PIECES = ['<c r="A1">', '<c r="Z999"/>', '<c r="AA1">', '<c r="B1000">', '<c r="XFD1048576">', '<c r="AAAA1">',
               '<c r="a1">', '<c>', '<c s="1" r="B2">', '<c  r="C3">', '<x:c r="D4">', '<x:c r="AB12">', '<col min="1"/>',
               '<cols>', '<v>1</v>', '</c>', '<t>a:c b</t>', '<t>&lt;c r="AB1"</t>', '<c\tr="XX9">', '<c r=\'Q7\'>',
               '<row r="1">', "text"]


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_TAG_PIECES), max_size=12))
def test_the_cheap_bound_takes_the_same_way_as_the_three_counts_it_replaced(pieces):
    """`cells_bound` answers NEAR_CELLS exactly when the counts and the far search of its first version said
    the sheet is usual and near (written out here as they were), and otherwise the exact count."""
    from pipeline.ingest.extract import NEAR_CELLS, cells_bound, real_cells

    xml = "".join(pieces).encode()
    usual = xml.count(b"<c ") + xml.count(b"<c>") == xml.count(b'<c r="') and b":c " not in xml
    far = re.search(rb'<c r="(?:[A-Z]{2,3}[0-9]|[A-Z][0-9]{4,})', xml) is not None
    assert cells_bound(xml) == (NEAR_CELLS if usual and not far else real_cells(xml))


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out



@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.tuples(st.integers(1, 16384), st.integers(1, 1_048_576), st.booleans()), min_size=1,
                      max_size=30),
       prefix=st.sampled_from(["", "x:"]))
def test_the_sheet_extent_is_the_farthest_cell_with_a_value_and_the_cheap_bound_never_below_it(cells, prefix):
    """The guard's reading of a sheet part against the rectangle computed here from the cells put in it:
    format-only cells do not count, and the cheap bound used for ordinary forms is never smaller."""
    from pipeline.ingest.extract import cells_bound, real_cells

    body = "".join(
        f'<{prefix}c r="{_letters(c)}{r}" t="n"><{prefix}v>1</{prefix}v></{prefix}c>' if value
        else f'<{prefix}c r="{_letters(c)}{r}" s="1"/>'
        for c, r, value in cells)
    xml = f'<worksheet><sheetData><{prefix}row r="1">{body}</{prefix}row></sheetData></worksheet>'.encode()
    valued = [(c, r) for c, r, value in cells if value]
    expected = max(r for _, r in valued) * max(c for c, _ in valued) if valued else 0
    assert real_cells(xml) == expected
    assert cells_bound(xml) >= expected
