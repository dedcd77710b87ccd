"""YAML files parsed before, kept as JSON: every command starts by parsing the plan and the message
catalogue, and PyYAML builds their objects in Python (~7 ms for the plan, ~5 ms for messages.yaml, of a
`check` that should take a few tens of ms); the same data decodes from JSON in well under a millisecond.

Where: `$XDG_CACHE_HOME/mektepke-zhol/yaml/` (by default `~/.cache/…`), one file per text, at most
`KEEP` of them. Used only when that folder is the user's own and no one else may write in it; a folder that
cannot be made or used just means parsing as before.

Key: sha256 of the format, PyYAML's version, the kind of loader (the plan's refuses duplicate keys, so its
answers are kept apart) and the text itself: a changed file is another key, never a stale answer. Only a
successful parse is kept (a text with a mistake is parsed again each time and gets its own error).

Value: the key, the sha256 of the JSON that follows, and the JSON (dates and times tagged). A file whose key
or digest does not match, or that does not decode, is a miss and is written again. What JSON cannot hold
exactly (keys that are not text, binary or set values, a mapping that looks like a tag) is not kept: before
writing, the JSON is decoded back and compared with the parsed data value by value and type by type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = "1"
#: The most files kept (each plan text edited and run leaves one): the oldest go first.
KEEP = 32
_DATE, _DATETIME = "$date", "$datetime"


def cached_yaml(text: str, parse: Callable[[], Any], *, kind: str) -> Any:
    """`parse()`'s answer for `text`, from the cache when it holds it; `kind` names the loader."""
    import yaml

    digest = hashlib.sha256(f"{FORMAT}\0{yaml.__version__}\0{kind}\0".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    key = digest.hexdigest()
    folder = _folder()
    if folder is not None:
        found = _read(folder / f"{key}.json", key)
        if found is not None:
            return found[0]
    data = parse()
    if folder is not None:
        _write(folder, key, data)
    return data


def cache_folder() -> Path | None:
    """Where the cache would be (None: no home folder to put it in)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        root = Path(base) if base else Path.home() / ".cache"
    except RuntimeError:  # no home folder known
        return None
    return root / "mektepke-zhol" / "yaml"


def _folder() -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None  # someone else could put answers here
    return folder


def _read(path: Path, key: str) -> tuple[Any] | None:
    try:
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        stored_key, _, stored_digest = head.decode("ascii").partition(" ")
        if stored_key != key or stored_digest != hashlib.sha256(body).hexdigest():
            return None
        return (_untag(json.loads(body)),)
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def _write(folder: Path, key: str, data: Any) -> None:
    try:
        body = json.dumps(_tag(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not _same(_untag(json.loads(body)), data):
            return
    except (TypeError, ValueError, RecursionError):
        return  # something JSON does not hold exactly: parsed again next time
    payload = f"{key} {hashlib.sha256(body).hexdigest()}\n".encode("ascii") + body
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(temporary, folder / f"{key}.json")
        _prune(folder)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)


def _tag(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"not kept as JSON: {type(value).__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            if _DATE in value:
                return dt.date.fromisoformat(value[_DATE])
            if _DATETIME in value:
                return dt.datetime.fromisoformat(value[_DATETIME])
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal value by value and of the same types (1, 1.0 and True are equal to ==, not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b  # NaN
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return bool(a == b)
