"""IAM Identity Center: permission sets stored per sync, each `AWSReservedSSO_*` role linked to its set, the
set's use across every account it is provisioned to, and the client an apply to a set writes with.

A sync of the account that hosts Identity Center (the management or delegated-admin account) brings its
permission sets (`accounts.aws.identity_center.permission_sets`); `identity_center_store` writes a row only
where a set changed. A role named `AWSReservedSSO_<set>_<hash>` under `/aws-reserved/sso.amazonaws.com/`
in an account the set is provisioned to is that set's role: its suggestion tightens the set (inline policy,
managed attachments) from the use of every one of the set's roles, since the set grants the same to each.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.aws.client import AwsAccessError, AwsSession
from accounts.models import LinkedAccount, SyncRun
from accounts.services import aws_target
from core.models import assign_changed
from findings.facts import PrincipalUsage, usage_union
from findings.models import ManagedPolicy, PermissionSet, Principal
from findings.permission_set_changes import PERMISSION_SET_KINDS

ROLE_NAME = re.compile(r"^AWSReservedSSO_(?P<set>.+)_[0-9a-f]{16}$")
ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def identity_center_store(
    *, account: LinkedAccount, data: dict[str, Any], run: SyncRun | None, collected_at: datetime | None = None
) -> dict[str, int]:
    """Keep the permission sets as this sync saw them: a row written only where a set changed, rows of
    sets gone from these instances deleted. The counts of what was stored."""
    instances = list(data.get("instances", []))
    existing = {(p.instance_arn, p.arn): p for p in PermissionSet.objects.filter(instance_arn__in=instances)}
    when = collected_at or timezone.now()
    written = 0
    for arn, found in data.get("permission_sets", {}).items():
        row = existing.pop((found["instance_arn"], arn), None)
        if row is None:
            row = PermissionSet(instance_arn=found["instance_arn"], arn=arn)
        changed = assign_changed(
            row,
            account_id=account.pk,
            name=found.get("name", ""),
            description=found.get("description") or "",
            session_duration=found.get("session_duration") or "",
            inline_policy=found.get("inline_policy"),
            managed_policies=found.get("managed_policies", []),
            customer_managed=found.get("customer_managed", []),
            boundary=found.get("boundary"),
            accounts=sorted(found.get("accounts", [])),
        )
        if row.pk is None or changed:
            row.run, row.collected_at = run, when
            row.save()
            written += 1
    gone = [p.pk for p in existing.values()]
    PermissionSet.objects.filter(pk__in=gone).delete()
    return {"permission_sets": len(data.get("permission_sets", {})), "permission_sets_written": written}


def set_name_of(principal: Principal) -> str:
    """The permission set an Identity Center role was created for, by its name; "" for any other."""
    if principal.kind != "role" or not principal.path.startswith(ROLE_PATH):
        return ""
    match = ROLE_NAME.match(principal.name)
    return match["set"] if match else ""


def permission_set_for(principal: Principal) -> PermissionSet | None:
    """The stored permission set whose role this is (same name, provisioned to the role's account), or
    None: not an Identity Center role, or Identity Center not collected."""
    name = set_name_of(principal)
    if not name:
        return None
    account_id = principal.account.account_id
    return next((p for p in PermissionSet.objects.filter(name=name) if account_id in p.accounts), None)


def set_roles(permission_set: PermissionSet) -> list[Principal]:
    """The set's roles in every linked account it is provisioned to (those synced)."""
    candidates = Principal.objects.filter(
        kind="role",
        account__account_id__in=permission_set.accounts,
        name__startswith=f"AWSReservedSSO_{permission_set.name}_",
    ).select_related("account")
    return [p for p in candidates.order_by("account__account_id") if set_name_of(p) == permission_set.name]


def set_usage(permission_set: PermissionSet, principal: Principal) -> PrincipalUsage:
    """What the set's roles used, together: an action one of them used in any account is used."""
    return usage_union(set_roles(permission_set), window_days=principal.account.unused_days)


def set_managed_policies(permission_set: PermissionSet, principal: Principal) -> list[ManagedPolicy]:
    """The stored documents of the set's AWS managed policies (as the role's account holds them)."""
    wanted = [m["arn"] for m in permission_set.managed_policies]
    rows = {
        p.arn: p
        for p in ManagedPolicy.objects.filter(account=principal.account, arn__in=wanted).select_related(
            "document"
        )
    }
    return [rows[a] for a in wanted if a in rows]


def is_permission_set_change(items: list[dict[str, Any]]) -> bool:
    return any(i.get("kind") in PERMISSION_SET_KINDS for i in items)


def identity_center_client(items: list[dict[str, Any]], session_factory: Any = None) -> Any:
    """An sso-admin client with the apply role of the account that hosts Identity Center."""
    account_id = next(i["identity_center_account"] for i in items if i.get("kind") in PERMISSION_SET_KINDS)
    host = LinkedAccount.objects.filter(account_id=account_id).first()
    if host is None:
        raise AwsAccessError(
            f"the account that hosts Identity Center ({account_id}) is no longer linked; link it with its "
            "apply role (management-account template) to change its permission sets."
        )
    return (session_factory or AwsSession)(aws_target(host, apply=True)).client("sso-admin")


def permission_set_context(principal: Principal) -> dict[str, Any] | None:
    """What the principal page shows of an Identity Center role's permission set, or None."""
    permission_set = permission_set_for(principal)
    if permission_set is None:
        return None
    roles = set_roles(permission_set)
    usage = set_usage(permission_set, principal)
    linked = set(
        LinkedAccount.objects.filter(account_id__in=permission_set.accounts).values_list(
            "account_id", flat=True
        )
    )
    return {
        "set": permission_set,
        "accounts": [{"id": a, "linked": a in linked} for a in permission_set.accounts],
        "roles": roles,
        "usage_status": usage.status,
        "used_services": sorted(usage.usage.used_services),
    }
