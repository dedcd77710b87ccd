"""Fixtures for the mail tests: a real Dovecot (one per session, a fresh user per test), real aiosmtpd
servers, district forms, settings and contacts files written as a department would."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.forms import write_form
from pipeline.plan import Plan, load_plan
from pipeline.tools.mailservers import Dovecot, dovecot_missing
from pipeline.tools.samples import fill_form, sample_values

DATE = dt.date(2017, 8, 17)
DEPT = "mektep@bilim.example.kz"
REPO = Path(__file__).resolve().parents[2]


def address(unit: str) -> str:
    return f"{unit}@akimat.example.kz"


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    reason = dovecot_missing()
    if reason:
        pytest.skip(reason)
    with Dovecot() as server:
        yield server


@dataclass
class Mailbox:
    server: Dovecot
    user: str
    password: str

    def append(self, messages: list[bytes], folder: str = "INBOX") -> None:
        self.server.append(self.user, messages, folder)

    def messages(self, folder: str = "INBOX") -> list[tuple[int, bytes, bytes]]:
        return self.server.messages(self.user, folder)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    user, password = dovecot.new_user()
    return Mailbox(dovecot, user, password)


@dataclass
class Desk:
    """A department's working folder: inbox, outbox, mail.toml, contacts.yaml."""

    root: Path
    inbox: Path
    outbox: Path
    settings: Path
    contacts: Path
    env: dict[str, str]


def write_settings(root: Path, *, imap: dict[str, object] | None = None, smtp: dict[str, object] | None = None,
                   schedule: dict[str, object] | None = None, extra: str = "") -> Path:
    lines = [f'from = "Облыстық білім басқармасы <{DEPT}>"', f'reply_to = "{DEPT}"', 'contacts = "contacts.yaml"', extra]
    for name, table in (("imap", imap), ("smtp", smtp), ("schedule", schedule)):
        if table:
            lines.append(f"[{name}]")
            for key, value in table.items():
                if isinstance(value, bool):
                    text = "true" if value else "false"
                elif isinstance(value, (int, float)):
                    text = str(value)
                else:
                    text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
                lines.append(f"{key} = {text}")
    path = root / "mail.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_contacts(root: Path, plan: Plan, *, skip: tuple[str, ...] = ()) -> Path:
    lines = ["addressee: [\"Облыс әкімінің орынбасары <deputy@akimat.example.kz>\"]",
             f"department: [{DEPT}, director@bilim.example.kz]", "units:"]
    for unit in plan.units:
        if unit.code not in skip:
            lines.append(f"  {unit.code}: [{address(unit.code)}]")
    path = root / "contacts.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def imap_table(mailbox: Mailbox, **overrides: object) -> dict[str, object]:
    table: dict[str, object] = {"host": "127.0.0.1", "port": mailbox.server.port, "tls": "none",
                                "user": mailbox.user, "password_env": "MZ_TEST_IMAP_PASSWORD"}
    table.update(overrides)
    return table


@pytest.fixture
def desk(tmp_path: Path, plan: Plan, monkeypatch: pytest.MonkeyPatch) -> Desk:
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    contacts = write_contacts(tmp_path, plan)
    settings = write_settings(tmp_path)
    return Desk(tmp_path, inbox, outbox, settings, contacts, {})


@pytest.fixture(scope="session")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A good form for 17.08 per unit (and the department); `akzhaiyk-bad` has a word in a number cell,
    `terekti-16` is Теректі's form for 08.08."""
    plan = load_plan()
    folder = tmp_path_factory.mktemp("mailforms")
    out: dict[str, Path] = {}
    for code in [u.code for u in plan.units] + [plan.department.code]:
        blank = write_form(plan, code, folder / f"blank-{code}.xlsx")
        values = sample_values(plan, code, DATE)
        values["form.filled_date"] = DATE - dt.timedelta(days=1)
        out[code] = folder / f"{code}.xlsx"
        fill_form(blank, out[code], values)
        if code == "akzhaiyk":
            bad = dict(values)
            figure = next(f.code for f in plan.figures if f.unit == "count" and f.of is None and f.code in values)
            bad[figure] = "көп"
            out["akzhaiyk-bad"] = folder / "akzhaiyk-bad.xlsx"
            fill_form(blank, out["akzhaiyk-bad"], bad)
        if code == "terekti":
            early = sample_values(plan, code, dt.date(2017, 8, 8))
            early["form.filled_date"] = dt.date(2017, 8, 7)
            out["terekti-08"] = folder / "terekti-08.xlsx"
            fill_form(blank, out["terekti-08"], early)
    return out


def env_with(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(values)
    return env
