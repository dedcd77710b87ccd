"""13 districts uploading at once near a deadline: every upload answered, stored and audited."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from pipeline.portal.access import portal_dir

from .conftest import LiveServer, Site, csrf_of


def test_thirteen_clients_at_once_all_stored_and_audited(site: Site, live: LiveServer, workbooks) -> None:
    units = [role for role in site.links if role != "department"]
    assert len(units) == 13
    barrier = threading.Barrier(len(units))
    answers: dict[str, httpx.Response | BaseException] = {}

    def district(unit: str) -> None:
        try:
            with httpx.Client(base_url=live.url, timeout=120) as client:
                token = csrf_of(client, site.links[unit])
                data = workbooks[unit].read_bytes()
                barrier.wait()
                answers[unit] = client.post(f"{site.links[unit]}/upload", data={"csrf": token},
                                            files={"file": (f"{unit}.xlsx", data)},
                                            headers={"Accept": "application/json"})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            answers[unit] = exc

    threads = [threading.Thread(target=district, args=(u,)) for u in units]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    bodies = {}
    for unit in units:
        answer = answers[unit]
        assert isinstance(answer, httpx.Response), f"{unit}: {answer!r}"
        assert answer.status_code == 200, (unit, answer.text)
        bodies[unit] = answer.json()
        assert bodies[unit]["stored"] is True
    stored = {p.relative_to(site.inbox).as_posix(): p for p in site.inbox.rglob("*") if p.is_file()}
    assert len(stored) == 13
    records = [json.loads(line) for line in (portal_dir(site.outbox) / "audit.jsonl").read_text().splitlines()]
    assert len(records) == 13
    by_name = {r["stored_name"]: r for r in records}
    for unit, body in bodies.items():
        path: Path = stored[body["stored_name"]]
        assert path.read_bytes() == workbooks[unit].read_bytes()
        assert by_name[body["stored_name"]]["sha256"] == body["sha256"] and by_name[body["stored_name"]]["unit"] == unit
