"""An Organization in fakeaws whose members are the seeded accounts, with OUs, SCPs and RCPs.

    seed_organization("999999999999", {
        "accounts": {"111111111111": "prod", "222222222222": "staging"},
        "ous": [{"name": "Workloads", "accounts": ["111111111111"]},
                {"name": "Sandbox", "parent": "Workloads", "accounts": ["222222222222"]}],
        "policies": [{"name": "deny-leaving", "type": "SCP", "document": {...}, "targets": ["Root"]}],
    })

moto's Organizations gives new member accounts random ids; here each takes the id of the seeded account
it stands for, so that the management account's view and the member accounts' IAM agree. Targets name
the root ("Root"), an OU by name, or an account id. Both policy types are enabled on the root, and AWS's
FullAWSAccess and RCPFullAWSAccess stay attached wherever moto attaches them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

POLICY_TYPES = {"SCP": "SERVICE_CONTROL_POLICY", "RCP": "RESOURCE_CONTROL_POLICY"}


def organizations_client(account_id: str, endpoint_url: str | None = None) -> Any:
    """An Organizations client acting as `account_id`'s owner (no assumed role, no permission checks)."""
    client = boto3.client("organizations", region_name="us-east-1", endpoint_url=endpoint_url)
    client.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account_id)
    )
    return client


def seed_organization(
    management: str, spec: dict[str, Any], *, endpoint_url: str | None = None
) -> dict[str, str]:
    """Create the organisation; returns OU name -> OU id (and "Root" -> the root id)."""
    from moto.organizations.models import organizations_backends

    org = organizations_client(management, endpoint_url)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in POLICY_TYPES.values():
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    backend = organizations_backends[management]["aws"]
    for account_id, name in spec.get("accounts", {}).items():
        org.create_account(AccountName=name, Email=f"{name}@example.com")
        member = next(a for a in backend.accounts if a.name == name and a.id != management)
        organizations_backends.master_accounts.pop(member.id, None)
        member.id = account_id
        organizations_backends.master_accounts[account_id] = (management, "aws")
    ids = {"Root": root}
    for ou in spec.get("ous", []):
        parent = ids[ou.get("parent", "Root")]
        ids[ou["name"]] = org.create_organizational_unit(ParentId=parent, Name=ou["name"])[
            "OrganizationalUnit"
        ]["Id"]
        for account_id in ou.get("accounts", []):
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ids[ou["name"]])
    for policy in spec.get("policies", []):
        policy_id = org.create_policy(
            Name=policy["name"],
            Description=policy.get("description", policy["name"]),
            Type=POLICY_TYPES[policy.get("type", "SCP")],
            Content=json.dumps(policy["document"]),
        )["Policy"]["PolicySummary"]["Id"]
        for target in policy.get("targets", []):
            org.attach_policy(PolicyId=policy_id, TargetId=ids.get(target, target))
    return ids
