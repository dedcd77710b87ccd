"""The plan's sections item by item: where the item stands (units named once), its figures page 1 has not
said (the item's own sentences, else plainly), the department's part, and for the item about reporting who
reported on time, late or not at all."""

from __future__ import annotations

import re
from typing import Any

from pipeline.aggregate import facts
from pipeline.plan.model import Figure, Item
from pipeline.render.prose.writer import Writer

#: The order statuses are said in; None (no status given) last.
STATUS_ORDER: tuple[str | None, ...] = ("done", "in_progress", "not_done", "not_due", None)


def sections(wr: Writer) -> list[dict[str, Any]]:
    out = []
    for section in wr.plan.sections:
        entries = [{"code": item.code, "title": wr.lang.pick(item, "title"), "lines": item_lines(wr, item)}
                   for item in section.items]
        out.append({"heading": f"{section.code}. {wr.lang.pick(section, 'title')}", "entries": entries})
    return out


def item_lines(wr: Writer, item: Item) -> list[str]:
    progress = facts.item_progress(wr.data, item)
    if progress.outcome == "not_due":
        return [wr.word("items", "not_due").format(deadline=wr.deadline(item))]
    lines: list[str] = []
    if "units" in item.reported_by:
        lines += units_status(wr, item, progress)
        lines += figure_lines(wr, item)
    if "department" in item.reported_by:
        lines.append(department_line(wr, item))
    if item.about_reporting:
        lines.append(timeliness_line(wr))
    return [line for line in lines if line]


# --- where the item stands -------------------------------------------------------------------------------
def open_label(wr: Writer, status: str | None, overdue: bool) -> str:
    if overdue and status == "in_progress":
        return wr.word("items", "open_label")
    return wr.status_label(status)


def notes_for(wr: Writer, item: Item, units: list[str]) -> dict[str, str]:
    """The units' own comments on the item, to stand beside their names (the reasons they state)."""
    comments = facts.column(wr.data.comments, item.code)
    notes = {}
    for unit in units:
        note = wr.note(comments.get(unit))
        if note:
            notes[unit] = note
    return notes


def units_status(wr: Writer, item: Item, progress: facts.ItemProgress) -> list[str]:
    """«Аудандар мен Алау қаласының мәліметі бойынша іс-шара 9 әкімдікте орындалды, Алау қаласында, …
    орындалу үстінде.» — past the deadline, what is not done is named with the units' comments; a yes/no
    figure that says the same thing («комиссия 10 әкімдікте құрылды; … әлі құрылмаған») says it instead;
    units that missed the date are said apart, their last status as of its date."""
    w = wr.w["items"]
    overdue = progress.outcome == "overdue"
    source = wr.word("items", "source").format(units=wr.together.genitive)
    groups: dict[str | None, list[str]] = {}
    for unit, status in progress.statuses.items():
        groups.setdefault(status if status in wr.plan.status_by_code else None, []).append(unit)
    reported = list(progress.statuses)
    # The units' own comments on what they did not do («орындалмады»); the comments of units still at work
    # past the deadline stand on page 1 (or in the final part), beside the overdue item.
    explain = [u for u, s in progress.statuses.items() if s == "not_done"]
    notes = notes_for(wr, item, explain)
    lines: list[str] = []
    merged = yesno_for_status(wr, item, progress, notes)
    if merged:
        key = "overdue_by_yesno" if overdue else "said_by_yesno"
        lines.append(wr.lang.upper_first(wr.word("items", key).format(
            source=source, sentence=merged, deadline=wr.deadline(item))))
    elif reported:
        parts = []
        everyone = len(reported) == len(wr.plan.units)
        for status in STATUS_ORDER:
            units = groups.get(status, [])
            if not units:
                continue
            label = open_label(wr, status, overdue)
            if len(units) == len(reported) and everyone:
                parts.append(str(w["status_all"]).format(place=wr.all_units_place(), label=label))
            elif status == "done" or (not overdue and status != "not_done" and len(units) > int(w["max_named"])):
                parts.append(str(w["status_count"]).format(count=wr.count_units(len(units)), label=label))
            else:
                parts.append(str(w["status_named"]).format(units=wr.units(units, "place", notes), label=label))
        key = "overdue" if overdue else "status"
        if len(parts) == 1 and groups.get("done") and len(groups["done"]) == len(wr.plan.units):
            key = "status_done"  # «Іс-шара барлық әкімдікте орындалды.»: whose data it is goes without saying
        lines.append(wr.lang.upper_first(wr.word("items", key).format(
            source=source, parts=str(w["parts_join"]).join(parts), deadline=wr.deadline(item))))
    if overdue:
        # Past the deadline a unit that did not report is said with its last status, as of its date; before
        # it the unit is simply not counted (the data-quality paragraph names it once for the whole report).
        lines += stale_sentences(wr, progress)
    return [" ".join(lines)] if lines else []


def _by_source(progress: facts.ItemProgress) -> list[tuple[tuple[object, str | None], list[str]]]:
    groups: dict[tuple[object, str | None], list[str]] = {}
    for unit, (source, status) in progress.carried.items():
        groups.setdefault((source, status), []).append(unit)
    return sorted(groups.items(), key=lambda kv: (kv[0][0] is None, str(kv[0][0]), str(kv[0][1])))


def stale_sentences(wr: Writer, progress: facts.ItemProgress) -> list[str]:
    """Past the deadline: each unit that missed the date with its last status, said as of its date."""
    out = []
    for (source, status), units in _by_source(progress):
        if source is None:
            text = wr.word("items", "never", len(units)).format(units=wr.units(units, "subject"))
        else:
            text = wr.word("items", "stale", len(units)).format(
                units=wr.units(units, "subject"), date=wr.day(source, "as_of", year=False),  # type: ignore[arg-type]
                label=wr.status_label(status))
        out.append(wr.lang.upper_first(text))
    return out


def _yes(value: object) -> bool | None:
    number = facts.number(value)
    return None if number is None else number >= 0.5


def yesno_sentence(wr: Writer, fig: Figure, yes: list[str], no: list[str], silent: list[str],
                   notes: dict[str, str] | None = None) -> str:
    """A yes/no figure of the units in the plan's sentences (or the wording file's plain ones)."""
    said = wr.lang.pick(fig, "sentences")
    plain = wr.w["yesno"]
    names = {"label": wr.label(fig), "yes": plain["yes_word"], "no": plain["no_word"], "place": wr.all_units_place()}
    parts = []
    if yes and not no and not silent:
        parts.append(said.all if said is not None and said.all else str(plain["all"]).format(**names))
    elif yes:
        pattern = said.some if said is not None and said.some else str(plain["some"])
        parts.append(wr.fill(pattern, {"count": wr.count_units(len(yes)), **names})[0] or "")
    if no:
        pattern = said.not_yet if said is not None and said.not_yet else str(plain["not_yet"])
        parts.append(wr.fill(pattern, {"units": wr.units(no, "place", notes), **names})[0] or "")
    if silent:
        parts.append(str(plain["silent"]).format(units=wr.units(silent, "owner")))
    return "; ".join(p for p in parts if p)


def _yesno_sets(wr: Writer, fig: Figure, units: list[str]) -> tuple[list[str], list[str], list[str]]:
    values = facts.column(wr.data.values, fig.code)
    yes = [u for u in units if _yes(values.get(u)) is True]
    no = [u for u in units if _yes(values.get(u)) is False]
    silent = [u for u in units if _yes(values.get(u)) is None]
    return yes, no, silent


def yesno_for_status(wr: Writer, item: Item, progress: facts.ItemProgress, notes: dict[str, str]) -> str:
    """The sentence of the item's yes/no figure when its answers are the statuses («yes» exactly where the
    item is done): said once, instead of the statuses and the figure in two sentences naming the same units."""
    reported = list(progress.statuses)
    done = [u for u in reported if progress.statuses[u] == "done"]
    for fig in item.figures:
        if fig.unit != "yesno":
            continue
        yes, no, silent = _yesno_sets(wr, fig, reported)
        if not silent and yes == done and no == [u for u in reported if u not in done]:
            return yesno_sentence(wr, fig, yes, no, [], notes)
    return ""


def yesno_lines(wr: Writer, item: Item, progress: facts.ItemProgress) -> list[str]:
    reported = list(progress.statuses)
    notes = notes_for(wr, item, [u for u in reported if progress.statuses[u] != "done"])
    merged = yesno_for_status(wr, item, progress, notes)
    lines = []
    for fig in item.figures:
        if fig.unit != "yesno":
            continue
        yes, no, silent = _yesno_sets(wr, fig, reported)
        if merged and not silent and yes == [u for u in reported if progress.statuses[u] == "done"]:
            continue  # said as the item's status
        sentence = yesno_sentence(wr, fig, yes, no, silent)
        if sentence:
            lines.append(wr.lang.upper_first(sentence) + ".")
    return lines


# --- figures -------------------------------------------------------------------------------------------
def figure_lines(wr: Writer, item: Item) -> list[str]:
    """The item's own sentences (`sentences` in the plan), then every count and amount neither they nor
    page 1 said, plainly, for the whole territory (the department's own figures included when it reports
    the item too); the yes/no figures; remainders not said elsewhere."""
    progress = facts.item_progress(wr.data, item)
    lines = yesno_lines(wr, item, progress)
    said_here: set[str] = set()
    for sentence in item.sentences:
        if not sentence.said_on(wr.final):
            continue
        text, used = wr.fill(sentence.kk if wr.lang.code == "kk" else sentence.ru)
        if text is not None:
            lines.append(wr.lang.upper_first(text))
            said_here |= used
    numeric = [f for f in item.figures if f.unit in ("count", "tenge")]
    rest = [f for f in numeric if f.code not in wr.said and f.code not in said_here]
    if rest:
        lines.append(wr.word("items", "plain").format(
            whole=wr.lang.upper_first(wr.whole.by), figures=wr.figures_text(rest, lambda f: wr.total(f.code))))
    lines += [text_line(wr, fig) for fig in item.figures if fig.unit == "text" and fig.role is None]
    for fig in numeric:
        if fig.remainder is None or fig.remainder.attention or fig.code in wr.said:
            continue
        left = facts.remainder(wr.data, fig)
        if left is not None and left.whole is not None:
            lines.append(wr.lang.upper_first(wr.word("items", "remainder").format(
                label=wr.before_dash(wr.lang.pick(fig.remainder, "label")), value=wr.value(fig, left.whole))))
    return lines


def text_line(wr: Writer, fig: Figure) -> str:
    """A text figure of the units: «Label: A ауданы – «…»; …» as each unit wrote it (masked when read). Each
    copy quotes only what is written in its language and names the units whose text is in the other one."""
    w, lang = wr.w["items"], wr.lang
    texts = facts.column(wr.data.texts, fig.code) if fig.code in wr.data.texts.columns else {}
    written = [(u, text.strip().rstrip(".")) for u in wr.plan.units
               for text in [facts.status_code(texts.get(u.code)) or ""] if text.strip()]
    label = lang.pick(fig, "label")
    if not written:
        return str(w["text_none"]).format(label=label)
    quoted = [(u, t) for u, t in written if lang.can_quote(t)]
    entries = [str(w["text_entry"]).format(unit=lang.unit_name(u), text=t) for u, t in quoted]
    other = [u for u, t in written if (u, t) not in quoted]
    if other:
        entries.append(str(w["text_other_language"]).format(units=lang.join([lang.unit_name(u) for u in other])))
    return str(w["text"]).format(label=label, entries="; ".join(entries))


# --- the department ------------------------------------------------------------------------------------
def department_line(wr: Writer, item: Item) -> str:
    lang, dep = wr.lang, wr.data.department
    status = facts.status_code(dep.statuses.get(item.code))
    parts = [wr.word("items", "department").format(department=lang.pick(wr.plan.department, "name"),
                                                   status=wr.status_label(status))]
    for fig in item.figures:
        if fig.unit == "yesno":
            sentence = department_yesno(wr, fig, dep.figures.get(fig.code))
            if sentence:
                parts.append(sentence)
    own = [f for f in item.figures if f.unit in ("count", "tenge") and facts.number(dep.figures.get(f.code)) is not None]
    if "units" not in item.reported_by:
        own = [f for f in own if f.code not in wr.said]
    if own:
        figures = wr.figures_text(own, lambda f: facts.number(dep.figures.get(f.code)))
        if "units" in item.reported_by:
            parts.append(wr.word("items", "department_share").format(whole=wr.whole.by, figures=figures))
        else:
            parts.append(wr.word("items", "department_figures").format(figures=lang.upper_first(figures)))
    comment = facts.status_code(dep.comments.get(item.code))
    comment = comment.strip() if comment else ""
    said = without_status(comment, wr.status_label(status))
    if said and lang.can_quote(said):
        parts.append(wr.word("items", "department_comment").format(comment=lang.upper_first(said.rstrip("."))))
    if comment:
        flag = contradiction(wr, status, comment)
        if flag:
            parts.append(flag)
    return " ".join(parts)


def without_status(comment: str, label: str) -> str:
    """The department's comment without a first word that repeats the status just said («… іс-шара
    орындалды. Орындалды, ақпарат жарияланды.» → «… іс-шара орындалды. Ақпарат жарияланды.»)."""
    match = re.match(rf"\s*{re.escape(label)}\s*[,.;:–-]\s*", comment, flags=re.IGNORECASE) if label else None
    return comment[match.end():] if match else comment


def department_yesno(wr: Writer, fig: Figure, value: object) -> str:
    answer = _yes(value)
    if answer is None:
        return ""
    said = wr.lang.pick(fig, "sentences")
    key = "yes" if answer else "no"
    pattern = getattr(said, key) if said is not None and getattr(said, key) else None
    plain = wr.w["yesno"]
    if pattern is None:
        return str(plain[key]).format(label=wr.label(fig), yes=plain["yes_word"], no=plain["no_word"])
    return wr.fill(pattern)[0] or ""


def contradiction(wr: Writer, status: str | None, comment: str) -> str:
    """The department's comment says the opposite of its status («орындалды» beside «орындалуда»)."""
    words = wr.w["items"]["contradicts"].get(status or "", [])
    folded = comment.lower()
    if any(word in folded for word in words):
        return str(wr.w["items"]["contradiction"]).format(status=wr.status_label(status))
    return ""


# --- reporting ------------------------------------------------------------------------------------------
def timeliness_line(wr: Writer) -> str:
    """«Есепті күнге мәліметті 11 әкімдік мерзімінде және Бірлік ауданы кешігіп ұсынды. Достық ауданы
    мәлімет ұсынбады.» — on time counted, late and missing named (counted when many)."""
    units = {u.code for u in wr.plan.units}
    now = [t for t in wr.data.timeliness_at(wr.data.date) if t.unit in units]
    on_time = [t.unit for t in now if t.state == "on_time"]
    late = [t.unit for t in now if t.state == "late"]
    missing = [t.unit for t in now if t.state == "missing"]
    parts = []
    if on_time:
        parts.append(wr.word("items", "timeliness_on_time").format(count=wr.count_units(len(on_time), "subject")))
    if late:
        parts.append(wr.word("items", "timeliness_late").format(units=wr.units_or_count(late, "subject")))
    # «13 өңір мерзімінде, X және Y облыстары кешігіп»: a second «және» would read twice.
    sentences = [wr.word("items", "timeliness").format(parts=wr.lang.join_groups(parts))] if parts else []
    if missing:
        sentences.append(wr.lang.upper_first(wr.word("items", "timeliness_missing", len(missing)).format(
            units=wr.units(missing, "subject"), count=wr.count_units(len(missing), "subject"))))
    return " ".join(sentences)
