"""What a principal used, from last-accessed data, as three answers per action: used, unused, unknown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Permission-only actions: AWS checks them inside another call, so Access Advisor never records them.
NOT_RECORDED = frozenset({"iam:passrole"})


class ActionUse(StrEnum):
    USED = "used"
    UNUSED = "unused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Usage:
    used_services: frozenset[str] = frozenset()
    tracked_services: frozenset[str] = frozenset()
    tracked_actions: frozenset[str] = frozenset()
    used_actions: frozenset[str] = frozenset()
    young: bool = False

    def state(self, action: str) -> ActionUse:
        action = action.lower()
        service = action.split(":", 1)[0]
        if self.young or action in NOT_RECORDED or service not in self.tracked_services:
            return ActionUse.UNKNOWN
        if action in self.tracked_actions:
            return ActionUse.USED if action in self.used_actions else ActionUse.UNUSED
        return ActionUse.UNKNOWN if service in self.used_services else ActionUse.UNUSED

    def is_used(self, action: str) -> bool:
        return self.state(action) is not ActionUse.UNUSED

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
        def low(values: Iterable[str]) -> frozenset[str]:
            return frozenset(v.lower() for v in values)

        return cls(low(used_services), low(tracked_services), low(tracked_actions), low(used_actions), young)
