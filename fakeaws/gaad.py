"""GetAccountAuthorizationDetails as AWS answers it: AWS managed policies only when attached in the
account (moto returns all ~1,580 of them), and paginated by MaxItems/Marker (moto ignores both)."""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.core.responses import ActionResult
    from moto.iam.models import IAMBackend
    from moto.iam.responses import IamResponse

    original = IAMBackend.get_account_authorization_details

    def get_account_authorization_details(self: IAMBackend, policy_filter: list[str]) -> dict[str, Any]:
        details = original(self, policy_filter)
        aws_managed = {id(p) for p in self.aws_managed_policies}
        details["managed_policies"] = [
            p for p in details["managed_policies"] if id(p) not in aws_managed or p.attachment_count > 0
        ]
        return details

    IAMBackend.get_account_authorization_details = get_account_authorization_details  # type: ignore[method-assign]

    def paginated(self: IamResponse) -> ActionResult:
        filter_param = self._get_param("Filter", [])
        details = self.backend.get_account_authorization_details(filter_param)
        items: list[tuple[str, Any]] = (
            [("UserDetailList", u) for u in details["users"]]
            + [("GroupDetailList", g) for g in details["groups"]]
            + [("RoleDetailList", r) for r in details["roles"]]
            + [("Policies", p) for p in details["managed_policies"]]
        )
        max_items = int(self._get_param("MaxItems") or 100)
        start = int(self._get_param("Marker") or 0)
        page = items[start : start + max_items]
        result: dict[str, Any] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
        }
        for key, item in page:
            result[key].append(item)
        result["IsTruncated"] = start + max_items < len(items)
        if result["IsTruncated"]:
            result["Marker"] = str(start + max_items)
        return ActionResult(result)

    IamResponse.get_account_authorization_details = paginated  # type: ignore[method-assign]
