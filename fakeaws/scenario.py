"""Seeds fakeaws with an account's principals, their ages, keys and usage history, from a plain spec.

    seed_account("111111111111", {
        "users": [{"name": "alice", "groups": ["devs"], "keys": [{"age_days": 400, "last_used_days": 2}],
                   "password": {"last_used_days": 3}, "mfa": True, "created_days": 500}],
        "groups": [{"name": "devs", "attached": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}],
        "roles": [{"name": "app", "trust": {...}, "inline": {"p": {...}}, "created_days": 300,
                   "last_used_days": 1}],
        "policies": [{"name": "deploy", "document": {...}}],
        "usage": {"app": {"s3": {"days": 1, "actions": {"GetObject": 1}}}},
        "analyzers": [{"name": "unused", "type": "ACCOUNT_UNUSED_ACCESS", "findings": [...]}],
        "root": {"mfa": False, "keys": [{"age_days": 900, "last_used_days": 3}]},  # fakeaws.rootuser
        "management": True,  # the read role has the management template's organisation policy
        "trail": True,  # a multi-region trail logging management events (TRAIL_NAME)
        "external_id": "iamreview-...",  # the product's roles require it (else they trust any ExternalId)
        "events": {"app": [{"action": "s3:GetObject", "days": 1, "resources": ["arn:aws:s3:::b/k"]}]},
    })

Every seeded account also gets the product's read and apply roles (`iamreview-read`, `iamreview-apply`)
with the policies of the onboarding templates, trusting the product's account (PRODUCT_ACCOUNT, where plain
credentials act), unless the spec says `"product_roles": False`; fakeaws then refuses any call those roles
are not allowed to make (`fakeaws.enforce`), and AssumeRole on a role whose trust does not take the caller
in (`fakeaws.trust`).

Works in-process under `fakeaws.mock()` and inside the fakeaws server process.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fakeaws.state import record_event, record_usage

READ_ROLE = "iamreview-read"
# The account of the product's own credentials: moto's default account, where plain credentials act
# (fakeaws.trust). The product's roles in every seeded account trust it, as the onboarding templates
# trust the product's principal.
PRODUCT_ACCOUNT = "123456789012"
APPLY_ROLE = "iamreview-apply"
TRAIL_NAME = "management-events"


def trail_arn(account_id: str, region: str = "us-east-1") -> str:
    return f"arn:aws:cloudtrail:{region}:{account_id}:trail/{TRAIL_NAME}"


def _ago(days: float, now: datetime) -> datetime:
    return now - timedelta(days=days)


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def account_clients(account_id: str, endpoint_url: str | None = None) -> dict[str, Any]:
    """IAM and Access Analyzer clients acting inside `account_id` as its owner, with no permission checks.

    They name the account with moto's `x-moto-account-id` header instead of assuming a role, so that
    fakeaws's permission checks (which apply to assumed-role sessions) never stand in the way of seeding.
    """

    def name_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    from accounts.aws.client import boto3_session

    # A session sharing the product's botocore data loader: moto clears boto3's default session whenever a
    # mock starts, and a new one would read and parse the service models again.
    session = boto3_session(region_name="us-east-1")
    clients = {}
    for service in ("iam", "accessanalyzer", "s3", "cloudtrail"):
        client = session.client(service, region_name="us-east-1", endpoint_url=endpoint_url)
        client.meta.events.register("before-sign.*.*", name_account)
        clients[service] = client
    return clients


def product_roles(
    trusted_account: str = PRODUCT_ACCOUNT, *, management: bool = False, external_id: str = ""
) -> list[dict[str, Any]]:
    """The product's read and apply roles with the policies of the onboarding templates (for the
    management account, the read role also has the management template's organisation policy), trusting
    the product's account (with `external_id` required, when given), and the role IAM Access Analyzer
    assumes to read the trail when it generates a policy."""
    from accounts.product_roles import (
        ACCESS_ROLE_NAME,
        APPLY_ROLE_NAME,
        IDENTITY_CENTER_APPLY_POLICY_NAME,
        ORGANIZATION_POLICY_NAME,
        READ_ROLE_NAME,
        access_role_policy,
        access_role_trust,
        identity_center_apply_policy,
        organization_policy,
        role_policies,
    )

    roles = []
    for name, document in role_policies().items():
        inline = {name: document}
        if management and name == READ_ROLE_NAME:
            inline[ORGANIZATION_POLICY_NAME] = organization_policy()
        if management and name == APPLY_ROLE_NAME:
            inline[IDENTITY_CENTER_APPLY_POLICY_NAME] = identity_center_apply_policy()
        roles.append(
            {
                "name": name,
                "trust": read_role_trust(trusted_account, external_id),
                "inline": inline,
                "created_days": 30,
            }
        )
    roles.append(
        {
            "name": ACCESS_ROLE_NAME,
            "trust": access_role_trust(),
            "inline": {ACCESS_ROLE_NAME: access_role_policy()},
            "created_days": 30,
        }
    )
    return roles


def read_role_trust(trusted_account: str = PRODUCT_ACCOUNT, external_id: str = "") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def seed_account(
    account_id: str, spec: dict[str, Any], *, now: datetime | None = None, endpoint_url: str | None = None
) -> dict[str, str]:
    """Create everything in `spec`; returns principal name -> ARN."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    now = now or datetime.now(tz=UTC)
    clients = account_clients(account_id, endpoint_url)
    iam = clients["iam"]
    backend = iam_backends[account_id]["aws"]
    arns: dict[str, str] = {}
    policy_arns: dict[str, str] = {}
    for policy in spec.get("policies", []):
        arn = iam.create_policy(PolicyName=policy["name"], PolicyDocument=json.dumps(policy["document"]))[
            "Policy"
        ]["Arn"]
        for extra in policy.get("versions", []):
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(extra), SetAsDefault=False)
        policy_arns[policy["name"]] = arn

    def attach_arn(ref: str) -> str:
        return policy_arns.get(ref, ref)

    for group in spec.get("groups", []):
        arns[group["name"]] = iam.create_group(GroupName=group["name"])["Group"]["Arn"]
        for name, document in group.get("inline", {}).items():
            iam.put_group_policy(
                GroupName=group["name"], PolicyName=name, PolicyDocument=json.dumps(document)
            )
        for ref in group.get("attached", []):
            iam.attach_group_policy(GroupName=group["name"], PolicyArn=attach_arn(ref))

    roles = list(spec.get("roles", []))
    if spec.get("product_roles", True):
        named = {r["name"] for r in roles}
        roles += [
            r
            for r in product_roles(
                management=bool(spec.get("management")), external_id=spec.get("external_id", "")
            )
            if r["name"] not in named
        ]
    for role in roles:
        # A role without a trust of its own trusts its account, or the product for the product's roles.
        own = PRODUCT_ACCOUNT if role["name"] in (READ_ROLE, APPLY_ROLE) else account_id
        kwargs: dict[str, Any] = {
            "RoleName": role["name"],
            "AssumeRolePolicyDocument": json.dumps(role.get("trust") or read_role_trust(own)),
            "Path": role.get("path", "/"),
        }
        if role.get("tags"):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in role["tags"].items()]
        if role.get("boundary"):
            kwargs["PermissionsBoundary"] = attach_arn(role["boundary"])
        arns[role["name"]] = iam.create_role(**kwargs)["Role"]["Arn"]
        for name, document in role.get("inline", {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=name, PolicyDocument=json.dumps(document))
        for ref in role.get("attached", []):
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=attach_arn(ref))
        model = backend.get_role(role["name"])
        model.create_date = _naive(_ago(role.get("created_days", 400), now))
        if role.get("last_used_days") is not None:
            model.last_used = _naive(_ago(role["last_used_days"], now))
            model.last_used_region = "us-east-1"

    for user in spec.get("users", []):
        kwargs = {"UserName": user["name"], "Path": user.get("path", "/")}
        if user.get("tags"):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in user["tags"].items()]
        arns[user["name"]] = iam.create_user(**kwargs)["User"]["Arn"]
        for group_name in user.get("groups", []):
            iam.add_user_to_group(GroupName=group_name, UserName=user["name"])
        for name, document in user.get("inline", {}).items():
            iam.put_user_policy(UserName=user["name"], PolicyName=name, PolicyDocument=json.dumps(document))
        for ref in user.get("attached", []):
            iam.attach_user_policy(UserName=user["name"], PolicyArn=attach_arn(ref))
        model = backend.get_user(user["name"])
        model.create_date = _naive(_ago(user.get("created_days", 400), now))
        if user.get("password") is not None:
            # The emulated account's login profile: the password never leaves fakeaws.
            iam.create_login_profile(UserName=user["name"], Password="Seeded-Passw0rd!")  # noqa: S106  # nosec B106
            days = user["password"].get("last_used_days")
            model.password_last_used = _naive(_ago(days, now)) if days is not None else None
        if user.get("mfa"):
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user['name']}-mfa")[
                "VirtualMFADevice"
            ]["SerialNumber"]
            iam.enable_mfa_device(
                UserName=user["name"],
                SerialNumber=serial,
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )
        for key_spec in user.get("keys", []):
            key_id = iam.create_access_key(UserName=user["name"])["AccessKey"]["AccessKeyId"]
            key = next(k for k in model.access_keys if k.access_key_id == key_id)
            key.create_date = _naive(_ago(key_spec.get("age_days", 10), now))
            if key_spec.get("inactive"):
                iam.update_access_key(UserName=user["name"], AccessKeyId=key_id, Status="Inactive")
            if key_spec.get("last_used_days") is not None:
                key.last_used = AccessKeyLastUsed(
                    _naive(_ago(key_spec["last_used_days"], now)), "s3", "us-east-1"
                )

    if spec.get("root"):
        from fakeaws.state import STATE

        STATE.root_users[account_id] = dict(spec["root"])

    for name, services in spec.get("usage", {}).items():
        arn = arns[name]
        for service, use in services.items():
            actions = {a: _ago(d, now) for a, d in use.get("actions", {}).items()}
            record_usage(arn, service, _ago(use["days"], now), actions=actions)

    if spec.get("trail"):
        bucket = f"cloudtrail-{account_id}"
        clients["s3"].create_bucket(Bucket=bucket)
        clients["cloudtrail"].create_trail(Name=TRAIL_NAME, S3BucketName=bucket, IsMultiRegionTrail=True)
    for name, events in spec.get("events", {}).items():
        for event in events:
            record_event(
                account_id,
                arns.get(name, name),
                event["action"],
                _ago(event.get("days", 0), now),
                resources=event.get("resources", ()),
                error=event.get("error", ""),
                region=event.get("region", "us-east-1"),
            )

    if spec.get("analyzers"):
        from fakeaws.accessanalyzer import add_finding

        for analyzer in spec["analyzers"]:
            analyzer_arn = clients["accessanalyzer"].create_analyzer(
                analyzerName=analyzer["name"], type=analyzer["type"]
            )["arn"]
            for finding in analyzer.get("findings", []):
                resolved = dict(finding)
                resolved["resource"] = arns.get(finding["resource"], finding["resource"])
                add_finding(analyzer_arn, resolved)
    return arns
