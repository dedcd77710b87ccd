"""The scheduler on a fake clock, against a real Dovecot and a real SMTP server: fetch every few minutes,
reminders at 09:00 the day before and the day after a deadline, the report's drafts once the last unit has
reported, a failed job retried later and never twice."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.mail.context import MailContext
from pipeline.mail.schedule import MailScheduler
from pipeline.plan import Plan
from pipeline.tools.mailservers import SmtpServer, free_port

from .conftest import DATE, Desk, Mailbox, address, imap_table, write_settings
from .mime import message

TZ = dt.timezone(dt.timedelta(hours=5))


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, text: str) -> Clock:
        self.now = dt.datetime.fromisoformat(text).replace(tzinfo=TZ)
        return self


def test_the_mail_jobs_on_a_fake_clock(desk: Desk, mailbox: Mailbox, forms: dict[str, Path], plan: Plan,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MZ_TEST_IMAP_PASSWORD", mailbox.password)
    clock = Clock(dt.datetime(2017, 8, 15, 8, 0, tzinfo=TZ))
    with SmtpServer() as smtp:
        def settings(port: int) -> None:
            write_settings(desk.root, imap=imap_table(mailbox),
                           smtp={"host": "127.0.0.1", "port": port, "tls": "none", "timeout_seconds": 5},
                           schedule={"fetch_minutes": 5, "send": True, "reply": True, "remind_at": "09:00",
                                     "remind_days_before": 1, "remind_days_after": 1, "retry_minutes": 10})

        settings(smtp.port)
        scheduler = MailScheduler(lambda: MailContext.load(desk.settings, inbox=desk.inbox, outbox=desk.outbox),
                                  desk.outbox, now=clock)

        def jobs(when: str) -> dict[str, str]:
            clock.at(when)
            return {o.job: o.outcome for o in scheduler.tick()}

        # 15.08: still collecting late forms of 08.08 (a week after it) and the forms of 17.08.
        waiting = {"fetch": "ok", "report-drafts:2017-08-08": "waiting", f"report-drafts:{DATE}": "waiting"}
        assert jobs("2017-08-15T08:00") == waiting
        assert jobs("2017-08-15T08:02") == {}
        assert jobs("2017-08-15T08:05") == waiting
        # The day before the deadline, 08:59: nothing yet; 09:00: every unit is reminded (none has reported).
        assert "remind-before:2017-08-17" not in jobs("2017-08-16T08:59")
        assert jobs("2017-08-16T09:00")["remind-before:2017-08-17"] == "ok"
        assert sorted(r.recipients[0] for r in smtp.received) == sorted(address(u.code) for u in plan.units)
        assert "remind-before:2017-08-17" not in jobs("2017-08-16T09:30")  # never twice

        # Every unit but Тасқала sends its form; the next fetch stores them and answers each.
        mailbox.append([message(address(u.code), u.short, [(f"{u.short}.xlsx", forms[u.code].read_bytes(), "outlook")])
                        for u in plan.units if u.code != "taskala"])
        before = len(smtp.received)
        assert jobs("2017-08-16T09:40")["fetch"] == "ok"
        assert len(list((desk.inbox / "mail").iterdir())) == 12
        assert len(smtp.received) == before + 12  # the replies

        # The day after the deadline the SMTP server is down: the lateness notice fails and is retried.
        settings(free_port())  # nothing listens there
        assert jobs("2017-08-18T09:00")["remind-after:2017-08-17"] == "failed"
        assert "remind-after:2017-08-17" not in jobs("2017-08-18T09:05")  # waits retry_minutes
        settings(smtp.port)
        assert jobs("2017-08-18T09:10")["remind-after:2017-08-17"] == "ok"
        late = [r for r in smtp.received if "Мерзімі өтті" in str(message_from_bytes(r.data, policy=policy.default)["Subject"])]
        assert [r.recipients for r in late] == [[address("taskala")]]
        text = message_from_bytes(late[0].data, policy=policy.default).get_body(("plain",)).get_content()
        assert "Кешігу: 1 күн" in text and "Опоздание: 1 дн." in text
        assert "remind-after:2017-08-17" not in jobs("2017-08-18T10:00")

        # Тасқала reports at last: the report is built and its letters drafted, not sent.
        mailbox.append([message(address("taskala"), "Тасқала", [("Тасқала.xlsx", forms["taskala"].read_bytes(), "outlook")])])
        sent_before = len(smtp.received)
        done = jobs("2017-08-18T10:05")
        assert done[f"report-drafts:{DATE}"] == "ok"
        assert (desk.outbox / DATE.isoformat() / f"akparat-{DATE}.docx").is_file()
        assert (desk.outbox / DATE.isoformat() / "mail" / "report" / f"report-{DATE}.eml").is_file()
        assert len(smtp.received) == sent_before + 1  # only the reply to Тасқала
        assert f"report-drafts:{DATE}" not in jobs("2017-08-18T10:30")

    state = json.loads((desk.outbox / ".mail" / "jobs.json").read_text(encoding="utf-8"))
    assert {"remind-before:2017-08-17", "remind-after:2017-08-17", f"report-drafts:{DATE}"} <= set(state["done"])
    log = (desk.outbox / ".mail" / "mail.log").read_text(encoding="utf-8")
    assert "remind-after:2017-08-17 failed mail-server-unreachable" in log
    assert mailbox.password not in log


def test_a_job_that_crashes_never_stops_the_others(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    write_settings(desk.root, schedule={"remind_at": "09:00"})
    clock = Clock(dt.datetime(2017, 8, 16, 9, 0, tzinfo=TZ))
    scheduler = MailScheduler(lambda: MailContext.load(desk.settings, inbox=desk.inbox, outbox=desk.outbox),
                              desk.outbox, now=clock)
    import pipeline.mail.remind as remind_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(remind_module, "remind", broken)
    [outcome] = [o for o in scheduler.tick() if o.kind == "remind-before"]
    assert outcome.outcome == "failed" and outcome.code == "mail-job-crashed"
    assert "ZeroDivisionError" in (desk.outbox / ".mail" / "mail.log").read_text(encoding="utf-8")
    # Broken settings: one failed outcome, no exception.
    desk.settings.write_text("[imap\nhost=", encoding="utf-8")
    [bad] = scheduler.tick()
    assert bad.job == "settings" and bad.outcome == "failed" and bad.code == "mail-settings-invalid"
