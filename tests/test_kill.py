"""SIGKILL a report run at any moment: the previous outbox/<DATE>/ stays byte for byte, and the next run works."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.publish import Busy, outbox_lock, recover
from pipeline.tools.mess import add_mess
from pipeline.tools.samples import generate_samples

DATE = "2017-08-17"
REPO = Path(__file__).resolve().parent.parent
#: When a run is killed, as parts of a measured warm run's duration: start-up, reading, rendering, publishing, after.
#: Parts rather than seconds because the machine's speed decides where a run is at a given second.
MOMENTS = (0.03, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97, 1.3)


def _report(inbox: Path, outbox: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "report", "--date", DATE, "--inbox", str(inbox), "--outbox",
            str(outbox), "--no-progress"]


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _lock_free_within(outbox: Path, seconds: float) -> bool:

    deadline = time.monotonic() + seconds
    while True:
        try:
            with outbox_lock(outbox, wait=False):
                return True
        except Busy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


@pytest.mark.slow
def test_sigkill_at_any_moment_keeps_the_previous_report(plan, tmp_path):
    import datetime as dt

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    samples = generate_samples(plan, inbox, seed=2014, dates=[dt.date(2017, 8, 8), dt.date(2017, 8, 17)])
    add_mess(plan, samples, dt.date(2017, 8, 17))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run(_report(inbox, outbox), env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode in (0, 1), first.stderr
    folder = outbox / DATE
    (inbox / "Ілеспе хат.pdf").write_bytes(b"%PDF-1.4 warm")
    started = time.monotonic()
    warm = subprocess.run(_report(inbox, outbox), env=env, capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - started
    assert warm.returncode in (0, 1), warm.stderr
    killed = kept = 0
    for n, part in enumerate(MOMENTS):
        moment = part * duration
        previous = _snapshot(folder)
        # A new cover letter each time: another inbox, so a run that gets through publishes a new version (the
        # same inbox would make the same report, which is not published again).
        (inbox / f"Ілеспе хат {n}.pdf").write_bytes(b"%PDF-1.4 " + str(n).encode())
        proc = subprocess.Popen(_report(inbox, outbox), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(moment)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        # Nothing the killed run started (readers, the chart process) may live on holding the outbox lock.
        assert _lock_free_within(outbox, seconds=10), f"outbox lock still held after the kill at {moment}s"
        # What the next run does first under the lock: finish a switch killed between its two renames.
        with outbox_lock(outbox):
            recover(outbox)
        assert folder.is_dir() and not folder.is_symlink()
        now = _snapshot(folder)
        if now != previous:
            # The run published before the kill: the new report must be whole, every output its manifest
            # lists present with that content, and the replaced one kept byte for byte in .history/.
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            assert {o["file"]: o["sha256"] for o in manifest["outputs"]}.items() <= now.items()
            last = max((outbox / ".history" / DATE).iterdir(), key=lambda p: int(p.name))
            assert _snapshot(last) == previous
            continue
        kept += 1
        # Nothing half-written beside it either: only the folder, house-keeping and the killed run's folder.
        stray = {p.name for p in outbox.iterdir()} - {DATE, ".runs", ".lock", ".cache", ".history", ".campaign.json"}
        assert not stray, stray
    assert killed >= 3 and kept >= 3  # the moments must really hit runs before they publish
    # The next run succeeds, sweeps what the killed runs left, and publishes a whole new report.
    last = subprocess.run(_report(inbox, outbox), env=env, capture_output=True, text=True, timeout=300)
    assert last.returncode in (0, 1), last.stderr
    assert not list((outbox / ".runs").iterdir())
    assert {p.name for p in outbox.iterdir()} == {DATE, ".runs", ".lock", ".cache", ".history", ".campaign.json"}
    manifest_outputs = (folder / "manifest.json").read_text(encoding="utf-8")
    assert "akparat-2017-08-17.docx" in manifest_outputs
