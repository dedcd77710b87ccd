"""The letters: a reply with the check's verdict, a reminder or lateness notice, the report to leadership, a
district's feedback workbook. Wording from data/mail.yaml (Kazakh, then the Russian text below it where the
letter goes to officials), names and dates from the plan; dates as dd.mm.yyyy, nothing glued onto a value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.mail.outgoing import Letter, new_message
from pipeline.mail.settings import MailSettings
from pipeline.plan import Plan
from pipeline.problem_words import problem_message
from pipeline.problems import Problem
from pipeline.texts import load_data

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
PDF = ("application", "pdf")
#: problems listed in a letter per file; the rest are in the attached workbook
LISTED = 10


def letters(lang: str) -> dict[str, Any]:
    return load_data("mail.yaml")[lang]["letters"]


def ddmmyyyy(day: dt.date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else "–"


def unit_name(plan: Plan, code: str | None, lang: str = "kk") -> str:
    if code == plan.department.code:
        return plan.department.name_ru if lang == "ru" else plan.department.name
    for unit in plan.units:
        if unit.code == code:
            return unit.name_ru if lang == "ru" and unit.name_ru else unit.name
    return code or "?"


def problem_lines(problems: list[Problem], w: dict[str, Any], plan: Plan, limit: int = LISTED,
                  lang: str = "kk") -> list[str]:
    shown = [p for p in problems if p.severity in ("error", "warning")]
    shown.sort(key=lambda p: (p.severity != "error",))
    lines = []
    for p in shown[:limit]:
        where = w["where"].format(sheet=p.sheet, cell=p.cell) if p.sheet and p.cell else ""
        # A row of a report's issues.csv carries its message as written (Kazakh), not the values behind it.
        message = problem_message(p, lang, plan) if isinstance(p, Problem) else p.message
        lines.append(w["problem"].format(where=where, message=message))
    if len(shown) > limit:
        lines.append(w["more"].format(count=len(shown) - limit))
    return lines


def _fix_lines(problems: list[Problem], w: dict[str, Any], lang: str, plan: Plan) -> list[str]:
    return [w["fix"], *problem_lines(problems, w, plan, lang=lang)]


def _signature(plan: Plan, lang: str) -> list[str]:
    return [plan.department.name_ru if lang == "ru" else plan.department.name, letters(lang)["auto_note"]]


# --- reply to a district's e-mail ---------------------------------------------------------------------------


@dataclass
class ReplyFile:
    """One attached file as the reply tells it."""

    label: str
    verdict: str  # ok | warnings | errors | refused | duplicate | skipped
    unit: str | None
    report_date: dt.date | None
    problems: list[Problem]
    feedback: tuple[str, bytes] | None = None  # (file name, workbook)


def reply_message(settings: MailSettings, plan: Plan, to: str, subject: str, original_id: str,
                  received: dt.datetime | None, files: list[ReplyFile], message_problems: list[Problem]) -> Letter:
    w = letters("kk")["reply"]
    title = f"Re: {subject}" if subject and not subject.lower().startswith("re:") else (subject or w["subject_none"])
    message = new_message(settings.sender, [to], [], title, reply_to=settings.reply_to)
    message.set_header("Auto-Submitted", "auto-replied")
    if original_id:
        message.set_header("In-Reply-To", original_id)
        message.set_header("References", original_id)
    when = received.strftime("%d.%m.%Y %H:%M") if received else "–"
    lines = [letters("kk")["greeting"], "", w["intro"].format(when=when), ""]
    for n, f in enumerate(files, 1):
        lines.append(w["file"].format(n=n, file=f.label))
        if f.unit and f.report_date:
            lines.append(w["form"].format(unit=unit_name(plan, f.unit), date=ddmmyyyy(f.report_date)))
        lines.append(w["verdict"][f.verdict])
        lines += problem_lines(f.problems, w, plan)
        lines.append("")
    for p in message_problems:
        lines.append(w["message_problem"].format(message=p.message))
    if message_problems:
        lines.append("")
    if any(f.feedback for f in files):
        lines += [w["feedback"], ""]
    lines += [w["how"], "", *_signature(plan, "kk")]
    message.text = ("\n".join(lines))
    for f in files:
        if f.feedback:
            name, data = f.feedback
            message.attach(data, XLSX[0], XLSX[1], name)
    return message


# --- reminders and lateness notices ------------------------------------------------------------------------


def reminder_message(settings: MailSettings, plan: Plan, to: list[str], unit: str, date: dt.date, *,
                     late_days: int, reason: str, problems: list[Problem]) -> Letter:
    """`late_days` 0: a reminder before the deadline; more: a lateness notice naming the days."""
    after = late_days > 0
    kk, ru = letters("kk")["remind"], letters("ru")["remind"]
    subject = kk["subject_after" if after else "subject_before"].format(date=ddmmyyyy(date))
    message = new_message(settings.sender, to, [], subject, reply_to=settings.reply_to)
    body: list[str] = []
    for lang, w in (("kk", kk), ("ru", ru)):
        campaign = plan.campaign.name_genitive_ru if lang == "ru" else plan.campaign.name_genitive
        if lang == "ru":
            body += ["", letters(lang)["separator"], ""]
        body += [letters(lang)["greeting"], "", w["after" if after else "before"].format(campaign=campaign), "",
                 w["unit"].format(unit=unit_name(plan, unit, lang)),
                 w["date"].format(date=ddmmyyyy(date)),
                 w["deadline"].format(deadline=ddmmyyyy(date))]
        if after:
            body.append(w["late"].format(days=late_days))
        body.append(w["missing"] if reason == "missing" else w["errors"].format(
            count=sum(p.severity == "error" for p in problems)))
        if problems:
            body += ["", *_fix_lines(problems, w, lang, plan)]
        address = settings.inbox_address
        body += ["", w["how_mail"].format(address=address) if address else w["how_portal"], "",
                 *_signature(plan, lang)]
    message.text = ("\n".join(body))
    return message


# --- the report to leadership, feedback to a district -------------------------------------------------------


def report_message(settings: MailSettings, plan: Plan, to: list[str], cc: list[str], date: dt.date, final: bool,
                   files: list[Path]) -> Letter:
    kk, ru = letters("kk")["report"], letters("ru")["report"]
    key = "subject_final" if final else "subject"
    subject = " / ".join((kk[key].format(campaign=plan.campaign.name_genitive, date=ddmmyyyy(date)),
                          ru[key].format(campaign=plan.campaign.name_genitive_ru, date=ddmmyyyy(date))))
    message = new_message(settings.sender, to, cc, subject, reply_to=settings.reply_to)
    names = ", ".join(f.name for f in files)
    body: list[str] = []
    for lang, w in (("kk", kk), ("ru", ru)):
        ru_lang = lang == "ru"
        if ru_lang:
            body += ["", letters(lang)["separator"], ""]
        addressee = plan.addressee.lines_ru if ru_lang else plan.addressee.lines
        name = plan.addressee.name_dative_ru if ru_lang else plan.addressee.name_dative
        campaign = plan.campaign.name_genitive_ru if ru_lang else plan.campaign.name_genitive
        signatory = plan.signatory.position_lines_ru if ru_lang else plan.signatory.position_lines
        signer = plan.signatory.name_ru if ru_lang and plan.signatory.name_ru else plan.signatory.name
        executor = plan.executor.name_ru if ru_lang and plan.executor.name_ru else plan.executor.name
        body += [*addressee, name, "",
                 w["body_final" if final else "body"].format(campaign=campaign, date=ddmmyyyy(date)), "",
                 w["attached"].format(files=names), "", *signatory, signer, "",
                 w["executor"].format(name=executor, phone=plan.executor.phone)]
    message.text = ("\n".join(body))
    for path in files:
        kind = PDF if path.suffix == ".pdf" else DOCX
        message.attach(path.read_bytes(), kind[0], kind[1], path.name)
    return message


def feedback_message(settings: MailSettings, plan: Plan, to: list[str], date: dt.date, file_label: str,
                     issues: list[Problem], workbook: Path, attachment_name: str) -> Letter:
    kk, ru = letters("kk")["feedback"], letters("ru")["feedback"]
    subject = kk["subject"].format(date=ddmmyyyy(date))
    message = new_message(settings.sender, to, [], subject, reply_to=settings.reply_to)
    reply_words = letters("kk")["reply"]
    body: list[str] = []
    for lang, w in (("kk", kk), ("ru", ru)):
        if lang == "ru":
            body += ["", letters(lang)["separator"], ""]
        body += [letters(lang)["greeting"], "", w["body"].format(date=ddmmyyyy(date), file=file_label)]
        if issues and lang == "kk":
            body += ["", w["problems"], *[line.strip() for line in problem_lines(issues, reply_words, plan)]]
        body += ["", *_signature(plan, lang)]
    message.text = ("\n".join(body))
    message.attach(workbook.read_bytes(), XLSX[0], XLSX[1], attachment_name)
    return message
