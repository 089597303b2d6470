"""Drift between two days, read for the drift page and its CSV: principals first seen, added and removed,
policies edited (with their diffs), new administrators and escalation paths, and what iamreview applied."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import SyncRun
from accounts.selectors import visible_accounts
from findings.models import ChangeRequest, Finding, PolicyDocument, SnapshotChange
from policy.tighten import policy_diff


def _baseline(accounts: Any) -> Q:
    """Findings of an account's first sync (first seen when its baseline was taken), to leave out of
    "new" administrators and escalation paths."""
    q = Q(pk__in=[])
    for account_id, finished in SyncRun.objects.filter(
        account__in=accounts, status="succeeded", counts__first_sync=True, finished_at__isnull=False
    ).values_list("account_id", "finished_at"):
        q |= Q(account_id=account_id, first_seen__lte=finished)
    return q


def drift_report(*, user: AbstractBaseUser | AnonymousUser, start: date, end: date) -> dict[str, Any]:
    """What changed in the accounts the user may see between two days (inclusive)."""
    accounts = visible_accounts(user)
    window = {"created_at__date__gte": start, "created_at__date__lte": end}
    changes = (
        SnapshotChange.objects.filter(account__in=accounts, **window)
        .select_related("account")
        .order_by("created_at", "id")
    )
    grouped: dict[str, list[SnapshotChange]] = defaultdict(list)
    first_seen: list[SnapshotChange] = []
    for c in changes:
        if c.kind == SnapshotChange.Kind.PRINCIPAL_ADDED and c.detail.get("first_sync"):
            first_seen.append(c)
        else:
            grouped[c.kind].append(c)
    new: QuerySet[Finding] = Finding.objects.filter(
        account__in=accounts, first_seen__date__gte=start, first_seen__date__lte=end
    ).select_related("account", "principal")
    baseline = _baseline(accounts)
    return {
        "start": start,
        "end": end,
        "first_seen": first_seen,
        "added": grouped.get(SnapshotChange.Kind.PRINCIPAL_ADDED, []),
        "removed": grouped.get(SnapshotChange.Kind.PRINCIPAL_REMOVED, []),
        "edited": grouped.get(SnapshotChange.Kind.POLICY_CHANGED, []),
        "new_admins": list(new.filter(kind="admin").exclude(baseline)),
        "new_escalations": list(new.filter(kind="privilege-escalation").exclude(baseline)),
        "baseline_admins": new.filter(kind="admin").filter(baseline).count(),
        "applied_by_us": set(
            ChangeRequest.objects.filter(
                account__in=accounts, applied_at__date__gte=start, applied_at__date__lte=end
            ).values_list("principal_arn", flat=True)
        ),
    }


def with_policy_diffs(edited: list[SnapshotChange]) -> None:
    wanted = {
        h for c in edited for side in (c.detail.get("policies") or {}).values() for h in side.values() if h
    }
    documents = dict(PolicyDocument.objects.filter(sha256__in=wanted).values_list("sha256", "document"))
    for change in edited:
        policies = change.detail.get("policies") or {}
        before, after = policies.get("before", {}), policies.get("after", {})
        change.diffs = [  # type: ignore[attr-defined]
            {
                "policy": key.split(":", 1)[1],
                "lines": policy_diff(documents.get(before.get(key, "")), documents.get(after.get(key, ""))),
            }
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)
        ]
