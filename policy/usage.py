"""Unused permissions from last-accessed data: one usage model, per action used, unused or unknown.

Access Advisor reports, per principal, the services it tracks (with the last use of each) and, for some of
them, the last use of their management actions. It never reports data-plane actions (`s3:GetObject`,
`dynamodb:GetItem`, `lambda:InvokeFunction`...) nor permission-only actions (`iam:PassRole`), and it
knows nothing about a principal younger than the window. What it cannot see is "unknown", and an unknown
action is kept: only evidence of non-use removes a permission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Permission-only actions: AWS checks them while serving another call (passing a role, tagging or naming a
# session, mounting a file system, an IAM database login, a git push over HTTPS, a URL invocation, a
# condition check inside a transaction). No API call of that name exists, so Access Advisor never records
# them, even when its service shows as unused: they are always "unknown".
NOT_RECORDED_BY_ACCESS_ADVISOR = frozenset(
    {
        "iam:passrole",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
        "sts:getservicebearertoken",
        "lambda:invokefunctionurl",
        "rds-db:connect",
        "elasticfilesystem:clientmount",
        "elasticfilesystem:clientwrite",
        "elasticfilesystem:clientrootaccess",
        "dynamodb:conditioncheckitem",
        "codecommit:gitpull",
        "codecommit:gitpush",
    }
)


class ActionUse(StrEnum):
    USED = "used"
    UNUSED = "unused"
    UNKNOWN = "unknown"  # Access Advisor cannot tell: kept


def access_advisor_records(action: str) -> bool:
    """Can Access Advisor ever record a use of this action (at service or action level)?"""
    return action.lower() not in NOT_RECORDED_BY_ACCESS_ADVISOR


@dataclass(frozen=True)
class Usage:
    """What a principal used within the window, as Access Advisor (or CloudTrail) shows it.

    All names lower-case: services as prefixes (`s3`), actions as `service:action`.
    """

    used_services: frozenset[str] = frozenset()  # services used within the window
    tracked_services: frozenset[str] = frozenset()  # services Access Advisor reports for this principal
    tracked_actions: frozenset[str] = frozenset()  # actions reported at action level (used or not)
    used_actions: frozenset[str] = frozenset()  # actions used within the window
    young: bool = False  # principal younger than the window: nothing is unused

    def state(self, action: str) -> ActionUse:
        action = action.lower()
        if self.young:
            return ActionUse.UNKNOWN
        if action in self.used_actions:
            return ActionUse.USED
        if action in NOT_RECORDED_BY_ACCESS_ADVISOR:
            return ActionUse.UNKNOWN
        service = action.split(":", 1)[0]
        if service not in self.tracked_services:
            return ActionUse.UNKNOWN  # not tracked: no evidence either way
        if action in self.tracked_actions:
            return ActionUse.UNUSED  # reported at action level and not used in the window
        # Not reported at action level (data-plane actions never are): the service's use may be this one.
        return ActionUse.UNKNOWN if service in self.used_services else ActionUse.UNUSED

    def is_used(self, action: str) -> bool:
        """Kept by tightening: used, or unknown."""
        return self.state(action) is not ActionUse.UNUSED

    def service_state(self, service: str) -> ActionUse:
        """The state of a whole service whose actions cannot be listed (one the catalog does not know):
        unused only when Access Advisor tracks it and saw no use of it."""
        service = service.lower()
        if self.young or service not in self.tracked_services:
            return ActionUse.UNKNOWN
        if service in self.used_services or any(a.split(":", 1)[0] == service for a in self.used_actions):
            return ActionUse.USED
        return ActionUse.UNUSED

    @classmethod
    def of(
        cls,
        *,
        used_services: Iterable[str] = (),
        tracked_services: Iterable[str] = (),
        tracked_actions: Iterable[str] = (),
        used_actions: Iterable[str] = (),
        young: bool = False,
    ) -> Usage:
        """Lower-cases every name. A used action also marks its service used (it was, by that action)."""
        used = frozenset(a.lower() for a in used_actions)
        return cls(
            used_services=frozenset(s.lower() for s in used_services) | {a.split(":", 1)[0] for a in used},
            tracked_services=frozenset(s.lower() for s in tracked_services),
            tracked_actions=frozenset(a.lower() for a in tracked_actions),
            used_actions=used,
            young=young,
        )
