"""Everything a mail job needs, loaded and checked once: settings, contacts, plan, inbox and outbox."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.mail.contacts import Contacts, load_contacts
from pipeline.mail.settings import MailSettings, load_settings
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan
from pipeline.plan.clock import local_now

SETTINGS_ENV = "MZ_MAIL_SETTINGS"


def settings_path(given: Path | None, default: Path) -> tuple[Path, bool]:
    """(the settings file to use, whether it was asked for by name): --mail-settings, MZ_MAIL_SETTINGS,
    else `default` (mail.toml), which may be absent."""
    if given is not None:
        return Path(given), True
    env = os.environ.get(SETTINGS_ENV, "").strip()
    if env:
        return Path(env), True
    return default, False


@dataclass
class MailContext:
    settings: MailSettings
    contacts: Contacts
    plan: Plan
    plan_path: Path
    inbox: Path
    outbox: Path
    #: now on the campaign's clock (tests give a fake one); None: the plan's `utc_offset`
    now: Callable[[], dt.datetime] | None = None

    def __post_init__(self) -> None:
        if self.now is None:
            plan = self.plan
            self.now = lambda: local_now(plan)

    @classmethod
    def load(cls, settings_file: Path, *, required: bool = False, plan_path: Path = DEFAULT_PLAN,
             inbox: Path, outbox: Path, now: Callable[[], dt.datetime] | None = None) -> MailContext:
        plan = load_plan(plan_path)
        settings = load_settings(settings_file, required=required)
        contacts = load_contacts(settings.contacts_path, plan)
        return cls(settings, contacts, plan, Path(plan_path), Path(inbox), Path(outbox), now)
