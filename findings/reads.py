"""Reads the pages make besides the filtered listings of `findings.selectors`: one object the user may see
(404 otherwise, never a hint that it exists), the principal's keys and findings, the weekly review's cards,
trend figures per day. Every function takes keyword arguments that are already validated."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from accounts.models import LinkedAccount
from accounts.selectors import visible_accounts
from core.models import AuditEvent
from findings.models import (
    AccessKey,
    CatalogGap,
    ChangeRequest,
    ChangeStatus,
    DailyMetric,
    Finding,
    FindingStatus,
    Principal,
    Suggestion,
)
from policy.kinds import KEY_PAGE_KINDS, SEVERITY_IDS


def visible_principals(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Principal]:
    """The principals of the accounts the user may see (pages and the API start here)."""
    return Principal.objects.filter(account__in=visible_accounts(user)).select_related(
        "account", "trust_document"
    )


def visible_findings(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Finding]:
    return Finding.objects.filter(account__in=visible_accounts(user)).select_related(
        "account", "principal", "assignee", "suppressed_by", "suppression_rule__created_by"
    )


def visible_suggestions(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Suggestion]:
    return Suggestion.objects.filter(principal__account__in=visible_accounts(user)).select_related(
        "principal", "principal__account"
    )


def visible_changes(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(account__in=visible_accounts(user)).select_related(
        "account", "principal", "requested_by", "applied_by"
    )


def principal_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Principal:
    """The principal, if the user may see its account; 404 otherwise (never a hint that it exists)."""
    return get_object_or_404(visible_principals(user=user), pk=pk)


def pending_change_count(*, user: AbstractBaseUser | AnonymousUser) -> int:
    return ChangeRequest.objects.filter(account__in=visible_accounts(user), status="pending").count()


def findings_by_ids(*, user: AbstractBaseUser | AnonymousUser, ids: list[int]) -> list[Finding]:
    """The findings among `ids` (already validated as database ids) that the user may see."""
    return list(Finding.objects.filter(pk__in=ids, account__in=visible_accounts(user)))


def active_users() -> QuerySet[Any]:
    return get_user_model().objects.filter(is_active=True).order_by("username")


def active_user(*, username: str) -> Any:
    return get_user_model().objects.filter(username=username, is_active=True).first()


KEY_STATES = ("old", "unused", "inactive")


def key_listing(*, user: AbstractBaseUser | AnonymousUser, state: str, now: datetime) -> QuerySet[AccessKey]:
    """Access keys of the visible accounts, oldest first: all, or those `old` (active, older than
    IAMREVIEW_KEY_MAX_AGE_DAYS), `unused` (active, unused for IAMREVIEW_KEY_UNUSED_DAYS) or `inactive`;
    an unknown state lists all."""
    keys = AccessKey.objects.filter(principal__account__in=visible_accounts(user)).select_related(
        "principal", "principal__account"
    )
    if state == "old":
        keys = keys.filter(
            active=True, created_at__lt=now - timedelta(days=settings.IAMREVIEW_KEY_MAX_AGE_DAYS)
        )
    elif state == "unused":
        keys = keys.filter(active=True).filter(
            Q(last_used_at__isnull=True)
            | Q(last_used_at__lt=now - timedelta(days=settings.IAMREVIEW_KEY_UNUSED_DAYS))
        )
    elif state == "inactive":
        keys = keys.filter(active=False)
    return keys.order_by("created_at", "id")


def key_findings(*, arns: list[str]) -> dict[str, list[Finding]]:
    """Live key and credential findings of these principals, by key id (key findings) or principal ARN."""
    found: dict[str, list[Finding]] = {}
    for f in Finding.objects.filter(
        principal_arn__in=arns,
        status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED],
        kind__in=KEY_PAGE_KINDS,
    ):
        found.setdefault(f.subject if f.kind.startswith("key-") else f.principal_arn, []).append(f)
    return found


def suggestion_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Suggestion:
    return get_object_or_404(visible_suggestions(user=user), pk=pk)


def change_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> ChangeRequest:
    return get_object_or_404(visible_changes(user=user), pk=pk)


def finding_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Finding:
    return get_object_or_404(visible_findings(user=user), pk=pk)


def open_request_of(*, suggestion: Suggestion) -> ChangeRequest | None:
    """The change request opened from this suggestion that is still alive (not rejected or expired)."""
    return (
        ChangeRequest.objects.filter(suggestion=suggestion)
        .exclude(status__in=[ChangeStatus.REJECTED, ChangeStatus.EXPIRED])
        .first()
    )


def audit_history(*, obj: Any, exclude_actions: tuple[str, ...] = ()) -> QuerySet[AuditEvent]:
    """The audit entries of one object, oldest first."""
    return (
        AuditEvent.objects.filter(object_type=type(obj).__name__, object_id=str(obj.pk))
        .exclude(action__in=exclude_actions)
        .order_by("created_at", "id")
    )


def review_findings(*, user: AbstractBaseUser | AnonymousUser, since: datetime | None) -> QuerySet[Finding]:
    """The weekly review's cards: open findings of the visible accounts, new since `since` (all without)."""
    qs = Finding.objects.filter(account__in=visible_accounts(user), status=FindingStatus.OPEN)
    return qs.filter(first_seen__gt=since) if since else qs


def triaged_among(*, ids: set[int]) -> list[int]:
    """Which of these findings are no longer open (acknowledged, suppressed, resolved), sorted."""
    return sorted(
        Finding.objects.filter(pk__in=ids).exclude(status=FindingStatus.OPEN).values_list("pk", flat=True)
    )


def external_trust_roles(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Principal]:
    """Roles of the visible accounts that have a trust policy, by account and name."""
    return (
        Principal.objects.filter(
            account__in=visible_accounts(user), kind="role", trust_document__isnull=False
        )
        .select_related("trust_document", "account")
        .order_by("account__name", "name")
    )


def trend_days(*, accounts: QuerySet[LinkedAccount], start: date) -> dict[str, dict[str, float]]:
    """Per day since `start` (ISO date -> figure -> value): the accounts' daily figures summed (score mean
    weighted by principals, p90 the worst), open findings by severity, changes accepted and applied."""
    per_day: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    weights: dict[str, int] = defaultdict(int)
    for m in DailyMetric.objects.filter(account__in=accounts, date__gte=start).order_by("date"):
        day = per_day[m.date.isoformat()]
        day["admins"] += m.admins
        day["unused_permissions"] += m.unused_permissions
        day["old_keys"] += m.old_keys
        for sev in SEVERITY_IDS:
            day[sev] += m.open_by_severity.get(sev, 0)
        # Means weighted by principals, so the org-wide line is not skewed by small accounts.
        day["score_mean"] += m.score_mean * m.principals
        day["score_p90"] = max(day["score_p90"], m.score_p90)
        weights[m.date.isoformat()] += m.principals
    for key, day in per_day.items():
        if weights[key]:
            day["score_mean"] = round(day["score_mean"] / weights[key], 1)
    for field, kind in (("accepted", "created_at"), ("applied", "applied_at")):
        rows = (
            ChangeRequest.objects.filter(account__in=accounts, **{f"{kind}__date__gte": start})
            .annotate(day=TruncDate(kind))
            .values("day")
            .annotate(n=Count("id"))
        )
        for row in rows:
            if row["day"]:
                per_day[row["day"].isoformat()][field] += row["n"]
    return per_day


def account_for(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> LinkedAccount:
    """The linked account, if the user may see it; 404 otherwise."""
    return get_object_or_404(visible_accounts(user), pk=pk)


def catalog_gaps_of(*, account: LinkedAccount) -> list[CatalogGap]:
    """What the account's last analysis found the action catalog lacks, most widely held first."""
    return list(CatalogGap.objects.filter(account=account))


def catalog_gaps_visible(*, user: AbstractBaseUser | AnonymousUser) -> list[CatalogGap]:
    return list(
        CatalogGap.objects.filter(account__in=visible_accounts(user))
        .select_related("account")
        .order_by("account__name", "-principal_count", "action")
    )
