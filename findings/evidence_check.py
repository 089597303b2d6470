"""Before an apply: is every use in the evidence still allowed by the principal's new policy set?

The principal's documents as stored, with each item's current document replaced by its proposed ones, are
asked about every (action, resource) the evidence shows was used within the account's window: by the
engine and, where the read role may call it, by IAM's SimulateCustomPolicy. A request allowed today and
denied after the change is used access the change would take away; the apply is refused with the list.
Uses older than the window (kept as "periodic?" unless a reviewer removed them) are reported, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.aws import evidence as aws
from accounts.aws.client import AwsAccessError
from findings.facts import principal_evidence, principal_layers
from findings.models import ChangeRequest, Principal
from findings.review_window import review_window
from findings.scoping import scoping_evidence
from policy.catalog import default_catalog
from policy.evaluate import PrincipalPermissions
from policy.evidence import Evidence
from policy.grants import PrincipalContext
from policy.model import PolicyError, parse_policies, parse_policy


@dataclass
class UseCheck:
    denied: list[str] = field(default_factory=list)  # "action on resource (source, last used)" refused
    older: list[str] = field(default_factory=list)  # uses older than the window the change removes
    checked: int = 0
    simulator: str = ""  # what IAM's simulator said, or why it was not asked


def policy_sets(principal: Principal, items: list[dict[str, Any]]) -> tuple[list[Any], list[Any], Any]:
    """(documents today, documents after the change, boundary) for the principal, from the snapshot."""
    layers = principal_layers(principal)
    today: list[Any] = []
    for layer in [layers, *layers.groups]:
        today += [p.document.document for p in layer.inline]
        today += [p.document.document for p in layer.managed if p.document is not None]
    after = list(today)
    for item in items:
        if item["original"] in after:
            after.remove(item["original"])
        after += list(item["proposed"])
    boundary = layers.boundary.document.document if layers.boundary and layers.boundary.document else None
    return today, after, boundary


def _permissions(principal: Principal, documents: list[Any], boundary: Any) -> PrincipalPermissions:
    parsed = parse_policies(documents)
    context = PrincipalContext(principal.arn, principal.name, principal.kind, principal.account.account_id)
    bound = None
    if boundary is not None:
        try:
            bound = parse_policy(boundary, "boundary")
        except PolicyError:
            bound = None
    return PrincipalPermissions.build(context, parsed, default_catalog(), boundary=bound)


def _allowed(perms: PrincipalPermissions, row: Evidence) -> bool:
    if row.service_level:
        return any(a.startswith(f"{row.service}:") for a in perms.allowed_actions())
    if row.resource:
        return perms.allows(row.action, row.resource)
    return perms.allows_somewhere(row.action, perms.catalog).allowed


def _label(row: Evidence, now: datetime) -> str:
    days = max(0, (now - row.last_seen).days)
    on = f" on {row.resource}" if row.resource else ""
    return f"{row.action}{on} ({row.source.value.replace('_', ' ')}, last used {days} day(s) ago)"


def check_used_access(cr: ChangeRequest, iam: Any = None, *, now: datetime | None = None) -> UseCheck:
    """What the change would deny of the principal's recorded use; `iam` (the read role's client) adds IAM's
    own simulator to the engine's answer."""
    now = now or timezone.now()
    result = UseCheck()
    principal = cr.principal
    if principal is None:
        return result
    today, after, boundary = policy_sets(principal, cr.items)
    before_perms = _permissions(principal, today, boundary)
    after_perms = _permissions(principal, after, boundary)
    window = now - timedelta(days=review_window(principal).unused_days)
    rows = principal_evidence(principal)
    # A resource-less use that LookupEvents recorded with its resource is simulated on that resource
    # (its own row), not on "*", which a statement narrowed to the resource rightly refuses.
    scoped = {id(r) for r in scoping_evidence(principal, rows, now=now)}
    requests: dict[tuple[str, str], Evidence] = {}
    for row in rows:
        result.checked += 1
        if _allowed(before_perms, row) and not _allowed(after_perms, row):
            (result.denied if row.last_seen >= window else result.older).append(_label(row, now))
        if not row.service_level and row.last_seen >= window and id(row) in scoped:
            requests.setdefault((row.action, row.resource or "*"), row)
    if iam is None or not requests:
        result.simulator = "not asked" if iam is None else "nothing to simulate"
        return _unique(result)
    try:
        before = aws.simulate(iam, today, boundary, list(requests))
        later = aws.simulate(iam, after, boundary, list(requests))
    except AwsAccessError as exc:
        result.simulator = f"unavailable ({exc})"
        return _unique(result)
    denied_by_iam = [
        _label(row, now)
        for key, row in requests.items()
        if before.get(key) == "allowed" and later.get(key) != "allowed"
    ]
    result.denied += denied_by_iam
    result.simulator = f"{len(requests)} request(s) simulated, {len(denied_by_iam)} denied after the change"
    return _unique(result)


def _unique(result: UseCheck) -> UseCheck:
    result.denied = sorted(set(result.denied))
    result.older = sorted(set(result.older))
    return result
