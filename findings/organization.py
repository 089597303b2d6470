"""The organisation's SCPs and RCPs as they apply to each linked account.

A sync of the management (or delegated-admin) account brings the OU tree and every SCP and RCP with its
targets (`accounts.aws.collect.organization`); `organization_store` keeps it, and `policy_levels` gives an
account's levels (root, each OU down its path, the account itself) for the engine, where each level must
allow an action. SCPs and RCPs never apply to the management account.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun
from findings.models import OrganizationSnapshot, Principal
from policy.model import PolicyDocument, PolicyError, parse_policy

TYPE_LABEL = {"SERVICE_CONTROL_POLICY": "SCP", "RESOURCE_CONTROL_POLICY": "RCP"}


def organization_store(
    *, account: LinkedAccount, org: dict[str, Any], run: SyncRun | None, collected_at: datetime | None = None
) -> bool:
    """Keep the organisation as this sync saw it; True when it changed. Member accounts' principals are
    then analysed again at their next sync (their SCP ceiling may have moved)."""
    digest = hashlib.sha256(json.dumps(org, sort_keys=True, default=str).encode()).hexdigest()
    last = OrganizationSnapshot.objects.filter(account=account).first()
    if last is not None and last.digest == digest:
        return False
    OrganizationSnapshot.objects.create(
        account=account,
        run=run,
        organization_id=org.get("id", ""),
        management_account_id=org.get("management_account_id", ""),
        nodes=org.get("nodes", {}),
        enabled_types=org.get("enabled_types", []),
        policies=org.get("policies", {}),
        digest=digest,
        collected_at=collected_at or timezone.now(),
    )
    members = [i for i, n in org.get("nodes", {}).items() if n.get("kind") == "account"]
    Principal.objects.filter(account__account_id__in=members).exclude(account=account).update(
        analyzed_at=None
    )
    return True


def snapshot_for(account_id: str) -> OrganizationSnapshot | None:
    """The newest stored organisation whose tree holds this account."""
    for snapshot in OrganizationSnapshot.objects.all()[:20]:
        if snapshot.nodes.get(account_id, {}).get("kind") == "account":
            return snapshot
    return None


def own_account_ids(account_id: str) -> frozenset[str]:
    """The accounts this account's roles may trust without an ExternalId (no third party can be the
    confused deputy): its organisation's accounts when a stored organisation holds it (or it manages one),
    else every linked account."""
    snapshot = (
        snapshot_for(account_id)
        or OrganizationSnapshot.objects.filter(management_account_id=account_id).first()
    )
    if snapshot is not None:
        members = {i for i, n in snapshot.nodes.items() if n.get("kind") == "account"}
        return frozenset(members | {snapshot.management_account_id} - {""})
    return frozenset(LinkedAccount.objects.values_list("account_id", flat=True))


def organization_id_of(account_id: str) -> str | None:
    """The id of the organisation whose stored tree holds this account (aws:PrincipalOrgID), if any."""
    snapshot = snapshot_for(account_id)
    if snapshot is None:
        return None
    return snapshot.organization_id or None


def organization_account_ids() -> set[str]:
    """Every account of every stored organisation (the newest snapshot of each management account)."""
    ids: set[str] = set()
    seen: set[int] = set()
    for snapshot in OrganizationSnapshot.objects.all()[:50]:
        if snapshot.account_id in seen:
            continue
        seen.add(snapshot.account_id)
        ids |= {i for i, n in snapshot.nodes.items() if n.get("kind") == "account"}
        ids.add(snapshot.management_account_id)
    return ids


def ou_path(snapshot: OrganizationSnapshot, account_id: str) -> list[str]:
    """Node ids from the root down to the account (the account last)."""
    path: list[str] = []
    node: str | None = account_id
    while node is not None and node in snapshot.nodes and node not in path:
        path.append(node)
        node = snapshot.nodes[node].get("parent")
    return list(reversed(path))


def _as_identity_cap(document: dict[str, Any]) -> dict[str, Any]:
    """An RCP's statements name every principal (`"Principal": "*"`); as a cap on this account's
    principals acting on its resources they read like SCP statements."""
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    out = []
    for statement in statements:
        if isinstance(statement, dict) and statement.get("Principal") in ("*", {"AWS": "*"}):
            statement = {k: v for k, v in statement.items() if k != "Principal"}
        out.append(statement)
    return {**document, "Statement": out}


def policy_levels(account_id: str) -> list[dict[str, Any]]:
    """The account's SCP and RCP levels, root first: [{"type", "node", "name", "policies": [{"id",
    "name", "document"}]}]. Empty for the management account and for accounts no organisation holds."""
    snapshot = snapshot_for(account_id)
    if snapshot is None or account_id == snapshot.management_account_id:
        return []
    path = ou_path(snapshot, account_id)
    levels = []
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        if policy_type not in snapshot.enabled_types:
            continue
        for node in path:
            attached = [
                (pid, p)
                for pid, p in sorted(snapshot.policies.items())
                if p.get("type") == policy_type and node in p.get("targets", [])
            ]
            if not attached:
                continue  # AWS keeps at least one SCP on every target; an empty level is read as no cap
            policies = []
            for pid, p in attached:
                try:
                    document = json.loads(p.get("content") or "{}")
                except ValueError:
                    continue
                if policy_type == "RESOURCE_CONTROL_POLICY":
                    document = _as_identity_cap(document)
                policies.append({"id": pid, "name": p.get("name", pid), "document": document})
            levels.append(
                {
                    "type": TYPE_LABEL[policy_type],
                    "node": node,
                    "name": snapshot.nodes[node].get("name", node),
                    "policies": policies,
                }
            )
    return levels


def engine_levels(levels: list[dict[str, Any]]) -> tuple[list[list[PolicyDocument]], list[str]]:
    """Parsed documents per level for `policy.AccountAnalysis(scps=...)`, each named "SCP name"; and the
    problems of documents that could not be parsed (left out)."""
    parsed: list[list[PolicyDocument]] = []
    problems: list[str] = []
    for level in levels:
        docs = []
        for p in level["policies"]:
            name = f"{level['type']} {p['name']}"
            try:
                docs.append(parse_policy(p["document"], name))
            except PolicyError as exc:
                problems.append(f"{name}: {exc}")
        if docs:
            parsed.append(docs)
    return parsed, problems
