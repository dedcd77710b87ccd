"""The department page's mail panel (who would get a reminder, the drafts, the jobs' outcomes) and `serve`
running the mail jobs beside the portal without holding it up."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.plan import Plan, load_plan
from pipeline.portal import PortalConfig, create_app, make_links
from pipeline.tools.mailservers import free_port

from .conftest import REPO, Desk, Mailbox, address, imap_table, write_settings
from .mime import message

TODAY = dt.date(2017, 8, 16)
# Starlette's TestClient still runs on httpx (pinned); its nudge towards httpx2 is not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def site(desk: Desk, forms: dict[str, Path], plan: Plan):  # noqa: ANN201
    from starlette.testclient import TestClient

    # Only Теректі reported 08.08; for 17.08 Теректі, and Ақжайық with an error.
    shutil.copy(forms["terekti"], desk.inbox / "terekti-17.xlsx")
    shutil.copy(forms["akzhaiyk-bad"], desk.inbox / "akzhaiyk-17.xlsx")
    shutil.copy(forms["terekti-08"], desk.inbox / "terekti-08.xlsx")
    links = {role: url.removeprefix("http://portal") for role, url in make_links(desk.outbox, load_plan(), "http://portal")}
    config = PortalConfig(inbox=desk.inbox, outbox=desk.outbox, today=lambda: TODAY, mail_settings=desk.settings)
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        yield client, links


def test_department_sees_who_would_be_reminded_and_downloads_the_draft(site, plan: Plan) -> None:  # noqa: ANN001
    client, links = site
    page = client.get(links["department"])
    assert page.status_code == 200
    html = page.text
    assert 'id="mail"' in html
    # 17.08 is tomorrow: every unit without a usable form (all but Теректі) gets a reminder; Ақжайық's has errors.
    for unit in plan.units:
        marker = f'id="remind-{unit.code}-2017-08-17"'
        assert (marker in html) == (unit.code != "terekti"), unit.code
    # 08.08 is past: those without a form for it get a lateness notice.
    assert 'id="remind-terekti-2017-08-08"' not in html and 'id="remind-borli-2017-08-08"' in html
    draft = client.get(f"{links['department']}/mail/remind/2017-08-17/akzhaiyk")
    assert draft.status_code == 200 and draft.headers["content-type"].startswith("message/rfc822")
    parsed = message_from_bytes(draft.content, policy=policy.default)
    assert parsed["To"] == address("akzhaiyk") and parsed["X-Unsent"] == "1"
    body = parsed.get_body(("plain",)).get_content()
    assert "түзетуді қажет етеді" in body and "Нысан!" in body
    late = message_from_bytes(client.get(f"{links['department']}/mail/remind/2017-08-08/borli").content,
                              policy=policy.default)
    assert "Кешігу: 8 күн" in late.get_body(("plain",)).get_content()
    # A district's link never reaches the drafts; a unit that needs no reminder has none.
    assert client.get(f"{links['terekti']}/mail/remind/2017-08-17/akzhaiyk").status_code == 404
    assert client.get(f"{links['department']}/mail/remind/2017-08-17/terekti").status_code == 404
    assert client.get(f"{links['department']}/mail/remind/2017-08-17/..%2F..%2Fetc").status_code == 404
    ru = client.get(links["department"] + "?lang=ru").text
    assert "Кому будет письмо на 17.08.2017" in ru


def test_a_broken_settings_file_is_said_on_the_page(site, desk: Desk) -> None:  # noqa: ANN001
    client, links = site
    desk.settings.write_text('from = "not an address"\n', encoding="utf-8")
    html = client.get(links["department"]).text
    assert "mail-settings-invalid" in html and "not an address" in html


def test_serve_runs_the_fetch_job_and_keeps_answering(desk: Desk, mailbox: Mailbox, forms: dict[str, Path]) -> None:
    mailbox.append([message(address("oral"), "Орал", [("Орал.xlsx", forms["oral"].read_bytes(), "outlook")])])
    write_settings(desk.root, imap=imap_table(mailbox), schedule={"fetch_minutes": 1, "reply": False})
    port = free_port()
    env = {**os.environ, "MZ_TEST_IMAP_PASSWORD": mailbox.password}
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port), "--inbox", str(desk.inbox),
                               "--outbox", str(desk.outbox), "--mail-settings", str(desk.settings)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        stored: list[Path] = []
        answered = 0
        while time.monotonic() < deadline and not stored:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/static/portal.css", timeout=5).close()
                answered += 1
            except OSError:
                pass
            folder = desk.inbox / "mail"
            # A file being written is a hidden «.name.….tmp» until its rename: the reader skips it, so does this.
            stored = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
            time.sleep(0.5)
        assert stored and stored[0].read_bytes() == forms["oral"].read_bytes()
        assert answered > 0
        log = desk.outbox / ".mail" / "mail.log"
        assert " fetch ok " in log.read_text(encoding="utf-8")
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "Traceback" not in err
    assert mailbox.password not in out + err
