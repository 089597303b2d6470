"""Evidence of use from CloudTrail: per principal, the actions it called and, where CloudTrail records
them, the resources they touched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Evidence:
    """One action used by a principal, on one resource (None: the record names none), with its source
    ("access-analyzer" policy generation, "cloudtrail" LookupEvents...), last use and number of calls."""

    action: str
    resource: str | None
    source: str
    last_seen: datetime | None
    count: int
