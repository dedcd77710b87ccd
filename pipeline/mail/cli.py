"""The mail commands on the command line: `mail fetch|send|tick|check` and `remind`.

Added to the main parser by `pipeline.cli` (one call); each command loads the context, calls one library
function and prints its outcome in the chosen language. Exit codes as for every command: 0 done; 1 done,
but some file or message has errors; 2 usage, settings or contacts; 3 no report to send; 8 a mail server
could not be used (what was done before is kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from pipeline.errors import EXIT
from pipeline.texts import load_data

if TYPE_CHECKING:
    from pipeline.mail.context import MailContext
    from pipeline.mail.settings import MailFault
    from pipeline.problems import Problem


def words(section: str) -> dict[str, Any]:
    """The console's wording (data/mail.yaml) without importing the mail package: every command builds
    this parser, `check` included, whose start-up is measured."""
    from pipeline.messages import current_lang

    return load_data("mail.yaml")[current_lang()][section]


def add_mail_commands(sub: Any, repo: Path) -> None:
    from pipeline.messages import messages

    # The help texts live in messages.yaml (loaded by every command anyway): building the parser reads no
    # other file, so `check`'s start-up pays nothing for the mail commands.
    m = messages()["cli"]
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--mail-settings", type=Path, metavar=m["mv_file"], help=m["mail_settings"])
    common.add_argument("--inbox", type=Path, default=repo / "inbox", metavar=m["mv_dir"], help=m["inbox"])
    common.add_argument("--outbox", type=Path, default=repo / "outbox", metavar=m["mv_dir"], help=m["outbox"])
    sending = argparse.ArgumentParser(add_help=False)
    sending.add_argument("--send", action="store_true", help=m["mail_send_flag"])
    sending.add_argument("--again", action="store_true", help=m["mail_again"])

    mail = sub.add_parser("mail", help=m["mail"], description=m["mail"])
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="fetch|send|tick|check")
    mail.set_defaults(run=lambda args: (mail.print_help(), EXIT["usage"])[1])

    fetch = mail_sub.add_parser("fetch", parents=[common, sending], help=m["mail_fetch"], description=m["mail_fetch"])
    fetch.add_argument("--reply", action="store_true", help=m["mail_reply"])
    fetch.set_defaults(run=lambda args: guarded(cmd_fetch, args, repo))

    send = mail_sub.add_parser("send", parents=[common, sending], help=m["mail_send"], description=m["mail_send"])
    send.add_argument("--date", required=True, metavar=m["mv_date"], help=m["date"])
    send.set_defaults(run=lambda args: guarded(cmd_send, args, repo))

    tick = mail_sub.add_parser("tick", parents=[common], help=m["mail_tick"], description=m["mail_tick"])
    tick.set_defaults(run=lambda args: guarded(cmd_tick, args, repo))

    check = mail_sub.add_parser("check", parents=[common], help=m["mail_check"], description=m["mail_check"])
    check.set_defaults(run=lambda args: guarded(cmd_check, args, repo))

    remind = sub.add_parser("remind", parents=[common, sending], help=m["mail_remind"], description=m["mail_remind"])
    remind.add_argument("--date", required=True, metavar=m["mv_date"], help=m["date"])
    remind.add_argument("--today", metavar=m["mv_date"], help=m["mail_today"])
    remind.set_defaults(run=lambda args: guarded(cmd_remind, args, repo))


def guarded(command: Any, args: argparse.Namespace, repo: Path) -> int:
    """A bug in a mail command is one line and exit 7 (internal error), its traceback in outbox/.mail/mail.log; the faults
    the main command line knows (settings, servers, usage) pass through to it."""
    import traceback

    from pipeline.errors import RunStopped, UsageError
    from pipeline.plan import PlanError

    try:
        return int(command(args, repo))
    except (RunStopped, UsageError, PlanError, KeyboardInterrupt, OSError):
        raise  # the main command line answers these with their codes
    except Exception as exc:  # noqa: BLE001 - the one place a mail command's bug is caught
        from pipeline.mail.journal import mail_dir
        from pipeline.messages import messages

        log = mail_dir(args.outbox) / "mail.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as fh:
                fh.write(f"{' '.join(sys.argv[1:3])} crashed\n{traceback.format_exc()}\n")
        except OSError:
            log = Path("-")
        text = messages()
        detail = type(exc).__name__
        print(f"{text['usage']['error_prefix']} [mail-crashed]: "
              + str(text["run"]["mail-crashed"]).format(detail=detail, log=log), file=sys.stderr)
        return EXIT["internal_error"]


def context(args: argparse.Namespace, repo: Path) -> MailContext:
    from pipeline.mail.context import MailContext, settings_path

    path, required = settings_path(args.mail_settings, repo / "mail.toml")
    return MailContext.load(path, required=required, plan_path=args.plan, inbox=args.inbox, outbox=args.outbox)


def _problem(p: Problem) -> None:
    severity = words("console")
    print(severity["problem_line"].format(severity=p.severity, code=p.code, file=p.file, message=p.message))


def _fault(fault: MailFault) -> int:
    from pipeline.messages import messages

    text = messages()
    message = str(text["run"][fault.code]).format(**{k: str(v) for k, v in fault.params.items()})
    print(f"{text['usage']['error_prefix']} [{fault.code}]: {message}", file=sys.stderr)
    return fault.exit_code


def _drafts_and_delivery(drafts: list, delivery: Any, send: bool, outbox: Path) -> None:
    w = words("console")
    if drafts:
        folders = sorted({str(d.path.parent) for d in drafts})
        print(w["drafts"].format(count=len(drafts), path=", ".join(folders)))
    if delivery is not None:
        print(w["sent"].format(sent=len(delivery.sent), skipped=len(delivery.skipped), failed=len(delivery.failed)))
        for p in delivery.problems:
            _problem(p)
    elif drafts and not send:
        print(w["not_sent"])


def cmd_fetch(args: argparse.Namespace, repo: Path) -> int:
    from pipeline.mail.fetch import FetchJob

    ctx = context(args, repo)
    w = words("console")
    result = FetchJob(ctx.settings, ctx.contacts, ctx.plan, ctx.plan_path, ctx.inbox, ctx.outbox, reply=args.reply,
                      send=args.send, again=args.again).run()
    if result.busy:
        print(w["busy"].format(path=ctx.outbox / ".mail"), file=sys.stderr)
        return EXIT["ok"]
    verdict_words = words_of_verdicts()
    files = result.files
    new = [m for m in result.messages if m.outcome != "seen"]
    print(w["fetched"].format(messages=len(result.messages), new=len(new), stored=sum(f.stored for f in files),
                              duplicates=sum(f.verdict == "duplicate" for f in files),
                              refused=sum(f.verdict == "refused" for f in files),
                              seen=len(result.messages) - len(new)))
    for f in files:
        if f.stored:
            print(w["stored_line"].format(unit=f.unit, date=f.report_date.strftime("%d.%m.%Y") if f.report_date else "–",
                                          verdict=verdict_words.get(f.verdict, f.verdict), stored=f.stored_name,
                                          file=f.attachment.label))
        for p in f.problems:
            if p.severity == "error" or p.code in ("mail-duplicate", "mail-attachment-not-spreadsheet"):
                print(w["refused_line"].format(code=p.code, file=f.attachment.label, message=p.message))
    for m in new:
        for p in m.problems:
            print(w["refused_line"].format(code=p.code, file=m.incoming.label, message=p.message))
    _drafts_and_delivery(result.drafts, result.delivery, args.send, ctx.outbox)
    if result.fault is not None:
        return _fault(result.fault)
    return result.exit_code


def words_of_verdicts() -> dict[str, str]:
    from pipeline.messages import messages

    return dict(messages()["verdicts"])


def cmd_remind(args: argparse.Namespace, repo: Path) -> int:
    from pipeline.mail.compose import unit_name
    from pipeline.mail.remind import remind
    from pipeline.errors import UsageError

    ctx = context(args, repo)
    w = words("console")
    today = None
    if args.today:
        try:
            today = dt.date.fromisoformat(args.today)
        except ValueError:
            from pipeline.messages import messages

            raise UsageError(messages()["usage"]["date_invalid"].format(date=args.today, dates="…")) from None
    result = remind(ctx, args.date, today=today, send=args.send, again=args.again)
    if not result.reminders:
        print(w["remind_none"].format(date=result.date.strftime("%d.%m.%Y")))
    for r in result.reminders:
        print(w["remind_line"].format(kind=w["kind_after"] if r.kind == "after" else w["kind_before"],
                                      unit=unit_name(ctx.plan, r.unit),
                                      reason=w["reason_errors"] if r.reason == "errors" else w["reason_missing"],
                                      to=", ".join(r.to) or w["no_address"]))
    for p in result.problems:
        _problem(p)
    _drafts_and_delivery(result.drafts, result.delivery, args.send, ctx.outbox)
    if result.fault is not None:
        return _fault(result.fault)
    failed = result.delivery is not None and any(p.severity == "error" for p in result.delivery.problems)
    return EXIT["file_errors"] if failed else EXIT["ok"]


def cmd_send(args: argparse.Namespace, repo: Path) -> int:
    from pipeline.mail.report_mail import send_report

    ctx = context(args, repo)
    result = send_report(ctx, args.date, send=args.send, again=args.again)
    for p in result.problems:
        _problem(p)
    _drafts_and_delivery(result.drafts, result.delivery, args.send, ctx.outbox)
    if result.fault is not None:
        return _fault(result.fault)
    failed = result.delivery is not None and any(p.severity == "error" for p in result.delivery.problems)
    return EXIT["file_errors"] if failed else EXIT["ok"]


def cmd_tick(args: argparse.Namespace, repo: Path) -> int:
    from pipeline.mail.schedule import MailScheduler

    scheduler = MailScheduler(lambda: context(args, repo), args.outbox, workers=2)
    outcomes = scheduler.tick()
    w = words("console")
    if not outcomes:
        print(w["jobs_none"])
    for o in outcomes:
        print(w["job"].format(time=o.time, job=o.job, outcome=o.outcome, detail=o.code + " " + o.detail).rstrip())
    return EXIT["mail_fault"] if any(o.outcome == "failed" for o in outcomes) else EXIT["ok"]


def cmd_check(args: argparse.Namespace, repo: Path) -> int:
    ctx = context(args, repo)
    w = words("console")
    s = ctx.settings
    from pipeline.mail.context import settings_path

    path, _ = settings_path(args.mail_settings, repo / "mail.toml")
    print(w["settings"].format(path=s.path) if s.path else w["settings_none"].format(path=path))
    for kind, server in (("IMAP", s.imap), ("SMTP", s.smtp)):
        if server is None:
            print(w["server_none"].format(kind=kind))
        elif kind == "IMAP":
            print(w["imap"].format(server=server.label, tls=server.tls, user=server.user or "–",
                                   folder=server.folder))  # type: ignore[union-attr]
        else:
            print(w["smtp"].format(server=server.label, tls=server.tls, user=server.user or "–"))
    c = ctx.contacts
    from pipeline.mail.context import settings_path

    if c.path is None:
        print(w["contacts_none"].format(path=s.contacts_path))
    else:
        print(w["contacts"].format(path=c.path, units=len([u for u in c.units.values() if u]),
                                   missing=", ".join(c.missing(ctx.plan)) or "–"))
    return EXIT["ok"]


#: the first tick waits until the server has started (its imports done) before any worker is forked
START_DELAY_SECONDS = 10.0


def start_for_serve(args: argparse.Namespace, repo: Path) -> Path:
    """`serve` runs the mail jobs in a background thread when a settings file exists; returns the settings
    path for the department page's mail panel."""
    from pipeline.mail.context import MailContext, settings_path
    from pipeline.mail.journal import mail_dir
    from pipeline.mail.schedule import LOG_FILE, MailScheduler, start_in_background

    path, _ = settings_path(getattr(args, "mail_settings", None), repo / "mail.toml")
    w = words("console")
    if not path.exists():
        print(w["serve_off"].format(path=path), flush=True)
        return path

    def load() -> MailContext:
        return MailContext.load(path, required=True, plan_path=args.plan, inbox=args.inbox, outbox=args.outbox)

    # The jobs fork reader workers from this many-threaded server: the same precautions as the portal's
    # uploads (modules the workers need imported first, few malloc arenas), taken before the thread exists.
    from pipeline.portal.uploads import preload_readers

    preload_readers()
    start_in_background(MailScheduler(load, args.outbox, workers=1), delay=START_DELAY_SECONDS)
    print(w["serve_on"].format(path=path, log=mail_dir(args.outbox) / LOG_FILE), flush=True)
    return path
