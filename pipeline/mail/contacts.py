"""Who is who by e-mail: the units' addresses, the department's own list and the report's addressee.

The contacts file (YAML, beside mail.toml) is checked against the plan like the plan itself: a unit code
the plan does not know, an address that is not one, the same address for two units — each named by its
key in the console's language. Units without an address are allowed (their messages are drafts without
a recipient) and listed by `python -m pipeline mail check`.

    addressee: ["Облыс әкімінің орынбасары <deputy@example.kz>"]
    department: [bilim@example.kz]
    units:
      <unit code from the plan>: [district-office@example.kz]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import EXIT
from pipeline.mail.settings import MailFault, words
from pipeline.plan import Plan
from pipeline.texts import SafeLoader


@dataclass(frozen=True)
class Contacts:
    path: Path | None
    addressee: tuple[str, ...] = ()
    department: tuple[str, ...] = ()
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def of(self, unit: str) -> tuple[str, ...]:
        return self.units.get(unit, ())

    def unit_of(self, address: str, department_code: str) -> str | None:
        """The unit an address belongs to (the department's code for the department's list), or None."""
        wanted = address.strip().casefold()
        if not wanted:
            return None
        if any(_bare(a) == wanted for a in self.department):
            return department_code
        for unit, addresses in self.units.items():
            if any(_bare(a) == wanted for a in addresses):
                return unit
        return None

    def missing(self, plan: Plan) -> list[str]:
        return [u.code for u in plan.units if not self.units.get(u.code)]


def _bare(address: str) -> str:
    return getaddresses([address])[0][1].strip().casefold()


def load_contacts(path: Path | None, plan: Plan) -> Contacts:
    """No file: nobody has an address yet (every message is a draft without a recipient)."""
    if path is None or not Path(path).exists():
        return Contacts(path=None)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SafeLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        raise MailFault("mail-contacts-invalid", EXIT["usage"], path=path,
                        detail=str(getattr(exc, "strerror", "") or exc)) from None
    except yaml.YAMLError as exc:
        raise MailFault("mail-contacts-invalid", EXIT["usage"], path=path, detail=str(exc)) from None
    problems: list[tuple[str, str]] = []
    contacts = _check(Path(path), data if data is not None else {}, plan, problems)
    if problems:
        raise MailFault("mail-contacts-invalid", EXIT["usage"], path=path,
                        detail="".join(f"\n  {key}: {message}" for key, message in problems))
    return contacts


def _check(path: Path, data: Any, plan: Plan, problems: list[tuple[str, str]]) -> Contacts:
    w = words("check")

    def say(key: str, message: str, **values: object) -> None:
        problems.append((key, str(w[message]).format(**values)))

    if not isinstance(data, dict):
        say("-", "not_mapping")
        return Contacts(path)
    allowed = {"addressee", "department", "units"}
    for extra in sorted(set(map(str, data)) - allowed):
        say(extra, "unknown_key", allowed=", ".join(sorted(allowed)))
    seen: dict[str, str] = {}

    def addresses(key: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            say(key, "not_list")
            return ()
        out = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, str):
                say(where, "not_text", value=item)
                continue
            parsed = getaddresses([item])
            name, address = parsed[0] if len(parsed) == 1 else ("", "")
            if not _looks_like_address(address):
                say(where, "bad_address", value=item)
                continue
            folded = address.casefold()
            other = seen.get(folded)
            if other is not None and other != key and (key.startswith("units.") or other.startswith("units.")):
                say(where, "address_twice", value=address, other=other)
            seen.setdefault(folded, key)
            out.append(_display(name, address))
        return tuple(out)

    addressee = addresses("addressee", data.get("addressee"))
    department = addresses("department", data.get("department"))
    units: dict[str, tuple[str, ...]] = {}
    raw_units = data.get("units") or {}
    from pipeline.messages import current_lang

    ru = current_lang() == "ru"
    known = {u.code: (u.name_ru if ru and u.name_ru else u.name) for u in plan.units}
    if not isinstance(raw_units, dict):
        say("units", "not_mapping")
        raw_units = {}
    for code, value in raw_units.items():
        key = f"units.{code}"
        if code not in known:
            if code == plan.department.code:
                say(key, "department_is_top")
            else:
                say(key, "unknown_unit", unit=code,
                    units=", ".join(f"{c} ({n})" for c, n in known.items()))
            continue
        units[str(code)] = addresses(key, value)
    return Contacts(path, addressee, department, units)


def _display(name: str, address: str) -> str:
    """«Name <address>» as people write it (the message headers encode it when they are written)."""
    if not name:
        return address
    if any(ch in name for ch in '()<>@,;:\\".[]'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _looks_like_address(address: str) -> bool:
    if address.count("@") != 1 or any(ch.isspace() for ch in address):
        return False
    local, domain = address.split("@")
    return bool(local) and "." in domain and not domain.startswith(".") and not domain.endswith(".")
