"""Reading single files: format by content, guards, cells by row code. Files are built in the test."""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.forms.layout import VALUE_HEADERS
from pipeline.ingest import read_files, read_inbox
from pipeline.ingest.extract import FileFacts, ReadSpec, read_bytes, read_path
from pipeline.ingest.model import RawForm
from pipeline.ingest.sniff import sniff
from pipeline.plan import Plan


def build_form(path: Path, *, offset_rows: int = 0, value_col: int = 4, extra: list[tuple[str, object]] = ()) -> Path:
    """A minimal form in the project layout: header row with «Мәні», codes in A, values in `value_col`."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Нысан"
    top = 3 + offset_rows
    ws.cell(top, 1, "Код")
    ws.cell(top, value_col, VALUE_HEADERS[0])
    rows: list[tuple[str, object]] = [
        ("form.id", "mektepke-zhol-2017/v1"),
        ("form.unit", "Орал қаласы"),
        ("form.report_date", dt.datetime(2017, 8, 17)),
        ("help_children", 120),
        ("I.5.status", "орындалуда"),
        *extra,
    ]
    for i, (code, value) in enumerate(rows, start=top + 1):
        ws.cell(i, 1, code)
        ws.cell(i, 2, "жол")
        ws.cell(i, value_col, value)
    hidden = wb.create_sheet("Тізімдер")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "иә"
    wb.save(path)
    return path


def codes(form: RawForm) -> list[str]:
    return [p.code for p in form.problems]


def read_one(plan: Plan, path: Path) -> RawForm:
    # In-process: these tests are about reading, isolate.py has its own tests.
    return read_path(str(path), path.name, ReadSpec.from_plan(plan))


def test_good_form_reads_by_code(plan: Plan, tmp_path: Path) -> None:
    form = read_one(plan, build_form(tmp_path / "f.xlsx"))
    assert form.format == "xlsx"
    assert form.cells["form.unit"].cell == "D5"
    assert form.cells["form.unit"].value == "Орал қаласы"
    assert form.cells["help_children"].value == 120
    assert form.cells["form.report_date"].value == dt.date(2017, 8, 17)  # calamine: midnight → date
    assert form.duplicates == {}
    assert not form.has_defined_names
    assert codes(form) == ["form-defined-names-lost"]
    assert form.readable and len(form.sha256) == 64 and form.size == (tmp_path / "f.xlsx").stat().st_size


@pytest.mark.parametrize("new_name", ["form.xls", "form", "form.XLSX.bak1"])
def test_wrong_or_missing_extension_still_reads(plan: Plan, tmp_path: Path, new_name: str) -> None:
    path = build_form(tmp_path / "f.xlsx").rename(tmp_path / new_name)
    form = read_one(plan, path)
    assert form.format == "xlsx" and form.cells["help_children"].value == 120


def test_real_form_from_the_writer(plan: Plan, tmp_path: Path) -> None:
    build = pytest.importorskip("pipeline.forms.build")
    path = build.write_form(plan, plan.units[0].code, tmp_path / "real.xlsx")
    form = read_one(plan, path)
    assert form.has_defined_names and "form-defined-names-lost" not in codes(form)
    assert form.cells["form.id"].value == "mektepke-zhol-2017/v1"
    from pipeline.forms.layout import HEADER_CODES, all_codes

    assert set(HEADER_CODES.values()) <= set(form.cells) <= set(all_codes(plan))
    assert form.duplicates == {}


def test_moved_rows_and_value_column(plan: Plan, tmp_path: Path) -> None:
    form = read_one(plan, build_form(tmp_path / "f.xlsx", offset_rows=7, value_col=6))
    assert form.cells["help_children"].cell == "F14"
    assert form.cells["help_children"].value == 120


def test_duplicate_code_with_different_values(plan: Plan, tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx", extra=[("help_children", 130), ("form.unit", "Орал қаласы")])
    form = read_one(plan, path)
    assert [c.value for c in form.duplicates["help_children"]] == [120, 130]
    assert "form.unit" not in form.duplicates  # same value twice is fine
    assert form.cells["help_children"].value == 120


def test_formula_without_cached_value_and_merged_value_cell(plan: Plan, tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Нысан"]
    ws["A12"] = "home_visits"
    ws["D12"] = "=1+1"
    ws["A13"] = "raids"
    ws["D13"] = 7
    ws.merge_cells("D13:E14")
    ws["A14"] = "raids_found"  # a row whose value cell is covered by the merge above
    wb.save(path)
    form = read_one(plan, path)
    cell = form.cells["home_visits"]
    assert (cell.cell, cell.formula_without_value, cell.empty) == ("D12", True, True)
    assert not form.cells["help_children"].formula_without_value
    if "raids_found" in plan.figure_by_code:
        assert (form.cells["raids_found"].cell, form.cells["raids_found"].value) == ("D13", 7)


def test_not_a_spreadsheet_and_empty(plan: Plan, tmp_path: Path) -> None:
    text = tmp_path / "note.xlsx"
    text.write_text("Сәлеметсіз бе, нысан кейін жіберіледі.\n", encoding="utf-8")
    csv = tmp_path / "data.xlsx"
    csv.write_text("code;value\nhelp_children;120\nraids;3\n", encoding="utf-8")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert codes(read_one(plan, text)) == ["file-not-spreadsheet"]
    assert codes(read_one(plan, csv)) == ["file-unsupported-format"]
    assert codes(read_one(plan, empty)) == ["file-empty"]


def test_truncated_xlsx_is_corrupt(plan: Plan, tmp_path: Path) -> None:
    good = build_form(tmp_path / "f.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good[: len(good) // 2])
    assert codes(read_one(plan, cut)) == ["file-corrupt"]


def test_encrypted_xlsx(plan: Plan, tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = build_form(tmp_path / "f.xlsx")
    enc = tmp_path / "locked.xlsx"
    with open(plain, "rb") as src, open(enc, "wb") as dst:
        OOXMLFile(src).encrypt("secret", dst)
    form = read_one(plan, enc)
    assert codes(form) == ["file-encrypted"] and form.cells == {}


def test_zip_bomb(plan: Plan, tmp_path: Path) -> None:
    # 24 MB of zeros deflate ~1000:1; the ratio guard fires without building 300 MB (kept fast).
    bomb = tmp_path / "bomb.xlsx"
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(24):
                member.write(chunk)
    assert bomb.stat().st_size < 100_000
    form = read_one(plan, bomb)
    assert codes(form) == ["file-bomb"]
    assert int(dict(form.problems[0].params)["ratio"]) > 200


def test_zip_total_size_guard() -> None:
    from pipeline.ingest.sniff import _bomb_ratio

    infos = []
    for i in range(30):  # 30 × 10 MB at a harmless-looking 5:1 each: 300 MB in all
        info = zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml")
        info.file_size, info.compress_size = 10_000_000, 2_000_000
        infos.append(info)
    assert _bomb_ratio(infos) == 5
    assert _bomb_ratio(infos[:5]) is None


def test_doctype_in_workbook_xml_is_unsafe(plan: Plan, tmp_path: Path) -> None:
    src = build_form(tmp_path / "f.xlsx")
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                data = b'<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + body
            zout.writestr(info, data)
    assert codes(read_one(plan, evil)) == ["file-unsafe-xml"]


def test_no_form_in_a_spreadsheet(plan: Plan, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Бюджет"
    wb.save(tmp_path / "other.xlsx")
    assert codes(read_one(plan, tmp_path / "other.xlsx")) == ["form-not-found"]


def test_too_many_cells(plan: Plan, tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Нысан"]["Z20000"] = 1  # 26 × 20,000 cells counted from A1
    wb.save(path)
    assert codes(read_one(plan, path)) == ["file-too-many-cells"]


def test_too_large(plan: Plan, tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx")
    small = plan.model_copy(update={"limits": plan.limits.model_copy(update={"max_file_bytes": 1000})})
    assert codes(read_one(small, path)) == ["file-too-large"]


@pytest.mark.parametrize(
    ("data", "code", "detail"),
    [
        (b"\x09\x00\x04\x00\x02\x00\x10\x00" + b"\0" * 20, "file-old-excel", "BIFF2"),
        (b"\x09\x04\x06\x00\x00\x00\x10\x00" + b"\0" * 20, "file-old-excel", "BIFF4"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 20, "file-not-spreadsheet", "gzip"),
        (b"%PDF-1.4\n", "file-not-spreadsheet", "PDF"),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
         "file-unsupported-format", "SpreadsheetML 2003"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "file-not-spreadsheet", "HTML"),
    ],
)
def test_sniff_other_formats(data: bytes, code: str, detail: str) -> None:
    verdict = sniff(data)
    assert (verdict.format, verdict.code, verdict.params.get("detail")) == (None, code, detail)


def test_sniff_docx_and_ods() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.openxmlformats-'
                    'officedocument.wordprocessingml.document.main+xml"/></Types>')
    assert sniff(buf.getvalue()).code == "file-not-spreadsheet"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    assert sniff(buf.getvalue()).format == "ods"


@pytest.mark.libreoffice
def test_ods_via_libreoffice(plan: Plan, tmp_path: Path) -> None:
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("soffice not on PATH")
    src = build_form(tmp_path / "f.xlsx")
    out = tmp_path / "out"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "ods",
         "--outdir", str(out), str(src)],
        check=True, capture_output=True, timeout=120,
    )
    form = read_one(plan, out / "f.ods")
    assert form.format == "ods" and form.cells["help_children"].value == 120


def test_rawform_pickles_and_round_trips_json(plan: Plan, tmp_path: Path) -> None:
    form = read_one(plan, build_form(tmp_path / "f.xlsx", extra=[("help_children", 5)]))
    assert pickle.loads(pickle.dumps(form)) == form
    again = RawForm.from_dict(json.loads(json.dumps(form.to_dict())))
    assert again == form
    assert again.cells["form.report_date"].value == dt.date(2017, 8, 17)


def test_inbox_sets_aside_lock_and_other_files_and_leaves_out_tool_files(plan: Plan, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "Бөрлі").mkdir(parents=True)
    build_form(inbox / "Бөрлі" / "form.xlsx")
    build_form(inbox / "noext")
    (inbox / "~$form.xlsx").write_bytes(b"lock")
    (inbox / ".~lock.form.xlsx#").write_text("lock")
    # Files tools and systems leave are no one's form: not listed at all (never an "unknown file").
    for tool in (".DS_Store", ".gitkeep", "Thumbs.db", "desktop.ini", "._form.xlsx"):
        (inbox / tool).write_bytes(b"\0\0")
    (inbox / "Бөрлі" / ".gitkeep").write_bytes(b"")
    (inbox / "хат.pdf").write_bytes(b"%PDF-1.4")
    before = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in inbox.rglob("*"))
    forms = read_inbox(plan, inbox, workers=1)
    by_name = {f.name: f for f in forms}
    assert [f.name for f in forms] == sorted(by_name)
    assert codes(by_name["~$form.xlsx"]) == ["ignored-lock-file"]
    assert codes(by_name[".~lock.form.xlsx#"]) == ["ignored-lock-file"]
    assert sorted(by_name) == sorted([".~lock.form.xlsx#", "~$form.xlsx", "Бөрлі/form.xlsx", "noext", "хат.pdf"])
    assert codes(by_name["хат.pdf"]) == ["ignored-not-spreadsheet"]
    assert by_name["Бөрлі/form.xlsx"].cells["help_children"].value == 120
    assert by_name["noext"].format == "xlsx"
    after = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in inbox.rglob("*"))
    assert after == before  # nothing written, moved or touched in the inbox


def test_read_files_keeps_order_and_names(plan: Plan, tmp_path: Path) -> None:
    paths = [build_form(tmp_path / f"f{i}.xlsx") for i in range(5)]
    (tmp_path / "bad.xlsx").write_bytes(b"")
    paths.insert(2, tmp_path / "bad.xlsx")
    forms = read_files(plan, paths, root=tmp_path, workers=2)
    assert [f.name for f in forms] == [p.name for p in paths]
    assert codes(forms[2]) == ["file-empty"]


# --- members cut out of the bytes (read_member) must answer exactly as zipfile does ------------------------


def _zip_bytes(members: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content, method in members:
            zf.writestr(name, content, compress_type=method)
    return buffer.getvalue()


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("limit", [-1, 0, 5, 4096, 1 << 20])
def test_read_member_same_bytes_as_zipfile(method: int, limit: int) -> None:
    from pipeline.ingest.sniff import read_member

    content = ("<row>Қазақ мәтіні</row>" * 500).encode()
    data = _zip_bytes([("a.xml", b"<x/>", method), ("xl/Пара.xml", content, method)])
    zf = zipfile.ZipFile(io.BytesIO(data))
    for name in zf.namelist():
        with zf.open(name) as fh:
            assert read_member(zf, name, data, limit) == fh.read(limit)


def test_read_member_bad_crc_raises_as_zipfile() -> None:
    from pipeline.ingest.sniff import read_member

    content = b"<worksheet>" + b"x" * 3000 + b"</worksheet>"
    data = bytearray(_zip_bytes([("s.xml", content, zipfile.ZIP_STORED)]))
    pos = data.find(b"xxxx")
    data[pos] = ord("y")  # same size, other bytes: only the CRC can tell
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    with pytest.raises(zipfile.BadZipFile) as theirs:
        zf.read("s.xml")
    with pytest.raises(zipfile.BadZipFile) as ours:
        read_member(zf, "s.xml", bytes(data))
    assert str(ours.value) == str(theirs.value)
    assert read_member(zf, "s.xml", bytes(data), 11) == b"<worksheet>"  # a head read checks no CRC, as zipfile


def test_read_member_local_name_mismatch_raises_as_zipfile() -> None:
    from pipeline.ingest.sniff import read_member

    data = bytearray(_zip_bytes([("one.xml", b"<a/>" * 100, zipfile.ZIP_DEFLATED)]))
    data[30:37] = b"two.xml"  # the local header now names another file
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    with pytest.raises(zipfile.BadZipFile, match="differ"):
        read_member(zf, "one.xml", bytes(data))


def test_sniff_hands_its_archive_to_the_reader(plan: Plan, tmp_path: Path) -> None:
    path = build_form(tmp_path / "f.xlsx")
    data = path.read_bytes()
    verdict = sniff(data)
    assert verdict.format == "xlsx" and verdict.archive is not None
    assert verdict == sniff(data)  # the archive is not part of the verdict's identity
    form = read_bytes(data, "f.xlsx", FileFacts("x", len(data), 0.0), ReadSpec.from_plan(plan))
    assert form.readable and form.cells["help_children"].value == 120


def test_on_form_sees_every_read_form_once(plan: Plan, tmp_path: Path) -> None:
    paths = [build_form(tmp_path / f"f{i}.xlsx") for i in range(5)]
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    paths.append(tmp_path / "junk.xlsx")
    seen: list[RawForm] = []
    forms = read_files(plan, paths, root=tmp_path, workers=2, on_form=seen.append)
    assert sorted(map(id, seen)) == sorted(map(id, forms))
