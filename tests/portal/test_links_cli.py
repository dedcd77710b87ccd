"""`python -m pipeline links`: one line per unit, the department last; secrets ≥128 bits; only hashes kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.cli import main
from pipeline.plan import load_plan
from pipeline.portal.access import resolve


def links_of(out: str) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in out.splitlines() if line]  # type: ignore[misc]


def test_links_prints_every_unit_then_the_department(tmp_path: Path, capsys) -> None:
    plan = load_plan()
    assert main(["links", "--outbox", str(tmp_path), "--base-url", "http://10.0.0.5:8017/"]) == 0
    rows = links_of(capsys.readouterr().out)
    assert [r for r, _ in rows] == [u.code for u in plan.units] + ["department"]
    secrets = []
    for role, url in rows:
        match = re.fullmatch(r"http://10\.0\.0\.5:8017/p/([A-Za-z0-9_-]+)", url)
        assert match, url
        secret = match.group(1)
        assert len(secret) * 6 >= 128  # url-safe base64: 6 bits a character
        assert resolve(tmp_path, secret) == role
        secrets.append(secret)
    assert len(set(secrets)) == len(secrets)
    stored = (tmp_path / ".portal" / "links.json").read_text()
    assert not any(s in stored for s in secrets)
    assert set(json.loads(stored)["hashes"]) == {r for r, _ in rows}


def test_rotate_replaces_one_link_only(tmp_path: Path, capsys) -> None:
    main(["links", "--outbox", str(tmp_path)])
    before = dict(links_of(capsys.readouterr().out))
    assert main(["links", "--outbox", str(tmp_path), "--rotate", "syrym"]) == 0
    [(role, url)] = links_of(capsys.readouterr().out)
    assert role == "syrym" and url != before["syrym"]
    assert resolve(tmp_path, before["syrym"].rsplit("/", 1)[1]) is None
    assert resolve(tmp_path, url.rsplit("/", 1)[1]) == "syrym"
    assert resolve(tmp_path, before["oral"].rsplit("/", 1)[1]) == "oral"


def test_rotate_unknown_unit_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["links", "--outbox", str(tmp_path), "--rotate", "atlantis"]) == 2
    assert "atlantis" in capsys.readouterr().err
