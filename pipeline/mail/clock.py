"""Local time for the mail jobs: one function, so the campaign's own time zone can replace it in one place.

The plan file will carry the campaign's time zone (issue 15); until then the zone is `ORAL_TZ`, the one the
validation of fill dates and the portal already use.
"""

from __future__ import annotations

import datetime as dt

from pipeline.validate.submission import ORAL_TZ


def local_zone() -> dt.tzinfo:
    return ORAL_TZ


def local_now() -> dt.datetime:
    """Now, as an aware datetime in the campaign's local time."""
    return dt.datetime.now(tz=local_zone())
