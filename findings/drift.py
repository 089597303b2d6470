"""Drift between two days, read for the drift page and its CSV: principals first seen, added and removed,
policies edited (with their diffs), new administrators and escalation paths, and what iamreview applied."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import SyncRun
from accounts.selectors import visible_accounts
from findings.models import ChangeRequest, Finding, PolicyDocument, SnapshotChange
from policy.tighten import policy_diff

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 1, 1)


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
    """What changed in the accounts the user may see between two days (inclusive). The lists are
    querysets, oldest first, for the page to show a page of each and the CSV to stream whole: after an
    organisation's first sync they hold tens of thousands of rows."""
    accounts = visible_accounts(user)
    # The days as a range of instants (midnight to midnight, local time): `created_at__date` would convert
    # every row's time before comparing, and no index could serve it.
    # Days outside any stored history are clamped (a date of year 9999 plus a day would not exist).
    start, end = max(start, FIRST_DAY), min(end, LAST_DAY)
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    window = {"created_at__gte": since, "created_at__lt": until}
    changes = (
        SnapshotChange.objects.filter(account__in=accounts, **window)
        .select_related("account")
        .order_by("created_at", "id")
    )
    added = changes.filter(kind=SnapshotChange.Kind.PRINCIPAL_ADDED)
    first_sync = Q(detail__first_sync=True)
    new: QuerySet[Finding] = (
        Finding.objects.filter(account__in=accounts, first_seen__gte=since, first_seen__lt=until)
        .select_related("account", "principal")
        .order_by("first_seen", "id")
    )
    baseline = _baseline(accounts)
    return {
        "start": start,
        "end": end,
        "first_seen": added.filter(first_sync),
        # Not `exclude(first_sync)`: a change without the key would compare NULL and be left out.
        "added": added.filter(~Q(detail__has_key="first_sync") | Q(detail__first_sync=False)),
        "removed": changes.filter(kind=SnapshotChange.Kind.PRINCIPAL_REMOVED),
        "edited": changes.filter(kind=SnapshotChange.Kind.POLICY_CHANGED),
        "new_admins": new.filter(kind="admin").exclude(baseline),
        "new_escalations": new.filter(kind="privilege-escalation").exclude(baseline),
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
