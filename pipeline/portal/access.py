"""Secret links: who may act for which unit, the server's own key, CSRF tokens.

Each unit (and the department) gets a link carrying a random secret of 256 bits. Only the sha256 of each
secret is stored, in `<outbox>/.portal/links.json`, so a copy of the outbox does not give anyone a link.
With that much entropy a plain hash is enough (nothing to brute-force, so no slow KDF is needed).
Lookups compare against every stored hash with `hmac.compare_digest`, so the time taken does not depend
on which unit (if any) a guess is close to. The file is read on every request, so a rotated link stops
working at once, also in a server that is already running.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic import atomic_write
from pipeline.plan import Plan

PORTAL_DIR = ".portal"
LINKS_FILE = "links.json"
KEY_FILE = "server.key"
DEPARTMENT = "department"  # the role of the department's link (also its unit code in the plan)
SECRET_BYTES = 32  # 256 bits; the issue asks for at least 128
#: what a secret looks like in a URL; anything else is refused before hashing (and answers 404 like a miss)
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{40,64}$")


def portal_dir(outbox: Path) -> Path:
    return Path(outbox) / PORTAL_DIR


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def load_hashes(outbox: Path) -> dict[str, str]:
    """role (unit code or 'department') → sha256 of its secret; empty when no links were issued."""
    try:
        data = json.loads((portal_dir(outbox) / LINKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hashes = data.get("hashes", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in hashes.items()}


def roles(plan: Plan) -> list[str]:
    return [u.code for u in plan.units] + [DEPARTMENT]


def issue_links(outbox: Path, plan: Plan, rotate: str | None = None) -> dict[str, str]:
    """New secrets: for every role, or only for `rotate`. Returns role → secret (shown once, never stored)."""
    if rotate is not None and rotate not in roles(plan):
        raise KeyError(rotate)
    hashes = load_hashes(outbox) if rotate is not None else {}
    fresh = {role: secrets.token_urlsafe(SECRET_BYTES) for role in ([rotate] if rotate else roles(plan))}
    hashes.update({role: _hash(secret) for role, secret in fresh.items()})
    body = json.dumps({"hashes": hashes}, indent=2, sort_keys=True) + "\n"
    atomic_write(portal_dir(outbox) / LINKS_FILE, body.encode("utf-8"), mode=0o600)
    return fresh


def resolve(outbox: Path, secret: str) -> str | None:
    """The role a secret belongs to, or None. Every stored hash is compared, each in constant time."""
    if not SECRET_SHAPE.match(secret):
        return None
    digest = _hash(secret)
    found = None
    for role, stored in load_hashes(outbox).items():
        if hmac.compare_digest(digest, stored):
            found = role
    return found


@dataclass(frozen=True)
class ServerKey:
    """A random key kept under the outbox (0600), for CSRF tokens: stable across restarts."""

    key: bytes

    @classmethod
    def load(cls, outbox: Path) -> ServerKey:
        path = portal_dir(outbox) / KEY_FILE
        try:
            key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            if len(key) >= 32:
                return cls(key)
        except (OSError, ValueError):
            pass
        key = secrets.token_bytes(32)
        atomic_write(path, key.hex().encode("ascii"), mode=0o600)
        return cls(key)

    def csrf_token(self, secret: str) -> str:
        """Tied to the link: a token from one link is worthless with another."""
        return hmac.new(self.key, b"csrf:" + _hash(secret).encode("ascii"), hashlib.sha256).hexdigest()

    def csrf_ok(self, secret: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(secret), str(token))
