"""IAM Identity Center (sso-admin): its permission sets read for a sync, and the writes an approved change
makes to one (inline policy, managed attachments, provisioning). boto3 only; each write is one small
function so the caller records exactly what it did and can undo it."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from accounts.aws.client import AwsAccessError, explain

IDENTITY_CENTER_HINT = (
    " Deploy the management-account template (its read role carries the sso: read actions), or clear "
    "“Management account” on this account."
)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    token = None
    while True:
        page = getattr(client, operation)(**kwargs, **({"NextToken": token} if token else {}))
        out.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return out


def _document(raw: Any) -> Any:
    if not raw:
        return None
    return json.loads(raw) if isinstance(raw, str) else raw


def permission_sets(sso: Any) -> dict[str, Any]:
    """Every permission set of every Identity Center instance the account administers, as plain data:
    {"instances": [arn], "permission_sets": {arn: {"instance_arn", "name", "description",
    "session_duration", "inline_policy", "managed_policies": [{"arn", "name"}], "customer_managed":
    [{"name", "path"}], "boundary", "accounts": [id]}}}. AwsAccessError names the refused action."""
    step = "listing Identity Center instances (sso:ListInstances)"
    sets: dict[str, dict[str, Any]] = {}
    try:
        instances = [i["InstanceArn"] for i in _pages(sso, "list_instances", "Instances")]
        for instance in instances:
            step = "listing permission sets (sso:ListPermissionSets)"
            for arn in _pages(sso, "list_permission_sets", "PermissionSets", InstanceArn=instance):
                ref = {"InstanceArn": instance, "PermissionSetArn": arn}
                step = "describing a permission set (sso:DescribePermissionSet)"
                described = sso.describe_permission_set(**ref)["PermissionSet"]
                step = "reading a permission set's inline policy (sso:GetInlinePolicyForPermissionSet)"
                inline = _document(sso.get_inline_policy_for_permission_set(**ref).get("InlinePolicy"))
                step = "listing a permission set's managed policies (sso:ListManagedPoliciesInPermissionSet)"
                managed = _pages(
                    sso, "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **ref
                )
                step = (
                    "listing a permission set's customer managed policy references "
                    "(sso:ListCustomerManagedPolicyReferencesInPermissionSet)"
                )
                customer = _pages(
                    sso,
                    "list_customer_managed_policy_references_in_permission_set",
                    "CustomerManagedPolicyReferences",
                    **ref,
                )
                step = (
                    "listing the accounts a permission set is provisioned to "
                    "(sso:ListAccountsForProvisionedPermissionSet)"
                )
                accounts = _pages(sso, "list_accounts_for_provisioned_permission_set", "AccountIds", **ref)
                sets[arn] = {
                    "instance_arn": instance,
                    "name": described.get("Name", ""),
                    "description": described.get("Description", ""),
                    "session_duration": described.get("SessionDuration", ""),
                    "inline_policy": inline,
                    "managed_policies": sorted(
                        ({"arn": m["Arn"], "name": m.get("Name", "")} for m in managed),
                        key=lambda m: m["arn"],
                    ),
                    "customer_managed": sorted(
                        ({"name": c["Name"], "path": c.get("Path", "/")} for c in customer),
                        key=lambda c: (c["path"], c["name"]),
                    ),
                    "boundary": _boundary(sso, ref),
                    "accounts": sorted(set(accounts)),
                }
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(explain(exc, step) + IDENTITY_CENTER_HINT) from exc
    return {"instances": instances, "permission_sets": sets}


def _boundary(sso: Any, ref: dict[str, str]) -> Any:
    """The set's permissions boundary, or None (AWS answers ResourceNotFoundException for a set without
    one)."""
    try:
        return sso.get_permissions_boundary_for_permission_set(**ref).get("PermissionsBoundary")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


# -- writes for an approved change --------------------------------------------------------------------------


def _call(doing: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(explain(exc, doing)) from exc


def read_inline(sso: Any, instance: str, arn: str) -> Any:
    answer = _call(
        f"reading the inline policy of {arn} (sso:GetInlinePolicyForPermissionSet)",
        sso.get_inline_policy_for_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
    )
    return _document(answer.get("InlinePolicy"))


def put_inline(sso: Any, instance: str, arn: str, document: Any) -> None:
    _call(
        f"writing the inline policy of {arn} (sso:PutInlinePolicyToPermissionSet)",
        sso.put_inline_policy_to_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
        InlinePolicy=json.dumps(document),
    )


def delete_inline(sso: Any, instance: str, arn: str) -> None:
    _call(
        f"deleting the inline policy of {arn} (sso:DeleteInlinePolicyFromPermissionSet)",
        sso.delete_inline_policy_from_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
    )


def managed_arns(sso: Any, instance: str, arn: str) -> list[str]:
    try:
        found = _pages(
            sso,
            "list_managed_policies_in_permission_set",
            "AttachedManagedPolicies",
            InstanceArn=instance,
            PermissionSetArn=arn,
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(
            explain(exc, f"listing the managed policies of {arn} (sso:ListManagedPoliciesInPermissionSet)")
        ) from exc
    return [m["Arn"] for m in found]


def attach_managed(sso: Any, instance: str, arn: str, policy_arn: str) -> None:
    _call(
        f"attaching {policy_arn} to {arn} (sso:AttachManagedPolicyToPermissionSet)",
        sso.attach_managed_policy_to_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
        ManagedPolicyArn=policy_arn,
    )


def detach_managed(sso: Any, instance: str, arn: str, policy_arn: str) -> None:
    _call(
        f"detaching {policy_arn} from {arn} (sso:DetachManagedPolicyFromPermissionSet)",
        sso.detach_managed_policy_from_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
        ManagedPolicyArn=policy_arn,
    )


def provision(sso: Any, instance: str, arn: str, *, poll: float = 1.0, timeout: float = 300.0) -> str:
    """ProvisionPermissionSet to every account it is provisioned to, then wait for it; returns the request
    id. A provisioning that fails or does not finish in time raises AwsAccessError saying so."""
    started = _call(
        f"provisioning {arn} (sso:ProvisionPermissionSet)",
        sso.provision_permission_set,
        InstanceArn=instance,
        PermissionSetArn=arn,
        TargetType="ALL_PROVISIONED_ACCOUNTS",
    )["PermissionSetProvisioningStatus"]
    request = started.get("RequestId", "")
    status = started
    deadline = time.monotonic() + timeout
    while status.get("Status") == "IN_PROGRESS":
        if time.monotonic() > deadline:
            raise AwsAccessError(
                f"provisioning {arn} did not finish within {timeout:.0f} s (request {request})"
            )
        time.sleep(poll)
        status = _call(
            f"reading the provisioning status of {arn} (sso:DescribePermissionSetProvisioningStatus)",
            sso.describe_permission_set_provisioning_status,
            InstanceArn=instance,
            ProvisionPermissionSetRequestId=request,
        )["PermissionSetProvisioningStatus"]
    if status.get("Status") != "SUCCEEDED":
        raise AwsAccessError(
            f"Identity Center could not provision {arn}: {status.get('FailureReason') or status.get('Status')}"
        )
    return str(request)
