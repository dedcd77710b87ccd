"""Thin command line over the library: one function per command, exit codes from `pipeline.errors.EXIT`.

0 — written, the date's files good (warnings allowed); 1 — written, some file of the date has errors;
2 — usage or plan error; 3 — nothing to report for the date, or nothing to check (nothing written); 4 —
refused: fewer forms of the date than the published report (use --force); 5 — the outbox cannot be
written; 6 — this Python lacks the project's packages (checked before the CLI is imported, in
`pipeline.__main__`); 7 — a fault in the program itself: one line naming a log that holds the traceback.
A user's mistake never shows a traceback, and every refusal prints its code: «Қате [code]: …». Every word
on the console, argparse's own included, comes from pipeline/data/messages.yaml (status, serve and links:
status.yaml) in Kazakh, or Russian with `--lang ru` / MZ_LANG=ru.

The default inbox and outbox are `inbox/` and `outbox/` of the current folder (make runs in the
repository), never of the place the package is installed in.

The plan: `--plan FILE` (before or after the command), else the environment variable MZ_PLAN, else the
bundled plan. Every command first runs the plan check (`python -m pipeline plan check`): a plan with a
mistake stops it with exit 2 and the mistakes named by key.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import EXIT, RunStopped, UsageError
from pipeline.messages import LANGS, messages, set_lang
from pipeline.plan import DEFAULT_PLAN, PlanError

#: Relative to the current folder: `make` runs in the repository, a script says --inbox/--outbox.
DEFAULT_INBOX = Path("inbox")
DEFAULT_OUTBOX = Path("outbox")
#: The environment variable naming the plan file when no --plan is given (make's PLAN= sets it).
PLAN_ENV = "MZ_PLAN"


def main(argv: list[str] | None = None) -> int:
    """The command's exit code. A bug never looks like success: any exception the command did not answer
    itself gets its own code (7), one line in the chosen language and its traceback in a log."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _command(argv)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from pipeline.startup import say_fault

        return say_fault(_outbox_of(argv), argv, exc)


def _outbox_of(argv: list[str]) -> Path:
    """The outbox a failed command was given (its fault log goes to `<outbox>/.logs/`), else the default."""
    for i, arg in enumerate(argv):
        if arg == "--outbox" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--outbox="):
            return Path(arg.split("=", 1)[1])
    return DEFAULT_OUTBOX


def _command(argv: list[str]) -> int:
    set_lang(_lang_from(argv))
    with _argparse_words():
        parser = _parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT["usage"]
    text = messages()
    args.plan = chosen_plan(args.plan)
    try:
        if args.run is not cmd_plan_check:
            problems = plan_problems(args.plan)
            if problems:
                _say_plan_problems(args.plan, problems)
                return EXIT["usage"]
        return int(args.run(args))
    except PlanError as exc:
        _say_plan_problems(Path(exc.file), exc.problems)
        return EXIT["usage"]
    except KeyboardInterrupt:
        return 130
    except RunStopped as exc:
        message = str(text["run"][exc.code]).format(**{k: str(v) for k, v in exc.params.items()})
        print(f"{text['usage']['error_prefix']} [{exc.code}]: {message}", file=sys.stderr)
        return exc.exit_code
    except UsageError as exc:
        print(f"{text['usage']['error_prefix']} [{exc.code}]: {exc}", file=sys.stderr)
        return EXIT["usage"]
    except OSError as exc:  # a folder given to forms/samples/codes that cannot be written: no traceback
        where = exc.filename or ""
        print(text["usage"]["os_error"].format(detail=exc.strerror or exc, path=where), file=sys.stderr)
        return EXIT["outbox_fault"]


def chosen_plan(given: Path | None) -> Path:
    """--plan, else MZ_PLAN, else the bundled plan."""
    if given is not None:
        return given
    env = os.environ.get(PLAN_ENV, "").strip()
    return Path(env) if env else DEFAULT_PLAN


def plan_problems(path: Path, sources: tuple[Path, ...] = ()) -> list[Any]:
    """Every mistake of the plan file: loading, the plan check's rules, the previous campaign's figures, the
    mapping of the lower levels' plans it names (`sources[].plan`) and of the `sources` given."""
    from pipeline.plan.check import check_plan, sources_problems

    plan, problems = check_plan(path)
    if plan is not None and plan.previous is not None:
        from pipeline.aggregate.previous import previous_problems

        problems += previous_problems(plan, path)
    if plan is not None and (plan.sources or sources):
        problems += sources_problems(plan, path, sources)
    return problems


def _say_plan_problems(path: Path, problems: list[Any]) -> None:
    from pipeline.plan.check import describe

    for line in describe(problems, path, messages()["plan_check"]):
        print(line, file=sys.stderr)


def _lang_from(argv: list[str]) -> str | None:
    """`--lang` is read before the parser is built: the help texts themselves depend on it."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


@contextlib.contextmanager
def _argparse_words() -> Iterator[None]:
    """argparse looks its own words ("usage: ", "options", "error: " …) up through its module-level
    gettext `_` at call time; while the parser is built and used, that lookup goes to our catalogue."""
    words: dict[str, str] = messages()["argparse"]
    saved = argparse._  # type: ignore[attr-defined]
    argparse._ = lambda message: words.get(message, message)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = saved  # type: ignore[attr-defined]


def workers_count(text: str) -> int:
    """--workers: 1 to MAX_WORKERS (each worker is a process with its own memory limit: 1000 would fork
    1000 of them). Out of range is a usage error (exit 2), not silently capped."""
    from pipeline.ingest.isolate import MAX_WORKERS

    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(messages()["usage"]["workers_range"].format(value=text, max=MAX_WORKERS))
    return count


def _parser() -> argparse.ArgumentParser:
    h = messages()["cli"]
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=h["description"])
    parser.add_argument("--plan", type=Path, default=None, metavar=h["mv_file"], help=h["plan"])
    parser.add_argument("--lang", choices=LANGS, help=h["lang"])
    sub = parser.add_subparsers(dest="command", metavar=h["commands"])

    report = sub.add_parser("report", help=h["report"], description=h["report"])
    report.add_argument("--date", required=True, metavar=h["mv_date"], help=h["date"])
    report.add_argument("--inbox", type=Path, default=DEFAULT_INBOX, metavar=h["mv_dir"], help=h["inbox"])
    report.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=h["mv_dir"], help=h["outbox"])
    report.add_argument("--workers", type=workers_count, default=2, metavar="N", help=h["workers"])
    report.add_argument("--pdf", action="store_true", help=h["pdf"])
    report.add_argument("--no-cache", dest="cache", action="store_false", help=h["no_cache"])
    report.add_argument("--progress", dest="progress", action="store_true", default=None, help=h["progress"])
    report.add_argument("--no-progress", dest="progress", action="store_false", help=h["no_progress"])
    report.add_argument("--force", action="store_true", help=h["force"])
    # For the benchmark: the wall time of each stage as JSON.
    report.add_argument("--timings", type=Path, help=argparse.SUPPRESS)
    report.set_defaults(run=cmd_report)

    history = sub.add_parser("history", help=h["history"], description=h["history"])
    history.add_argument("--date", required=True, metavar=h["mv_date"], help=h["history_date"])
    history.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=h["mv_dir"], help=h["history_outbox"])
    history.set_defaults(run=cmd_history)

    restore = sub.add_parser("restore", help=h["restore"], description=h["restore"])
    restore.add_argument("--date", required=True, metavar=h["mv_date"], help=h["history_date"])
    restore.add_argument("--version", type=int, required=True, metavar="N", help=h["restore_version"])
    restore.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=h["mv_dir"], help=h["history_outbox"])
    restore.set_defaults(run=cmd_restore)

    forms = sub.add_parser("forms", help=h["forms"], description=h["forms"])
    forms.add_argument("--out", type=Path, default=DEFAULT_OUTBOX / "forms", metavar=h["mv_dir"], help=h["forms_out"])
    forms.set_defaults(run=cmd_forms)

    check = sub.add_parser("check", help=h["check"], description=h["check"])
    check.add_argument("files", nargs="+", type=Path, metavar=h["mv_file"], help=h["check_files"])
    check.add_argument("--workers", type=workers_count, default=2, metavar="N", help=h["workers"])
    check.set_defaults(run=cmd_check)

    samples = sub.add_parser("samples", help=h["samples"], description=h["samples"])
    samples.add_argument("--out", type=Path, required=True, metavar=h["mv_dir"], help=h["samples_out"])
    samples.add_argument("--seed", type=int, default=2017, metavar="N", help=h["seed"])
    samples.add_argument("--messy", metavar=h["mv_date"], help=h["messy"])
    samples.add_argument("--skip", action="append", default=[], metavar=h["mv_unit"], help=h["samples_skip"])
    samples.set_defaults(run=cmd_samples)

    codes = sub.add_parser("codes", help=h["codes"], description=h["codes"])
    codes.add_argument("--out", type=Path, metavar=h["mv_file"], help=h["codes_out"])
    codes.set_defaults(run=cmd_codes)

    bench = sub.add_parser("bench", help=h["bench"], description=h["bench"])
    bench.add_argument("--files", type=int, action="append", metavar="N", help=h["bench_files"])
    bench.add_argument("--repeat", type=int, default=3, metavar="N", help=h["bench_repeat"])
    bench.add_argument("--workers", type=int, default=2, metavar="N", help=h["workers"])
    bench.add_argument("--work", type=Path, metavar=h["mv_dir"], help=h["bench_work"])
    bench.add_argument("--no-startup", dest="startup", action="store_false", help=h["bench_no_startup"])
    bench.add_argument("--code", metavar=h["mv_base"], help=h["bench_code"])
    bench.add_argument("--compare", metavar=h["mv_base"], help=h["bench_compare"])
    bench.add_argument("--portal-clients", type=int, default=0, metavar="N", help=h["bench_portal_clients"])
    bench.set_defaults(run=cmd_bench)
    bench.add_argument("--mail-messages", type=int, default=0, metavar="N", help=h["bench_mail_messages"])
    bench.add_argument("--portal-files", type=int, default=200, metavar="N", help=h["bench_portal_files"])
    _add_portal_commands(sub)
    _add_export_command(sub, h)
    from pipeline.mail.cli import add_mail_commands  # issue 18: mail fetch|send|tick|check, remind

    add_mail_commands(sub, Path("."))
    _add_plan_commands(sub, h)
    # `--plan` and `--lang` are also understood after the command («report --plan next.yaml --date …»,
    # «status --date … --lang ru»; `_lang_from` reads the language before the parser is built).
    for command in sub.choices.values():
        _add_plan_option(command, h)
        _add_lang_option(command, h)
    return parser


def _add_plan_option(parser: argparse.ArgumentParser, h: dict[str, str]) -> None:
    if not any("--plan" in action.option_strings for action in parser._actions):
        parser.add_argument("--plan", type=Path, default=argparse.SUPPRESS, metavar=h["mv_file"], help=h["plan"])
    # A command with commands of its own («mail fetch», «plan check»): each of them takes it too.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_plan_option(command, h)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_plan_option(child, h)


def _add_lang_option(parser: argparse.ArgumentParser, h: dict[str, str]) -> None:
    if not any("--lang" in action.option_strings for action in parser._actions):
        parser.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS, help=h["lang"])
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_lang_option(child, h)


def _add_plan_commands(sub: Any, h: dict[str, str]) -> None:
    plan = sub.add_parser("plan", help=h["plan_cmd"], description=h["plan_cmd"])
    actions = plan.add_subparsers(dest="plan_command", metavar=h["commands"])
    check = actions.add_parser("check", help=h["plan_check"], description=h["plan_check"])
    check.add_argument("file", nargs="?", type=Path, metavar=h["mv_file"], help=h["plan_check_file"])
    check.add_argument("--source", type=Path, action="append", default=[], metavar=h["mv_file"],
                       help=h["plan_check_source"])
    check.set_defaults(run=cmd_plan_check)
    sources = actions.add_parser("sources", help=h["plan_sources"], description=h["plan_sources"])
    sources.set_defaults(run=cmd_plan_sources)
    dates = actions.add_parser("dates", help=h["plan_dates"], description=h["plan_dates"])
    dates.add_argument("--default", action="store_true", help=h["plan_dates_default"])
    dates.set_defaults(run=cmd_plan_dates)

    def bare(args: argparse.Namespace) -> int:  # `plan` alone: its help, as for `python -m pipeline` alone
        with _argparse_words():
            plan.print_help()
        return EXIT["usage"]

    plan.set_defaults(run=bare)


def cmd_plan_check(args: argparse.Namespace) -> int:
    """Exit 0 and a one-line summary when the plan is good; 2 and one line per mistake otherwise."""
    from pipeline.plan import load_plan

    path = args.file or args.plan
    problems = plan_problems(path, tuple(args.source))
    if problems:
        _say_plan_problems(path, problems)
        return EXIT["usage"]
    plan = load_plan(path)
    print(messages()["plan_check"]["ok"].format(
        file=path, campaign=plan.campaign.code, dates=", ".join(d.isoformat() for d in plan.dates),
        units=len(plan.units), figures=len(plan.figures)))
    return EXIT["ok"]


def cmd_plan_dates(args: argparse.Namespace) -> int:
    """The plan's reporting dates, one line, space-separated (the Makefile's DATES); with --default, the date
    `make report` and `make demo` use when no DATE is given: the second reporting date (the demo's messy day),
    or the only one."""
    from pipeline.plan import load_plan

    plan = load_plan(args.plan)
    if args.default:
        print(default_date(plan).isoformat())
    else:
        print(" ".join(d.isoformat() for d in plan.dates))
    return EXIT["ok"]


def cmd_plan_sources(args: argparse.Namespace) -> int:
    """The lower levels' plan files the plan names (`sources[].plan`), one a line with the unit their
    reports fill, tab-separated (what `make demo` runs and exports first)."""
    from pipeline.plan import load_plan
    from pipeline.plan.check import region_unit

    plan = load_plan(args.plan)
    for mapping in plan.sources:
        if not mapping.plan:
            continue
        path = Path(mapping.plan)
        if not path.is_absolute():
            path = Path(args.plan).resolve().parent / path
        unit = region_unit(plan, load_plan(path))
        print(f"{os.path.relpath(path)}\t{unit.code if unit else ''}")
    return EXIT["ok"]


def default_date(plan: Any) -> Any:
    return plan.dates[1] if len(plan.dates) > 1 else plan.dates[0]


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import StageClock, run_report

    text = messages()

    def waiting() -> None:
        print(text["usage"]["busy"].format(path=args.outbox), file=sys.stderr)

    clock = StageClock()
    with _progress_bar(args.progress) as progress:
        result = run_report(
            args.date, inbox=args.inbox, outbox=args.outbox, plan_path=args.plan, workers=args.workers,
            pdf=args.pdf, on_wait=waiting, cache=args.cache, progress=progress, clock=clock, force=args.force,
        )
    if args.timings:
        args.timings.write_text(json.dumps(clock.seconds), encoding="utf-8")
    from pipeline.report import counts_text

    problems = result.problems
    published = result.published
    if published is not None and published.unchanged:
        print(text["report"]["unchanged"].format(version=published.version, path=result.folder))
    else:
        print(text["report"]["written"].format(path=result.folder))
    _print_publication(published, args.outbox, result.date.isoformat())
    counts = result.counts
    assert counts is not None  # a run that returns has counted its files
    print(text["report"]["files"].format(counts=counts_text(counts), errors=counts.with_errors, ignored=counts.ignored))
    if args.pdf and not any(name.endswith(".pdf") for name in result.outputs):
        print(text["report"]["no_pdf"], file=sys.stderr)
    if result.later_files:
        print(text["report"]["later_files"].format(date=result.date.isoformat(), count=result.later_files))
    print(
        text["report"]["problems"].format(
            errors=sum(p.severity == "error" for p in problems),
            warnings=sum(p.severity == "warning" for p in problems),
            path=(result.folder / "issues.csv") if result.folder else "-",
        )
    )
    return result.exit_code


def _print_publication(published: Any, outbox: Path, date_text: str) -> None:
    """Say where the replaced version went and what a person had saved in the folder (never silent)."""
    if published is None:
        return
    text = messages()["report"]
    if published.previous is not None:
        kept = outbox / ".history" / date_text / str(published.previous)
        print(text["previous_kept"].format(path=kept, date=date_text))
        for name in published.edited:
            print(text["edited"].format(name=name, path=kept))
    for name in published.carried:
        print(text["carried"].format(name=name))


def _busy(outbox: Path) -> None:
    print(messages()["usage"]["busy"].format(path=outbox), file=sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    import datetime as dt

    from pipeline.plan import load_plan
    from pipeline.counts import RunCounts
    from pipeline.publish import KEEP, outbox_lock, recover, versions
    from pipeline.report import counts_text, outbox_faults, parse_report_date

    from pipeline.plan.clock import campaign_tz

    text = messages()["history"]
    plan = load_plan(args.plan)
    date = parse_report_date(plan, args.date).isoformat()
    if not args.outbox.is_dir():
        print(text["none"].format(date=date))
        return EXIT["ok"]
    with outbox_faults(args.outbox), outbox_lock(args.outbox, on_wait=lambda: _busy(args.outbox)):
        recover(args.outbox)
        kept = versions(args.outbox, date)
    if not kept:
        print(text["none"].format(date=date))
        return EXIT["ok"]
    print(text["header"].format(date=date, keep=KEEP))
    for v in kept:
        counts = RunCounts.from_manifest(v.manifest)
        try:
            stamp = (v.path / "manifest.json").stat().st_mtime
            when = dt.datetime.fromtimestamp(stamp, tz=campaign_tz(plan)).strftime("%d.%m.%Y %H:%M")
        except OSError:
            when = text["unknown"]
        label = f"{v.number} ({text['current']})" if v.current else str(v.number)
        said = counts_text(counts) if counts is not None else messages()["counts"]["unknown"]
        print(text["line"].format(version=label, when=when, counts=said, path=v.path))
    return EXIT["ok"]


def cmd_restore(args: argparse.Namespace) -> int:
    from pipeline.plan import load_plan
    from pipeline.publish import NoSuchVersion, outbox_lock, restore, versions
    from pipeline.report import outbox_faults, parse_report_date

    from pipeline.outbox_campaign import check_campaign

    text = messages()
    plan = load_plan(args.plan)
    date = parse_report_date(plan, args.date).isoformat()
    try:
        with outbox_faults(args.outbox), outbox_lock(args.outbox, on_wait=lambda: _busy(args.outbox)):
            check_campaign(args.outbox, plan)
            published = restore(args.outbox, date, args.version)
    except NoSuchVersion:
        kept = ", ".join(str(v.number) for v in versions(args.outbox, date)) or "–"
        raise UsageError(text["usage"]["version_missing"].format(date=date, version=args.version, versions=kept),
                         "version-missing")
    if published.unchanged:
        print(text["history"]["same"].format(version=args.version, current=published.version, path=published.folder))
        return EXIT["ok"]
    if published.previous is None:
        print(text["history"]["already"].format(version=args.version, path=published.folder))
        return EXIT["ok"]
    print(text["history"]["restored"].format(date=date, version=args.version, path=published.folder))
    _print_publication(published, args.outbox, date)
    return EXIT["ok"]


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
    from pipeline.tools.bench import NoSourceTree, run_bench, run_compare

    counts = args.files or [13, 1000, 10000]
    options: dict[str, Any] = dict(work=args.work, repeat=max(1, args.repeat), workers=args.workers,
                                   startup=args.startup, say=lambda line: print(line, flush=True), code=args.code)
    try:
        if args.compare:
            run_compare(counts, args.compare, **options)
        else:
            run_bench(counts, **options)
    except NoSourceTree as exc:
        raise UsageError(messages()["usage"]["bench_no_code"].format(code=exc), "bench-no-code") from None
    if args.portal_clients:
        from pipeline.tools.bench import run_portal_bench

        run_portal_bench(clients=args.portal_clients, files=args.portal_files,
                         say=lambda line: print(line, flush=True))
    if args.mail_messages:
        from pipeline.tools.bench import run_mail_bench

        run_mail_bench(args.mail_messages, say=lambda line: print(line, flush=True))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.check import NothingToCheck, check_files

    try:
        files = check_files(args.files, plan_path=args.plan, workers=args.workers)
    except NothingToCheck as nothing:
        _print_checked(nothing.files)  # the lock files and PDFs it did find, before saying why nothing was checked
        raise
    _print_checked(files)
    return EXIT["file_errors"] if any(f.verdict == "errors" for f in files) else EXIT["ok"]


def _print_checked(files: list[Any]) -> None:
    """One line per file: verdict, its word, file, codes; then each problem (info ones only on the first line)."""
    verdict_words = messages()["verdicts"]
    for f in files:
        shown = [p for p in f.problems if p.severity != "info" or p.code.startswith("ignored-")]
        codes = ",".join(sorted({p.code for p in shown})) or "-"
        print(f"{f.verdict}\t{verdict_words[f.verdict]}\t{f.raw.name}\t{codes}")
        for p in f.problems:
            if p.severity != "info":
                where = "!".join(x for x in (p.sheet, p.cell) if x)
                print(f"  {p.severity}\t{p.code}\t{where or '-'}\t{p.message}")


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
    text = messages()["samples"]
    unknown = [u for u in args.skip if u not in plan.unit_by_code]
    if unknown:
        raise UsageError(text["unknown_unit"].format(unit=unknown[0], units=", ".join(plan.unit_by_code)),
                         "unit-unknown")
    samples = generate_samples(plan, args.out, seed=args.seed, skip=args.skip)
    print(text["written"].format(count=len(samples.files), path=args.out))
    if date is not None:
        mess = add_mess(plan, samples, date)
        print(text["messy"].format(count=len(mess.files), date=date.isoformat()))
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
# Kept together and self-contained; their help and console wording live in pipeline/data/status.yaml
# (Kazakh and Russian, as the rest of the console).


def _add_portal_commands(sub: Any) -> None:
    from pipeline.messages import status_words

    words = status_words()["help"]
    dirs = messages()["cli"]
    status = sub.add_parser("status", help=words["status"], description=words["status"])
    status.add_argument("--date", required=True, metavar=dirs["mv_date"], help=words["status_date"])
    status.add_argument("--inbox", type=Path, default=DEFAULT_INBOX, metavar=dirs["mv_dir"], help=words["inbox"])
    status.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=dirs["mv_dir"], help=words["outbox"])
    status.set_defaults(run=cmd_status)

    serve = sub.add_parser("serve", help=words["serve"], description=words["serve"])
    serve.add_argument("--host", default="127.0.0.1", help=words["host"])
    serve.add_argument("--port", type=int, default=8017, metavar="N", help=words["port"])
    serve.add_argument("--inbox", type=Path, default=DEFAULT_INBOX, metavar=dirs["mv_dir"], help=words["inbox"])
    serve.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=dirs["mv_dir"], help=words["outbox"])
    serve.add_argument("--mail-settings", type=Path, metavar=dirs["mv_file"],  # issue 18: serve also runs the mail jobs
                       help=messages()["cli"]["mail_settings"])
    serve.set_defaults(run=cmd_serve)

    links = sub.add_parser("links", help=words["links"], description=words["links"])
    links.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=dirs["mv_dir"], help=words["outbox"])
    links.add_argument("--base-url", default="http://127.0.0.1:8017", metavar=words["mv_url"], help=words["base_url"])
    links.add_argument("--rotate", metavar=words["mv_unit"], help=words["rotate"])
    links.set_defaults(run=cmd_links)


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.status import compute_status, status_table

    status = compute_status(args.date, inbox=args.inbox, outbox=args.outbox, plan_path=args.plan)
    sys.stdout.write(status_table(status))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.messages import status_words
    from pipeline.portal import PortalConfig, load_hashes, serve

    from pipeline.outbox_campaign import check_campaign
    from pipeline.plan import load_plan

    words = status_words()["serve"]
    if not args.inbox.is_dir():
        raise UsageError(messages()["usage"]["inbox_missing"].format(path=args.inbox), "inbox-missing")
    check_campaign(args.outbox, load_plan(args.plan))  # the portal builds reports into this outbox
    if not load_hashes(args.outbox):
        print(words["no_links"].format(outbox=args.outbox), file=sys.stderr)
    from pipeline.mail.cli import start_for_serve  # issue 18: the mail jobs run beside the portal

    mail_settings = start_for_serve(args, Path("."))
    print(words["listening"].format(url=f"http://{args.host}:{args.port}"), flush=True)
    serve(PortalConfig(inbox=args.inbox, outbox=args.outbox, plan_path=args.plan, mail_settings=mail_settings),
          args.host, args.port)
    return 0


def cmd_links(args: argparse.Namespace) -> int:
    from pipeline.plan import load_plan
    from pipeline.portal import make_links
    from pipeline.messages import status_words
    from pipeline.portal.access import roles

    from pipeline.outbox_campaign import check_campaign

    words = status_words()["links"]
    plan = load_plan(args.plan)
    check_campaign(args.outbox, plan)
    if args.rotate is not None and args.rotate not in roles(plan):
        raise UsageError(words["unknown_unit"].format(unit=args.rotate, units=", ".join(roles(plan))), "unit-unknown")
    for role, url in make_links(args.outbox, plan, args.base_url, args.rotate):
        print(f"{role}\t{url}")
    print(words["rotated" if args.rotate else "written"].format(unit=args.rotate, path=args.outbox / ".portal"),
          file=sys.stderr)
    return 0


# --- export (issue 19): an oblast's published report as its region's form of a higher plan ----------------


def _add_export_command(sub: Any, h: dict[str, str]) -> None:
    export = sub.add_parser("export", help=h["export"], description=h["export"])
    export.add_argument("--to", type=Path, required=True, metavar=h["mv_file"], help=h["export_to"])
    export.add_argument("--date", metavar=h["mv_date"], help=h["export_date"])
    export.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar=h["mv_dir"], help=h["export_outbox"])
    export.add_argument("--out", type=Path, metavar=h["mv_dir"], help=h["export_out"])
    export.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """The higher plan (--to) is checked like any plan, and against this one (its mapping for this
    campaign); each form written is named with its dates, the totals' coverage, the figures left empty
    and its provenance (exit 0)."""
    from pipeline.export import export_forms
    from pipeline.plan import load_plan
    from pipeline.plan.check import source_problems

    problems = plan_problems(args.to)
    if not problems:
        target, source = load_plan(args.to), load_plan(args.plan)
        # No mapping and a region not found have their own messages (export-no-mapping,
        # export-region-unknown): the mapping's other mistakes stop here, named by key.
        problems = [p for p in source_problems(target, source, args.plan)
                    if p.code not in ("plan-source-region", "plan-source-none")]
    if problems:
        _say_plan_problems(args.to, problems)
        return EXIT["usage"]
    words = messages()["export"]
    written = export_forms(to=args.to, plan_path=args.plan, outbox=args.outbox, date_text=args.date, out=args.out,
                           on_wait=lambda: _busy(args.outbox))
    target = load_plan(args.to)
    for form in written:
        kind = next(d.kind for d in target.reporting_dates if d.date == form.target_date)
        print(words["written"].format(path=form.path))
        print(words["dates"].format(region=form.region.name, source=form.source_date.isoformat(),
                                    target=form.target_date.isoformat(), kind=words["kinds"][kind]))
        if form.coverage:
            print(words["coverage"].format(**{k: form.coverage.get(k, 0) for k in ("reported", "carried", "missing")}))
        for key, codes in (("not_collected", form.not_collected), ("no_value", form.no_value)):
            if codes:
                labels = ", ".join(f"{target.figure_by_code[c].short or target.figure_by_code[c].label} ({c})"
                                   for c in codes)
                print(words[key].format(figures=labels))
        print(words["source"].format(sha256=form.manifest_sha256))
    return EXIT["ok"]
