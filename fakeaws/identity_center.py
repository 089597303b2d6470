"""IAM Identity Center in fakeaws: what moto's sso-admin lacks, and a seeded Identity Center whose
permission sets have their `AWSReservedSSO_*` roles in the seeded member accounts.

    seed_identity_center("999999999999", [
        {"name": "DataEngineers", "inline": {...}, "managed": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
         "accounts": ["111111111111", "222222222222"], "created_days": 400,
         "usage": {"111111111111": {"s3": {"days": 1, "actions": {"CreateBucket": 1}}}}},
    ])

As the real service behaves:
- ListAccountsForProvisionedPermissionSet answers every account the set is assigned to (moto answers only
  the caller's own account);
- ProvisionPermissionSet answers IN_PROGRESS with a request id, and pushes the set's inline policy (as the
  role's `AwsSSOInlinePolicy`) and managed policies to its `AWSReservedSSO_<Name>_<hash>` role in every
  account it is provisioned to (`TargetType=ALL_PROVISIONED_ACCOUNTS`), or in the one `TargetId` names;
- GetPermissionsBoundaryForPermissionSet answers ResourceNotFoundException for a set without one;
- `fail_next_provisioning` makes the next provisioning FAILED with a reason;
- DescribePermissionSetProvisioningStatus answers SUCCEEDED for a known request (after one IN_PROGRESS
  answer), ResourceNotFoundException for an unknown one.
Permission checks for assumed roles (`fakeaws.enforce`) cover sso-admin as the `sso:` prefix.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from fakeaws.errors import FakeAwsError

ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
ROLE_PREFIX = "AWSReservedSSO_"
INLINE_NAME = "AwsSSOInlinePolicy"
_installed = False


def role_name(set_name: str, account_id: str) -> str:
    """The name Identity Center gives a set's role in an account: a 16-hex suffix, stable here."""
    return f"{ROLE_PREFIX}{set_name}_{hashlib.sha256(f'{set_name}/{account_id}'.encode()).hexdigest()[:16]}"


def _saml_trust(account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{account_id}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"
                },
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            }
        ],
    }


def _backend(account: str, region: str) -> Any:
    from moto.ssoadmin.models import ssoadmin_backends

    return ssoadmin_backends[account][region]


def _provisioned(backend: Any, arn: str) -> list[str]:
    """Accounts a set is provisioned to: those it is assigned to, and those provisioned explicitly."""
    extra = getattr(backend, "fake_provisioned", {}).get(arn, set())
    assigned = {a.target_id for a in backend.account_assignments if a.permission_set_arn == arn}
    return sorted(assigned | set(extra))


def _push(permission_set: Any, account_id: str) -> None:
    """The set's policies onto its role in the account (created when missing), as provisioning does."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["aws"]
    name = role_name(permission_set.name, account_id)
    try:
        role = iam.get_role(name)
    except Exception:
        role = iam.create_role(name, json.dumps(_saml_trust(account_id)), ROLE_PATH, None, "", [], "43200")
    if permission_set.inline_policy:
        iam.put_role_policy(name, INLINE_NAME, permission_set.inline_policy)
    elif INLINE_NAME in role.policies:
        iam.delete_role_policy(name, INLINE_NAME)
    wanted = {p.arn for p in permission_set.managed_policies}
    for arn in set(role.managed_policies) - wanted:
        iam.detach_role_policy(arn, name)
    for arn in wanted - set(role.managed_policies):
        iam.attach_role_policy(arn, name)


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.ssoadmin.responses import SSOAdminResponse

    def list_accounts_for_provisioned_permission_set(self: SSOAdminResponse) -> str:
        backend = _backend(self.current_account, self.region)
        arn = self._get_param("PermissionSetArn")
        backend._find_permission_set(self._get_param("InstanceArn"), arn)
        return json.dumps({"AccountIds": _provisioned(backend, arn)})

    def provision_permission_set(self: SSOAdminResponse) -> str:
        backend = _backend(self.current_account, self.region)
        arn = self._get_param("PermissionSetArn")
        permission_set = backend._find_permission_set(self._get_param("InstanceArn"), arn)
        target_type = self._get_param("TargetType")
        if target_type == "AWS_ACCOUNT":
            target = str(self._get_param("TargetId") or "")
            if not target:
                raise FakeAwsError(
                    "ValidationException", "TargetId is required when TargetType is AWS_ACCOUNT."
                )
            backend.__dict__.setdefault("fake_provisioned", {}).setdefault(arn, set()).add(target)
            accounts = [target]
        elif target_type == "ALL_PROVISIONED_ACCOUNTS":
            accounts = _provisioned(backend, arn)
        else:
            raise FakeAwsError("ValidationException", f"TargetType {target_type!r} is not valid.")
        for account in accounts:
            _push(permission_set, account)
        request = str(uuid.uuid4())
        status = {"RequestId": request, "PermissionSetArn": arn, "Status": "IN_PROGRESS", "polls": 0}
        failing = backend.__dict__.get("fake_failures", [])
        if failing:
            status["FailureReason"] = failing.pop(0)
            status["Status"] = "FAILED"
            backend.__dict__.setdefault("fake_provisioning", {})[request] = status
            return json.dumps({"PermissionSetProvisioningStatus": _public(status)})
        backend.__dict__.setdefault("fake_provisioning", {})[request] = status
        return json.dumps({"PermissionSetProvisioningStatus": _public(status)})

    def describe_permission_set_provisioning_status(self: SSOAdminResponse) -> str:
        backend = _backend(self.current_account, self.region)
        request = self._get_param("ProvisionPermissionSetRequestId")
        status = getattr(backend, "fake_provisioning", {}).get(request)
        if status is None:
            raise FakeAwsError("ResourceNotFoundException", f"No provisioning request {request}.")
        status["polls"] += 1
        if status["Status"] == "IN_PROGRESS":
            status["Status"] = "SUCCEEDED"  # IN_PROGRESS until first asked about
        return json.dumps({"PermissionSetProvisioningStatus": _public(status)})

    def get_permissions_boundary_for_permission_set(self: SSOAdminResponse) -> str:
        backend = _backend(self.current_account, self.region)
        arn = self._get_param("PermissionSetArn")
        permission_set = backend._find_permission_set(self._get_param("InstanceArn"), arn)
        boundary = getattr(permission_set, "fake_boundary", None)
        if boundary is None:
            raise FakeAwsError(
                "ResourceNotFoundException", f"Permission set {arn} has no permissions boundary."
            )
        return json.dumps({"PermissionsBoundary": boundary})

    SSOAdminResponse.get_permissions_boundary_for_permission_set = (  # type: ignore[attr-defined]
        get_permissions_boundary_for_permission_set
    )
    SSOAdminResponse.list_accounts_for_provisioned_permission_set = (  # type: ignore[method-assign]
        list_accounts_for_provisioned_permission_set
    )
    SSOAdminResponse.provision_permission_set = provision_permission_set  # type: ignore[method-assign]
    SSOAdminResponse.describe_permission_set_provisioning_status = (  # type: ignore[attr-defined]
        describe_permission_set_provisioning_status
    )


def fail_next_provisioning(account_id: str, reason: str, *, times: int = 1) -> None:
    """The next `times` ProvisionPermissionSet calls in the account fail with `reason` (their roles are
    left as they were), as when a role in a target account cannot be updated."""
    backend = _backend(account_id, "us-east-1")
    backend.__dict__.setdefault("fake_failures", []).extend([reason] * times)


def _public(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k != "polls"}


def _age_roles(spec: dict[str, Any]) -> None:
    """Roles provisioned long ago (a young principal is never called unused), last used as the spec says,
    with the use each account's role made (`usage`: account -> service -> {"days", "actions": {name: days}}).
    """
    from moto.iam.models import iam_backends

    from fakeaws.state import record_usage

    now = datetime.now(tz=UTC)
    for account in spec.get("accounts", []):
        role = iam_backends[account]["aws"].get_role(role_name(spec["name"], account))
        role.create_date = (now - timedelta(days=spec.get("created_days", 400))).replace(tzinfo=None)
        if spec.get("last_used_days") is not None:
            role.last_used = (now - timedelta(days=spec["last_used_days"])).replace(tzinfo=None)
            role.last_used_region = "us-east-1"
        for service, use in spec.get("usage", {}).get(account, {}).items():
            actions = {a: now - timedelta(days=d) for a, d in use.get("actions", {}).items()}
            record_usage(role.arn, service, now - timedelta(days=use["days"]), actions=actions)


def sso_admin_client(account_id: str, endpoint_url: str | None = None) -> Any:
    """An sso-admin client acting as `account_id`'s owner (no assumed role, no permission checks)."""
    client = boto3.client("sso-admin", region_name="us-east-1", endpoint_url=endpoint_url)
    client.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account_id)
    )
    return client


def seed_identity_center(
    management: str, sets: list[dict[str, Any]], *, endpoint_url: str | None = None
) -> dict[str, dict[str, Any]]:
    """Create the permission sets, assign each to its accounts and provision it there (its roles appear in
    those accounts' IAM); returns set name -> {"arn", "instance_arn", "roles": {account: role name}}."""
    sso = sso_admin_client(management, endpoint_url)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    out: dict[str, dict[str, Any]] = {}
    for spec in sets:
        arn = sso.create_permission_set(
            Name=spec["name"],
            Description=spec.get("description", spec["name"]),
            InstanceArn=instance,
            SessionDuration=spec.get("session_duration", "PT8H"),
        )["PermissionSet"]["PermissionSetArn"]
        ref = {"InstanceArn": instance, "PermissionSetArn": arn}
        if spec.get("inline"):
            sso.put_inline_policy_to_permission_set(**ref, InlinePolicy=json.dumps(spec["inline"]))
        for policy_arn in spec.get("managed", []):
            sso.attach_managed_policy_to_permission_set(**ref, ManagedPolicyArn=policy_arn)
        for account in spec.get("accounts", []):
            sso.create_account_assignment(
                **ref,
                TargetId=account,
                TargetType="AWS_ACCOUNT",
                PrincipalType="GROUP",
                PrincipalId=spec.get("group_id", f"group-{spec['name'].lower()}"),
            )
        sso.provision_permission_set(**ref, TargetType="ALL_PROVISIONED_ACCOUNTS")
        _age_roles(spec)
        out[spec["name"]] = {
            "arn": arn,
            "instance_arn": instance,
            "roles": {a: role_name(spec["name"], a) for a in spec.get("accounts", [])},
        }
    return out
