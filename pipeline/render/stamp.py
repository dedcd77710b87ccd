"""Row stamping: the report's long table loops rendered once, their rows written straight as XML.

A national report's annex has a row per unit in each of its tables, and so has the timeliness table: through
docxtpl every row costs Jinja, docxtpl's regex passes, python-docx's width setting and two serialisations
(1,667 units: ~1.5 s a copy). Here each such loop gets ONE prototype row whose values are unique tokens
(letters and digits, which neither Jinja, docxtpl nor lxml changes); the template renders that small document
as it would the whole one, and the prototype's `<w:tr>` is then repeated for the real rows with their
values XML-escaped as lxml writes text (`&`, `<`, `>`; an empty value is an empty element, `<w:t/>`). The
bytes are the same as rendering every row through the template (tests/test_render_stamp.py compares the two).

A value is data: it never passes through Jinja here, so `{{ x }}` in it stays literal text. Values a row
could not be written the same way (control characters: docxtpl turns a tab or a newline into a run break)
leave their loop to the template, and so does a template whose loop is not a plain table row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Characters a stamped value may not hold: docxtpl rewrites tabs, newlines, \a and \f into run and page
#: breaks, lxml writes \r as a character reference and refuses other control characters.
_UNSTAMPABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ROW_START = re.compile(r"<w:tr[ >]")
_ROW_END = "</w:tr>"


@dataclass
class StampedLoop:
    """One loop's prototype: `prefix` starts each of its tokens (`<prefix><n>Z`, n = the value's place in
    a row); `rows` are the real rows' values, each flattened in that order."""

    prefix: str
    width: int
    rows: list[list[str]]


def _flat(row: Any) -> tuple[tuple[tuple[str, int | None], ...], list[str]] | None:
    """A row's shape (its keys, and the length of each list) and its values in order, or None when the row
    is not a mapping of strings and lists of strings that can be stamped."""
    if not isinstance(row, Mapping):
        return None
    shape: list[tuple[str, int | None]] = []
    values: list[str] = []
    for key, value in row.items():
        if isinstance(value, str):
            shape.append((key, None))
            values.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            shape.append((key, len(value)))
            values.extend(value)
        else:
            return None
    if any(_UNSTAMPABLE.search(v) for v in values):
        return None
    return tuple(shape), values


def _prototype(shape: tuple[tuple[str, int | None], ...], prefix: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    n = 0
    for key, length in shape:
        if length is None:
            row[key] = f"{prefix}{n}Z"
            n += 1
        else:
            row[key] = [f"{prefix}{n + i}Z" for i in range(length)]
            n += length
    return row


def _row_lists(context: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(holder, key) of each long row loop of the report's context, on copies made here so that the
    caller's context is never changed: the annex tables' rows and the timeliness table's three runs."""
    annex = context.get("annex")
    if isinstance(annex, Mapping) and isinstance(annex.get("tables"), list):
        annex = context["annex"] = dict(annex)
        annex["tables"] = [dict(t) if isinstance(t, Mapping) else t for t in annex["tables"]]
        for table in annex["tables"]:
            if isinstance(table, dict):
                yield table, "rows"
    timeliness = context.get("timeliness")
    if isinstance(timeliness, Mapping):
        timeliness = context["timeliness"] = dict(timeliness)
        for key in ("rows_first", "rows_middle", "rows_last"):
            yield timeliness, key


def stamp_rows(context: Mapping[str, Any]) -> tuple[dict[str, Any], list[StampedLoop]]:
    """A copy of `context` whose long row loops hold one prototype row each, and those loops' real rows."""
    stamped = dict(context)
    nonce = os.urandom(6).hex()
    loops: list[StampedLoop] = []
    for holder, key in _row_lists(stamped):
        rows = holder.get(key)
        if not isinstance(rows, list) or not rows:
            continue
        flat = [_flat(row) for row in rows]
        shapes = {f[0] for f in flat if f is not None}
        if any(f is None for f in flat) or len(shapes) != 1:
            continue  # rows of differing shape or with unstampable values: the template renders them
        shape = shapes.pop()
        prefix = f"MZROW{nonce}L{len(loops)}V"
        loops.append(StampedLoop(prefix, len(flat[0][1]), [f[1] for f in flat]))  # type: ignore[index]
        holder[key] = [_prototype(shape, prefix)]
    return stamped, loops


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def expand_rows(xml: str, loops: list[StampedLoop]) -> str | None:
    """`xml` (the rendered document part) with each loop's prototype row repeated for its real rows, or
    None when a prototype is not one plain `<w:tr>` holding each of its tokens once, alone in a `<w:t>`."""
    spans: list[tuple[int, int, str]] = []
    for loop in loops:
        first = xml.find(loop.prefix)
        if first < 0 or xml.count(loop.prefix) != loop.width:
            return None
        starts = [m.start() for m in _ROW_START.finditer(xml, 0, first)]
        end = xml.find(_ROW_END, first)
        if not starts or end < 0:
            return None
        start, end = starts[-1], end + len(_ROW_END)
        row = xml[start:end]
        if len(_ROW_START.findall(row)) != 1 or row.count(loop.prefix) != loop.width:
            return None
        slot = re.compile(r"(<w:t(?: [^>]*)?)>" + re.escape(loop.prefix) + r"(\d+)Z</w:t>")
        literals: list[str] = []
        slots: list[tuple[str, int]] = []
        at = 0
        for m in slot.finditer(row):
            literals.append(row[at:m.start()])
            slots.append((m.group(1), int(m.group(2))))
            at = m.end()
        literals.append(row[at:])
        if sorted(n for _, n in slots) != list(range(loop.width)):
            return None
        out: list[str] = []
        for values in loop.rows:
            out.append(literals[0])
            for (tag, n), literal in zip(slots, literals[1:]):
                value = values[n]
                out.append(f"{tag}>{_escape(value)}</w:t>" if value else f"{tag}/>")
                out.append(literal)
        spans.append((start, end, "".join(out)))
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return None
    pieces: list[str] = []
    at = 0
    for start, end, text in spans:
        pieces.append(xml[at:start])
        pieces.append(text)
        at = end
    pieces.append(xml[at:])
    return "".join(pieces)
