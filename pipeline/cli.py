"""Thin command line over the library: one function per command, exit codes 0 / 1 / 2.

0 — all files good (warnings allowed); 1 — some file has errors (a report is still written);
2 — usage or plan error. A user's mistake never shows a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError
from pipeline.plan import DEFAULT_PLAN, PlanError

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except PlanError as exc:
        print(f"plan error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        print(f"Қате / error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="«Мектепке жол» campaign reports: district forms, validation, the consolidated Kazakh report.",
    )
    parser.add_argument("--plan", type=Path, default=DEFAULT_PLAN, help="campaign plan file (YAML)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = sub.add_parser("report", help="read the inbox and write the report for a reporting date")
    report.add_argument("--date", required=True, help="reporting date, YYYY-MM-DD (e.g. 2017-08-17)")
    report.add_argument("--inbox", type=Path, default=REPO / "inbox", help="folder of district workbooks")
    report.add_argument("--outbox", type=Path, default=REPO / "outbox", help="where outbox/<DATE>/ is written")
    report.add_argument("--workers", type=int, default=2, help="reader processes (default 2)")
    report.add_argument("--pdf", action="store_true", help="also write a PDF copy (needs LibreOffice)")
    report.add_argument("--no-cache", dest="cache", action="store_false",
                        help="read every file again (the cache of read files is OUTBOX/.cache/, safe to delete)")
    report.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="show a progress bar while reading (default: only on a terminal, over 50 files)")
    report.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    # For the benchmark: the wall time of each stage as JSON.
    report.add_argument("--timings", type=Path, help=argparse.SUPPRESS)
    report.set_defaults(run=cmd_report)

    forms = sub.add_parser("forms", help="write the blank form for every reporting unit")
    forms.add_argument("--out", type=Path, default=REPO / "outbox" / "forms", help="folder for the forms")
    forms.set_defaults(run=cmd_forms)

    check = sub.add_parser("check", help="validate workbooks without writing a report")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--workers", type=int, default=2)
    check.set_defaults(run=cmd_check)

    samples = sub.add_parser("samples", help="fill sample submissions for all units and dates")
    samples.add_argument("--out", type=Path, required=True, help="folder to fill (e.g. a demo inbox)")
    samples.add_argument("--seed", type=int, default=2017)
    samples.add_argument(
        "--messy", metavar="DATE", help="also add corrections, typos, broken and stray files for this date"
    )
    samples.set_defaults(run=cmd_samples)

    codes = sub.add_parser("codes", help="print the problem-code reference (Markdown)")
    codes.add_argument("--out", type=Path, help="write to this file instead of standard output")
    codes.set_defaults(run=cmd_codes)

    bench = sub.add_parser("bench", help="time the pipeline on N synthetic submissions against bare calamine")
    bench.add_argument("--files", type=int, action="append", metavar="N",
                       help="number of submissions (repeatable; default 13, 1000 and 10000)")
    bench.add_argument("--repeat", type=int, default=3, help="runs per N; medians are reported (default 3)")
    bench.add_argument("--workers", type=int, default=2)
    bench.add_argument("--work", type=Path, help="keep the generated files here (default: a temporary folder)")
    bench.add_argument("--no-startup", dest="startup", action="store_false",
                       help="skip timing `report` on the demo inbox against the import baseline")
    bench.set_defaults(run=cmd_bench)
    bench.add_argument("--portal-clients", type=int, default=0, metavar="N",
                       help="also time the portal: N districts uploading at once (0: skip)")
    _add_portal_commands(sub)
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import messages, run_report

    text = messages()

    def waiting() -> None:
        print(text["usage"]["busy"].format(path=args.outbox), file=sys.stderr)

    from pipeline.report import StageClock

    clock = StageClock()
    with _progress_bar(args.progress) as progress:
        result = run_report(
            args.date, inbox=args.inbox, outbox=args.outbox, plan_path=args.plan, workers=args.workers,
            pdf=args.pdf, on_wait=waiting, cache=args.cache, progress=progress, clock=clock,
        )
    if args.timings:
        args.timings.write_text(json.dumps(clock.seconds), encoding="utf-8")
    files = result.files
    problems = result.problems
    print(text["report"]["written"].format(path=result.folder))
    print(
        text["report"]["files"].format(
            total=len(files),
            used=sum(f.status == "used" for f in files),
            errors=sum(f.counts_as_error for f in files),
            ignored=sum(f.status == "ignored" for f in files),
        )
    )
    print(
        text["report"]["problems"].format(
            errors=sum(p.severity == "error" for p in problems),
            warnings=sum(p.severity == "warning" for p in problems),
            path=(result.folder / "issues.csv") if result.folder else "-",
        )
    )
    return result.exit_code


PROGRESS_MIN_FILES = 50


@contextlib.contextmanager
def _progress_bar(wanted: bool | None) -> Iterator[Callable[[int, int], None] | None]:
    """A tqdm bar on stderr for long reads; nothing when not on a terminal (logs, cron, pipes)."""
    if wanted is False or (wanted is None and not sys.stderr.isatty()):
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            if total <= PROGRESS_MIN_FILES and wanted is None:
                return
            from tqdm import tqdm

            bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def cmd_bench(args: argparse.Namespace) -> int:
    from pipeline.tools.bench import run_bench

    run_bench(args.files or [13, 1000, 10000], work=args.work, repeat=max(1, args.repeat),
              workers=args.workers, startup=args.startup, say=lambda line: print(line, flush=True))
    if args.portal_clients:
        from pipeline.tools.bench import run_portal_bench

        run_portal_bench(clients=args.portal_clients, say=lambda line: print(line, flush=True))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.report import check_files, messages

    verdict_words = messages()["verdicts"]
    files = check_files(args.files, plan_path=args.plan, workers=args.workers)
    for f in files:
        codes = ",".join(sorted({p.code for p in f.problems if p.severity != "info"})) or "-"
        print(f"{f.verdict}\t{verdict_words[f.verdict]}\t{f.raw.name}\t{codes}")
        for p in f.problems:
            if p.severity != "info":
                where = "!".join(x for x in (p.sheet, p.cell) if x)
                print(f"  {p.severity}\t{p.code}\t{where or '-'}\t{p.message}")
    return 1 if any(f.verdict == "errors" for f in files) else 0


def cmd_forms(args: argparse.Namespace) -> int:
    from pipeline.forms import write_all_forms
    from pipeline.plan import load_plan

    paths = write_all_forms(load_plan(args.plan), args.out)
    for path in paths:
        print(path)
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from pipeline.tools.mess import add_mess
    from pipeline.plan import load_plan
    from pipeline.report import parse_report_date
    from pipeline.tools.samples import generate_samples

    plan = load_plan(args.plan)
    date = parse_report_date(plan, args.messy) if args.messy else None
    samples = generate_samples(plan, args.out, seed=args.seed)
    print(f"{len(samples.files)} sample submissions written to {args.out}")
    if date is not None:
        mess = add_mess(plan, samples, date)
        print(f"{len(mess.files)} messy files (corrections, typos, broken, stray) for {date} added")
    return 0


def cmd_codes(args: argparse.Namespace) -> int:
    from pipeline.tools.docs import problem_codes_markdown

    text = problem_codes_markdown()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


# --- status, serve, links (issue 10's status; issue 11's portal) ------------------------------------------------
# Kept together and self-contained; their help and console wording live in pipeline/data/status.yaml.


def _add_portal_commands(sub: Any) -> None:
    from pipeline.texts import load_data

    words = load_data("status.yaml")["help"]
    status = sub.add_parser("status", help=words["status"])
    status.add_argument("--date", required=True, help=words["status_date"])
    status.add_argument("--inbox", type=Path, default=REPO / "inbox", help=words["inbox"])
    status.add_argument("--outbox", type=Path, default=REPO / "outbox", help=words["outbox"])
    status.set_defaults(run=cmd_status)

    serve = sub.add_parser("serve", help=words["serve"])
    serve.add_argument("--host", default="127.0.0.1", help=words["host"])
    serve.add_argument("--port", type=int, default=8017, help=words["port"])
    serve.add_argument("--inbox", type=Path, default=REPO / "inbox", help=words["inbox"])
    serve.add_argument("--outbox", type=Path, default=REPO / "outbox", help=words["outbox"])
    serve.set_defaults(run=cmd_serve)

    links = sub.add_parser("links", help=words["links"])
    links.add_argument("--outbox", type=Path, default=REPO / "outbox", help=words["outbox"])
    links.add_argument("--base-url", default="http://127.0.0.1:8017", help=words["base_url"])
    links.add_argument("--rotate", metavar="UNIT", help=words["rotate"])
    links.set_defaults(run=cmd_links)


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.status import compute_status, status_table

    status = compute_status(args.date, inbox=args.inbox, outbox=args.outbox, plan_path=args.plan)
    sys.stdout.write(status_table(status))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.portal import PortalConfig, load_hashes, serve
    from pipeline.texts import load_data

    words = load_data("status.yaml")["serve"]
    if not args.inbox.is_dir():
        from pipeline.report import messages

        raise UsageError(messages()["usage"]["inbox_missing"].format(path=args.inbox))
    if not load_hashes(args.outbox):
        print(words["no_links"].format(outbox=args.outbox), file=sys.stderr)
    print(words["listening"].format(url=f"http://{args.host}:{args.port}"), flush=True)
    serve(PortalConfig(inbox=args.inbox, outbox=args.outbox, plan_path=args.plan), args.host, args.port)
    return 0


def cmd_links(args: argparse.Namespace) -> int:
    from pipeline.plan import load_plan
    from pipeline.portal import make_links
    from pipeline.portal.access import roles
    from pipeline.texts import load_data

    words = load_data("status.yaml")["links"]
    plan = load_plan(args.plan)
    if args.rotate is not None and args.rotate not in roles(plan):
        raise UsageError(words["unknown_unit"].format(unit=args.rotate, units=", ".join(roles(plan))))
    for role, url in make_links(args.outbox, plan, args.base_url, args.rotate):
        print(f"{role}\t{url}")
    print(words["rotated" if args.rotate else "written"].format(unit=args.rotate, path=args.outbox / ".portal"),
          file=sys.stderr)
    return 0
