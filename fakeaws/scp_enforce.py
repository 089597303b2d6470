"""The organisation's SCPs and RCPs in fakeaws's permission checks, as AWS applies them.

A principal in a member account of the Organization (`fakeaws.organization`) may do only what the SCPs
attached along its account's path allow: the root, each OU down to the account, and the account itself.
Each of those levels must allow the action (some SCP attached there has an Allow for it) and an explicit
Deny in any of them refuses it. RCPs do the same for requests on resources of a member account, for the
services RCPs cover. Neither ever applies to the management account, nor to service-linked roles.

Decided with fakeaws's own evaluator (`fakeaws.iameval`), never with the product's engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fakeaws.iameval import Policy, PolicyInvalid, decide, parse

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
# Services whose resources RCPs govern (AWS Organizations user guide, "Resource control policies").
RCP_SERVICES = frozenset({"s3", "sts", "sqs", "kms", "secretsmanager"})
WORDS = {SCP: "service control policy", RCP: "resource control policy"}


@dataclass(frozen=True)
class Membership:
    """A member account as the Organization sees it: its backend, the account and its organisation id."""

    backend: Any
    account: Any
    organization_id: str


def membership(account_id: str) -> Membership | None:
    """The Organization `account_id` is a member of, or None (no organisation, or its management account)."""
    from moto.organizations.models import organizations_backends

    entry = organizations_backends.master_accounts.get(account_id)
    if entry is None:
        return None
    management, partition = entry
    backend = organizations_backends[management][partition]
    if backend.org is None or account_id == backend.org.master_account_id:
        return None
    member = next((a for a in backend.accounts if a.id == account_id), None)
    if member is None:
        return None
    return Membership(backend, member, backend.org.id)


def organization_id(account_id: str) -> str | None:
    """The id of the organisation the account belongs to, management account included (aws:PrincipalOrgID)."""
    from moto.organizations.models import organizations_backends

    entry = organizations_backends.master_accounts.get(account_id)
    backend = organizations_backends[entry[0]][entry[1]] if entry else None
    if backend is None:
        own = organizations_backends.get(account_id)
        backend = own["aws"] if own is not None and "aws" in own else None
    org = getattr(backend, "org", None)
    return str(org.id) if org is not None else None


def _enabled(backend: Any, policy_type: str) -> bool:
    roots = [ou for ou in backend.ou if getattr(ou, "type", "") == "ROOT"]
    return any(
        t.get("Type") == policy_type and t.get("Status") == "ENABLED"
        for root in roots
        for t in getattr(root, "policy_types", [])
    )


def _path(member: Membership) -> list[Any]:
    """The root, each OU down to the account, and the account."""
    chain = [member.account]
    parent = member.account.parent_id
    seen: set[str] = set()
    while parent and parent not in seen:
        seen.add(parent)
        node = next((ou for ou in member.backend.ou if ou.id == parent), None)
        if node is None:
            break
        chain.append(node)
        parent = getattr(node, "parent_id", None)
    return list(reversed(chain))


def _parsed(policy: Any) -> Policy | None:
    return _parse_content(str(policy.content or "{}"))


@lru_cache(maxsize=256)
def _parse_content(content: str) -> Policy | None:
    """A policy's text parsed once: every checked call reads the SCPs of its account's path."""
    try:
        return parse(content, identity=False)
    except PolicyInvalid:
        return None


def levels(member: Membership, policy_type: str) -> list[list[tuple[str, Policy]]]:
    """The policies of that type attached at each level of the account's path, root first (a level with
    none attached is left out); each as (name, parsed document). Empty when the type is not enabled."""
    if not _enabled(member.backend, policy_type):
        return []
    out = []
    for node in _path(member):
        attached = [
            (str(p.name), doc)
            for p in getattr(node, "attached_policies", [])
            if p.type == policy_type and (doc := _parsed(p)) is not None
        ]
        if attached:
            out.append(attached)
    return out


def verdict(
    account_id: str,
    policy_type: str,
    action: str,
    resource: str,
    context: Mapping[str, Sequence[str]],
) -> str:
    """ "allowed", "explicitDeny" or "implicitDeny" for a request capped by the account's SCPs (or RCPs);
    "allowed" when the account is no member or the type is not enabled."""
    member = membership(account_id)
    if member is None:
        return "allowed"
    found = levels(member, policy_type)
    decisions = [decide([doc for _, doc in level], action, resource, context) for level in found]
    if "explicitDeny" in decisions:
        return "explicitDeny"
    return "implicitDeny" if "implicitDeny" in decisions else "allowed"


def reason(policy_type: str, decision: str, action: str) -> str:
    """The end of AWS's AccessDenied message for a request an SCP or RCP refused."""
    words = WORDS[policy_type]
    if decision == "explicitDeny":
        return f"with an explicit deny in a {words}"
    return f"because no {words} allows the {action} action"


def exempt(principal_arn: str) -> bool:
    """Service-linked roles are never capped by SCPs or RCPs."""
    return ":role/aws-service-role/" in principal_arn


def tags_of(entity: Any) -> dict[str, str]:
    """An IAM role's or user's tags (moto keeps a list of {"Key", "Value"} for roles, a dict for users)."""
    raw = getattr(entity, "tags", None) or []
    items = raw.values() if isinstance(raw, dict) else raw
    return {str(t["Key"]): str(t["Value"]) for t in items}


def principal_context(
    account_id: str, principal_arn: str, kind: str, tags: Mapping[str, str]
) -> dict[str, list[str]]:
    """The request-context keys that describe the calling principal (lower-cased keys)."""
    context: dict[str, list[str]] = {
        "aws:principalarn": [principal_arn],
        "aws:principalaccount": [account_id],
        "aws:principaltype": [kind],
        "aws:principalisawsservice": ["false"],
    }
    org = organization_id(account_id)
    if org:
        context["aws:principalorgid"] = [org]
    for key, value in tags.items():
        context[f"aws:principaltag/{key.lower()}"] = [value]
    return context


def refusal(
    account_id: str, principal_arn: str, action: str, resource: str, context: Mapping[str, Sequence[str]]
) -> str | None:
    """Why the SCPs of the caller's account refuse the request (the end of AWS's message), or None when
    they do not. (RCPs cap requests on a member account's resources: `fakeaws.trust` applies them to
    AssumeRole, the one such request fakeaws's enforced services take.)"""
    if exempt(principal_arn):
        return None
    decision = verdict(account_id, SCP, action, resource, context)
    return None if decision == "allowed" else reason(SCP, decision, action)
