"""Fixtures for the portal tests: a fresh inbox/outbox, issued links, real sample workbooks."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.forms import write_form
from pipeline.plan import Plan, load_plan
from pipeline.portal import PortalConfig, create_app, make_links
from pipeline.tools.samples import fill_form, sample_values

DATE = dt.date(2017, 8, 17)
TODAY = dt.date(2017, 8, 16)  # the day before the deadline: 17.08 is the next reporting date
REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "spreadsheets"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Site:
    inbox: Path
    outbox: Path
    links: dict[str, str]  # role → path ("/p/<secret>")
    config: PortalConfig


def key_figure(plan: Plan, values: dict[str, object]) -> str:
    """A whole-number figure the unit's form holds (a word there is a value-not-number error)."""
    return next(f.code for f in plan.figures if f.unit == "count" and f.of is None and f.code in values)


def pytest_configure(config: pytest.Config) -> None:
    # The client threads of these tests live in the pytest process, which forks reader workers in other
    # tests: keep their malloc arenas from eating the workers' address-space limit (see few_malloc_arenas).
    from pipeline.portal.uploads import few_malloc_arenas

    few_malloc_arenas()
    # Starlette's TestClient still runs on httpx (pinned); its nudge towards httpx2 is not our concern here.
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="session")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per unit: a good form for 17.08 (`<unit>`), and for akzhaiyk one with a word in a number cell
    (`bad`) and its correction (`fixed`, a later fill date)."""
    plan = load_plan()
    folder = tmp_path_factory.mktemp("workbooks")
    out: dict[str, Path] = {}
    for code in [u.code for u in plan.units] + [plan.department.code]:
        blank = write_form(plan, code, folder / f"blank-{code}.xlsx")
        values = sample_values(plan, code, DATE)
        values["form.filled_date"] = DATE - dt.timedelta(days=1)
        out[code] = folder / f"{code}.xlsx"
        fill_form(blank, out[code], values)
        if code == "akzhaiyk":
            bad = dict(values)
            bad[key_figure(plan, values)] = "көп"
            out["bad"] = folder / "Ақжайық 17.08.xlsx"
            fill_form(blank, out["bad"], bad)
            fixed = dict(values)
            fixed["form.filled_date"] = DATE
            out["fixed"] = folder / "Ақжайық 17.08 түзетілген.xlsx"
            fill_form(blank, out["fixed"], fixed)
    return out


def make_site(tmp_path: Path, **overrides: object) -> Site:
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    plan = load_plan()
    links = {role: url.removeprefix("http://portal") for role, url in make_links(outbox, plan, "http://portal")}
    config = PortalConfig(inbox=inbox, outbox=outbox, today=lambda: TODAY, **overrides)  # type: ignore[arg-type]
    return Site(inbox, outbox, links, config)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
def client(site: Site) -> Iterator[object]:
    from starlette.testclient import TestClient

    with TestClient(create_app(site.config), base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(client: object, link: str) -> str:
    page = client.get(link)  # type: ignore[attr-defined]
    assert page.status_code == 200
    match = CSRF.search(page.text)
    assert match, "the page has no CSRF field"
    return match.group(1)


def upload(client: object, link: str, path: Path, *, token: str | None = None, json: bool = True,
           name: str | None = None) -> object:
    token = token if token is not None else csrf_of(client, link)
    headers = {"Accept": "application/json"} if json else {}
    with path.open("rb") as fh:
        return client.post(f"{link}/upload", data={"csrf": token},  # type: ignore[attr-defined]
                           files={"file": (name or path.name, fh, "application/octet-stream")},
                           headers=headers, follow_redirects=False)


SERVE = """
import datetime as dt, json, sys
from pathlib import Path
import uvicorn
from pipeline.portal import PortalConfig, create_app
a = json.loads(sys.argv[1])
today = dt.date.fromisoformat(a.pop("today"))
config = PortalConfig(inbox=Path(a.pop("inbox")), outbox=Path(a.pop("outbox")), plan_path=Path(a.pop("plan_path")),
                      today=lambda: today, **a)
uvicorn.run(create_app(config), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


class LiveServer:
    """The app under a real uvicorn on 127.0.0.1 and a free port, in a process of its own (as `serve` runs
    it): the server's threads never share this process, which forks reader workers in other tests."""

    def __init__(self, config: PortalConfig) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.args = {
            "inbox": str(config.inbox), "outbox": str(config.outbox), "plan_path": str(config.plan_path),
            "today": config.today().isoformat(), "max_upload_bytes": config.max_upload_bytes,
            "upload_rate": config.upload_rate, "request_rate": config.request_rate,
            "rate_window": config.rate_window, "check_slots": config.check_slots,
            "refresh_seconds": config.refresh_seconds, "read_timeout": config.read_timeout,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        import time
        import urllib.error
        import urllib.request

        self.process = subprocess.Popen([sys.executable, "-c", SERVE, json.dumps(self.args), str(self.port)],
                                        cwd=REPO)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/static/portal.css", timeout=2).close()
                return self
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("the portal did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def live(site: Site) -> Iterator[LiveServer]:
    with LiveServer(site.config) as server:
        yield server
