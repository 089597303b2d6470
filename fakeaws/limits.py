"""The size limits AWS enforces and moto does not (reference/aws-facts.md)."""

from __future__ import annotations

import json
from typing import Any

from moto.iam.responses import IamResponse

from fakeaws.errors import FakeAwsError

# AWS's published quotas (reference/aws-facts.md), kept here so fakeaws does not take them from the
# product it is checking.
SIZE_LIMITS = {
    "managed": 6144,
    "inline-role": 10240,
    "inline-user": 2048,
    "inline-group": 5120,
}

_installed = False


def _size(document: str) -> int:
    """Characters without whitespace (outside strings), as AWS counts them."""
    try:
        return len(json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False))
    except ValueError:
        return len(document)


def _too_big(size: int, limit: int, what: str) -> FakeAwsError:
    return FakeAwsError(
        "LimitExceeded",
        f"Cannot exceed quota for {what}: {limit}. (document is {size} characters)",
    )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    def inline_total(self: IamResponse, kind: str, name: str, policy_name: str, new_doc: str) -> int:
        backend = self.backend
        entity: Any = {"role": backend.get_role, "user": backend.get_user, "group": backend.get_group}[kind](
            name
        )
        total = _size(new_doc)
        for other_name, other_doc in entity.policies.items():
            if other_name != policy_name:
                total += _size(other_doc if isinstance(other_doc, str) else json.dumps(other_doc))
        return total

    def guard_inline(kind: str, name_param: str, original: Any) -> Any:
        def method(self: IamResponse) -> Any:
            name = self._get_param(name_param)
            doc = self._get_param("PolicyDocument")
            limit = SIZE_LIMITS[f"inline-{kind}"]
            total = inline_total(self, kind, name, self._get_param("PolicyName"), doc)
            if total > limit:
                raise _too_big(total, limit, f"inline policies of one {kind} together")
            return original(self)

        return method

    def guard_managed(original: Any) -> Any:
        def method(self: IamResponse) -> Any:
            size = _size(self._get_param("PolicyDocument"))
            if size > SIZE_LIMITS["managed"]:
                raise _too_big(size, SIZE_LIMITS["managed"], "PolicySize")
            return original(self)

        return method

    IamResponse.put_role_policy = guard_inline("role", "RoleName", IamResponse.put_role_policy)  # type: ignore[method-assign]
    IamResponse.put_user_policy = guard_inline("user", "UserName", IamResponse.put_user_policy)  # type: ignore[method-assign]
    IamResponse.put_group_policy = guard_inline("group", "GroupName", IamResponse.put_group_policy)  # type: ignore[method-assign]
    IamResponse.create_policy = guard_managed(IamResponse.create_policy)  # type: ignore[method-assign]
    IamResponse.create_policy_version = guard_managed(IamResponse.create_policy_version)  # type: ignore[method-assign]
