"""The cache of parsed YAML (pipeline.yaml_cache, issue 20's P5): the same data as a parse, never a stale,
damaged or foreign answer, and the plan's duplicate keys still refused with their code and line."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml

from pipeline.plan import load_plan
from pipeline.plan.load import DEFAULT_PLAN, PlanError, _LOADED
from pipeline.yaml_cache import cache_folder, cached_yaml

TEXT = """\
a: 1
b: 1.0
c: true
d: 2017-08-17
e: 2017-08-17 09:30:00+05:00
f: [x, null, 0.5, -3]
g: {h: "", i: .nan, j: "2017-08-17"}
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _LOADED.clear()  # the plan loader's own in-process memo
    yield cache_folder()
    _LOADED.clear()


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def _same_types(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


def _parse(text: str, counter: list[int]):
    def parse():
        counter.append(1)
        return yaml.safe_load(text)
    return parse


def test_a_second_parse_comes_from_the_cache_with_the_same_values_and_types(own_cache):
    calls: list[int] = []
    first = cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    second = cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    assert len(calls) == 1 and len(_files(own_cache)) == 1
    assert _same_types(second, yaml.safe_load(TEXT)) and _same_types(first, second)
    assert second["d"] == dt.date(2017, 8, 17) and second["e"].utcoffset() == dt.timedelta(hours=5)
    assert second["g"]["j"] == "2017-08-17"  # text that looks like a date stays text
    changed = TEXT.replace("a: 1", "a: 2")
    assert cached_yaml(changed, _parse(changed, calls), kind="t")["a"] == 2 and len(calls) == 2
    cached_yaml(TEXT, _parse(TEXT, calls), kind="other")  # another loader: its own answer
    assert len(calls) == 3


@pytest.mark.parametrize("damage", ["body", "digest", "key", "truncated", "not json"])
def test_a_damaged_or_foreign_file_is_a_miss_and_is_written_again(own_cache, damage):
    calls: list[int] = []
    cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    [path] = _files(own_cache)
    head, body = path.read_bytes().split(b"\n", 1)
    key, digest = head.split(b" ")
    if damage == "body":  # a value changed, the digest left as it was
        body = body.replace(b'"a":1', b'"a":7')
    elif damage == "digest":
        digest = b"0" * 64
    elif damage == "key":  # another text's answer put under this text's name
        key = b"f" * 64
    elif damage == "truncated":
        body = body[: len(body) // 2]
    else:
        body = b"{not json"
        digest = __import__("hashlib").sha256(body).hexdigest().encode()
    path.write_bytes(key + b" " + digest + b"\n" + body)
    again = cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    assert len(calls) == 2 and _same_types(again, yaml.safe_load(TEXT))
    assert cached_yaml(TEXT, _parse(TEXT, calls), kind="t")["a"] == 1 and len(calls) == 2  # written again


@pytest.mark.parametrize("text", ["1: one\n2: two\n", "a: !!binary aGVsbG8=\n", 'a: {"$date": "2017-08-17"}\n',
                                  "a: !!set {x, y}\n", "true: yes\n"])
def test_what_json_cannot_hold_exactly_is_parsed_every_time(own_cache, text):
    calls: list[int] = []
    first = cached_yaml(text, _parse(text, calls), kind="t")
    second = cached_yaml(text, _parse(text, calls), kind="t")
    assert len(calls) == 2 and not _files(own_cache)
    assert first == second == yaml.safe_load(text)


def test_a_folder_others_may_write_in_is_not_used(own_cache):
    own_cache.mkdir(parents=True)
    os.chmod(own_cache, 0o777)
    calls: list[int] = []
    cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    cached_yaml(TEXT, _parse(TEXT, calls), kind="t")
    assert len(calls) == 2 and not _files(own_cache)


def test_an_unusable_cache_place_just_parses(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    calls: list[int] = []
    assert cached_yaml(TEXT, _parse(TEXT, calls), kind="t")["a"] == 1
    assert cached_yaml(TEXT, _parse(TEXT, calls), kind="t")["a"] == 1 and len(calls) == 2


def test_the_plan_from_the_cache_equals_the_parsed_plan_and_duplicate_keys_are_still_refused(own_cache, tmp_path):
    parsed = load_plan(DEFAULT_PLAN)
    assert len(_files(own_cache)) == 1
    _LOADED.clear()
    assert repr(load_plan(DEFAULT_PLAN)) == repr(parsed)  # the whole plan, from the cached data
    # A plan's text with a key given twice is never answered from the cache of the text without it.
    text = DEFAULT_PLAN.read_text(encoding="utf-8")
    twice = tmp_path / "plan.yaml"
    twice.write_text(text.replace("campaign:\n", "campaign:\n  year: 2018\n", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PlanError) as err:
            load_plan(twice)
        [problem] = err.value.problems
        assert problem.code == "plan-duplicate-key" and problem.params["key"] == "year"
        years = [n for n, line in enumerate(twice.read_text(encoding="utf-8").splitlines(), 1)
                 if line.startswith("  year:")]
        assert problem.params["line"] == str(years[1])  # where the key comes the second time
    # The data loader (safe, duplicates allowed) and the plan's keep their answers apart.
    from pipeline.texts import safe_load
    cached_yaml(twice.read_text(encoding="utf-8"), lambda: safe_load(twice.read_text(encoding="utf-8")), kind="safe")
    _LOADED.clear()
    with pytest.raises(PlanError) as err:
        load_plan(twice)
    assert err.value.problems[0].code == "plan-duplicate-key"


def test_a_tampered_plan_answer_is_not_used(own_cache):
    """A cached plan whose data was changed by hand (digest not recomputed) is parsed again."""
    parsed = load_plan(DEFAULT_PLAN)
    [path] = _files(own_cache)
    head, body = path.read_bytes().split(b"\n", 1)
    data = json.loads(body)
    data["campaign"]["year"] = 1999
    path.write_bytes(head + b"\n" + json.dumps(data, ensure_ascii=False).encode())
    _LOADED.clear()
    assert load_plan(DEFAULT_PLAN).campaign.year == parsed.campaign.year
