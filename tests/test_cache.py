"""The cache of read files: hits by content, invalidation by plan, corrupt file ignored, same report."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from pipeline.ingest import read_files, read_inbox
from pipeline.ingest.cache import IngestCache, default_cache_path
from pipeline.plan import DEFAULT_PLAN, plan_fingerprint
from pipeline.report import run_report
from pipeline.tools.samples import generate_samples

AUG8 = dt.date(2017, 8, 8)


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    generate_samples(plan, folder, seed=2017, dates=[AUG8])
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    return folder


def _dicts(forms):
    return [f.to_dict() for f in forms]


def test_second_read_comes_from_the_cache_and_equals_the_first(plan, inbox, tmp_path):
    path = tmp_path / "c" / "ingest.sqlite"
    fp = plan_fingerprint(DEFAULT_PLAN)
    cache = IngestCache.open(path, fp)
    first = read_inbox(plan, inbox, cache=cache)
    assert cache.hits == 0 and cache.stored == len(first)
    cache.close()
    cache = IngestCache.open(path, fp)
    calls: list[tuple[int, int]] = []
    second = read_inbox(plan, inbox, cache=cache, progress=lambda d, t: calls.append((d, t)))
    assert cache.hits == len(second) and cache.stored == 0
    assert _dicts(second) == _dicts(first)
    assert calls[-1] == (len(second), len(second))


def test_a_copy_under_another_name_is_a_hit_with_its_own_name_and_time(plan, inbox, tmp_path):
    fp = plan_fingerprint(DEFAULT_PLAN)
    cache = IngestCache.open(tmp_path / "ingest.sqlite", fp)
    src = inbox / "broken.xlsx"
    read_files(plan, [src], root=inbox, cache=cache)
    copy = tmp_path / "renamed.xlsx"
    shutil.copyfile(src, copy)
    os.utime(copy, (1_500_000_000, 1_500_000_000))
    [form] = read_files(plan, [copy], root=tmp_path, cache=cache)
    assert cache.hits == 1
    assert form.name == "renamed.xlsx" and form.mtime == 1_500_000_000
    assert form.problems and all(p.file == "renamed.xlsx" for p in form.problems)


def test_another_plan_invalidates_the_cache(plan, inbox, tmp_path):
    path = tmp_path / "ingest.sqlite"
    cache = IngestCache.open(path, "plan-a")
    read_inbox(plan, inbox, cache=cache)
    cache.close()
    cache = IngestCache.open(path, "plan-b")
    assert len(cache) == 0
    read_inbox(plan, inbox, cache=cache)
    assert cache.hits == 0


@pytest.mark.parametrize("garbage", [b"", b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_cache_file_is_rebuilt_never_an_error(plan, inbox, tmp_path, garbage):
    path = tmp_path / "ingest.sqlite"
    path.write_bytes(garbage)
    cache = IngestCache.open(path, "fp")
    forms = read_inbox(plan, inbox, cache=cache)
    cache.close()
    assert forms
    cache = IngestCache.open(path, "fp")
    assert len(cache) > 0  # rebuilt and usable


def test_a_cache_in_an_unwritable_place_is_just_off(plan, inbox, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = IngestCache.open(blocker / "sub" / "ingest.sqlite", "fp")  # parent is a file
    assert not cache.enabled
    assert read_inbox(plan, inbox, cache=cache)


def test_transient_answers_are_not_cached(plan, inbox, tmp_path):
    from pipeline.ingest.cache import cacheable
    from pipeline.ingest.model import RawForm
    from pipeline.problems import Problem

    crashed = RawForm("a.xlsx", "ab" * 32, 10, 0.0, None, problems=(Problem.make("file-reader-crashed", "a.xlsx"),))
    assert not cacheable(crashed)


def test_report_with_cache_equals_report_without(inbox, tmp_path):
    cached_outbox, plain_outbox = tmp_path / "a", tmp_path / "b"
    run_report("2017-08-08", inbox=inbox, outbox=cached_outbox)  # fills the cache
    assert default_cache_path(cached_outbox).exists()
    again = run_report("2017-08-08", inbox=inbox, outbox=cached_outbox)
    plain = run_report("2017-08-08", inbox=inbox, outbox=plain_outbox, cache=False)
    assert not default_cache_path(plain_outbox).exists()
    assert [f.raw.to_dict() for f in again.files] == [f.raw.to_dict() for f in plain.files]
    assert [p.as_row() for p in again.problems] == [p.as_row() for p in plain.problems]
    assert (cached_outbox / "2017-08-08" / "figures.csv").read_bytes() == (plain_outbox / "2017-08-08" / "figures.csv").read_bytes()


@pytest.mark.parametrize("bad_cell", [
    {"sheet": "Нысан", "cell": "D6", "value": {"$type": "date", "v": "2017-02-30"}},  # a date that is none
    {"sheet": "Нысан", "cell": "D6", "value": {"$type": "colour", "v": "red"}},
    {"sheet": "Нысан", "value": 5},  # no address
    "D6",
])
def test_cached_cells_are_made_when_used_and_a_row_that_would_not_decode_is_still_a_miss(plan, inbox, tmp_path,
                                                                                          bad_cell):
    """Issue 20: forms from the cache make their cells only when asked (LazyCells); every cell is proved
    decodable at thaw time, so a damaged row is a miss (read again) and never an error later."""
    import json
    import pickle
    import sqlite3

    from pipeline.ingest.model import LazyCells

    path = tmp_path / "ingest.sqlite"
    cache = IngestCache.open(path, "fp")
    first = read_inbox(plan, inbox, cache=cache)
    cache.close()
    cache = IngestCache.open(path, "fp")
    again = read_inbox(plan, inbox, cache=cache)
    cache.close()
    thawed = [f for f in again if isinstance(f.cells, LazyCells)]
    assert thawed and cache.hits == len(thawed)
    assert _dicts(again) == _dicts(first) and [f.cells for f in again] == [f.cells for f in first]
    # the same repr as read afresh: reused outputs (feedback) are keyed by it
    assert [repr(f) for f in again] == [repr(f) for f in first]
    victim = thawed[0]
    code = next(iter(victim.cells))
    assert victim.cells[code] is victim.cells[code]  # made once
    assert pickle.loads(pickle.dumps(victim)) == victim
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute("SELECT data FROM forms WHERE sha256 = ?", (victim.sha256,)).fetchone()
        row = json.loads(text)
        row["cells"][code] = bad_cell
        conn.execute("UPDATE forms SET data = ? WHERE sha256 = ?", (json.dumps(row), victim.sha256))
    cache = IngestCache.open(path, "fp")
    third = read_inbox(plan, inbox, cache=cache)
    cache.close()
    assert cache.hits == len(thawed) - 1  # the damaged row was read again from the file
    assert _dicts(third) == _dicts(first)


def _read_with_subs(plan, inbox, path):
    from pipeline.validate import Validation
    from pipeline.validate.store import rules_fingerprint

    cache = IngestCache.open(path, "fp", rules_fingerprint())
    validation = Validation(plan, store=cache)
    forms = read_inbox(plan, inbox, cache=cache, on_form=validation.add)
    subs = validation.results(forms)
    validation.save()
    cache.close()
    return forms, subs, cache


@pytest.mark.parametrize("damage", ["data", "head", "digest", "peek", "count"])
def test_a_form_whose_submission_is_stored_is_not_decoded_and_a_damaged_row_is_still_right(
        plan, inbox, tmp_path, damage):
    """Issue 20 (re-run cost): when the validated submission is stored too, only the row's small head is
    decoded; the cells stay text until asked for. The head's digest proves the text is the row the cache
    wrote: damage to the text, the head or the digest falls back to decoding the row, or to reading the file
    again — the forms and submissions are those of a cold read either way."""
    import json
    import sqlite3

    from pipeline.forms.layout import SOURCE_CODE
    from pipeline.ingest.model import LazyCells

    path = tmp_path / "ingest.sqlite"
    first, first_subs, _ = _read_with_subs(plan, inbox, path)
    again, again_subs, cache = _read_with_subs(plan, inbox, path)
    lazy = [f for f in again if isinstance(f.cells, LazyCells)]
    assert lazy and cache.sub_hits == len(lazy)
    assert not any(f.cells.decoded for f in lazy)  # nothing asked for the cells yet
    assert [len(f.cells) for f in lazy] == [len(f.cells) for f in first if f.sha256 in {g.sha256 for g in lazy}]
    assert all(f.cells.get(SOURCE_CODE) is None and SOURCE_CODE not in f.cells for f in lazy)
    assert not any(f.cells.decoded for f in lazy)  # the provenance cell is answered from the head
    assert _dicts(again) == _dicts(first) and [repr(f) for f in again] == [repr(f) for f in first]
    assert [s.values for s in again_subs] == [s.values for s in first_subs]

    victim = lazy[0]
    with sqlite3.connect(path) as conn:
        head_text, text = conn.execute("SELECT head, data FROM forms WHERE sha256 = ?", (victim.sha256,)).fetchone()
        head, row = json.loads(head_text), json.loads(text)
        if damage == "data":  # a cell's value changed: the digest no longer matches, the row is decoded
            code = next(c for c, cell in row["cells"].items() if isinstance(cell["value"], float))
            row["cells"][code]["value"] = {"$type": "colour", "v": "red"}  # and does not decode: a miss
            text = json.dumps(row, ensure_ascii=False)
        elif damage == "head":
            head_text = "{not json"
        elif damage == "digest":
            head["digest"] = "0" * 64
        elif damage == "peek":
            head["peek"] = {SOURCE_CODE: {"sheet": 1}}
        else:
            head["count"] = "many"
        if damage not in ("data", "head"):
            head_text = json.dumps(head)
        conn.execute("UPDATE forms SET head = ?, data = ? WHERE sha256 = ?", (head_text, text, victim.sha256))
    third, third_subs, cache = _read_with_subs(plan, inbox, path)
    assert cache.hits == len(lazy) - (damage == "data")  # the undecodable row was read from the file again
    assert _dicts(third) == _dicts(first) and [repr(f) for f in third] == [repr(f) for f in first]
    assert [s.values for s in third_subs] == [s.values for s in first_subs]
    assert [s.problems for s in third_subs] == [s.problems for s in first_subs]
