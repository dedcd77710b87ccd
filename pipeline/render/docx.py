"""Render the consolidated «Ақпарат» (.docx) from `ReportData` with the docxtpl template.

The output is byte-identical for the same input: document properties are fixed to the report date and
the zip is rewritten with fixed member timestamps and order.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from docx.opc.part import XmlPart
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docxtpl import DocxTemplate, InlineImage

from pipeline.atomic import atomic_write
from pipeline.aggregate.model import ReportData
from pipeline.render.charts import charts_context
from pipeline.render.context import build_context
from pipeline.render.language import LANGUAGES
from pipeline.render.stamp import StampedLoop, expand_rows, stamp_rows

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
DEFAULT_TEMPLATE = TEMPLATES_DIR / "report.docx"
#: language → its template file (staff edit each in Word); made by templates/make_template.py.
TEMPLATES: dict[str, Path] = {"kk": DEFAULT_TEMPLATE, "ru": TEMPLATES_DIR / "report-ru.docx"}
CHART_WIDTH = Mm(160)
#: Captions (Word: Alt Text → Title) of the template's tables whose columns come from the data: their column
#: widths are set from the context after rendering (`_set_widths`).
ANNEX_TABLE = "mz:annex"
CAMPAIGN_TABLE = "mz:campaign"
# Template syntax left in the output means a broken tag (e.g. `{ { x }}` or a tag split by an edit).
_LEFTOVER = re.compile(r"\{\{|\{%|\}\}|%\}")
# Parts whose text a reader sees: body, headers, footers, footnotes.
DOCUMENT_PART = "word/document.xml"
# What makes a loop's rows differ other than by their values: stamped rows are not used with such a template.
_PER_ITERATION = re.compile(r"\b(loop|namespace|cycler|joiner)\b")
_TEXT_PART = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")


class RenderError(Exception):
    """The report could not be rendered correctly; nothing was written."""


def jinja_env() -> jinja2.Environment:
    # autoescape: without it a value with & or < silently truncates the document body.
    # StrictUndefined: a field the code does not supply fails loudly instead of rendering blank.
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def template_fields(template: Path = DEFAULT_TEMPLATE) -> set[str]:
    """Top-level names the template uses (what `build_context` must supply)."""
    return set(DocxTemplate(str(template)).get_undeclared_template_variables(jinja_env=jinja_env()))


def report_moment(date: dt.date) -> dt.datetime:
    # Noon, so the date reads the same in any time zone a viewer converts it to.
    return dt.datetime(date.year, date.month, date.day, 12, 0, 0)


def _with_images(tpl: DocxTemplate, context: dict[str, Any]) -> dict[str, Any]:
    charts = [dict(chart, image=InlineImage(tpl, chart["path"], width=CHART_WIDTH)) for chart in context["charts"]]
    return {**context, "charts": charts}


def check_no_template_syntax(parts: Mapping[str, str]) -> None:
    """`parts`: the .docx's XML members by name, decoded (shared with the put-back and the stamped rows)."""
    for name, xml in parts.items():
        if not _TEXT_PART.match(name):
            continue
        text = re.sub(r"<[^>]+>", "", xml)
        found = _LEFTOVER.search(text)
        if found:
            start = max(found.start() - 40, 0)
            raise RenderError(f"{name}: template syntax left in the output: …{text[start:found.end() + 40]}…")


def normalise_zip(data: bytes, moment: dt.datetime, *, replace: Mapping[str, bytes] | None = None) -> bytes:
    """Rewrite a zip (docx/xlsx) with one fixed timestamp, fixed attributes and a stable member order."""
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        return _zip_members({name: replace[name] if name in replace else src.read(name)
                             for name in src.namelist()}, moment)


def _zip_members(members: Mapping[str, bytes], moment: dt.datetime) -> bytes:
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        # [Content_Types].xml first, as Office writes it; the rest sorted so order never depends on history.
        ordered = sorted(members, key=lambda n: (n != "[Content_Types].xml", n))
        for name in ordered:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            info.create_system = 0
            dst.writestr(info, members[name])
    return out.getvalue()


def _reparse(doc: Any) -> None:
    """Each XML part as python-docx would read it back from a saved file (its parser drops the whitespace
    between elements of inserted XML, e.g. a chart's drawing, and writes an element emptied by docxtpl as
    `<x/>`): the report's bytes stay those of the save, re-open and save it was made by before, without
    writing and reading the whole package twice."""
    for part in doc.part.package.iter_parts():
        if isinstance(part, XmlPart):
            part._element = parse_xml(part.blob)


def _set_properties(doc: Any, data: ReportData, language: str) -> None:
    """The document's properties, fixed by the report date (set on the rendered document before its one save)."""
    props = doc.core_properties
    lang = LANGUAGES[language]
    plan = data.plan
    moment = report_moment(data.date)
    author = str(lang.pick(plan.department, "name"))
    props.author = author
    props.last_modified_by = author
    props.title = str(lang.words["template"]["document_title"]).format(
        campaign=lang.pick(plan.campaign, "name_genitive"))
    props.revision = 1
    props.created = props.modified = props.last_printed = moment


def render_bytes(
    data: ReportData,
    *,
    template: Path | None = None,
    chart_paths: Mapping[str, Path] | None = None,
    language: str = "kk",
    context: Mapping[str, Any] | None = None,
    stamp: bool = True,
) -> bytes:
    """The report in `language` ("kk", or "ru" for the Russian copy) from that language's template.

    `context`: `build_context(data, language=language)` made beforehand (a run builds it while the chart
    process draws); only its charts are taken from `chart_paths` here. `stamp=False` renders every table
    row through the template (the reference the stamped rows are tested against; see `render/stamp.py`)."""
    template = template or TEMPLATES[language]
    if context is None:
        built = build_context(data, chart_paths=chart_paths, language=language)
    else:
        built = {**context, "charts": charts_context(data, chart_paths, language)}
    if stamp:
        stamped, loops = stamp_rows(built)
        if loops:
            payload = _render(data, template, stamped, language, loops)
            if payload is not None:
                return payload
            # The template does not hold the stamped loops as plain table rows: every row the slow way.
    payload = _render(data, template, built, language, [])
    assert payload is not None
    return payload


def _render(data: ReportData, template: Path, built: Mapping[str, Any], language: str,
            loops: list[StampedLoop]) -> bytes | None:
    """The .docx bytes, or None when `loops` (stamped rows) cannot be expanded in what the template made."""
    tpl = DocxTemplate(str(template))
    tpl.init_docx()
    if loops and _PER_ITERATION.search(tpl.patch_xml(tpl.get_xml())):
        return None  # a row that shows `loop.index` (or keeps a count) differs from one row to the next
    context = _with_images(tpl, dict(built))
    # District text that looks like template syntax (`{{ x }}` in a comment) is data: it is set aside
    # behind placeholders while the guard looks for the TEMPLATE's leftovers, then put back literally.
    context, literal = _set_aside(context)
    try:
        tpl.render(context, jinja_env=jinja_env(), autoescape=True)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{template}: the template needs a field the data does not supply: {exc}") from exc
    _set_widths(tpl.docx, context)
    _reparse(tpl.docx)
    _set_properties(tpl.docx, data, language)
    members = _members(tpl)
    parts = {name: blob.decode("utf-8") for name, blob in members.items() if name.endswith(".xml")}
    check_no_template_syntax(parts)
    replace = _put_back(literal, parts)
    if loops:
        body = replace.get(DOCUMENT_PART, parts.get(DOCUMENT_PART))
        if body is None:
            return None
        expanded = expand_rows(body.decode("utf-8") if isinstance(body, bytes) else body, loops)
        if expanded is None:
            return None
        replace[DOCUMENT_PART] = expanded.encode("utf-8")
    return _zip_members({**members, **replace}, report_moment(data.date))


class _MemberWriter:
    """python-docx's package writer, keeping each member's bytes instead of deflating them into a zip that
    `normalise_zip` would inflate and deflate again."""

    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}

    def write(self, pack_uri: Any, blob: bytes | str) -> None:
        self.members[pack_uri.membername] = blob.encode("utf-8") if isinstance(blob, str) else blob

    def close(self) -> None:
        pass


def _members(tpl: DocxTemplate) -> dict[str, bytes]:
    """What `tpl.save()` would put in the .docx, member name → bytes (OpcPackage.save with its own writer)."""
    if tpl.pics_to_replace or tpl.crc_to_new_media or tpl.crc_to_new_embedded or tpl.zipname_to_replace:
        # docxtpl's replaced pictures and media (the report uses none) are written by its own save only.
        buf = io.BytesIO()
        tpl.save(buf)
        with zipfile.ZipFile(buf) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    package = tpl.docx.part.package
    for part in package.parts:
        part.before_marshal()
    writer = _MemberWriter()
    PackageWriter._write_content_types_stream(writer, package.parts)
    PackageWriter._write_pkg_rels(writer, package.rels)
    PackageWriter._write_parts(writer, package.parts)
    return writer.members


def _set_widths(doc: Any, context: Mapping[str, Any]) -> None:
    """Column widths of the tables whose columns the template loops over (`{%tc for %}`): docxtpl repeats
    the loop's cell as it is and spreads the grid evenly; the widths render/tables.py decided (millimetres)
    are set on the grid and every cell, table by table in document order."""
    parts = {ANNEX_TABLE: list(context["annex"]["tables"]),
             CAMPAIGN_TABLE: list(context["campaign_table"]["tables"]) if context.get("campaign_table") else []}
    for table in doc.tables:
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        name = caption.get(qn("w:val")) if caption is not None else None
        if name not in parts or not parts[name]:
            continue
        part = parts[name].pop(0)
        _apply_widths(table, part["widths"])
        if part.get("font_pt"):
            _apply_font_size(table, part["font_pt"])


def _apply_widths(table: Any, widths_mm: list[float]) -> None:
    twips = [int(Mm(w).twips) for w in widths_mm]
    grid = table._tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for width in twips:
        col = OxmlElement("w:gridCol")
        col.set(qn("w:w"), str(width))
        grid.append(col)
    for row in table._tbl.tr_lst:
        for cell, width in zip(row.tc_lst, twips):
            tc_pr = cell.get_or_add_tcPr()
            tc_w = tc_pr.find(qn("w:tcW"))
            if tc_w is None:
                tc_w = OxmlElement("w:tcW")
                tc_pr.insert(0, tc_w)
            tc_w.set(qn("w:w"), str(width))
            tc_w.set(qn("w:type"), "dxa")
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
    if tbl_w is not None:
        tbl_w.set(qn("w:w"), str(sum(twips)))
        tbl_w.set(qn("w:type"), "dxa")


def _apply_font_size(table: Any, points: int) -> None:
    """Every run of a table in `points` (a table too wide for its usual size: tables.py decides)."""
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(points)


_SYNTAX_CHARS = re.compile(r"[{}%]")


def _set_aside(context: Any) -> tuple[Any, dict[str, str]]:
    """A copy of `context` where every string holding `{`, `}` or `%` is a unique placeholder (letters and
    digits only, so no escaping changes it); the placeholder → original text map comes with it."""
    nonce = os.urandom(6).hex()
    literal: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            if not _SYNTAX_CHARS.search(value):
                return value
            key = f"MZLITERAL{nonce}N{len(literal)}Z"
            literal[key] = value
            return key
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, tuple):
            return tuple(walk(v) for v in value)
        return value

    return walk(context), literal


def _put_back(literal: Mapping[str, str], parts: Mapping[str, str]) -> dict[str, bytes]:
    """The XML parts with each placeholder replaced by its original text, XML-escaped."""
    if not literal:
        return {}
    from xml.sax.saxutils import escape

    pattern = re.compile("|".join(re.escape(k) for k in literal))
    replace: dict[str, bytes] = {}
    for name, xml in parts.items():
        if "MZLITERAL" not in xml:
            continue
        replace[name] = pattern.sub(lambda m: escape(literal[m.group()]), xml).encode("utf-8")
    return replace


def render_report(
    data: ReportData,
    out_path: Path,
    *,
    template: Path = DEFAULT_TEMPLATE,
    charts_dir: Path | None = None,
) -> Path:
    """Render the report to `out_path` (written atomically). Charts are drawn into `charts_dir`, or a
    temporary folder when it is None; pass `charts_dir` to keep the PNGs."""
    from pipeline.render.charts import draw_charts

    out_path = Path(out_path)
    if charts_dir is not None:
        payload = render_bytes(data, template=template, chart_paths=draw_charts(data, Path(charts_dir)))
    else:
        with tempfile.TemporaryDirectory(prefix="mz-charts-") as tmp:
            payload = render_bytes(data, template=template, chart_paths=draw_charts(data, Path(tmp)))
    atomic_write(out_path, payload)
    return out_path
