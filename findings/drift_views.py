"""Drift between two dates: principals first seen, added and removed, policies edited, new administrators
and escalation paths; as a page and as a CSV. An account's first sync is its baseline: what it found is
"first seen" by iamreview, not added in AWS."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import SyncRun
from accounts.roles import Role, role_required
from findings import selectors
from findings.models import ChangeRequest, Finding, PolicyDocument, SnapshotChange
from findings.views import _csv_response
from policy.tighten import policy_diff


def _parse_day(value: str, default: date) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return default


def _window(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    return (
        _parse_day(request.GET.get("from", ""), today - timedelta(days=7)),
        _parse_day(request.GET.get("to", ""), today),
    )


def _baseline(accounts: Any) -> Q:
    """Findings of an account's first sync (first seen when its baseline was taken), to leave out of
    "new" administrators and escalation paths."""
    q = Q(pk__in=[])
    for account_id, finished in SyncRun.objects.filter(
        account__in=accounts, status="succeeded", counts__first_sync=True, finished_at__isnull=False
    ).values_list("account_id", "finished_at"):
        q |= Q(account_id=account_id, first_seen__lte=finished)
    return q


def drift_context(request: HttpRequest) -> dict[str, Any]:
    start, end = _window(request)
    accounts = selectors.visible_accounts(request.user)
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


def _with_diffs(edited: list[SnapshotChange]) -> None:
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


@role_required(Role.VIEWER)
def drift(request: HttpRequest) -> HttpResponse:
    context = drift_context(request)
    _with_diffs(context["edited"])
    context["query"] = f"from={context['start']:%Y-%m-%d}&to={context['end']:%Y-%m-%d}"
    return render(request, "findings/drift.html", context)


def _rows(context: dict[str, Any]) -> Iterator[list[Any]]:
    labels = (
        ("first_seen", "first seen"),
        ("added", "principal added"),
        ("removed", "principal removed"),
        ("edited", "policy edited"),
    )
    for key, label in labels:
        for c in context[key]:
            detail = ""
            if key == "edited":
                outside = c.principal_arn not in context["applied_by_us"]
                granted, revoked = c.detail.get("granted") or [], c.detail.get("revoked") or []
                detail = "; ".join(
                    [
                        "edited outside iamreview" if outside else "applied from iamreview",
                        *([f"granted: {' '.join(granted)}"] if granted else []),
                        *([f"revoked: {' '.join(revoked)}"] if revoked else []),
                    ]
                )
            elif c.detail.get("type"):
                detail = c.detail["type"]
            yield [
                c.created_at.isoformat(),
                c.account.account_id,
                c.account.name,
                label,
                c.principal_arn,
                detail,
            ]
    for key, label in (("new_admins", "new administrator"), ("new_escalations", "new escalation path")):
        for f in context[key]:
            yield [
                f.first_seen.isoformat(),
                f.account.account_id,
                f.account.name,
                label,
                f.principal_arn,
                f.detail,
            ]


@role_required(Role.VIEWER)
def drift_export(request: HttpRequest) -> StreamingHttpResponse:
    context = drift_context(request)
    return _csv_response(
        f"drift-{context['start']:%Y%m%d}-{context['end']:%Y%m%d}.csv",
        ["when", "account_id", "account", "change", "principal", "detail"],
        _rows(context),
    )
