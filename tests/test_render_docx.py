"""The rendered «Ақпарат»: fields, structure, figures, page set-up, determinism, escaping, Kazakh text."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm, Pt

from pipeline.render import RenderError, build_context, render_report, template_fields
from pipeline.render.context import key_figures
from pipeline.render.docx import DEFAULT_TEMPLATE, render_bytes
from render_factory import make_report_data

NASTY = 'ЖШС "Ақ & Қара" <тест>'
CYR = "А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі"
LATIN_IN_WORD = re.compile(rf"[{CYR}][A-Za-z]|[A-Za-z][{CYR}]")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    out = tmp_path_factory.mktemp("docx")
    result = {}
    for date in ("2017-08-08", "2017-08-17", "2017-09-28"):
        data = make_report_data(date, comment=NASTY, sponsors_text=NASTY)
        path = out / f"report-{date}.docx"
        if date == "2017-08-17":
            render_report(data, path)  # with charts
        else:
            # Charts cost ~1 s a report; the text checks do not need them.
            path.write_bytes(render_bytes(data))
        result[date] = (data, path)
    return result


def all_text(doc: Document) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def parse_number(text: str) -> float:
    text = text.strip().rstrip("*")
    if text in ("–", ""):
        return math.nan
    return float(text.replace("\u00a0", "").replace(",", "."))


def test_template_fields_are_supplied() -> None:
    context = build_context(make_report_data("2017-08-17"))
    assert template_fields(DEFAULT_TEMPLATE) <= set(context)


def test_missing_field_fails_loudly(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("{{ title }} {{ no_such_field }}")
    bad = tmp_path / "bad.docx"
    doc.save(str(bad))
    assert "no_such_field" in template_fields(bad)
    with pytest.raises(RenderError):
        render_bytes(make_report_data("2017-08-08"), template=bad)


def test_broken_tag_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.render.charts.draw_charts", lambda data, out: {})
    doc = Document()
    doc.add_paragraph("{{ title }} { { title }}")
    bad = tmp_path / "broken.docx"
    doc.save(str(bad))
    out = tmp_path / "out.docx"
    with pytest.raises(RenderError):
        render_report(make_report_data("2017-08-08"), out, template=bad)
    assert not out.exists()


@pytest.mark.parametrize("date", ["2017-08-08", "2017-08-17", "2017-09-28"])
def test_no_template_syntax_left(rendered: dict, date: str) -> None:
    text = all_text(Document(str(rendered[date][1])))
    for token in ("{{", "{%", "}}", "%}"):
        assert token not in text


@pytest.mark.parametrize("date", ["2017-08-08", "2017-08-17", "2017-09-28"])
def test_district_table(rendered: dict, date: str) -> None:
    data, path = rendered[date]
    plan = data.plan
    table = Document(str(path)).tables[-1]
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    names = [r[1].rstrip("*") for r in rows]
    assert names == [u.name for u in plan.units] + ["Облыс бойынша барлығы"]
    stale = {plan.unit_by_code[u].name for u in data.stale_units()}
    assert {r[1].rstrip("*") for r in rows if r[1].endswith("*")} == stale
    figures = key_figures(plan)
    totals = data.totals
    for j, fig in enumerate(figures, start=2):
        units = [parse_number(r[j]) for r in rows[:-1]]
        total = parse_number(rows[-1][j])
        expected = totals[fig.code] / 1000 if fig.unit == "tenge" else totals[fig.code]
        # Amounts are shown rounded to 0,1 thousand: each row may be off by half a step.
        tolerance = 0.05 * len(units) + 1e-9 if fig.unit == "tenge" else 0
        assert abs(sum(v for v in units if not math.isnan(v)) - total) <= tolerance, fig.code
        assert abs(total - round(expected, 1)) < 1e-9, fig.code


def test_page_setup(rendered: dict) -> None:
    doc = Document(str(rendered["2017-08-17"][1]))
    first = doc.sections[0]
    assert round(first.page_width.mm) == 210 and round(first.page_height.mm) == 297
    margins = [first.left_margin, first.right_margin, first.top_margin, first.bottom_margin]
    assert [round(m.mm) for m in margins] == [30, 10, 20, 20]
    assert first.different_first_page_header_footer
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert normal.font.size == Pt(14)
    assert abs(normal.paragraph_format.first_line_indent - Mm(12.5)) < Mm(0.1)
    wide = doc.sections[1]
    assert wide.page_width > wide.page_height  # the district table's landscape page


def test_same_input_same_bytes(rendered: dict, tmp_path: Path) -> None:
    a = rendered["2017-08-17"][1].read_bytes()
    data = make_report_data("2017-08-17", comment=NASTY, sponsors_text=NASTY)
    b = render_report(data, tmp_path / "b.docx", charts_dir=tmp_path / "charts").read_bytes()
    assert a == b
    assert len(list((tmp_path / "charts").glob("*.png"))) == 2
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        core = zf.read("docProps/core.xml").decode()
    assert "2017-08-17T12:00:00" in core


def test_escaping_keeps_the_document(rendered: dict) -> None:
    data, path = rendered["2017-09-28"]
    text = all_text(Document(str(path)))
    assert NASTY in text
    # Text after the value is still there: the document was not cut off.
    assert data.plan.signatory.position_lines[-1] in text
    assert "Орынд.:" in text


@pytest.mark.parametrize("date", ["2017-08-08", "2017-08-17", "2017-09-28"])
def test_kazakh_text(rendered: dict, date: str) -> None:
    data, path = rendered[date]
    text = all_text(Document(str(path)))
    day = int(date[-2:])
    assert LATIN_IN_WORD.search(text) is None, LATIN_IN_WORD.search(text)
    assert re.search(r"\d \d{3}(?!\d)", text) is None, "thousands must be no-break spaces"
    if date == "2017-08-17":
        # No-break spaces inside the date: the title never breaks between the day and the month.
        assert "2017\u00a0жылғы 17\u00a0тамыздағы жағдай бойынша барысы туралы" in text
        assert "Алдыңғы есепті күнмен (2017\u00a0жылғы 8\u00a0тамыз) салыстырғанда" in text
    if date == "2017-09-28":
        # The final: «ҚОРЫТЫНДЫ АҚПАРАТ» over «… акциясының өткізілуі туралы» (issue 16), not «қорытындысы» again.
        assert "қайырымдылық акциясының өткізілуі туралы" in text and "қорытындысы туралы" not in text
        assert "ҚОРЫТЫНДЫ АҚПАРАТ" in text
    assert f"{day}\u00a0" in text


def test_first_date_has_no_change_and_names_the_silent_unit(rendered: dict) -> None:
    data, path = rendered["2017-08-08"]
    text = all_text(Document(str(path)))
    assert "салыстырғанда" not in text
    assert "Жәнібек ауданы" in text


def test_final_report_extras(rendered: dict) -> None:
    data, path = rendered["2017-09-28"]
    context = build_context(data)
    assert context["is_final"] and context["final"]["lines"]
    text = all_text(Document(str(path)))
    assert context["final"]["heading"] in text
    for code in (i.code for i in data.plan.items):
        assert code in context["final"]["lines"][0]
    interim = build_context(rendered["2017-08-17"][0])
    assert not interim["is_final"]
    assert interim["final"]["heading"] not in all_text(Document(str(rendered["2017-08-17"][1])))


def test_executor_lines_are_framed_at_the_bottom_of_the_last_page(rendered: dict) -> None:
    from docx.oxml.ns import qn

    data, path = rendered["2017-09-28"]
    doc = Document(path)
    executor = [p for p in doc.paragraphs if p.text.startswith(("Орынд.:", "Тел.:"))]
    assert [p.text.split()[0] for p in executor] == ["Орынд.:", "Тел.:"]
    for p in executor:
        frame = p._p.pPr.find(qn("w:framePr"))
        assert frame is not None and frame.get(qn("w:yAlign")) == "bottom" and frame.get(qn("w:xAlign")) == "left"
    # The executor closes the main text; only the annex (the landscape district table) follows it.
    texts = [p.text for p in doc.paragraphs]
    after = [t for t in texts[texts.index(executor[-1].text) + 1:] if t.strip()]
    assert after[0] == "Қосымша" and after[1] == build_context(data)["district"]["heading"]


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_department_comment_contradicting_its_status_is_flagged(language: str) -> None:
    from render_factory import with_department_comment

    from pipeline.render.language import LANGUAGES

    flag = LANGUAGES[language].words["items"]["contradiction"].split("{")[0]
    data = make_report_data("2017-08-17")
    assert data.department.statuses["I.1"] == "done"

    def line(comment: str) -> str:
        context = build_context(with_department_comment(data, "I.1", comment), language=language)
        return next(e for s in context["sections"] for e in s["entries"] if e["code"] == "I.1")["lines"][-1]

    assert flag in line("Баспасөз мәслихаты өткізілді. Жұмыс жоспарға сәйкес орындалуда.")
    assert flag not in line("Баспасөз мәслихатына облыстық БАҚ өкілдері қатысты.")


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_timeliness_total_never_stands_alone_on_a_page(language: str) -> None:
    """The timeliness table may break over a page, but its last rows keep with the total row and the total
    with what follows (annex line, signature): every unit row before them is free to break."""
    from render_factory import make_report_data

    from pipeline.render.docx import render_bytes

    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_template", Path(__file__).resolve().parent.parent / "templates" / "make_template.py")
    assert spec is not None and spec.loader is not None
    make_template = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_template)
    KEEP_ROWS = make_template.KEEP_ROWS

    data = make_report_data("2017-08-17")
    doc = Document(io.BytesIO(render_bytes(data, language=language)))
    names = {u.name if language == "kk" else u.name_ru for u in data.plan.units}
    table = next(t for t in doc.tables if any(r.cells[1].text in names for r in t.rows) and len(t.columns) == 6)
    body = [r for r in table.rows[2:]]  # two header rows
    assert len(body) == len(data.plan.units) + 1
    keep = [all(p.paragraph_format.keep_with_next for c in r.cells for p in c.paragraphs) for r in body]
    assert keep == [False] * (len(body) - 1 - KEEP_ROWS) + [True] * (KEEP_ROWS + 1)
