"""Stamped rows (pipeline/render/stamp.py): the report's long table loops are rendered through the template
as one prototype row and written out for the real rows. The reference is the template rendering every row
itself (`render_bytes(…, stamp=False)`, docxtpl's Jinja over the full rows): the bytes must be the same, and
what a reader sees in the cells (read back with python-docx) must be the text given, literally."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from docx.oxml.ns import qn

import pipeline.render.docx as docx_module
from pipeline.plan import load_plan
from pipeline.render import RenderError, build_context
from pipeline.render.docx import ANNEX_TABLE, TEMPLATES, render_bytes
from pipeline.render.stamp import StampedLoop, expand_rows
from render_factory import make_report_data

REPO = Path(__file__).resolve().parent.parent
PLAN_FILE = REPO / "pipeline/data/plans/mektepke-zhol-2017.yaml"

#: Text a stamped value must come out as, literally: XML's special characters, quotes, template syntax of
#: both kinds, a placeholder look-alike, CDATA's end, a non-BMP character, an empty value.
HOSTILE = [
    'Ақ & "Қара" <тест>',
    "{{ title }}",
    "{% if x %}иә{% endif %}",
    "a' b\" c&amp; d&lt;",
    "MZLITERAL00N0Z MZROW0L0V0Z",
    "]]> 100 %",
    "😀 ∑ \u00a0 \u2028",
    "",
    "  лақ  ",
]
#: Values the template turns into breaks (a tab, a newline): their loop is left to the template.
BREAKS = ["бір\nекі", "бір\tекі"]


@pytest.fixture()
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """What each stamped render's expansion returned (None: it fell back to the template's rows)."""
    seen: list[str | None] = []

    def recording(xml: str, loops: list[StampedLoop]) -> str | None:
        result = expand_rows(xml, loops)
        seen.append(result)
        return result

    monkeypatch.setattr(docx_module, "expand_rows", recording)
    return seen


def _cells(docx_bytes: bytes, caption: str | None = None) -> list[list[str]]:
    doc = Document(io.BytesIO(docx_bytes))
    rows = []
    for table in doc.tables:
        found = table._tbl.tblPr.find(qn("w:tblCaption"))
        if caption is None or (found is not None and found.get(qn("w:val")) == caption):
            rows.extend([c.text for c in row.cells] for row in table.rows)
    return rows


def _with_hostile_annex(context: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """`context` with the first annex table's first rows' cells replaced by `values` (cycled)."""
    context = dict(context, annex=dict(context["annex"]))
    tables = [dict(t) for t in context["annex"]["tables"]]
    rows = [dict(r) for r in tables[0]["rows"]]
    n = 0
    for i in range(len(values)):
        width = len(rows[i]["cells"])
        rows[i]["cells"] = [values[(n + k) % len(values)] for k in range(width)]
        rows[i]["name"] = values[(n + 1) % len(values)]
        n += width
    tables[0]["rows"] = rows
    context["annex"]["tables"] = tables
    return context


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_stamped_rows_are_the_template_rows(spy: list, language: str) -> None:
    """Every date's report: the same bytes with and without stamping, and the stamped path was taken."""
    for date in ("2017-08-08", "2017-09-28"):
        data = make_report_data(date)
        context = build_context(data, language=language)
        stamped = render_bytes(data, language=language, context=context)
        assert spy and spy[-1] is not None  # the template's loops were stamped, not fallen back from
        assert stamped == render_bytes(data, language=language, context=context, stamp=False)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_hostile_values_render_literally_and_the_same(spy: list, language: str) -> None:
    data = make_report_data("2017-09-28")
    context = _with_hostile_annex(build_context(data, language=language), HOSTILE)
    stamped = render_bytes(data, language=language, context=context)
    assert spy[-1] is not None
    assert stamped == render_bytes(data, language=language, context=context, stamp=False)
    rows = _cells(stamped, ANNEX_TABLE)
    shown = {cell for row in rows for cell in row}
    for value in HOSTILE:
        assert value in shown, value
    # The document is whole: every unit's row is there, after the hostile ones.
    assert len(rows) >= len(data.plan.units) + 2


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_values_with_breaks_leave_their_loop_to_the_template(spy: list, language: str) -> None:
    data = make_report_data("2017-08-17")
    context = _with_hostile_annex(build_context(data, language=language), [*BREAKS, *HOSTILE])
    stamped = render_bytes(data, language=language, context=context)
    assert stamped == render_bytes(data, language=language, context=context, stamp=False)
    shown = {cell for row in _cells(stamped, ANNEX_TABLE) for cell in row}
    assert set(BREAKS) <= shown  # python-docx reads <w:br/> as \n and <w:tab/> as \t


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_unit_names_from_the_plan_render_literally(tmp_path: Path, spy: list, language: str) -> None:
    """Unit names are the plan's text: &, <, >, quotes and template syntax in them are printed as they are,
    in the annex and the timeliness table."""
    raw = yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))
    names = ['Ақ & "Қара" <ауданы>', "{{ title }} ауданы", "{% if x %} ауданы", "O'Нил ауданы"]
    key = "name_ru" if language == "ru" else "name"
    for unit, name in zip(raw["units"][1:], names):
        unit[key] = name
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    data = make_report_data("2017-09-28", load_plan(path))
    stamped = render_bytes(data, language=language)
    assert spy[-1] is not None
    assert stamped == render_bytes(data, language=language, stamp=False)
    shown = [cell.rstrip("*") for row in _cells(stamped) for cell in row]
    for name in names:
        assert shown.count(name) >= 2, name  # the annex and the timeliness table


def _edited_template(tmp_path: Path, language: str, old: str, new: str) -> Path:
    """A copy of the language's template with the last `old` of its body changed, as an edit in Word would."""
    src = TEMPLATES[language]
    out = tmp_path / f"edited-{language}.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                assert old in text
                head, _, tail = text.rpartition(old)
                data = (head + new + tail).encode("utf-8")
            zout.writestr(item, data)
    return out


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_broken_tag_in_a_stamped_row_is_still_refused(tmp_path: Path, language: str) -> None:
    """The annex row's unit name tag broken by an edit (`{ {`): its leftover `}}` is found in the prototype."""
    bad = _edited_template(tmp_path, language, "{{ row.name }}", "{ { row.name }}")  # the last: the annex
    with pytest.raises(RenderError, match="template syntax left"):
        render_bytes(make_report_data("2017-08-17"), template=bad, language=language)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_rows_used_outside_their_table_fall_back_to_the_template(tmp_path: Path, spy: list, language: str) -> None:
    """A template that also lists the timeliness rows in a paragraph: the prototype is not one table row
    any more, so every row is rendered by the template (the same bytes as without stamping)."""
    edited = _edited_template(tmp_path, language, "{{ annex_line }}",
                              "{{ annex_line }}{% for row in timeliness.rows_first %} {{ row.name }};{% endfor %}")
    data = make_report_data("2017-09-28")
    stamped = render_bytes(data, template=edited, language=language)
    assert spy[-1] is None
    assert stamped == render_bytes(data, template=edited, language=language, stamp=False)
    name = data.plan.units[0]
    text = "\n".join(p.text for p in Document(io.BytesIO(stamped)).paragraphs)
    assert str(name.name_ru if language == "ru" else name.name).split()[-1] in text


def test_expand_rows_refuses_what_is_not_one_plain_row() -> None:
    loop = StampedLoop("MZROWabcL0V", 2, [["1", "x"], ["2", ""]])
    row = '<w:tr><w:tc><w:p><w:r><w:t>MZROWabcL0V0Z</w:t></w:r><w:r><w:t xml:space="preserve">MZROWabcL0V1Z</w:t></w:r></w:p></w:tc></w:tr>'
    body = f"<w:tbl>{row}</w:tbl>"
    assert expand_rows(body, [loop]) == (
        '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>1</w:t></w:r><w:r><w:t xml:space="preserve">x</w:t></w:r></w:p></w:tc></w:tr>'
        '<w:tr><w:tc><w:p><w:r><w:t>2</w:t></w:r><w:r><w:t xml:space="preserve"/></w:r></w:p></w:tc></w:tr></w:tbl>')
    assert expand_rows(body + row, [loop]) is None  # the prototype twice
    assert expand_rows(body.replace("MZROWabcL0V1Z", "MZROWabcL0V1Z!"), [loop]) is None  # not alone in its text
    assert expand_rows(f"<w:p>{row[6:-7]}</w:p>", [loop]) is None  # not in a table row
    assert expand_rows(body.replace("L0V1Z", "L0V0Z"), [loop]) is None  # a token missing


def test_the_callers_context_is_not_changed() -> None:
    data = make_report_data("2017-09-28")
    context = build_context(data)
    before = repr(context)
    render_bytes(data, context=context)
    assert repr(context) == before
    assert len(context["annex"]["tables"][0]["rows"]) >= len(data.plan.units)


def test_the_stamped_document_opens_in_libreoffice(tmp_path: Path) -> None:
    """The stamped report is a document LibreOffice reads whole: every unit's name in its text."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    import subprocess

    data = make_report_data("2017-09-28")
    path = tmp_path / "stamped.docx"
    path.write_bytes(render_bytes(data))
    profile = tmp_path / "lo"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "txt:Text",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=180)
    text = (tmp_path / "stamped.txt").read_text(encoding="utf-8-sig").replace("\u00a0", " ")
    for unit in data.plan.units:
        assert text.count(unit.name.replace("\u00a0", " ")) >= 2, unit.name


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_row_numbered_by_the_loop_is_left_to_the_template(tmp_path: Path, spy: list, language: str) -> None:
    """Staff number the annex rows with `{{ loop.index }}` instead of the data's number: every row differs by
    more than its values, so nothing is stamped and the numbers run 1, 2, 3 …"""
    edited = _edited_template(tmp_path, language, "{{ row.no }}", "{{ loop.index }}")
    data = make_report_data("2017-09-28")
    stamped = render_bytes(data, template=edited, language=language)
    assert spy == []  # not even tried
    assert stamped == render_bytes(data, template=edited, language=language, stamp=False)
    rows = _cells(stamped, ANNEX_TABLE)
    numbers = [r[0] for r in rows if r[0].isdigit()]
    assert numbers[:len(data.plan.units)] == [str(n) for n in range(1, len(data.plan.units) + 1)]
