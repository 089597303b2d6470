"""Evidence of use: one row per action (and resource, where the source names one) a principal was seen using.

Rows come from four sources. Access Advisor reports a service's or an action's last use; IAM Access
Analyzer policy generation and CloudTrail `LookupEvents` report the actions called, with the resource ARNs
CloudTrail records for them. The engine reads these rows to keep what was used and to narrow `Resource` to
what was touched; it never reads them from anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EvidenceSource(StrEnum):
    ACCESS_ADVISOR_SERVICE = "access_advisor_service"  # a service's last use; action is `service:*`
    ACCESS_ADVISOR_ACTION = "access_advisor_action"  # a management action's last use (action-level services)
    CLOUDTRAIL_GENERATION = "cloudtrail_generation"  # IAM Access Analyzer policy generation over the trail
    CLOUDTRAIL_LOOKUP = "cloudtrail_lookup"  # CloudTrail LookupEvents (management events, 90 days)


# What each source can show: a resource only from CloudTrail, and only where the event records one.
SOURCES_WITH_RESOURCES = frozenset({EvidenceSource.CLOUDTRAIL_GENERATION, EvidenceSource.CLOUDTRAIL_LOOKUP})


@dataclass(frozen=True)
class Evidence:
    """One observed use. `action` is lower-case `service:action` (or `service:*` for a service-level row);
    `resource` is the ARN the call touched, or None where the source cannot show one."""

    action: str
    resource: str | None
    source: EvidenceSource
    last_seen: datetime
    count: int = 1
    first_seen: datetime | None = None

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]

    @property
    def service_level(self) -> bool:
        return self.action.endswith(":*")


def actions_seen(rows: Iterable[Evidence]) -> frozenset[str]:
    """The actions the rows name at action level (service-level rows are not actions)."""
    return frozenset(row.action for row in rows if not row.service_level)


def resources_by_action(rows: Iterable[Evidence]) -> dict[str, frozenset[str]]:
    """Per action, the resources the rows name; an action seen with no resource is absent."""
    found: dict[str, set[str]] = {}
    for row in rows:
        if row.resource and not row.service_level:
            found.setdefault(row.action, set()).add(row.resource)
    return {action: frozenset(arns) for action, arns in found.items()}
