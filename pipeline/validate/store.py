"""Validated submissions as text for the cache (`pipeline.ingest.cache`, table `subs`), and back.

A submission is a function of the file's bytes (its read form), the plan and the rules — the code of this
stage and the data files it reads — with three exceptions that are facts of the inbox or of the day, not of
the bytes, and are handled here:

* the file's name (in every problem): stored as None and put back from the form at hand;
* a name that lost personal data (`personal-data-in-name` from the name): such a file is not stored;
* a fill date after today (`filled-date-future`): tomorrow it may not be, so such a file is not stored.

`rules_fingerprint()` hashes the sources of validation, so a changed rule (code or data) never reuses an
old answer; the plan's own rules are in the plan fingerprint the cache adds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.ingest.model import RawForm
from pipeline.problems import Problem
from pipeline.validate.submission import Submission

_ROOT = Path(__file__).resolve().parent.parent
#: What a submission depends on besides the plan and the form: this stage's code, the masking and text
#: safety it applies, the form layout it reads by, and the catalogue and word lists they use.
RULE_SOURCES = (
    "validate/__init__.py", "validate/dates.py", "validate/numbers.py", "validate/plausibility.py",
    "validate/submission.py", "validate/units.py", "validate/store.py", "plan/names.py", "privacy.py",
    "safe_text.py",
    "problems.py", "forms/layout.py", "data/problems.yaml", "data/privacy.yaml",
)
#: Problems that say something about the inbox or the day rather than about the bytes.
_NOT_STORED = frozenset({"personal-data-in-name", "filled-date-future"})


@cache
def rules_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in RULE_SOURCES:
        path = _ROOT / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"(missing)")
    return digest.hexdigest()[:16]


def freeze(sub: Submission) -> str | None:
    """The submission as text without its file name; None when it must not be stored."""
    raw = sub.raw
    if not raw.sha256 or raw.name_masked:
        return None
    if any(p.code in _NOT_STORED or p.file != raw.name for p in sub.problems):
        return None
    data = {
        "unit": sub.unit,
        "report_date": _date(sub.report_date),
        "filled_date": _date(sub.filled_date),
        "executor": sub.executor,
        "phone": sub.phone,
        "values": sub.values,
        "statuses": sub.statuses,
        "comments": sub.comments,
        "texts": sub.texts,
        "unit_alias": sub.unit_alias,
        "problems": [[p.code, p.sheet, p.cell, [list(kv) for kv in p.params]] for p in sub.problems],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def thaw(text: str, raw: RawForm) -> Submission:
    """The stored submission for the form at hand (its name goes into every problem). Raises on any row
    of the wrong shape: the caller treats that as a miss."""
    data: dict[str, Any] = json.loads(text)
    values = {str(k): float(v) for k, v in data["values"].items()}
    return Submission(
        raw=raw,
        unit=_opt_str(data["unit"]),
        report_date=_undate(data["report_date"]),
        filled_date=_undate(data["filled_date"]),
        executor=str(data["executor"]),
        phone=str(data["phone"]),
        values=values,
        statuses=_str_dict(data["statuses"]),
        comments=_str_dict(data["comments"]),
        texts=_str_dict(data["texts"]),
        problems=[Problem(str(code), raw.name, _opt_str(sheet), _opt_str(cell),
                          tuple((str(k), str(v)) for k, v in params))
                  for code, sheet, cell, params in data["problems"]],
        unit_alias=str(data["unit_alias"]),
    )


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _undate(value: object) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a date is stored as ISO text")
    return dt.date.fromisoformat(value)


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError("expected text or null")


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping")
    return {str(k): str(v) for k, v in value.items()}
