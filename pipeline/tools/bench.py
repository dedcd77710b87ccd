"""The benchmark behind `make bench` / `python -m pipeline bench --files N`.

For each N it builds an inbox of N synthetic submissions for a synthetic plan with as many units as N
needs, reads the same files with bare python-calamine in this process (the yardstick), then runs
`python -m pipeline report` on them in a subprocess — start-up, cache, render and publish included —
and prints the wall time of each stage, the peak memory, and a re-run after one new file arrives.

How the files are made quickly: openpyxl takes ~50 ms a workbook, too slow for 10,000. So the sample
generator fills the real plan's forms once (one workbook per unit and reporting date, ~80 files), and each
synthetic submission is one of those templates with only the unit's name in the `form.unit` cell
replaced: that one worksheet part is re-deflated and every other zip member is copied as compressed
bytes. Units cloned from the same template therefore report the same figures; that changes nothing
about the work the pipeline does per file.

Timing lives here only: tests run this with a tiny N and check the output format, never the times.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from pipeline.forms import layout
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan

SEED = 2017
#: The source tree whose `python -m pipeline` is timed: this one, or another commit's checkout (`--code`),
#: so that two commits are measured by the same harness in one session, alternately.
OWN_CODE = Path(__file__).resolve().parents[2]
_CODE: list[Path] = [OWN_CODE]
IMPORT_BASELINE = "import pandas, openpyxl, docxtpl"
CHECK_BASELINE = "import python_calamine, yaml"

#: The worksheet cell holding the unit's name: the value cell in the row whose code is form.unit.
_UNIT_CELL = re.compile(
    rb"(<t>" + re.escape(layout.HEADER_CODES["unit"].encode()) + rb"</t>.*?<c r=\"D\d+\"[^>]*><is><t[^>]*>)(.*?)(</t>)",
    re.DOTALL,
)


_DISTRICT_CASES = {"genitive": "ауданының", "dative": "ауданына", "locative": "ауданында", "ablative": "ауданынан"}


# --- the synthetic plan -----------------------------------------------------------------------------------


def synthetic_plan_data(base: dict, units: int) -> dict:
    """The base plan's YAML data with `units` units: the real ones first, then numbered clones of them.

    Clones get a new code, new names in every form (so each resolves to itself) and no aliases (aliases of
    the real units would resolve to the originals).
    """
    data = copy.deepcopy(base)
    real = data["units"]
    out = list(real[:units])
    for n in range(len(real), units):
        src = real[n % len(real)]
        tag = f"{n:05d}"
        out.append({
            "code": f"{src['code']}_{tag}",
            "name": f"{src['short']} {tag} ауданы",
            "short": f"{src['short']} {tag}",
            "name_ru": f"{src['name_ru']} {tag}",
            "kind": "district",
            "cases": {case: f"{src['short']} {tag} {ending}" for case, ending in _DISTRICT_CASES.items()},
            "aliases": [],
        })
    data["units"] = out
    return data


def write_synthetic_plan(path: Path, units: int, base_path: Path = DEFAULT_PLAN) -> Plan:
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(synthetic_plan_data(base, units), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return load_plan(path)  # validates: a clone that collides with a real code or name fails here


def units_needed(plan: Plan, files: int) -> int:
    return max(len(plan.units), math.ceil(files / len(plan.dates)))


# --- the files --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    raw: bytes  # the member's compressed bytes as stored


@dataclass
class Template:
    """One filled form as zip members, ready to be re-emitted with another unit name."""

    date: dt.date
    mtime: float
    members: list[_Member]
    sheet: str  # the member holding the form sheet
    xml: bytes  # that member, unzipped

    @classmethod
    def load(cls, path: Path, date: dt.date) -> Template:
        data = path.read_bytes()
        members = []
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                start = info.header_offset + 30 + struct.unpack_from("<HH", data, info.header_offset + 26)[0] \
                    + struct.unpack_from("<HH", data, info.header_offset + 26)[1]
                members.append(_Member(info, data[start : start + info.compress_size]))
            sheet = next(m.info.filename for m in members
                         if m.info.filename.startswith("xl/worksheets/") and _UNIT_CELL.search(zf.read(m.info)))
            xml = zf.read(sheet)
        return cls(date, path.stat().st_mtime, members, sheet, xml)

    def with_unit(self, name: str) -> bytes:
        xml, count = _UNIT_CELL.subn(lambda m: m.group(1) + escape(name).encode() + m.group(3), self.xml, count=1)
        if count != 1:
            raise ValueError("the template has no form.unit value cell")
        patched = zlib.compressobj(1, zlib.DEFLATED, -15)
        packed = patched.compress(xml) + patched.flush()
        return _zip([(m.info, m.raw, None) if m.info.filename != self.sheet else (m.info, packed, xml)
                     for m in self.members])


def _zip(members: Sequence[tuple[zipfile.ZipInfo, bytes, bytes | None]]) -> bytes:
    """A zip from already-compressed members (None: `raw` is the template's; else the new plain bytes)."""
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for info, raw, plain in members:
        crc = info.CRC if plain is None else zlib.crc32(plain)
        size = info.file_size if plain is None else len(plain)
        name = info.filename.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        dostime = (info.date_time[3] << 11) | (info.date_time[4] << 5) | (info.date_time[5] // 2)
        dosdate = ((info.date_time[0] - 1980) << 9) | (info.date_time[1] << 5) | info.date_time[2]
        header = struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, flags, info.compress_type, dostime, dosdate,
                             crc, len(raw), size, len(name), 0)
        central.append(struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, flags, info.compress_type,
                                   dostime, dosdate, crc, len(raw), size, len(name), 0, 0, 0, 0,
                                   info.external_attr, offset) + name)
        local.append(header + name + raw)
        offset += len(header) + len(name) + len(raw)
    directory = b"".join(central)
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end


def make_templates(plan: Plan, folder: Path, seed: int = SEED) -> dict[tuple[str, dt.date], Template]:
    """(real unit, reporting date) → its filled form: the sample generator's files, and for the pairs its
    schedule leaves out (a unit that missed a date) the same unit's values filled into its blank form, so
    that every clone's running totals grow like its source unit's."""
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, generate_samples, sample_values

    samples = generate_samples(plan, folder, seed=seed)
    pool: dict[tuple[str, dt.date], Template] = {}
    for f in samples.files:
        if f.unit != plan.department.code:
            pool[(f.unit, f.report_date)] = Template.load(f.path, f.report_date)
    for unit in plan.units:
        for date in plan.dates:
            if (unit.code, date) in pool:
                continue
            blank = write_form(plan, unit.code, folder / "blank" / f"{unit.code}.xlsx")
            path = folder / "filled" / f"{unit.code}_{date.isoformat()}.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            fill_form(blank, path, sample_values(plan, unit.code, date, seed))
            stamp = dt.datetime.combine(date, dt.time(17, 0)).timestamp()
            os.utime(path, (stamp, stamp))
            pool[(unit.code, date)] = Template.load(path, date)
    return pool


def write_inbox(plan: Plan, real_units: Sequence[str], pool: dict[tuple[str, dt.date], Template], folder: Path,
                files: int) -> list[Path]:
    """`files` submissions: date by date, every unit of the synthetic plan, until there are enough.

    The k-th unit is a clone of the (k mod 13)-th real unit and sends that unit's forms under its own name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for date in plan.dates:
        for k, unit in enumerate(plan.units):
            if len(paths) == files:
                return paths
            template = pool[(real_units[k % len(real_units)], date)]
            path = folder / f"{unit.code}_{date.isoformat()}.xlsx"
            path.write_bytes(template.with_unit(unit.name))
            os.utime(path, (template.mtime, template.mtime))
            paths.append(path)
    return paths


# --- measuring --------------------------------------------------------------------------------------------


def bare_calamine(paths: Sequence[Path]) -> float:
    """Seconds to open every file and materialise every sheet with python-calamine, in this process."""
    import python_calamine as pc

    start = time.perf_counter()
    for path in paths:
        with pc.CalamineWorkbook.from_path(str(path)) as wb:
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()
    return time.perf_counter() - start


@dataclass
class RunStats:
    wall: float
    stages: dict[str, float]
    peak_rss_mb: float
    returncode: int
    peak_pss_mb: float = 0.0


class _TreeMemory:
    """Peaks of the memory of a process and its descendants (the reader workers, the chart process),
    sampled from /proc: RSS summed over the tree, and PSS summed over the tree.

    RSS counts a page shared by a forked worker and its parent once in each of them, so its sum overstates
    what the run costs the machine; PSS (/proc/<pid>/smaps_rollup) divides every shared page among the
    processes that map it, so its sum counts each page once. PSS is the figure the 1 GiB target is about.
    """

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid = pid
        self.every = every
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree_pids(self.pid)
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_rss_kb(p) for p in pids))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))
            self._stop.wait(self.every)


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_pids(root: int) -> list[int]:
    """The root and every live descendant, from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                parent = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[21]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0  # the process ended between the listing and this read


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_memory_kb(root: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over `root` and its descendants, now."""
    pids = _tree_pids(root)
    return sum(_rss_kb(p) for p in pids), sum(_pss_kb(p) for p in pids)


def run_cli(args: Sequence[str], *, timings: Path | None = None) -> RunStats:
    """Run `python -m pipeline ARGS` and measure wall time, peak memory and (if asked) its stage times."""
    cmd = [sys.executable, "-m", "pipeline", *args]
    if timings is not None:
        timings.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(_CODE[0])}
    start = time.perf_counter()
    # cwd too: `python -m` puts the working folder before PYTHONPATH.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=_CODE[0])
    with _TreeMemory(proc.pid) as tree:
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{err}")
    stages = json.loads(timings.read_text()) if timings is not None and timings.exists() else {}
    # ru_maxrss of wait4 is the largest single process (KiB); the tree sample adds the workers up.
    peak = max(usage.ru_maxrss, tree.peak_rss_kb) / 1024
    return RunStats(wall, stages, peak, proc.returncode, tree.peak_pss_kb / 1024)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


#: Stages that make up `pipeline_s`, the figure compared with the bare calamine read.
CORE_STAGES = ("ingest", "validate", "select", "aggregate")


@dataclass
class Result:
    files: int
    calamine: list[float] = field(default_factory=list)
    core: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    rerun: list[float] = field(default_factory=list)
    rerun_ingest: list[float] = field(default_factory=list)
    rerun_render: list[float] = field(default_factory=list)
    stages: list[dict[str, float]] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    #: peak PSS summed over the process tree: of the cold runs, and of the re-runs
    peak_pss_mb: float = 0.0
    rerun_peak_pss_mb: float = 0.0

    def rerun_line(self) -> str:
        return (f"bench rerun files={self.files} rerun_s={_median(self.rerun):.2f} "
                f"ingest_s={_median(self.rerun_ingest):.2f} render_s={_median(self.rerun_render):.2f} "
                f"cold_s={_median(self.wall):.2f}")

    def line(self) -> str:
        x, y = _median(self.core), _median(self.calamine)
        return (f"bench files={self.files} pipeline_s={x:.2f} calamine_s={y:.2f} ratio={x / y:.2f} "
                f"peak_rss_mb={self.peak_rss_mb:.0f} peak_pss_mb={self.peak_pss_mb:.0f}")


#: The figures of issue 20's table: name → (what it measures, target).
TARGETS = {
    "P1": ("ingest+validate+aggregate ÷ bare calamine", 1.5),
    "P2": ("demo report ÷ import pandas, openpyxl, docxtpl", 2.0),
    "P3": ("cold end to end, seconds", 30.0),
    "P3mem": ("peak PSS over the process tree, MB (cold and re-run)", 1024.0),
    "P4": ("re-run after one new file, seconds", None),
    "P5": ("check of one form ÷ import python_calamine, yaml", 2.5),
}
#: P4's target depends on the size of the campaign.
RERUN_TARGET_S = {1000: 2.0, 10000: 6.0}
#: P1 and P3 are defined on these sizes (other sizes print their figures without a verdict).
P1_FILES, P3_FILES = 1000, 10000


def _verdict(value: float, target: float | None) -> str:
    if target is None or math.isnan(value):
        return "target=-"
    return f"target<={target:g} {'met' if value <= target else 'NOT met'}"


def figure_lines(results: Sequence[Result], *, check: tuple[float, float] | None = None,
                 startup: tuple[float, float] | None = None) -> list[str]:
    """One `bench P<n> …` line per figure of the issue's table, each with its target and the load average
    at the moment of printing (ratios are only comparable inside one run on a quiet machine)."""
    load = "load=" + "/".join(f"{x:.2f}" for x in os.getloadavg())
    lines = []
    for r in results:
        x, y = _median(r.core), _median(r.calamine)
        lines.append(f"bench P1 files={r.files} ratio={x / y:.2f} pipeline_s={x:.2f} calamine_s={y:.2f} "
                     f"{_verdict(x / y, TARGETS['P1'][1] if r.files == P1_FILES else None)} {load}")
    if startup is not None:
        lines.append(f"bench P2 ratio={startup[0] / startup[1]:.2f} report_s={startup[0]:.2f} "
                     f"imports_s={startup[1]:.2f} {_verdict(startup[0] / startup[1], TARGETS['P2'][1])} {load}")
    for r in results:
        cold = _median(r.wall)
        peak = max(r.peak_pss_mb, r.rerun_peak_pss_mb)
        sized = r.files == P3_FILES
        lines.append(f"bench P3 files={r.files} cold_s={cold:.2f} {_verdict(cold, TARGETS['P3'][1] if sized else None)} "
                     f"peak_pss_mb={r.peak_pss_mb:.0f} rerun_peak_pss_mb={r.rerun_peak_pss_mb:.0f} "
                     f"peak_rss_mb={r.peak_rss_mb:.0f} {_verdict(peak, TARGETS['P3mem'][1] if sized else None)} {load}")
    for r in results:
        rerun = _median(r.rerun)
        lines.append(f"bench P4 files={r.files} rerun_s={rerun:.2f} ingest_s={_median(r.rerun_ingest):.2f} "
                     f"render_s={_median(r.rerun_render):.2f} {_verdict(rerun, RERUN_TARGET_S.get(r.files))} {load}")
    if check is not None:
        lines.append(f"bench P5 ratio={check[0] / check[1]:.2f} check_s={check[0]:.3f} imports_s={check[1]:.3f} "
                     f"{_verdict(check[0] / check[1], TARGETS['P5'][1])} {load}")
    return lines


@dataclass
class Prepared:
    """One size's generated inbox, the file held back for the re-run, and the `report` arguments."""

    files: int
    paths: list[Path]
    held: Path
    inbox: Path
    outbox: Path
    timings: Path
    args: list[str]


def prepare(files: int, work: Path, *, workers: int, say: Callable[[str], None], base_plan: Plan,
            pool_folder: Path) -> Prepared:
    folder = work / f"n{files}"
    shutil.rmtree(folder, ignore_errors=True)
    plan_path = folder / "plan.yaml"
    plan = write_synthetic_plan(plan_path, units_needed(base_plan, files + 1))
    pool = _pool(base_plan, pool_folder)
    t = time.perf_counter()
    paths = write_inbox(plan, [u.code for u in base_plan.units], pool, folder / "inbox", files + 1)
    # The last file is held back: it is the one that "arrives" before the re-run.
    late = paths.pop()
    held = folder / late.name
    late.rename(held)
    say(f"  generated {files} files (+1 held back) for a plan of {len(plan.units)} units "
        f"in {time.perf_counter() - t:.1f} s (templates re-zipped with new unit names)")
    date = _last_date_with_files(plan, paths)
    inbox, outbox, timings = folder / "inbox", folder / "outbox", folder / "timings.json"
    args = ["--plan", str(plan_path), "report", "--date", date.isoformat(), "--inbox", str(inbox),
            "--outbox", str(outbox), "--workers", str(workers), "--timings", str(timings), "--no-progress"]
    bare_calamine(paths)  # warm the page cache, so neither side pays for the disk
    return Prepared(files, paths, held, inbox, outbox, timings, args)


def measure_once(job: Prepared, result: Result, *, say: Callable[[str], None], label: str = "") -> None:
    """One round on `job`: bare calamine, a cold report (no cache, no previous report), then a re-run after
    the held-back file arrives; the figures are added to `result`."""
    result.calamine.append(bare_calamine(job.paths))
    shutil.rmtree(job.outbox, ignore_errors=True)
    cold = run_cli(job.args, timings=job.timings)
    result.stages.append(cold.stages)
    result.core.append(sum(cold.stages.get(s, 0.0) for s in CORE_STAGES))
    result.wall.append(cold.wall)
    result.peak_rss_mb = max(result.peak_rss_mb, cold.peak_rss_mb)
    result.peak_pss_mb = max(result.peak_pss_mb, cold.peak_pss_mb)
    shutil.copy2(job.held, job.inbox / job.held.name)
    try:
        again = run_cli(job.args, timings=job.timings)
    finally:
        (job.inbox / job.held.name).unlink()
    result.rerun.append(again.wall)
    result.rerun_ingest.append(again.stages.get("ingest", float("nan")))
    result.rerun_render.append(again.stages.get("render", float("nan")))
    result.peak_rss_mb = max(result.peak_rss_mb, again.peak_rss_mb)
    result.rerun_peak_pss_mb = max(result.rerun_peak_pss_mb, again.peak_pss_mb)
    stage_text = " ".join(f"{k}={v:.2f}" for k, v in cold.stages.items())
    say(f"  run {len(result.wall)}{label}: calamine {result.calamine[-1]:.2f} s | cold report {cold.wall:.2f} s wall "
        f"({stage_text}) | re-run after 1 new file {again.wall:.2f} s (ingest {again.stages.get('ingest', 0):.2f}, "
        f"render {again.stages.get('render', 0):.2f}) | peak RSS {cold.peak_rss_mb:.0f} MB, PSS {cold.peak_pss_mb:.0f} MB "
        f"(re-run PSS {again.peak_pss_mb:.0f} MB)")


def _say_median(result: Result, say: Callable[[str], None], label: str = "") -> None:
    say(f"  median{label}: cold end to end {_median(result.wall):.2f} s, ingest+validate+aggregate "
        f"{_median(result.core):.2f} s, bare calamine {_median(result.calamine):.2f} s, "
        f"re-run {_median(result.rerun):.2f} s (its ingest {_median(result.rerun_ingest):.2f} s)")


def bench_one(files: int, work: Path, *, repeat: int, workers: int, say: Callable[[str], None],
              base_plan: Plan, pool_folder: Path) -> Result:
    job = prepare(files, work, workers=workers, say=say, base_plan=base_plan, pool_folder=pool_folder)
    result = Result(files)
    for _ in range(repeat):
        measure_once(job, result, say=say)
    _say_median(result, say)
    return result


def _last_date_with_files(plan: Plan, paths: Sequence[Path]) -> dt.date:
    found = {dt.date.fromisoformat(p.stem.rsplit("_", 1)[1]) for p in paths}
    return max(found)


_POOLS: dict[Path, dict[tuple[str, dt.date], Template]] = {}


def _pool(plan: Plan, folder: Path) -> dict[tuple[str, dt.date], Template]:
    if folder not in _POOLS:
        shutil.rmtree(folder, ignore_errors=True)
        _POOLS[folder] = make_templates(plan, folder)
    return _POOLS[folder]


def bench_startup(work: Path, *, repeat: int, say: Callable[[str], None], fresh: bool = True) -> tuple[float, float]:
    """`report` on the 13-unit messy demo inbox against importing pandas, openpyxl and docxtpl. `fresh`: make
    the demo inbox again (else the one an earlier call made is used, with the outbox that call left)."""
    inbox, outbox = work / "demo-inbox", work / "demo-outbox"
    date = load_plan(DEFAULT_PLAN).dates[1].isoformat()  # the demo's messy date (`plan dates --default`)
    if fresh or not inbox.is_dir():
        shutil.rmtree(inbox, ignore_errors=True)
        run_cli(["samples", "--out", str(inbox), "--messy", date])
    reports, imports = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_BASELINE], check=True)
        imports.append(time.perf_counter() - start)
        reports.append(run_cli(["report", "--date", date, "--inbox", str(inbox), "--outbox", str(outbox),
                                "--no-progress"]).wall)
    r, i = _median(reports), _median(imports)
    say(f"bench startup report_s={r:.2f} imports_s={i:.2f} ratio={r / i:.2f} "
        f"(make report on the {len(list(inbox.iterdir()))}-file demo inbox vs python -c '{IMPORT_BASELINE}')")
    return r, i


def compile_package() -> None:
    """Byte-compile the package once, as the first run on the department's machine does: an environment
    with PYTHONDONTWRITEBYTECODE would otherwise make every timed start compile our sources again, while
    the libraries of the baselines come compiled from their wheels."""
    import compileall

    compileall.compile_dir(str(_CODE[0] / "pipeline"), quiet=1)


def bench_check(work: Path, *, repeat: int, say: Callable[[str], None]) -> tuple[float, float]:
    """`python -m pipeline check FILE` on one filled form against `python -c "import python_calamine, yaml"`
    (the least any check must load). Each side is started 5 × repeat times, alternating; medians."""
    folder = work / "check"
    shutil.rmtree(folder, ignore_errors=True)
    plan = load_plan()
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    unit = plan.units[0].code
    blank = write_form(plan, unit, folder / "blank.xlsx")
    form = folder / "form.xlsx"
    fill_form(blank, form, sample_values(plan, unit, plan.dates[1], SEED))
    env = {**os.environ, "PYTHONPATH": str(_CODE[0])}
    checks, imports = [], []
    for _ in range(5 * repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHECK_BASELINE], check=True, env=env)
        imports.append(time.perf_counter() - start)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pipeline", "check", str(form)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env, cwd=_CODE[0])
        checks.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"check exited with {done.returncode}")
    c, i = _median(checks), _median(imports)
    say(f"bench check check_s={c:.3f} imports_s={i:.3f} ratio={c / i:.2f} "
        f"(python -m pipeline check on one form vs python -c '{CHECK_BASELINE}')")
    return c, i


def run_bench(counts: Sequence[int], *, work: Path | None = None, repeat: int = 3, workers: int = 2,
              startup: bool = True, say: Callable[[str], None] = print, code: str | Path | None = None) -> list[Result]:
    """`code`: time the pipeline of this source tree (a checkout of another commit, holding `pipeline/`)
    instead of this one; the harness, the files and the baselines stay the same."""
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="mz-bench-")) if work is None else work.resolve()
    base_plan = load_plan()
    results: list[Result] = []
    try:
        work.mkdir(parents=True, exist_ok=True)
        _CODE[0] = source_tree(code, work) if code is not None else OWN_CODE
        say(f"bench: {os.cpu_count()} cores, {workers} reader workers, {repeat} repeats, medians; in {work}; "
            f"code {_CODE[0]}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        compile_package()
        check = start = None
        if startup:
            check = bench_check(work, repeat=repeat, say=say)
            start = bench_startup(work, repeat=repeat, say=say)
        for n in counts:
            say(f"files={n}")
            results.append(bench_one(n, work, repeat=repeat, workers=workers, say=say, base_plan=base_plan,
                                     pool_folder=work / "templates"))
        for result in results:
            say(result.rerun_line())
        for line in figure_lines(results, check=check, startup=start):
            say(line)
        for result in results:
            say(result.line())
    finally:
        _POOLS.clear()
        _CODE[0] = OWN_CODE
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return results


def figure_values(results: Sequence[Result], *, check: tuple[float, float] | None = None,
                  startup: tuple[float, float] | None = None) -> dict[str, float]:
    """The figures of issue 20's table by name («P1 files=1000», «P2», …): what `compare` sets side by side."""
    values: dict[str, float] = {}
    for r in results:
        values[f"P1 files={r.files} ratio"] = _median(r.core) / _median(r.calamine)
        values[f"P3 files={r.files} cold_s"] = _median(r.wall)
        values[f"P3 files={r.files} peak_pss_mb"] = max(r.peak_pss_mb, r.rerun_peak_pss_mb)
        values[f"P4 files={r.files} rerun_s"] = _median(r.rerun)
        values[f"P4 files={r.files} rerun_ingest_s"] = _median(r.rerun_ingest)
        values[f"P4 files={r.files} rerun_render_s"] = _median(r.rerun_render)
    if startup is not None:
        values["P2 ratio"] = startup[0] / startup[1]
        values["P2 report_s"] = startup[0]
    if check is not None:
        values["P5 ratio"] = check[0] / check[1]
        values["P5 check_s"] = check[0]
    return values


def compare_lines(base: dict[str, float], new: dict[str, float]) -> list[str]:
    """`bench compare <figure> base=… new=… new/base=…`, one line per figure both sides have."""
    load = "load=" + "/".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"bench compare {name} base={base[name]:.3f} new={new[name]:.3f} new/base={new[name] / base[name]:.2f} {load}"
            for name in new if name in base and base[name]]


class NoSourceTree(ValueError):
    """`--code`/`--compare` named neither a folder holding `pipeline/` nor a git revision."""


def source_tree(spec: str | Path, work: Path) -> Path:
    """A folder holding `pipeline/`: `spec` itself when it is one, else a git revision of this checkout
    exported into `work` (`git archive`)."""
    folder = Path(spec)
    if (folder / "pipeline" / "__main__.py").is_file():
        return folder.resolve()
    if str(spec).startswith("-"):  # git would take it for an option
        raise NoSourceTree(str(spec))
    try:
        archive = subprocess.run(["git", "-C", str(OWN_CODE), "archive", "--format=tar", str(spec)],
                                 capture_output=True, check=False)
    except OSError:  # no git on this machine
        raise NoSourceTree(str(spec)) from None
    if archive.returncode != 0:
        raise NoSourceTree(str(spec))
    import io
    import tarfile

    target = work / f"code-{re.sub(r'[^A-Za-z0-9._-]', '_', str(spec))}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    if not (target / "pipeline" / "__main__.py").is_file():  # a revision from before the package
        raise NoSourceTree(str(spec))
    return target


def run_compare(counts: Sequence[int], base: str | Path, *, work: Path | None = None, repeat: int = 3,
                workers: int = 2, startup: bool = True, say: Callable[[str], None] = print,
                code: str | Path | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Two source trees measured alternately on the same files in one session — `base` (a folder or a git
    revision), then this one (or `code`), round after round — so a change is judged side by side, not
    against an old number. Prints each side's `bench P…` lines and one `bench compare` line per figure."""
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="mz-bench-")) if work is None else work.resolve()
    base_plan = load_plan()
    try:
        work.mkdir(parents=True, exist_ok=True)
        sides = {"base": source_tree(base, work),
                 "new": source_tree(code, work) if code is not None else OWN_CODE}
        say(f"bench compare: {os.cpu_count()} cores, {workers} reader workers, {repeat} rounds of base then new, "
            f"medians; base {sides['base']}; new {sides['new']}; in {work}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for tree in sides.values():
            _CODE[0] = tree
            compile_package()
        checks: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        starts: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        if startup:
            for side, tree in sides.items():
                # Each side its own demo outbox (the two may keep different caches), run once before the
                # rounds: the figure is a report on a warm outbox, as in a plain `bench`.
                _CODE[0] = tree
                bench_startup(work / side, repeat=1, say=lambda line: None)
            for _ in range(repeat):
                for side, tree in sides.items():
                    _CODE[0] = tree
                    checks[side].append(bench_check(work / side, repeat=1,
                                                    say=lambda line, s=side: say(f"{s}: {line}")))
                    starts[side].append(bench_startup(work / side, repeat=1, fresh=False,
                                                      say=lambda line, s=side: say(f"{s}: {line}")))
        results: dict[str, list[Result]] = {side: [] for side in sides}
        for n in counts:
            say(f"files={n}")
            job = prepare(n, work, workers=workers, say=say, base_plan=base_plan, pool_folder=work / "templates")
            per_side = {side: Result(n) for side in sides}
            for _ in range(repeat):
                for side, tree in sides.items():
                    _CODE[0] = tree
                    measure_once(job, per_side[side], say=say, label=f" {side}")
            for side in sides:
                _say_median(per_side[side], say, f" {side}")
                results[side].append(per_side[side])

        def medians(pairs: list[tuple[float, float]]) -> tuple[float, float] | None:
            return (_median([a for a, _ in pairs]), _median([b for _, b in pairs])) if pairs else None

        values = {}
        for side in sides:
            check, start = medians(checks[side]), medians(starts[side])
            for line in figure_lines(results[side], check=check, startup=start):
                say(line.replace("bench ", f"bench {side} ", 1))
            values[side] = figure_values(results[side], check=check, startup=start)
        for line in compare_lines(values["base"], values["new"]):
            say(line)
        return values["base"], values["new"]
    finally:
        _POOLS.clear()
        _CODE[0] = OWN_CODE
        if own:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# The portal under load: page loads and uploads of 100 districts at once over an inbox of 200 files
# (issues 11 and 17)


def _post_upload(url: str, token: str, name: str, data: bytes) -> tuple[int, dict]:
    """One multipart upload with the standard library (the benchmark needs no HTTP client package)."""
    import urllib.error
    import urllib.request
    import uuid

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _get_json(url: str) -> dict:
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def _get_page(url: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            text = response.read().decode("utf-8")
            return response.status, {"page": text}
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def renamed_copy(data: bytes, n: int) -> bytes:
    """The same workbook as other bytes: the zip's end record gets a comment (readers ignore it)."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or len(data) != end + 22 + struct.unpack_from("<H", data, end + 20)[0]:
        raise ValueError("not a zip with its end record last")
    comment = f"copy {n}".encode()
    return data[: end + 20] + struct.pack("<H", len(comment)) + comment


@dataclass
class Burst:
    """What `clients` requests made at once answered: status, time and body of each."""

    kind: str
    answers: list[tuple[int, dict]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(status != 200 for status, _ in self.answers)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _burst(kind: str, jobs: list[Callable[[], tuple[int, dict]]]) -> Burst:
    """Every job in its own thread, released together; each timed from the release to its answer."""
    burst = Burst(kind)
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs))

    def client(job: Callable[[], tuple[int, dict]]) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            answer = job()
        except OSError as exc:
            answer = (0, {"error": repr(exc)})
        with lock:
            burst.seconds.append(time.perf_counter() - start)
            burst.answers.append(answer)

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return burst


@dataclass
class PortalRun:
    pages: Burst
    uploads: Burst
    mixed: Burst
    files: int
    #: stored uploads missing from the inbox or the audit log, and inbox/portal files no record names
    lost: int = 0
    unaudited: int = 0


def run_portal_bench(clients: int = 100, files: int = 200, *, work: Path | None = None,
                     say: Callable[[str], None] = print) -> PortalRun:
    """Start `python -m pipeline serve` on 127.0.0.1 over an inbox of `files` e-mailed forms, then let
    `clients` requests come at once, three times: page loads (districts' and the department's), uploads
    (each a distinct real form of the client's unit), and both mixed. Every stored upload must be in the
    inbox and in the audit log, and every file the portal put in the inbox must have its record. Prints:

        bench portal pages clients=N files=F p50_s=… p95_s=… errors=0
        bench portal uploads clients=N p50_s=… p95_s=… errors=0 lost=0
        bench portal mixed clients=N p50_s=… p95_s=… errors=0 lost=0 unaudited=0
    """
    import socket
    import urllib.error
    import urllib.request

    from pipeline.portal import make_links
    from pipeline.portal.access import portal_dir
    from pipeline.tools.samples import generate_samples

    plan = load_plan()
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        root = Path(work) if work else Path(tmp)
        inbox, outbox = root / "inbox", root / "outbox"
        inbox.mkdir(parents=True, exist_ok=True)
        samples = generate_samples(plan, root / "samples")
        units = [u.code for u in plan.units]
        by_unit = {u: [f.path.read_bytes() for f in samples.files if f.unit == u] for u in units}
        forms = [f.path.read_bytes() for f in samples.files]
        for n in range(files):  # the mail of a campaign: every unit's forms, corrections as other bytes
            (inbox / f"mail-{n:04d}.xlsx").write_bytes(renamed_copy(forms[n % len(forms)], n))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        links = dict(make_links(outbox, plan, base))
        server = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--port", str(port), "--inbox", str(inbox),
             "--outbox", str(outbox)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        counter = iter(range(10**6))
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/static/portal.css", timeout=2).close()
                    break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the portal did not start") from None
                    time.sleep(0.2)
            tokens = {u: _get_json(links[u])["csrf"] for u in units}
            _get_json(links["department"])  # the first status reads the inbox: before the clock starts

            def page(c: int) -> Callable[[], tuple[int, dict]]:
                url = links["department"] if c % 2 else links[units[c % len(units)]]
                return lambda: _get_page(url)

            def upload(c: int) -> Callable[[], tuple[int, dict]]:
                unit = units[c % len(units)]
                n = next(counter)
                data = renamed_copy(by_unit[unit][n % len(by_unit[unit])], 10**6 + n)
                return lambda: _post_upload(links[unit] + "/upload", tokens[unit], f"{unit} {n}.xlsx", data)

            pages = _burst("pages", [page(c) for c in range(clients)])
            uploads = _burst("uploads", [upload(c) for c in range(clients)])
            mixed = _burst("mixed", [(upload if c % 2 else page)(c) for c in range(clients)])
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        run = PortalRun(pages, uploads, mixed, files)
        audit_path = portal_dir(outbox) / "audit.jsonl"
        records = [json.loads(line) for line in audit_path.read_text(encoding="utf-8").splitlines()] \
            if audit_path.exists() else []
        recorded = {(r.get("stored_name"), r.get("sha256")) for r in records if r.get("stored")}
        lost = {}
        for burst in (uploads, mixed):
            lost[burst.kind] = sum(
                1 for status, body in burst.answers if status == 200 and body.get("stored") and not (
                    (inbox / str(body.get("stored_name") or "")).is_file()
                    and (body.get("stored_name"), body.get("sha256")) in recorded))
        run.lost = sum(lost.values())
        named = {name for name, _ in recorded}
        run.unaudited = sum(1 for p in (inbox / "portal").glob("*") if f"portal/{p.name}" not in named) \
            if (inbox / "portal").is_dir() else 0
        say(f"bench portal pages clients={clients} files={files} p50_s={pages.quantile(0.5):.2f} "
            f"p95_s={pages.quantile(0.95):.2f} errors={pages.errors}")
        say(f"bench portal uploads clients={clients} p50_s={uploads.quantile(0.5):.2f} "
            f"p95_s={uploads.quantile(0.95):.2f} errors={uploads.errors} lost={lost['uploads']}")
        say(f"bench portal mixed clients={clients} p50_s={mixed.quantile(0.5):.2f} p95_s={mixed.quantile(0.95):.2f} "
            f"errors={mixed.errors} lost={lost['mixed']} unaudited={run.unaudited}")
        return run


# ---------------------------------------------------------------------------------------------------------
# The morning's mail: fetching a mailbox of N messages from a real Dovecot (issue 18)


def run_mail_bench(messages: int = 500, *, work: Path | None = None, say: Callable[[str], None] = print) -> list[dict[str, float]]:
    """Time one `python -m pipeline mail fetch --reply` (start-up, IMAP, the check of every form, storing,
    audit, reply drafts) over a private Dovecot mailbox of `messages` district e-mails, one in 25 without an
    attachment, twice: as a campaign's mailbox is (the sample generator's forms, each sent several times)
    and with every form distinct (a synthetic plan's cloned units, each form checked). One `bench mail …`
    line each; skipped with the reason when Dovecot is not installed."""
    from pipeline.tools.mailservers import Dovecot, dovecot_missing
    from pipeline.tools.samples import generate_samples

    reason = dovecot_missing()
    if reason:
        say(f"bench mail skipped: {reason}")
        return []
    plan = load_plan()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp, Dovecot(tls=False) as server:
        root = Path(work) if work else Path(tmp)
        samples = [f for f in generate_samples(plan, root / "samples").files if f.unit != plan.department.code]
        forms = [(f.unit, f.path.name, f.path.read_bytes()) for f in samples]
        results.append(_mail_run(server, DEFAULT_PLAN, forms, messages, root / "campaign", say))
        synthetic = write_synthetic_plan(root / "distinct" / "plan.yaml", units_needed(plan, messages))
        paths = write_inbox(synthetic, [u.code for u in plan.units], _pool(plan, root / "templates"),
                            root / "distinct" / "forms", messages)
        forms = [(p.stem.rsplit("_", 1)[0], p.name, p.read_bytes()) for p in paths]
        results.append(_mail_run(server, root / "distinct" / "plan.yaml", forms, messages, root / "distinct", say))
    _POOLS.clear()
    return results


def _mail_run(server: object, plan_path: Path, forms: list[tuple[str, str, bytes]], messages: int, root: Path,
              say: Callable[[str], None]) -> dict[str, float]:
    from pipeline.tools.mailservers import outlook_message

    inbox, outbox = root / "inbox", root / "outbox"
    inbox.mkdir(parents=True, exist_ok=True)
    units = sorted({unit for unit, _, _ in forms})
    (root / "contacts.yaml").write_text("units:\n" + "".join(f"  {u}: [{u}@example.kz]\n" for u in units),
                                        encoding="utf-8")
    user, password = server.new_user()  # type: ignore[attr-defined]
    raws = []
    for n in range(messages):
        unit, name, data = forms[n % len(forms)]
        raws.append(outlook_message(f"{unit}@example.kz", f"Есеп {n}", None if n % 25 == 24 else (name, data)))
    server.append(user, raws)  # type: ignore[attr-defined]
    settings = root / "mail.toml"
    settings.write_text('from = "Bench <mektep@example.kz>"\ncontacts = "contacts.yaml"\n[imap]\n'
                        f'host = "127.0.0.1"\nport = {server.port}\ntls = "none"\nuser = "{user}"\n'  # type: ignore[attr-defined]
                        'password_env = "MZ_BENCH_IMAP"\n', encoding="utf-8")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline", "--plan", str(plan_path), "mail", "fetch", "--reply",
                             "--mail-settings", str(settings), "--inbox", str(inbox), "--outbox", str(outbox)],
                            capture_output=True, text=True, env={**os.environ, "MZ_BENCH_IMAP": password})
    seconds = time.perf_counter() - start
    stored = len(list((inbox / "mail").iterdir())) if (inbox / "mail").is_dir() else 0
    distinct = len({data for _, _, data in forms[:messages]})
    failed = "" if result.returncode in (0, 1) else f" FAILED: {result.stderr.strip()[-200:]}"
    say(f"bench mail fetch messages={messages} distinct_forms={distinct} seconds={seconds:.2f} "
        f"per_second={messages / seconds:.1f} stored={stored}{failed}")
    return {"messages": messages, "distinct": distinct, "seconds": seconds, "per_second": messages / seconds,
            "stored": stored}
