"""Catalog gaps by action: an AWS managed policy naming an action the catalog does not know means the
catalog is older than AWS, not that the account is wrong. Reported once per action for the account (which
managed policies name it, how many principals hold them), never as a finding on each principal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CatalogGap:
    action: str  # the pattern as the policy writes it (lower-cased), e.g. "bedrock-agentcore:createharness"
    why: str  # "matches no known action" | "unknown service prefix 'x'"
    policies: tuple[str, ...]  # AWS managed policy names that name it
    principals: int  # principals of the account holding one of them (directly or through a group)

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "why": self.why,
            "policies": list(self.policies),
            "principals": self.principals,
        }


def gaps_by_action(held_by: Mapping[str, set[str]]) -> list[CatalogGap]:
    """`held_by`: each gap warning ("<policy name>: <pattern>: <why>") and the principals whose permissions
    raised it. One row per pattern, most widely held first."""
    policies: dict[tuple[str, str], set[str]] = {}
    principals: dict[tuple[str, str], set[str]] = {}
    for warning, arns in held_by.items():
        name, _, problem = warning.partition(": ")
        action, _, why = problem.partition(": ")
        key = (action, why)
        policies.setdefault(key, set()).add(name)
        principals.setdefault(key, set()).update(arns)
    rows = [
        CatalogGap(action, why, tuple(sorted(policies[key])), len(principals[key]))
        for key in policies
        for action, why in (key,)
    ]
    return sorted(rows, key=lambda g: (-g.principals, g.action))
