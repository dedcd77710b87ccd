"""The counts of one report, with one set of names for every place that shows them.

The console after `report`, `history`, the refusal of a worse-founded run and `manifest.json` all say the
same three numbers (README, "What the numbers mean"):

* **files seen** (`files_seen`): every file the inbox listing found, of any date (tool files such as
  `.gitkeep` aside);
* **forms of this date used** (`used_this_date`): the forms of the report's own date its figures come from
  (one per unit, the latest correction);
* **carried** (`carried`): earlier forms whose figures stand in for a unit that missed the date.

Around them, about the same files of this report: `with_errors`, `ignored`; and `later_dates`: files of
later reporting dates, listed in the manifest only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from pipeline.verdicts import FileVerdict


@dataclass(frozen=True)
class RunCounts:
    files_seen: int
    used_this_date: int
    carried: int
    with_errors: int = 0
    ignored: int = 0
    later_dates: int = 0

    @classmethod
    def of(
        cls, date: dt.date, files: list[FileVerdict], concerned: list[FileVerdict],
        belongs_to: Callable[[FileVerdict], dt.date],
    ) -> RunCounts:
        """`files`: every file of the inbox; `concerned`: this report's own files (its date's and the carried
        ones); `belongs_to`: the reporting date a file belongs to."""
        used = [f for f in concerned if f.status == "used"]
        return cls(
            files_seen=len(files),
            used_this_date=sum(belongs_to(f) == date for f in used),
            carried=sum(belongs_to(f) < date for f in used),
            with_errors=sum(f.counts_as_error for f in concerned),
            ignored=sum(f.status == "ignored" for f in concerned),
            later_dates=sum(f.status == "after-date" for f in files),
        )

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, object] | None) -> RunCounts | None:
        """The counts a published report's manifest holds; for a manifest written before these names
        (its `counts` held `files` and `used`), worked out from its list of inputs. None: not a manifest."""
        if not isinstance(manifest, Mapping):
            return None
        counts = manifest.get("counts")
        if isinstance(counts, Mapping) and all(isinstance(counts.get(k), int) for k in cls.__dataclass_fields__):
            return cls(**{k: int(counts[k]) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]
        inputs = manifest.get("inputs")
        date = manifest.get("date")
        if not isinstance(inputs, list) or not isinstance(date, str):
            return None
        rows = [i for i in inputs if isinstance(i, Mapping)]
        used = [i for i in rows if i.get("status") == "used"]
        carried = manifest.get("units_stale")
        return cls(
            files_seen=len(rows),
            used_this_date=sum(i.get("report_date") == date for i in used),
            carried=len(carried) if isinstance(carried, list) else 0,
            with_errors=sum(i.get("verdict") == "errors" and i.get("belongs_to") == date
                            and i.get("status") != "superseded" for i in rows),
            ignored=sum(i.get("status") == "ignored" and i.get("belongs_to") == date for i in rows),
            later_dates=sum(i.get("status") == "after-date" for i in rows),
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
