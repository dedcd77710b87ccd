"""Issue 12 (speed): promises about what a command loads and what a re-run redoes. No timing here: the
figures live in the benchmark; these tests check the structure that makes them possible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.plan import PlanError, load_plan
from pipeline.plan.load import DEFAULT_PLAN

REPO = Path(__file__).resolve().parent.parent

#: What `check` never needs: aggregation (pandas/numpy), rendering (docxtpl, python-docx, jinja2, babel,
#: matplotlib), writing workbooks (openpyxl) and a model layer for the plan (pydantic).
HEAVY = ("pandas", "numpy", "matplotlib", "docxtpl", "docx", "jinja2", "babel", "openpyxl", "pydantic")
#: Nor the report's own stages (issue 20, P5): selecting, aggregating and publishing a report.
REPORT_ONLY = ("pipeline.report", "pipeline.aggregate", "pipeline.aggregate.select", "pipeline.publish",
               "pipeline.outbox_campaign")


def test_check_imports_nothing_it_does_not_use(tmp_path, plan):
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    blank = write_form(plan, "syrym", tmp_path / "blank.xlsx")
    filled = tmp_path / "Сырым.xlsx"
    fill_form(blank, filled, sample_values(plan, "syrym", plan.dates[1]))
    probe = (
        "import sys, json\n"
        "from pipeline import cli\n"
        f"code = cli.main(['check', {str(filled)!r}])\n"
        f"print(json.dumps({{'code': code, 'loaded': [m for m in {HEAVY + REPORT_ONLY!r} if m in sys.modules]}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["code"] == 0, result.stdout  # the file was really read and checked
    assert result.stdout.split("\t")[0] in ("ok", "warnings")
    assert last["loaded"] == []


def test_a_report_whose_files_need_no_feedback_does_not_load_openpyxl(tmp_path, plan):
    """Issue 20: summary.xlsx has its own writer; openpyxl is loaded only to write a feedback workbook (a
    re-run after one good file writes none). A file with an error still gets its workbook."""
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    date = plan.dates[0]
    for unit in ("syrym", "oral"):
        blank = write_form(plan, unit, tmp_path / f"{unit}-blank.xlsx")
        fill_form(blank, inbox / f"{unit}.xlsx", sample_values(plan, unit, date))
    probe = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from pipeline.report import run_report\n"
        f"result = run_report({date.isoformat()!r}, inbox=Path({str(inbox)!r}), outbox=Path({str(outbox)!r}))\n"
        "print(json.dumps({'feedback': sorted(p.name for p in result.folder.rglob('*') if 'feedback' in p.parts),"
        " 'openpyxl': 'openpyxl' in sys.modules}))\n"
    )

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert run() == {"feedback": [], "openpyxl": False}
    bad = write_form(plan, "akzhaiyk", tmp_path / "akzhaiyk-blank.xlsx")
    values = dict(sample_values(plan, "akzhaiyk", date))
    values[next(iter(values))] = "көп"  # a number cell holding a word: an error the district must fix
    fill_form(bad, inbox / "akzhaiyk.xlsx", values)
    again = run()
    assert again["openpyxl"] is True and again["feedback"]


def test_report_still_loads_pandas_through_the_lazy_names():
    import pipeline.aggregate as agg
    from pipeline.aggregate.build import aggregate

    assert agg.aggregate is aggregate and callable(agg.select)
    with pytest.raises(AttributeError):
        agg.no_such_name  # noqa: B018 - unknown names stay unknown


# --- the plan without pydantic: the same checks, the same locations -------------------------------------

PLAN_TEXT = DEFAULT_PLAN.read_text(encoding="utf-8")


def _load(tmp_path: Path, old: str, new: str):
    assert old in PLAN_TEXT
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN_TEXT.replace(old, new, 1), encoding="utf-8")
    return load_plan(path)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("  year: 2017", "  year: twenty", "campaign.year"),
        ("  year: 2017", "  year: [2017]", "campaign.year"),
        ("    kind: city", "    kind: town", "units[oral].kind"),
        ("    kind: city", "    kind: 7", "units[oral].kind"),
        ("  - {date: 2017-09-28, kind: final}", "  - {date: 28.09.2017, kind: final}", "reporting_dates"),
        ("code: raids,", "code: Raids,", "lower_snake_case"),
        ("unit: count, key: true, required: true,", "unit: count, key: maybe, required: true,", "key"),
        ("    kind: city\n", "", "units[oral].kind: required key is missing"),
    ],
)
def test_a_wrong_type_or_shape_in_the_plan_is_named(tmp_path, old, new, named):
    with pytest.raises(PlanError) as err:
        _load(tmp_path, old, new)
    assert named in str(err.value)


def test_the_plan_reads_every_field_of_its_file(plan):
    import yaml

    raw = yaml.safe_load(PLAN_TEXT)
    assert [u.code for u in plan.units] == [u["code"] for u in raw["units"]]
    assert plan.dates[0].isoformat() == str(raw["reporting_dates"][0]["date"])
    assert plan.campaign.year == raw["campaign"]["year"] and isinstance(plan.campaign.year, int)
    assert plan.limits.reader_memory_mb == 1024  # a default where the file says nothing
    # aliases are compared as text, whatever YAML made of them
    assert all(isinstance(a, str) for a in plan.yes_no.yes.aliases + plan.yes_no.no.aliases)
    # frozen: a stage cannot change the plan under the others
    with pytest.raises(AttributeError):
        plan.campaign.year = 2018  # type: ignore[misc]
    copy = plan.model_copy(update={"limits": plan.limits.model_copy(update={"max_file_bytes": 1000})})
    assert copy.limits.max_file_bytes == 1000 and plan.limits.max_file_bytes != 1000
    assert copy.figures == plan.figures


def test_bench_prints_the_check_line(tmp_path):
    import re

    from pipeline.tools.bench import bench_check

    lines: list[str] = []
    check_s, import_s = bench_check(tmp_path, repeat=1, say=lines.append)
    assert re.match(r"^bench check check_s=\d+\.\d{3} imports_s=\d+\.\d{3} ratio=\d+\.\d\d ", lines[0])
    assert check_s > 0 and import_s > 0


# --- validated submissions in the cache ------------------------------------------------------------------

import datetime as dt  # noqa: E402
import sqlite3  # noqa: E402

from pipeline.ingest import read_inbox  # noqa: E402
from pipeline.ingest.cache import IngestCache, default_cache_path  # noqa: E402
from pipeline.plan import plan_fingerprint  # noqa: E402
from pipeline.report import run_report  # noqa: E402
from pipeline.validate import Validation, validate_forms  # noqa: E402
from pipeline.validate.store import freeze, rules_fingerprint, thaw  # noqa: E402

AUG17 = dt.date(2017, 8, 17)


@pytest.fixture(scope="module")
def messy_inbox(plan, tmp_path_factory) -> Path:
    from pipeline.tools.mess import add_mess
    from pipeline.tools.samples import generate_samples

    folder = tmp_path_factory.mktemp("inbox")
    samples = generate_samples(plan, folder, seed=2014, dates=[dt.date(2017, 8, 8), AUG17])
    add_mess(plan, samples, AUG17)
    return folder


def _subs_rows(outbox: Path) -> dict[str, str]:
    with sqlite3.connect(default_cache_path(outbox)) as conn:
        return dict(conn.execute("SELECT sha256, data FROM subs"))


def _outputs(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("issues.csv", "figures.csv")}


def test_every_submission_survives_the_store_unchanged(plan, messy_inbox):
    """freeze → thaw gives the very submission validation gave, for every sample and messy file."""
    raws = read_inbox(plan, messy_inbox)
    subs = validate_forms(plan, raws)
    stored = 0
    for sub in subs:
        text = freeze(sub)
        if text is None:
            continue
        stored += 1
        assert thaw(text, sub.raw) == sub, sub.name
    assert stored >= len(subs) - 3  # only the odd file (a name with personal data) is left out


def test_a_rerun_takes_validated_submissions_from_the_cache(plan, messy_inbox, tmp_path):
    outbox = tmp_path / "out"
    first = run_report("2017-08-17", inbox=messy_inbox, outbox=outbox)
    rows = _subs_rows(outbox)
    readable = [f for f in first.files if f.raw.readable and f.raw.sha256]
    assert len(rows) >= len(readable) - 3 and rows
    # Proof that a re-run uses the stored submission rather than validating again: change one stored
    # value and see it in the re-run's figures (nothing but the cache holds it).
    used = {f.raw.sha256 for f in first.files
            if f.status == "used" and f.submission is not None and f.submission.report_date == AUG17}
    sha, text = next((s, t) for s, t in rows.items() if s in used and '"raids":' in t)
    tampered = text.replace('"raids":', '"raids":1234567,"_old_raids":', 1)
    with sqlite3.connect(default_cache_path(outbox)) as conn:
        conn.execute("UPDATE subs SET data = ? WHERE sha256 = ?", (tampered, sha))
    run_report("2017-08-17", inbox=messy_inbox, outbox=outbox, force=True)
    figures = (outbox / "2017-08-17" / "figures.csv").read_text(encoding="utf-8")
    assert ",raids,1234567" in figures


def test_cached_and_cold_runs_write_the_same_outputs(plan, messy_inbox, tmp_path):
    cold = tmp_path / "cold"
    run_report("2017-08-17", inbox=messy_inbox, outbox=cold, cache=False)
    warm = tmp_path / "warm"
    run_report("2017-08-17", inbox=messy_inbox, outbox=warm)
    run_report("2017-08-17", inbox=messy_inbox, outbox=warm, force=True)  # every form and submission cached
    assert _outputs(warm / "2017-08-17") == _outputs(cold / "2017-08-17")


def test_a_bad_row_is_a_miss_and_is_overwritten(plan, messy_inbox, tmp_path):
    outbox = tmp_path / "out"
    run_report("2017-08-17", inbox=messy_inbox, outbox=outbox)
    expected = _outputs(outbox / "2017-08-17")
    rows = _subs_rows(outbox)
    bad = {"{not json", '{"unit": 5}', '{"problems": [["no-such-code", null, null, []]]}', "[]"}
    with sqlite3.connect(default_cache_path(outbox)) as conn:
        for (sha, _), text in zip(rows.items(), sorted(bad) * len(rows)):
            conn.execute("UPDATE subs SET data = ? WHERE sha256 = ?", (text, sha))
    run_report("2017-08-17", inbox=messy_inbox, outbox=outbox, force=True)
    assert _outputs(outbox / "2017-08-17") == expected
    assert _subs_rows(outbox) == rows  # validated again and stored afresh


def test_other_rules_or_another_plan_never_reuse_a_submission(plan, messy_inbox, tmp_path):
    path = tmp_path / "ingest.sqlite"
    fp = plan_fingerprint(DEFAULT_PLAN)
    cache = IngestCache.open(path, fp, rules_fingerprint())
    validation = Validation(plan, store=cache)
    read_inbox(plan, messy_inbox, cache=cache, on_form=validation.add)
    validation.save()
    cache.close()
    assert _count(path, "subs") > 0
    changed = IngestCache.open(path, fp, "other-rules")  # a rule's code or data changed
    changed.close()
    assert _count(path, "subs") == 0 and _count(path, "forms") > 0  # the read forms stay valid
    cache = IngestCache.open(path, fp, rules_fingerprint())
    validation = Validation(plan, store=cache)
    read_inbox(plan, messy_inbox, cache=cache, on_form=validation.add)
    validation.save()
    cache.close()
    IngestCache.open(path, "another-plan", rules_fingerprint()).close()
    assert _count(path, "subs") == 0 and _count(path, "forms") == 0


def test_the_rules_fingerprint_covers_the_validation_code():
    from pipeline.validate import store

    root = Path(store.__file__).resolve().parent.parent
    validate_sources = {f"validate/{p.name}" for p in (root / "validate").glob("*.py")}
    assert validate_sources <= set(store.RULE_SOURCES)
    assert all((root / name).exists() for name in store.RULE_SOURCES)


def test_a_future_fill_date_or_a_masked_name_is_not_stored(plan):
    from tests.rawforms import GOOD, raw_form

    future = raw_form(plan, "a.xlsx", date=AUG17, filled=dt.date.today() + dt.timedelta(days=30), values=GOOD)
    [sub] = validate_forms(plan, [future])
    assert any(p.code == "filled-date-future" for p in sub.problems)
    assert freeze(sub) is None


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# --- summary.xlsx's own writer ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.safe_text import xml_text  # noqa: E402

_XML_TEXT = st.text(max_size=30).map(xml_text)
_NUMBER = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(st.none(), _XML_TEXT, _NUMBER), max_size=6), min_size=1, max_size=5))
def test_the_xlsx_writer_reads_back_exactly(rows):
    """Every text (spaces at either end, line breaks, &, <, quotes) and every number reads back as written."""
    import io

    from openpyxl import load_workbook

    from pipeline.render.xlsx_writer import Book, sheet_xml

    book = Book()
    bold = book.style(bold=True, fmt="#,##0.0")
    cells = [[None if v is None else (v, bold if isinstance(v, float) else 0) for v in row] for row in rows]
    book.add_sheet("S «1» & <2>", sheet_xml(cells, freeze="B3", widths={1: 30}, heights={1: 45}))
    wb = load_workbook(io.BytesIO(book.save(creator="Әкімдік & Co", moment=dt.datetime(2017, 8, 17, 12))))
    ws = wb["S «1» & <2>"]
    assert ws.freeze_panes == "B3" and ws.column_dimensions["A"].width == 30 and ws.row_dimensions[1].height == 45
    assert wb.properties.creator == "Әкімдік & Co"
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            cell = ws.cell(row=r, column=c)
            if value is None or value == "":
                assert cell.value in (None, ""), (r, c)
            elif isinstance(value, str):
                assert cell.value == value.replace("\r\n", "\n") or cell.value == value, (r, c)
                assert cell.data_type == "s"
            else:
                assert cell.value == value and cell.number_format == "#,##0.0" and cell.font.b


# --- outputs reused when their inputs are unchanged ------------------------------------------------------

from pipeline.render.reuse import OutputCache, default_outputs_path  # noqa: E402


def _all_bytes(folder: Path) -> dict[str, bytes]:
    names = ["summary.xlsx", *(f"charts/{p.name}" for p in sorted((folder / "charts").glob("*.png"))),
             *(f"feedback/{p.name}" for p in sorted((folder / "feedback").glob("*.xlsx")))]
    return {name: (folder / name).read_bytes() for name in names}


def test_summary_sheets_are_reused_only_while_their_inputs_are_unchanged(tmp_path):
    import dataclasses

    from pipeline.render.summary_xlsx import summary_bytes
    from tests.render_factory import make_report_data

    data = make_report_data("2017-08-26")
    reuse = OutputCache(tmp_path / "outputs")
    first = summary_bytes(data, reuse)
    assert reuse.stored == len([d for d in data.history if d <= data.date]) and reuse.hits == 0
    assert summary_bytes(data, reuse) == first == summary_bytes(data)  # every sheet reused, same bytes
    assert reuse.hits == reuse.stored
    # One unit's figure changes at the report's date: that sheet is made again, the earlier ones reused.
    frame = data.history[data.date].copy()
    unit, code = frame.index[0], frame.columns[0]
    frame.loc[unit, code] = 987654
    changed = dataclasses.replace(data, history={**data.history, data.date: frame})
    hits, stored = reuse.hits, reuse.stored
    assert summary_bytes(changed, reuse) == summary_bytes(changed)
    assert reuse.stored == stored + 1 and reuse.hits == hits + len(data.history) - 1
    # A renamed unit (the plan) is a miss for every sheet.
    plan = data.plan
    renamed = plan.model_copy(update={"units": (plan.units[0].model_copy(update={"name": "Жаңа аудан"}),
                                                *plan.units[1:])})
    hits = reuse.hits
    assert summary_bytes(dataclasses.replace(data, plan=renamed), reuse) == summary_bytes(
        dataclasses.replace(data, plan=renamed))
    assert reuse.hits == hits


def test_a_damaged_entry_is_a_miss(tmp_path):
    reuse = OutputCache(tmp_path)
    reuse.put("k", b"abc" * 100)
    assert reuse.get("k") == b"abc" * 100
    path = tmp_path / "k"
    path.write_bytes(path.read_bytes()[:-5])  # truncated
    assert reuse.get("k") is None
    path.write_bytes(b"garbage")
    assert reuse.get("k") is None


def test_reruns_reuse_charts_and_sheets_and_write_the_same_bytes_as_a_cold_run(plan, messy_inbox, tmp_path):
    cold = tmp_path / "cold"
    run_report("2017-08-17", inbox=messy_inbox, outbox=cold, cache=False)
    warm = tmp_path / "warm"
    run_report("2017-08-17", inbox=messy_inbox, outbox=warm)
    kept = sorted(p.name for p in default_outputs_path(warm).iterdir())
    assert any(k.startswith("charts-") for k in kept) and any(k.startswith("summary-sheet-") for k in kept)
    assert any(k.startswith("feedback-") for k in kept)
    assert list((cold / "2017-08-17" / "feedback").glob("*.xlsx"))  # the messy date has workbooks to send
    again = run_report("2017-08-17", inbox=messy_inbox, outbox=warm, force=True)
    assert _all_bytes(again.folder) == _all_bytes(cold / "2017-08-17")
    # Every kept entry damaged: the run draws everything again, with the same bytes.
    for path in default_outputs_path(warm).iterdir():
        path.write_bytes(path.read_bytes()[:-1] + b"!")
    damaged = run_report("2017-08-17", inbox=messy_inbox, outbox=warm, force=True)
    assert _all_bytes(damaged.folder) == _all_bytes(cold / "2017-08-17")


def test_charts_are_keyed_by_their_options_and_data(tmp_path):
    from pipeline.render.chart_process import ChartProcess
    from tests.render_factory import make_report_data

    data = make_report_data("2017-08-17")
    reuse = OutputCache(tmp_path / "outputs")
    with ChartProcess() as charts:
        charts.submit(data, tmp_path / "a", reuse)
        drawn = charts.result()
    with ChartProcess() as charts:
        charts.submit(data, tmp_path / "b", reuse)
        assert charts._ready is not None  # reused: nothing was sent to draw
        reused = charts.result()
    assert {k: p.read_bytes() for k, p in drawn.items()} == {k: p.read_bytes() for k, p in reused.items()}
    from pipeline.render.reuse import data_digest, key_of

    assert key_of("charts", [*data_digest(data), ["kk", "ru"]]) != key_of("charts", [*data_digest(data), ["kk"]])


def test_a_cell_thawed_from_the_cache_is_the_same_frozen_cell():
    from pipeline.ingest.model import RawCell

    for cell in (RawCell("Нысан", "D31", 8.0), RawCell("S", "A1", None, True, "#DIV/0!", True),
                 RawCell("S", "B2", dt.datetime(2017, 8, 17, 9, 30))):
        back = RawCell.from_dict(cell.to_dict())
        assert back == cell and hash(back) == hash(cell) and repr(back) == repr(cell)
        with pytest.raises(AttributeError):
            back.value = 1  # type: ignore[misc]


def test_cached_forms_are_decoded_after_the_workers_start_and_a_bad_row_is_read_again(plan, messy_inbox, tmp_path):
    from pipeline.ingest import isolate

    path = tmp_path / "ingest.sqlite"
    fp = plan_fingerprint(DEFAULT_PLAN)
    cache = IngestCache.open(path, fp)
    first = read_inbox(plan, messy_inbox, cache=cache)
    cache.close()
    # One stored form made undecodable, one file new (not in the cache): both must be read by workers.
    victim = next(f for f in first if f.readable)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE forms SET data = '{\"broken\": 1}' WHERE sha256 = ?", (victim.sha256,))
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM forms WHERE sha256 = ?", (next(f for f in first if f.readable and f is not victim).sha256,))
    seen: list[int] = []
    real_run = isolate.ReaderPool.run

    def run(self, items, on_done=None, on_form=None, prepare=None):
        def watched() -> None:
            seen.append(len(self.workers))  # workers already forked when the cache is decoded
            assert prepare is not None
            prepare()
        return real_run(self, items, on_done, on_form, watched if prepare else None)

    isolate.ReaderPool.run = run  # type: ignore[method-assign]
    try:
        cache = IngestCache.open(path, fp)
        second = read_inbox(plan, messy_inbox, cache=cache)
        cache.close()
    finally:
        isolate.ReaderPool.run = real_run  # type: ignore[method-assign]
    assert seen and seen[0] >= 1
    assert [f.to_dict() for f in second] == [f.to_dict() for f in first]
