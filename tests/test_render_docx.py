"""The rendered «Ақпарат»: fields, structure, figures, page set-up, determinism, escaping, Kazakh text."""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import shutil

import pytest
from docx import Document
from docx.shared import Mm, Pt

from pipeline.plan import load_plan
from pipeline.render import RenderError, build_context, render_report, template_fields
from pipeline.render.docx import ANNEX_TABLE, CAMPAIGN_TABLE, DEFAULT_TEMPLATE, TEMPLATES, render_bytes
from render_factory import make_report_data

REPO = Path(__file__).resolve().parent.parent
PLAN_FILE = REPO / "pipeline/data/plans/mektepke-zhol-2017.yaml"

NASTY = 'ЖШС "Ақ & Қара" <тест>'
CYR = "А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі"
LATIN_IN_WORD = re.compile(rf"[{CYR}][A-Za-z]|[A-Za-z][{CYR}]")



def _name(cell_text: str) -> str:
    """A unit's name as its plan writes it: «г.\u00a0Уральск» in a table is kept on one line by its no-break space;
    a star marks a stale unit."""
    return cell_text.rstrip("*").replace("\u00a0", " ")

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


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_template_fields_are_supplied(language: str) -> None:
    for date in ("2017-08-08", "2017-09-28"):
        context = build_context(make_report_data(date), language=language)
        assert template_fields(TEMPLATES[language]) <= set(context)


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


def _caption(table) -> str | None:
    from docx.oxml.ns import qn

    caption = table._tbl.tblPr.find(qn("w:tblCaption"))
    return caption.get(qn("w:val")) if caption is not None else None


def _tables(doc: Document, name: str) -> list:
    return [t for t in doc.tables if _caption(t) == name]


def _raw_plan(path: Path = PLAN_FILE) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _raw_figures(raw: dict) -> list[dict]:
    return [f for s in raw["sections"] for i in s["items"] for f in i.get("figures") or []]


def _expected_columns(raw: dict, language: str) -> list[tuple[str, str | None, str]]:
    """(header, figure code or None for the per-head column, unit) of every annex column, written from the
    plan file itself: every key figure with a number, its `short` label (else `label`), amounts in
    thousand tenge, and the per-head column."""
    suffix, thousand = ("_ru", "тыс. тенге") if language == "ru" else ("", "мың теңге")
    columns = []
    for f in _raw_figures(raw):
        if f.get("key") and f["unit"] in ("count", "tenge", "yesno"):
            label = f.get("short" + suffix) or f.get("label" + suffix) or f["label"]
            columns.append((f"{label}, {thousand}" if f["unit"] == "tenge" else label, f["code"], f["unit"]))
    head = raw.get("report", {}).get("per_head")
    if head:
        label = head.get("short" + suffix) or head["label" + suffix]
        columns.append((f"{label}, {thousand}", None, "tenge"))
    return columns


def _reporters(raw: dict) -> dict[str, list[str]]:
    return {f["code"]: i["reported_by"] for s in raw["sections"] for i in s["items"] for f in i.get("figures") or []}


def check_annex(data, docx_bytes: bytes, language: str, raw: dict) -> list:
    """Every key figure and the per-head column in exactly one annex table; each unit's cell, the
    department's own row (when it reports a key figure) and the total (units + department: the whole
    territory) equal to the data, amounts in thousand tenge to 0,1; a cell of someone who does not report
    the figure is empty; the tables fit a landscape page. Returns the annex tables."""
    doc = Document(io.BytesIO(docx_bytes))
    tables = _tables(doc, ANNEX_TABLE)
    assert tables, "no annex table"
    units = raw["units"]
    ru = language == "ru"
    whole = raw["region"]["whole_ru" if ru else "whole"]["total"]
    header = raw["region"]["units_ru" if ru else "units"]["header"]
    reporters = _reporters(raw)
    expected = _expected_columns(raw, language)
    head = raw.get("report", {}).get("per_head")
    department = raw["department"]["name_ru" if ru else "name"]
    by_header = {h: c for h, c, _ in expected}
    found: dict[str, tuple] = {}
    for table in tables:
        head_row = [c.text for c in table.rows[0].cells]
        assert head_row[1] == header
        rows = [[c.text for c in r.cells] for r in table.rows[1:]]
        # The department's own row in a table where it reports one of the columns (or the per-head parts).
        shown = [c for h in head_row[2:] for c in ([by_header[h]] if by_header.get(h) else
                                                   [head["numerator"], head["denominator"]])]
        with_department = any("department" in reporters[c] for c in shown)
        names = [u["name_ru" if ru else "name"] for u in units] + ([department] if with_department else []) + [whole]
        assert [_name(r[1]) for r in rows] == names
        for j, text in enumerate(head_row[2:], start=2):
            assert text not in found, f"column {text!r} twice"
            found[text] = (table, j, rows, with_department)
        widths = [int(c.get(qn_w())) for c in table._tbl.tblGrid]
        assert len(widths) == len(head_row)
        assert sum(widths) <= Mm(257).twips + 20, "an annex table wider than the landscape page"
    # Key figures in plan order; the per-head column (code None) wherever the layout puts it, once.
    keys = [h for h, code, _ in expected if code is not None]
    assert [h for h in found if h in keys or h not in {e[0] for e in expected}] == keys, "columns missing, extra or out of order"
    assert set(found) == {h for h, _, _ in expected}
    own = data.department.figures

    def territory(code: str, values: dict) -> float:
        parts = []
        if "units" in reporters[code]:
            parts += [v for v in values.values() if v == v]
        if "department" in reporters[code] and own.get(code) is not None:
            parts.append(own[code])
        return sum(parts) if parts else math.nan

    n = len(units)
    for text, code, unit in expected:
        _, j, rows, with_department = found[text]
        cells = [parse_number(r[j]) for r in rows[:n]]
        total = parse_number(rows[-1][j])
        if code is None:
            values = {c: {u["code"]: data.values.at[u["code"], c] for u in units} for c in (head["numerator"], head["denominator"])}
            num, den = territory(head["numerator"], values[head["numerator"]]), territory(head["denominator"], values[head["denominator"]])
            assert abs(total - round(num / den / 1000, 1)) < 1e-9, text
            for u, cell in zip(units, cells):
                a, b = values[head["numerator"]][u["code"]], values[head["denominator"]][u["code"]]
                if a == a and b == b and b > 0:
                    assert abs(cell - round(a / b / 1000, 1)) < 1e-9, (text, u["code"])
            continue
        values = {u["code"]: data.values.at[u["code"], code] for u in units}
        for u, cell, row in zip(units, cells, rows):
            if "units" not in reporters[code]:
                assert row[j] == "", (code, u["code"], row[j])
            elif values[u["code"]] != values[u["code"]]:
                assert math.isnan(cell), (code, u["code"])
            else:
                value = values[u["code"]]
                assert abs(cell - round(value / 1000 if unit == "tenge" else value, 1)) < 1e-9, (code, u["code"])
        if with_department:
            mine = rows[n][j]
            if "department" not in reporters[code]:
                assert mine == "", (code, mine)
            elif own.get(code) is not None:
                assert abs(parse_number(mine) - round(own[code] / 1000 if unit == "tenge" else own[code], 1)) < 1e-9, code
        if unit == "yesno":
            said = [v for v in values.values() if v == v] + ([own[code]] if own.get(code) is not None else [])
            assert total == sum(1 for v in said if v >= 0.5), code
            continue
        expected_total = territory(code, values)
        expected_total = expected_total / 1000 if unit == "tenge" else expected_total
        if math.isnan(expected_total):
            assert math.isnan(total), code
        else:
            assert abs(total - round(expected_total, 1)) < 1e-9, code
    return tables


def qn_t() -> str:
    from docx.oxml.ns import qn

    return qn("w:t")


def qn_w() -> str:
    from docx.oxml.ns import qn

    return qn("w:w")


@pytest.mark.parametrize("date", ["2017-08-08", "2017-08-17", "2017-09-28"])
def test_annex_has_every_key_figure_with_its_values(rendered: dict, date: str) -> None:
    data, path = rendered[date]
    tables = check_annex(data, path.read_bytes(), "kk", _raw_plan())
    stale = {data.plan.unit_by_code[u].name for u in data.stale_units()}
    rows = [[c.text for c in r.cells] for r in tables[0].rows[1:]]
    assert {r[1].rstrip("*") for r in rows if r[1].endswith("*")} == stale
    check_annex(data, render_bytes(data, language="ru"), "ru", _raw_plan())


def _derived_plan(tmp_path: Path, keys: int) -> tuple[object, dict]:
    """The 2017 plan with `keys` key figures: key figures dropped from the end, or count figures made key
    in plan order, as a department would mark them."""
    import yaml

    raw = _raw_plan()
    figures = _raw_figures(raw)
    key = [f for f in figures if f.get("key")]
    while len(key) > keys:
        key.pop().pop("key")
    for f in figures:
        if len(key) >= keys:
            break
        if not f.get("key") and f["unit"] == "count":
            f["key"] = True
            key.append(f)
    assert len(key) == keys
    path = tmp_path / f"plan-{keys}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plan(path), raw


@pytest.mark.parametrize("keys", [12, 14, 30])
def test_annex_split_keeps_every_key_figure(tmp_path: Path, keys: int) -> None:
    """12, 14 or 30 key figures: a column each (and per head) with the right values and total, over as many
    landscape tables as they need; a whole and its "of which" parts stay in one table."""
    plan, raw = _derived_plan(tmp_path, keys)
    data = make_report_data("2017-09-28", plan)
    for language in ("kk", "ru"):
        tables = check_annex(data, render_bytes(data, language=language), language, raw)
        if keys == 30:
            assert len(tables) >= 2
        context = build_context(data, language=language)
        assert len(context["annex"]["tables"]) == len(tables)
        where = {h: n for n, t in enumerate(context["annex"]["tables"]) for h in t["headers"]}
        for f in plan.figures:
            if f.key and f.of and plan.figure_by_code[f.of].key:
                label = lambda g: _expected_columns(raw, language)[[c for _, c, _ in _expected_columns(raw, language)].index(g.code)][0]
                assert where[label(f)] == where[label(plan.figure_by_code[f.of])], f.code
    if keys == 12:
        assert len(tables) == 1


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
    every_run = "".join(t.text or "" for t in Document(str(path)).element.body.iter(qn_t()))
    assert "Орынд.:" in every_run  # in the executor's text box
    assert build_context(data)["annex"]["heading"] in text  # the annex, after the signature


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


def test_executor_is_a_text_box_anchored_in_the_signature_row(rendered: dict) -> None:
    """Where the executor block lives in the .docx: a text box anchored in the signature's row (it goes to
    whatever page the signature goes to), at the bottom left of the text area with text kept above and
    below it; no paragraph frame and no empty paragraph between the signature and the annex's section."""
    from docx.oxml.ns import qn

    data, path = rendered["2017-09-28"]
    doc = Document(path)
    body = doc.element.body
    assert not body.findall(".//" + qn("w:framePr"))
    sign = next(t for t in doc.tables if data.plan.signatory.name.replace(" ", "\u00a0") in "".join(c.text for c in t._cells))
    wp = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
    anchors = sign._tbl.findall(f".//{wp}anchor")
    assert len(anchors) == 1
    anchor = anchors[0]
    assert anchor.find(f"{wp}positionV/{wp}align").text == "bottom"
    assert anchor.find(f"{wp}positionH/{wp}align").text == "left"
    assert anchor.find(f"{wp}positionV").get("relativeFrom") == "margin"
    assert anchor.find(f"{wp}wrapTopAndBottom") is not None
    texts = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in anchor.iter(qn("w:p"))]
    assert texts == [f"Орынд.: {data.plan.executor.name.replace(' ', chr(0xa0))}", f"Тел.: {data.plan.executor.phone}"]
    # After the signature table: only the section break's paragraph, then the annex.
    following = sign._tbl.getnext()
    assert following.tag == qn("w:p") and following.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None
    assert "".join(t.text or "" for t in following.iter(qn("w:t"))) == ""


def _demo_reports(tmp_path: Path) -> list[Path]:
    """The twelve demo reports (six dates × kk/ru) as `make demo` writes them."""
    import re
    import subprocess
    import sys

    from pipeline.report import run_report

    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    seed = re.search(r"^DEMO_SEED\s*:?=\s*(\d+)", makefile, re.M)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    subprocess.run([sys.executable, "-m", "pipeline", "samples", "--out", str(inbox), "--seed",
                    seed.group(1) if seed else "2014", "--messy", "2017-08-17"], check=True, cwd=REPO,
                   capture_output=True)
    reports = []
    for date in load_plan().dates:
        folder = run_report(date.isoformat(), inbox=inbox, outbox=outbox).folder
        reports += sorted(folder.glob("akparat-*.docx"))
    return reports


def _pdf_pages(pdf: Path) -> list[str]:
    import re
    import subprocess

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    return [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout for n in range(1, count + 1)]


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="soffice or pdftotext not installed")
def test_executor_stays_on_the_signature_page_in_every_demo_report(tmp_path: Path) -> None:
    """All six demo dates in both languages, as LibreOffice lays them out: the page with the signatory's
    name also holds «Орынд.:»/«Исп.:» and the phone, below the signature; no page holds the executor alone."""
    import subprocess

    reports = _demo_reports(tmp_path)
    assert len(reports) == 12
    pdfs = tmp_path / "pdf"
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(pdfs), *map(str, reports)],
                   check=True, capture_output=True, timeout=600)
    plan = load_plan()
    for report in reports:
        russian = report.stem.endswith("-ru")
        name = (plan.signatory.name_ru if russian else plan.signatory.name).split()[-1]
        executor = "Исп.:" if russian else "Орынд.:"
        pages = _pdf_pages(pdfs / f"{report.stem}.pdf")
        signed = [n for n, text in enumerate(pages) if name in text and "Қосымша" not in text[:200]
                  and "Приложение" not in text[:200]]
        holding = [n for n, text in enumerate(pages) if executor in text]
        assert len(holding) == 1, (report.name, holding)
        assert holding == signed[-1:], (report.name, signed, holding)
        page = pages[holding[0]]
        assert page.index(name) < page.index(executor) and plan.executor.phone in page, report.name
        # Not alone: the page also holds the signature and something above it (the annex line, a table).
        lines = [line for line in page.splitlines() if line.strip() and not line.strip().isdigit()]
        assert len(lines) > 4, (report.name, lines)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="soffice or pdftotext not installed")
def test_a_wide_campaign_table_keeps_every_number_and_word_whole(tmp_path: Path) -> None:
    """Six dates and last year's column (the next campaign's final): as LibreOffice lays the table out, no
    amount breaks after its comma («100 974,\n0») and no header inside a word («қыркүй\nек»)."""
    import subprocess
    from types import SimpleNamespace

    data = make_report_data("2017-09-28")
    data.previous = SimpleNamespace(name="«Мектепке жол» – 2016", name_ru="«Дорога в школу – 2016»",
                                    totals={"help_children": 9000.0, "help_amount": 181_234_000.0}, units={})
    for language in ("kk", "ru"):
        rendered = render_bytes(data, language=language)
        rows = _campaign_rows(rendered)
        assert len(rows[0]) == 1 + 7, rows[0]
        docx = tmp_path / f"wide-{language}.docx"
        docx.write_bytes(rendered)
        subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
                       check=True, capture_output=True, timeout=300)
        text = "\n".join(_pdf_pages(tmp_path / f"wide-{language}.pdf")).replace("\u00a0", " ")
        cells = [cell.replace("\u00a0", " ") for row in rows[1:] for cell in row[1:] if "," in cell]
        assert "181 234,0" in cells
        for cell in cells:
            assert cell in text, (language, cell)
        for header in rows[0][1:]:
            for word in header.replace("\u00a0", " ").split():
                assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text), (language, word)


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
def test_timeliness_table_breaks_only_where_it_may(language: str) -> None:
    """The timeliness table may break over a page, but its first rows keep with its header, its last rows
    with the total row and the total with what follows (annex line, signature): only the rows between are
    free to break."""
    from pipeline.render.tables import KEEP_ROWS

    data = make_report_data("2017-08-17")
    doc = Document(io.BytesIO(render_bytes(data, language=language)))
    names = {u.name if language == "kk" else u.name_ru for u in data.plan.units}
    table = next(t for t in doc.tables if any(_name(r.cells[1].text) in names for r in t.rows) and len(t.columns) == 6)
    body = [r for r in table.rows[2:]]  # two header rows
    assert [_name(r.cells[1].text) for r in body[:-1]] == [u.name if language == "kk" else u.name_ru for u in data.plan.units]
    keep = [all(p.paragraph_format.keep_with_next for c in r.cells for p in c.paragraphs) for r in body]
    free = len(body) - 1 - 2 * KEEP_ROWS
    assert keep == [True] * KEEP_ROWS + [False] * free + [True] * (KEEP_ROWS + 1)


# --- charts in the document ----------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["kk", "ru"])
def test_charts_are_numbered_and_captioned_under_their_images(tmp_path: Path, language: str) -> None:
    """Each planned chart's image, then its caption «1-сурет. …» / «Рисунок 1. …» right under it, in the
    order of planned_charts; the caption names the plan's units and the headline figure."""
    from pipeline.render.charts import draw_charts, planned_charts

    raw = _raw_plan()
    figures = {f["code"]: f for f in _raw_figures(raw)}
    for date, count in (("2017-08-08", 1), ("2017-09-28", 2)):
        data = make_report_data(date)
        paths = draw_charts(data, tmp_path / date, language)
        assert len(planned_charts(data)) == count == len(paths)
        doc = Document(io.BytesIO(render_bytes(data, chart_paths=paths, language=language)))
        paragraphs = doc.paragraphs
        images = [n for n, p in enumerate(paragraphs) if p._p.findall(".//" + qn_blip())]
        assert len(images) == count
        captions = [paragraphs[n + 1].text for n in images]
        for number, caption in enumerate(captions, start=1):
            prefix = f"Рисунок {number}. " if language == "ru" else f"{number}-сурет. "
            assert caption.startswith(prefix), caption
        units = raw["region"]["units_ru" if language == "ru" else "units"]["genitive"]
        label = figures["help_children"]["label_ru" if language == "ru" else "label"]
        assert units in captions[0] or units[:1].upper() + units[1:] in captions[0], captions[0]
        assert label.lower() in captions[0].lower(), captions[0]
        if count == 2:
            whole = raw["region"]["whole_ru" if language == "ru" else "whole"]["by"]
            assert whole.lower() in captions[1].lower(), captions[1]


def qn_blip() -> str:
    return "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"


# --- the final's table over the campaign ----------------------------------------------------------------------

def _campaign_rows(docx_bytes: bytes) -> list[list[str]]:
    doc = Document(io.BytesIO(docx_bytes))
    tables = _tables(doc, CAMPAIGN_TABLE)
    assert len(tables) <= 1
    return [[c.text for c in r.cells] for r in tables[0].rows] if tables else []


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_final_carries_the_campaign_over_every_date_and_last_year(language: str) -> None:
    """The final only: each report.compare figure and help per head at every reporting date (values from
    each date's data), plus last year's final column when the data carry the previous campaign."""
    from types import SimpleNamespace

    raw = _raw_plan()
    compare = raw["report"]["compare"]
    figures = {f["code"]: f for f in _raw_figures(raw)}
    head = raw["report"]["per_head"]
    assert _campaign_rows(render_bytes(make_report_data("2017-09-18"), language=language)) == []
    data = make_report_data("2017-09-28")
    dates = sorted(data.history)
    rows = _campaign_rows(render_bytes(data, language=language))
    assert len(rows[0]) == 1 + len(dates)
    assert len(rows) == 1 + len(compare) + 1
    suffix = "_ru" if language == "ru" else ""
    for row, code in zip(rows[1:], compare):
        assert row[0].startswith(figures[code]["label" + suffix]), row[0]
        scale = 1000 if figures[code]["unit"] == "tenge" else 1
        for cell, date in zip(row[1:], dates):
            assert parse_number(cell) == round(data.history[date][code].sum() / scale, 1), (code, date)
    per_head = rows[-1]
    assert per_head[0].startswith(head["label" + suffix])
    for cell, date in zip(per_head[1:], dates):
        frame = data.history[date]
        assert parse_number(cell) == round(frame[head["numerator"]].sum() / frame[head["denominator"]].sum() / 1000, 1)

    # Last year's final (issue 15's ReportData.previous): one more column, its totals.
    previous = SimpleNamespace(name="«Мектепке жол» – 2016", name_ru="«Дорога в школу – 2016»",
                               totals={"help_children": 9000.0, "help_amount": 81_000_000.0}, units={})
    data.previous = previous
    rendered = render_bytes(data, language=language)
    rows = _campaign_rows(rendered)
    assert len(rows[0]) == 2 + len(dates)
    # The column is named (briefly where the language's words are long); the note under the table names the
    # campaign in full.
    assert rows[0][-1].strip()
    notes = [p.text for p in Document(io.BytesIO(rendered)).paragraphs]
    assert any((previous.name_ru if language == "ru" else previous.name) in text for text in notes)
    last = {row[0]: row[-1] for row in rows[1:]}
    assert parse_number(last[figures["help_children"]["label" + suffix]]) == 9000
    amount = next(v for k, v in last.items() if k.startswith(figures["help_amount"]["label" + suffix]))
    assert parse_number(amount) == 81_000.0
    assert parse_number(rows[-1][-1]) == 9.0  # 81 000 000 tenge / 9 000 children, in thousands
    assert math.isnan(parse_number(last[figures["sponsor_children"]["label" + suffix]]))


# --- page 1's new blocks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["kk", "ru"])
def test_registration_attention_and_quality_blocks(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """The prose builder fills them (issue 16); the template shows registration top left beside the
    addressee, the attention block after the summary (its heading only when it has lines), then quality."""
    import pipeline.render.docx as docx_module

    real = docx_module.build_context
    filled: dict = {}

    def with_blocks(data, **kwargs):
        context = real(data, **kwargs)
        context.update(filled)
        return context

    monkeypatch.setattr(docx_module, "build_context", with_blocks)
    data = make_report_data("2017-08-17")
    filled.update(registration=["№ ____", "«___» ________ 2017 ж."],
                  attention={"heading": "НАЗАР-ТАҚЫРЫП", "lines": ["Назар жолы бір.", "Назар жолы екі."]},
                  quality=["Сапа туралы абзац."])
    doc = Document(io.BytesIO(render_bytes(data, language=language)))
    first = doc.tables[0]
    assert [p.text for p in first.rows[0].cells[0].paragraphs if p.text] == filled["registration"]
    assert data.plan.addressee.lines[0] in first.rows[0].cells[1].text or language == "ru"
    texts = [p.text for p in doc.paragraphs]
    summary = real(data, language=language)["summary"]
    at = texts.index("НАЗАР-ТАҚЫРЫП")
    assert texts.index(summary[-1]) < at
    assert texts[at + 1: at + 4] == ["Назар жолы бір.", "Назар жолы екі.", "Сапа туралы абзац."]
    filled.update(attention={"heading": "НАЗАР-ТАҚЫРЫП", "lines": []}, quality=[], registration=[])
    doc = Document(io.BytesIO(render_bytes(data, language=language)))
    assert "НАЗАР-ТАҚЫРЫП" not in all_text(doc)


# --- nothing of a campaign in the form ---------------------------------------------------------------------------

def _campaign_words(raw: dict) -> set[str]:
    words = {raw["region"]["name"], raw["region"]["name_ru"], raw["department"]["name"], raw["department"]["name_ru"]}
    for unit in raw["units"]:
        words |= {unit["name"], unit["short"], unit["name_ru"], *unit["cases"].values(), *unit.get("aliases", [])}
    for key in ("whole", "whole_ru", "units", "units_ru"):
        words |= {v for v in raw["region"][key].values() if len(v) > 3}
    return {w for w in words if len(w) > 3}


BUNDLED = sorted({*REPO.glob("pipeline/data/plans/*.yaml"), *REPO.glob("tests/plans/*.yaml")})


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_templates_and_form_wording_name_no_campaign(language: str) -> None:
    """No unit, region or department of any bundled plan in the template or in the wording sections the
    form owns (charts, district_table, campaign_table, timeliness, template, xlsx)."""
    import yaml

    from pipeline.render.language import LANGUAGES

    words = set().union(*(_campaign_words(_raw_plan(p)) for p in BUNDLED))
    with zipfile.ZipFile(TEMPLATES[language]) as zf:
        xml = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".xml"))
    text = re.sub(r"<[^>]+>", "", xml)
    wording = LANGUAGES[language].words
    sections = yaml.safe_dump({k: wording[k] for k in ("charts", "district_table", "campaign_table", "timeliness",
                                                         "template", "xlsx") if k in wording}, allow_unicode=True)
    for word in sorted(words):
        assert word not in text, (TEMPLATES[language].name, word)
        assert word not in sections, word
    assert "Орал" not in text + sections and "Уральск" not in text + sections


def _other_region_plan(tmp_path: Path) -> tuple[object, dict]:
    """The 2017 plan moved to an invented region: other region words, the city renamed."""
    import yaml

    raw = _raw_plan()
    raw["region"].update(
        name="Сынақ облысы", name_ru="Тестовая область",
        whole={"locative": "сынақ облысында", "by": "сынақ облысы бойынша", "total": "Сынақ облысы бойынша жиыны"},
        whole_ru={"locative": "в тестовой области", "by": "по тестовой области", "total": "Всего по тестовой области"},
        units={"nominative": "сынақ аудандары", "genitive": "сынақ аудандарының", "header": "Сынақ ауданы"},
        units_ru={"nominative": "тестовые районы", "genitive": "тестовых районов", "header": "Тестовый район"},
    )
    raw["addressee"].update(lines=["Сынақ облысы", "әкімінің орынбасары"],
                            lines_ru=["Заместителю акима", "Тестовой области"])
    city = raw["units"][0]
    city.update(name="Жаңа қаласы", short="Жаңа", name_ru="г. Жана", aliases=[],
                cases={"genitive": "Жаңа қаласының", "dative": "Жаңа қаласына", "locative": "Жаңа қаласында",
                       "ablative": "Жаңа қаласынан"})
    path = tmp_path / "other-region.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plan(path), raw


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_tables_speak_the_plans_region_words(tmp_path: Path, language: str) -> None:
    """Annex heading, unit column and total row, timeliness heading and unit column, chart captions: the
    plan's region words, never the 2017 oblast's (a plan without the Russian instrumental gets the
    fallback heading)."""
    from pipeline.render.charts import chart_captions

    plan, raw = _other_region_plan(tmp_path)
    data = make_report_data("2017-09-28", plan)
    ru = language == "ru"
    doc = Document(io.BytesIO(render_bytes(data, language=language)))
    check_annex(data, render_bytes(data, language=language), language, raw)
    context = build_context(data, language=language)
    units, whole = raw["region"]["units_ru" if ru else "units"], raw["region"]["whole_ru" if ru else "whole"]
    assert units["genitive"] in context["annex"]["heading"].lower()
    assert units["nominative"] in context["timeliness"]["heading"] or units["genitive"] in context["timeliness"]["heading"].lower()
    assert context["timeliness"]["unit_header"] == units["header"]
    captions = " ".join(chart_captions(data, language).values())
    assert units["genitive"] in captions.lower() and whole["by"] in captions.lower()
    form = "\n".join([context["annex"]["heading"], context["timeliness"]["heading"], captions,
                      *(c for t in doc.tables for r in t.rows for c in (x.text for x in r.cells))])
    for word in _campaign_words(_raw_plan()) - _campaign_words(raw):
        assert word not in form, word


def test_a_long_calendar_splits_the_campaign_table_and_keeps_every_date(tmp_path: Path) -> None:
    """Twelve reporting dates do not fit one portrait table: two tables of six, each with the names, every
    date once and in order, each cell its date's total."""
    import datetime as dt

    import yaml

    raw = _raw_plan()
    start = dt.date(2017, 8, 3)
    dates = [start + dt.timedelta(days=5 * n) for n in range(12)]
    raw["reporting_dates"] = [{"date": d, "kind": "interim"} for d in dates[:-1]] + [{"date": dates[-1], "kind": "final"}]
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plan = load_plan(path)
    data = make_report_data(plan.final_date, plan)
    doc = Document(io.BytesIO(render_bytes(data)))
    tables = _tables(doc, CAMPAIGN_TABLE)
    assert len(tables) == 2
    heads = [c.text for t in tables for c in t.rows[0].cells[1:]]
    assert heads == [f"{d.day} {('тамыз', 'қыркүйек')[d.month - 8]}" for d in dates]
    code = raw["report"]["compare"][0]
    column = 0
    for table in tables:
        assert sum(int(c.get(qn_w())) for c in table._tbl.tblGrid) <= Mm(170).twips + 20
        values = [[c.text for c in r.cells] for r in table.rows[1:]][0]
        assert values[0] == next(f["label"] for f in _raw_figures(raw) if f["code"] == code)
        for cell in values[1:]:
            assert parse_number(cell) == data.history[dates[column]][code].sum()
            column += 1
    assert column == 12


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_table_cell_keeps_a_paragraph(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """A loop that yields nothing (no registration lines, no notes) must not leave a table cell without a
    paragraph: LibreOffice then dropped the cell and the addressee slid to the left margin."""
    from docx.oxml.ns import qn

    import pipeline.render.docx as docx_module

    real = docx_module.build_context
    monkeypatch.setattr(docx_module, "build_context", lambda data, **kw: {**real(data, **kw), "registration": []})
    for date in ("2017-08-08", "2017-09-28"):
        data = make_report_data(date)
        doc = Document(io.BytesIO(render_bytes(data, language=language)))
        cells = list(doc.element.body.iter(qn("w:tc")))
        assert cells and all(cell.find(qn("w:p")) is not None for cell in cells)
        widths = [int(c.get(qn_w())) for c in doc.tables[0]._tbl.tblGrid]
        assert len(doc.tables[0].rows[0].cells) == 2 and min(widths) > Mm(60).twips
