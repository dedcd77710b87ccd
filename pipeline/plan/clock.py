"""The campaign's clock: the plan's `campaign.utc_offset` (in 2017 UTC+5 in the west of Kazakhstan, UTC+6 in
the east and south).

A reporting date's deadline ends at midnight on the department's clock, "today" is its today, and file
times are shown and dated on it. Every stage and face asks here; none keeps a time zone of its own.
"""

from __future__ import annotations

import datetime as dt

from pipeline.plan.model import Plan


def campaign_tz(plan: Plan) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=plan.campaign.utc_offset))


def local_now(plan: Plan) -> dt.datetime:
    return dt.datetime.now(tz=campaign_tz(plan))


def local_today(plan: Plan) -> dt.date:
    """Today on the campaign's clock (a form "filled" after it is dated in the future)."""
    return local_now(plan).date()


def local_date(plan: Plan, timestamp: float) -> dt.date:
    """The day a file time (seconds since the epoch) falls on, on the campaign's clock."""
    return dt.datetime.fromtimestamp(timestamp, tz=campaign_tz(plan)).date()
