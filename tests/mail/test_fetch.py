"""`mail fetch` against a real Dovecot seeded with what districts really send."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.mail.context import MailContext
from pipeline.mail.fetch import FetchJob
from pipeline.mail.imap import HANDLED
from pipeline.plan import Plan

from .conftest import Desk, Mailbox, address, imap_table, write_settings
from .mime import message, plain_message, tnef_message, zip_of

NOW = dt.datetime(2017, 8, 16, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))


def job(desk: Desk, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, *, reply: bool = True, **imap: object) -> FetchJob:
    write_settings(desk.root, imap=imap_table(mailbox, **imap))
    monkeypatch.setenv("MZ_TEST_IMAP_PASSWORD", mailbox.password)
    ctx = MailContext.load(desk.settings, inbox=desk.inbox, outbox=desk.outbox)
    return FetchJob(ctx.settings, ctx.contacts, ctx.plan, ctx.plan_path, desk.inbox, desk.outbox, reply=reply,
                    workers=1, now=lambda: NOW)


def audit(desk: Desk) -> list[dict]:
    path = desk.outbox / ".mail" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def stored(desk: Desk) -> list[Path]:
    folder = desk.inbox / "mail"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_morning_of_district_mail(desk: Desk, mailbox: Mailbox, forms: dict[str, Path], plan: Plan,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    terekti = forms["terekti"].read_bytes()
    archive = zip_of([("Сырым 17.08.xlsx", forms["syrym"].read_bytes()), ("Ілеспе хат.pdf", b"%PDF-1.4 x")])
    mailbox.append([
        # Outlook: RFC 2231 Cyrillic name
        message(f"Теректі ауданы <{address('terekti')}>", "Ақпарат 17.08", [("Теректі 17.08.xlsx", terekti, "outlook")]),
        # the same workbook again, from webmail (a duplicate)
        message(address("terekti"), "қайта жіберемін", [("Теректі.xlsx", terekti, "webmail-b")]),
        # a zip with a form and a cover letter
        message(address("syrym"), "Сырым", [("Сырым.zip", archive, "webmail-q")]),
        # no attachment
        plain_message(address("taskala"), "Ертең жіберемін"),
        # winmail.dat
        tnef_message(address("borli"), "Бөрлі есебі"),
        # a form with an error, name with an ИИН and a list of names
        message(address("akzhaiyk"), "Ақжайық", [("Тізім 010203400500 Иванов Иван, Петров Пётр.xlsx",
                                                  forms["akzhaiyk-bad"].read_bytes(), "outlook")]),
        # another unit's form from Шыңғырлау's address
        message(address("shyngyrlau"), "Қате файл", [("есеп.xlsx", forms["oral"].read_bytes(), "raw-utf8")]),
        # a stranger with a form: held, not stored
        message("someone@gmail.example.com", "Орал", [("Орал.xlsx", forms["oral"].read_bytes(), "webmail-b")]),
        # the department forwards Орал's form from its own address
        message("Басқарма <director@bilim.example.kz>", "Fwd: Орал", [("Орал 17.08.xlsx", forms["oral"].read_bytes(), "outlook")]),
    ])
    result = job(desk, mailbox, monkeypatch).run()
    assert result.fault is None

    files = stored(desk)
    names = sorted(p.name for p in files)
    # Теректі once, Сырым from the zip, Ақжайық (with errors: stored, needs correction), Орал once
    assert len(names) == 4, names
    assert sorted(n.split("-")[0] for n in names) == ["akzhaiyk", "oral", "syrym", "terekti"]
    assert all("-2017-08-17-" in n for n in names)
    assert {p.read_bytes() for p in files} == {terekti, forms["syrym"].read_bytes(), forms["oral"].read_bytes(),
                                                forms["akzhaiyk-bad"].read_bytes()}

    records = audit(desk)
    by_name = {r["name"]: r for r in records if r["event"] == "attachment"}
    assert by_name["Теректі.xlsx"]["verdict"] == "duplicate"
    assert by_name["Сырым.zip / Сырым 17.08.xlsx"]["stored_name"].startswith("mail/syrym-")
    assert by_name["Сырым.zip / Ілеспе хат.pdf"]["kind"] == "skipped"
    assert by_name["winmail.dat"]["problems"][0]["code"] == "mail-winmail-dat"
    assert by_name["есеп.xlsx"]["problems"][0]["code"] == "mail-other-unit"
    assert by_name["Орал.xlsx"]["problems"][0]["code"] == "mail-sender-unknown"
    masked = next(r for r in records if r["event"] == "attachment" and r["sender"] == address("akzhaiyk"))
    assert masked["verdict"] == "errors" and masked["stored_name"]
    audit_text = (desk.outbox / ".mail" / "audit.jsonl").read_text(encoding="utf-8")
    assert "010203400500" not in audit_text and "Иванов" not in audit_text
    assert all(len(r["sha256"]) == 64 for r in records if r["event"] == "attachment")
    messages = [r for r in records if r["event"] == "message"]
    assert {r["outcome"] for r in messages} == {"handled", "held"}
    assert next(r for r in messages if r["sender"] == address("taskala"))["codes"] == ["mail-no-spreadsheet"]

    # Handled messages flagged on the server; the stranger's message is left for a later run.
    flags = {raw.split(b"Subject: ")[1][:40]: f for _, f, raw in mailbox.messages()}
    assert sum(HANDLED.encode() in f for f in flags.values()) == 8
    assert sum(HANDLED.encode() not in f for f in flags.values()) == 1

    # Replies: drafts for known senders only (never the stranger beyond the held note), Kazakh verdicts.
    replies = {d.recipients[0]: d for d in result.drafts}
    assert set(replies) == {address(u) for u in ("terekti", "syrym", "taskala", "borli", "akzhaiyk", "shyngyrlau")} \
        | {"director@bilim.example.kz", "someone@gmail.example.com"}
    bad = message_from_bytes(replies[address("akzhaiyk")].path.read_bytes(), policy=policy.default)
    assert bad["In-Reply-To"] and bad["Auto-Submitted"] == "auto-replied"
    attachments = list(bad.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_filename().startswith("Тізім") and attachments[0].get_filename().endswith(" – кері байланыс.xlsx")
    text = bad.get_body(("plain",)).get_content()
    assert "түзетуді қажет етеді" in text and "010203400500" not in text
    good = message_from_bytes(replies[address("terekti")].path.read_bytes(), policy=policy.default)
    assert list(good.iter_attachments()) == []
    assert "бұрын алынған" in good.get_body(("plain",)).get_content()  # the second one: a duplicate
    assert all(d.path.parent == desk.outbox / "2017-08-17" / "mail" / "reply" for d in result.drafts
               if d.recipients[0] != address("taskala"))

    # A second run: nothing new, nothing stored twice, no reply twice.
    again = job(desk, mailbox, monkeypatch).run()
    assert stored(desk) == files
    assert [m.outcome for m in again.messages] == ["held"]
    assert again.drafts == []


def test_done_folder_moves_handled_messages(desk: Desk, mailbox: Mailbox, forms: dict[str, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox.server.create_folder(mailbox.user, "Өңделген")
    mailbox.append([message(address("terekti"), "x", [("a.xlsx", forms["terekti"].read_bytes(), "outlook")])])
    result = job(desk, mailbox, monkeypatch, done_folder="Өңделген", reply=False).run()
    assert result.fault is None and len(stored(desk)) == 1
    assert mailbox.messages() == [] and len(mailbox.messages("Өңделген")) == 1


def test_a_whole_temporary_file_left_by_a_killed_fetch_is_not_the_stored_form(
        desk: Desk, mailbox: Mailbox, forms: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A fetch killed between writing a form and renaming it leaves «.name.….tmp» holding every byte. The reader
    skips hidden files, so the next fetch must store the form under a visible name, not take the leftover for it."""
    import hashlib

    data = forms["oral"].read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    folder = desk.inbox / "mail"
    folder.mkdir(parents=True)
    leftover = folder / f".oral-2017-08-17-20170816T105900-{sha[:16]}.xlsx.k1ll3d.tmp"
    leftover.write_bytes(data)
    mailbox.append([message(address("oral"), "Орал", [("Орал.xlsx", data, "outlook")])])
    job(desk, mailbox, monkeypatch, reply=False).run()
    visible = [p for p in stored(desk) if not p.name.startswith(".")]
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in visible] == [sha]
    assert leftover.read_bytes() == data  # what is in the inbox is never touched
    assert [r["stored_name"] for r in audit(desk) if r.get("event") == "attachment"] == [f"mail/{visible[0].name}"]
