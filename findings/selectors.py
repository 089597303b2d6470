"""Reads for the review pages. Every selector starts from the accounts the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.http import QueryDict
from django.utils import timezone

from accounts.models import LinkedAccount, SyncStatus, last_sync_runs
from accounts.selectors import profile_of, visible_accounts, visible_sync_runs
from core.models import AuditEvent
from core.params import aware_datetime, db_id, tag_filter
from findings import reads
from findings.figures_cache import cached_figures
from findings.models import (
    LIVE_FINDING_STATUSES,
    AccessKey,
    ChangeStatus,
    CredentialReportRow,
    Finding,
    FindingStatus,
    Principal,
)
from policy.kinds import SEVERITY_IDS

RISK_BANDS = {
    "critical": (80, 100),
    "high": (60, 79),
    "medium": (30, 59),
    "low": (1, 29),
    "none": (0, 0),
}
SEVERITIES = SEVERITY_IDS
# Filters over more than one band: the dashboard's "high-risk" figure counts critical and high.
BAND_FILTERS = {**RISK_BANDS, "high-or-critical": (RISK_BANDS["high"][0], RISK_BANDS["critical"][1])}
HIGH_RISK_BAND = "high-or-critical"


def risk_band(score: int) -> str:
    for band, (low, high) in RISK_BANDS.items():
        if low <= score <= high:
            return band
    return "none"


def _int(value: str | None) -> int | None:
    return db_id(value)


@dataclass
class Listing:
    queryset: QuerySet[Any]
    filters: dict[str, str]
    sort: str
    # Filters given but not applied, each with why: the page shows them rather than guessing.
    problems: list[str] = field(default_factory=list)


def _ignored(name: str, value: str, why: str) -> str:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return f"The {name} filter {shown!r} was ignored: {why}."


def _with_tag(qs: QuerySet[Principal], key: str, value: str | None) -> QuerySet[Principal]:
    """Principals holding tag `key` (with `value`): key and value are data, never part of a lookup."""
    if value is None:
        return qs.filter(tags__has_key=key)
    if connection.vendor == "postgresql":
        # JSON containment matches the key as text; a key path would read "0" as an array index.
        return qs.filter(tags__contains={key: value})
    return qs.alias(tag_value=KeyTextTransform(key, "tags")).filter(tag_value=value)


PRINCIPAL_SORTS = {
    "-risk": ("-risk_score", "id"),
    "risk": ("risk_score", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "id"),
    "-unused": ("-unused_count", "id"),
    "-last_used": ("-last_used_at", "id"),
    "last_used": ("last_used_at", "id"),
}


def principal_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    accounts = visible_accounts(user)
    qs = Principal.objects.filter(account__in=accounts).select_related("account")
    filters: dict[str, str] = {}
    account = _int(params.get("account"))
    if account is not None:
        qs = qs.filter(account_id=account)
        filters["account"] = str(account)
    kind = params.get("type", "")
    if kind in ("user", "role", "group"):
        qs = qs.filter(kind=kind)
        filters["type"] = kind
    band = params.get("band", "")
    if band in BAND_FILTERS:
        low, high = BAND_FILTERS[band]
        qs = qs.filter(risk_score__gte=low, risk_score__lte=high)
        filters["band"] = band
    finding_kind = params.get("finding", "")
    if finding_kind:
        qs = qs.filter(
            Exists(
                Finding.objects.filter(
                    principal=OuterRef("pk"), kind=finding_kind, status__in=LIVE_FINDING_STATUSES
                )
            )
        )
        filters["finding"] = finding_kind
    if params.get("admin") == "1":
        qs = qs.filter(is_admin=True)
        filters["admin"] = "1"
    if params.get("unused") == "1":
        qs = qs.filter(unused_count__gt=0)
        filters["unused"] = "1"
    if params.get("escalation") == "1":
        qs = qs.exclude(escalation_paths=[])
        filters["escalation"] = "1"
    problems: list[str] = []
    tag = params.get("tag", "").strip()
    if tag:
        try:
            key, value = tag_filter(tag)
        except ValueError as exc:
            problems.append(_ignored("tag", tag, str(exc)))
        else:
            qs = _with_tag(qs, key, value)
            filters["tag"] = tag
    q = params.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(arn__icontains=q))
        filters["q"] = q
    sort = params.get("sort", "-risk")
    if sort not in PRINCIPAL_SORTS:
        sort = "-risk"
    return Listing(qs.order_by(*PRINCIPAL_SORTS[sort]), filters, sort, problems)


FINDING_SORTS = {
    "severity": ("severity_rank", "-last_seen", "id"),
    "-first_seen": ("-first_seen", "id"),
    "first_seen": ("first_seen", "id"),
    "-last_seen": ("-last_seen", "id"),
    "principal": ("principal_arn", "id"),
}


def finding_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    accounts = visible_accounts(user)
    qs = Finding.objects.filter(account__in=accounts).select_related("account", "principal", "assignee")
    filters: dict[str, str] = {}
    account = _int(params.get("account"))
    if account is not None:
        qs = qs.filter(account_id=account)
        filters["account"] = str(account)
    status = params.get("status", "live")
    if status == "live":
        qs = qs.filter(status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED])
    elif status in FindingStatus.values:
        qs = qs.filter(status=status)
    elif status != "all":
        status = "live"
        qs = qs.filter(status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED])
    filters["status"] = status
    severity = params.get("severity", "")
    if severity in SEVERITIES:
        qs = qs.filter(severity=severity)
        filters["severity"] = severity
    kind = params.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
        filters["kind"] = kind
    assignee = params.get("assignee", "")
    if assignee == "me" and user.is_authenticated:
        qs = qs.filter(assignee=user)
        filters["assignee"] = "me"
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
        filters["assignee"] = "none"
    problems: list[str] = []
    since = params.get("since", "")
    if since:
        try:
            qs = qs.filter(first_seen__gt=aware_datetime(since))
            filters["since"] = since
        except ValueError as exc:
            problems.append(_ignored("since", since, str(exc)))
    principal = _int(params.get("principal"))
    if principal is not None:
        qs = qs.filter(principal_id=principal)
        filters["principal"] = str(principal)
    q = params.get("q", "").strip()
    if q:
        qs = qs.filter(Q(principal_arn__icontains=q) | Q(title__icontains=q) | Q(subject__icontains=q))
        filters["q"] = q
    sort = params.get("sort", "severity")
    if sort not in FINDING_SORTS:
        sort = "severity"
    return Listing(qs.order_by(*FINDING_SORTS[sort]), filters, sort, problems)


def change_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    """Change requests, newest first, by status, account and principal (the changes page, the API)."""
    qs = reads.visible_changes(user=user)
    filters: dict[str, str] = {}
    status = params.get("status", "")
    if status in ChangeStatus.values:
        qs = qs.filter(status=status)
        filters["status"] = status
    for name, lookup in (("account", "account_id"), ("principal", "principal_id")):
        value = _int(params.get(name))
        if value is not None:
            qs = qs.filter(**{lookup: value})
            filters[name] = str(value)
    return Listing(qs.order_by("-created_at", "-id"), filters, "-created_at")


def suggestion_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    """Tightened policy sets, newest first, by principal and account; stale ones only with stale=1."""
    qs = reads.visible_suggestions(user=user)
    filters: dict[str, str] = {}
    for name, lookup in (("principal", "principal_id"), ("account", "principal__account_id")):
        value = _int(params.get(name))
        if value is not None:
            qs = qs.filter(**{lookup: value})
            filters[name] = str(value)
    if params.get("stale") == "1":
        filters["stale"] = "1"
    else:
        qs = qs.filter(stale=False)
    return Listing(qs.order_by("-created_at", "-id"), filters, "-created_at")


def sync_run_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    """Sync runs, newest first, by account and status."""
    qs = visible_sync_runs(user=user)
    filters: dict[str, str] = {}
    account = _int(params.get("account"))
    if account is not None:
        qs = qs.filter(account_id=account)
        filters["account"] = str(account)
    status = params.get("status", "")
    if status in SyncStatus.values:
        qs = qs.filter(status=status)
        filters["status"] = status
    return Listing(qs.order_by("-created_at", "-id"), filters, "-created_at")


def audit_listing(user: AbstractBaseUser | AnonymousUser, params: QueryDict) -> Listing:
    """The audit log, newest first, filtered by action prefix, actor, account id or object id; a user
    limited to some accounts sees only their events."""
    events = AuditEvent.objects.select_related("actor")
    filters = {}
    for name, lookup in (
        ("action", "action__startswith"),
        ("actor", "actor_name"),
        ("account", "account_id"),
        ("object", "object_id"),
    ):
        value = params.get(name, "").strip()
        if value:
            events = events.filter(**{lookup: value})
            filters[name] = value
    visible = visible_accounts(user)
    if visible.count() != LinkedAccount.objects.count():
        events = events.filter(account_id__in=set(visible.values_list("account_id", flat=True)))
    return Listing(events, filters, "-created_at")


def finding_kinds(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    ids = sorted(visible_accounts(user).values_list("pk", flat=True))
    return cached_figures(
        "kinds",
        ids,
        lambda: sorted(Finding.objects.filter(account_id__in=ids).values_list("kind", flat=True).distinct()),
    )


def dashboard(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    accounts = list(visible_accounts(user))
    ids = [a.pk for a in accounts]
    principals = Principal.objects.filter(account_id__in=ids)
    live = Finding.objects.filter(
        account_id__in=ids, status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]
    )

    def account_figures() -> tuple[dict[int, Any], dict[int, dict[str, int]], dict[int, int], int]:
        per_account = {
            row["account_id"]: row
            for row in principals.values("account_id").annotate(
                principals=Count("id"),
                admins=Count("id", filter=Q(is_admin=True)),
                high_risk=Count("id", filter=Q(risk_score__gte=BAND_FILTERS[HIGH_RISK_BAND][0])),
                unused=Count("id", filter=Q(unused_count__gt=0)),
                escalation=Count("id", filter=~Q(escalation_paths=[])),
                unused_permissions=Sum("unused_count"),
            )
        }
        by_severity_account: dict[int, dict[str, int]] = {}
        for row in live.values("account_id", "severity").annotate(n=Count("id")):
            by_severity_account.setdefault(row["account_id"], {})[row["severity"]] = row["n"]
        old_keys = dict(
            AccessKey.objects.filter(
                principal__account_id__in=ids,
                active=True,
                created_at__lt=timezone.now() - timezone.timedelta(days=settings.IAMREVIEW_KEY_MAX_AGE_DAYS),
            )
            .values("principal__account_id")
            .annotate(n=Count("id"))
            .values_list("principal__account_id", "n")
        )
        unused_services = live.filter(kind="unused-service").count()
        return per_account, by_severity_account, old_keys, unused_services

    per_account, by_severity_account, old_keys, unused_services = cached_figures(
        "dashboard", ids, account_figures
    )
    last_runs = last_sync_runs(ids)
    rows = []
    for account in accounts:
        figures = per_account.get(account.pk, {})
        rows.append(
            {
                "account": account,
                "principals": figures.get("principals", 0),
                "admins": figures.get("admins", 0),
                "high_risk": figures.get("high_risk", 0),
                "with_unused": figures.get("unused", 0),
                "escalation": figures.get("escalation", 0),
                "by_severity": by_severity_account.get(account.pk, {}),
                "old_keys": old_keys.get(account.pk, 0),
                "last_run": last_runs.get(account.pk),
            }
        )
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("principals", "admins", "high_risk", "with_unused", "escalation", "old_keys")
    }
    totals["by_severity"] = {s: sum(r["by_severity"].get(s, 0) for r in rows) for s in SEVERITIES}
    profile = profile_of(user)
    since = profile.last_review_at if profile is not None else None
    new = live.filter(first_seen__gt=since) if since else live
    to_review = new.filter(status=FindingStatus.OPEN)
    return {
        "rows": rows,
        "totals": totals,
        "since": since,
        "new_count": cached_figures("new", [ids, since], new.count),
        "new_findings": list(new.select_related("account").order_by("-first_seen")[:10]),
        "review_count": cached_figures("review", [ids, since], to_review.count),
        "unused_services": unused_services,
        "high_risk_band": HIGH_RISK_BAND,
    }


def credential_status(account_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Credential report values by user ARN (MFA, password use) for the keys page."""
    return {row.arn: row.values for row in CredentialReportRow.objects.filter(account_id__in=account_ids)}


def with_list_item(qs: QuerySet[Principal], field: str, value: str) -> list[Principal]:
    """Principals whose JSON list `field` holds `value` (a JSON containment query on PostgreSQL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return list(qs.filter(**{f"{field}__contains": [value]}))
    return [p for p in qs if value in getattr(p, field)]
