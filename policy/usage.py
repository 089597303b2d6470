"""Unused permissions from last-accessed data: one usage model, per action used, unused or unknown.

Access Advisor reports, per principal, the services it tracks (with the last use of each) and, for some of
them, the last use of their management actions. It never reports data-plane actions (`s3:GetObject`,
`dynamodb:GetItem`, `lambda:InvokeFunction`...) nor permission-only actions (`iam:PassRole`), and it
knows nothing about a principal younger than the window. What it cannot see is "unknown", and an unknown
action is kept: only evidence of non-use removes a permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from policy.evidence import Evidence, EvidenceSource

# What Access Advisor cannot see, as documented (`policy.catalog.Catalog.not_recorded` adds what its
# definition shows of the same kind). Permission-only actions: AWS checks them while serving another call (passing a role, tagging or naming a
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
    """Can Access Advisor ever record a use of this action? (The documented list only: the catalog's
    `recorded_by_access_advisor` knows more.)"""
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
    # Actions Access Advisor never records: always unknown unless used. The catalog's list
    # (`Catalog.not_recorded`) is merged in by `seen_by` wherever a catalog is at hand.
    not_recorded: frozenset[str] = NOT_RECORDED_BY_ACCESS_ADVISOR

    def state(self, action: str) -> ActionUse:
        action = action.lower()
        if self.young:
            return ActionUse.UNKNOWN
        if action in self.used_actions:
            return ActionUse.USED
        if action in self.not_recorded:
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

    def seen_by(self, not_recorded: Iterable[str]) -> Usage:
        """This usage read with a catalog's list of what Access Advisor never records."""
        extra = frozenset(a.lower() for a in not_recorded) - self.not_recorded
        return replace(self, not_recorded=self.not_recorded | extra) if extra else self

    def services_only(self) -> Usage:
        """This usage without action-level detail: only whole services unused in the window are unused (the
        first stage of a staged tightening drops them and nothing else)."""
        return replace(self, tracked_actions=frozenset())

    def with_evidence(self, evidence: Sequence[Evidence]) -> Usage:
        """Actions CloudTrail shows used (in the window the evidence was gathered for) count as used,
        whether or not the catalog knows them yet."""
        # Access Advisor is in this usage already (and its rows may be older than the window); a
        # service-level row says nothing of actions.
        advisor = (EvidenceSource.ACCESS_ADVISOR_SERVICE, EvidenceSource.ACCESS_ADVISOR_ACTION)
        used = frozenset(
            e.action.lower() for e in evidence if e.source not in advisor and not e.action.endswith(":*")
        )
        if not used - self.used_actions:
            return self
        return replace(
            self,
            used_actions=self.used_actions | used,
            used_services=self.used_services | {a.split(":", 1)[0] for a in used},
        )

    @classmethod
    def union(cls, usages: Sequence[Usage]) -> Usage:
        """The use of a group of principals (a group's members): an action is used when one of them used
        it, unknown when one of them cannot tell, unused only when every one of them is known not to have
        used it."""
        if not usages:
            return cls(young=True)
        tracked_services = frozenset.intersection(*(u.tracked_services for u in usages))

        def unused_by(u: Usage, action: str) -> bool:
            # Known unused by this member: reported at action level, or its whole service tracked and unused.
            service = action.split(":", 1)[0]
            if action in u.used_actions:
                return False
            return action in u.tracked_actions or (
                service in u.tracked_services and service not in u.used_services
            )

        candidates = frozenset().union(*(u.tracked_actions for u in usages))
        tracked_actions = frozenset(a for a in candidates if all(unused_by(u, a) for u in usages))
        return cls(
            used_services=frozenset().union(*(u.used_services for u in usages)),
            tracked_services=tracked_services,
            tracked_actions=tracked_actions,
            used_actions=frozenset().union(*(u.used_actions for u in usages)),
            young=any(u.young for u in usages),
            not_recorded=frozenset().union(*(u.not_recorded for u in usages)),
        )

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
