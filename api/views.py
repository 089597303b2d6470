"""Read endpoints: principals, findings, suggestions, change requests, accounts, sync runs, the audit log.

Each starts from the accounts the caller may see (the same selectors as the pages), so an object of
another account answers 404, and each declares the role every method needs (`roles`, api/auth.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from accounts.models import LinkedAccount, SyncRun
from accounts.roles import Role
from accounts.selectors import visible_accounts
from api import serializers as s
from api.auth import DeclaredMethods
from core.params import db_id
from findings import selectors
from findings.models import ChangeRequest, Finding, Principal, Suggestion

VIEWER = {"GET": Role.VIEWER}


def query_params(**described: str) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=text)
        for name, text in described.items()
    ]


class ListingView(DeclaredMethods, generics.ListAPIView):  # type: ignore[type-arg]
    """A list built by a page's selector: its filters, its order, and the filters it had to ignore."""

    roles = VIEWER

    def listing(self) -> selectors.Listing:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        listing = self.listing()
        self.paginator.listing = listing  # type: ignore[union-attr]
        return listing.queryset


@extend_schema(
    parameters=query_params(
        account="linked account id (the `id` of /accounts/)",
        type="user, role or group",
        band="risk band: critical, high, medium, low, none",
        finding="holding a live finding of this kind",
        admin="1: administrators only",
        unused="1: with unused permissions",
        escalation="1: with a privilege-escalation path",
        tag="key or key=value",
        q="part of the name or ARN",
        sort="-risk (default), risk, name, -name, -unused, -last_used, last_used",
    )
)
class PrincipalList(ListingView):
    """Principals (users, roles, groups), riskiest first, with the principals page's filters."""

    serializer_class = s.PrincipalSerializer

    def listing(self) -> selectors.Listing:
        return selectors.principal_listing(self.request.user, self.request.query_params)


class PrincipalDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One principal with its score, the reasons for it, and its privilege-escalation paths."""

    roles = VIEWER
    serializer_class = s.PrincipalDetailSerializer

    def get_queryset(self) -> QuerySet[Principal]:
        return Principal.objects.filter(account__in=visible_accounts(self.request.user)).select_related(
            "account"
        )


@extend_schema(
    parameters=query_params(
        account="linked account id",
        status="live (default: open and acknowledged), open, acknowledged, suppressed, resolved, all",
        severity="critical, high, medium, low, info",
        kind="finding kind id",
        assignee="me or none",
        since="first seen after this date or time (ISO 8601)",
        principal="principal id",
        q="part of the ARN, title or subject",
        sort="severity (default), -first_seen, first_seen, -last_seen, principal",
    )
)
class FindingList(ListingView):
    """Findings, most severe first; live ones (open and acknowledged) unless `status` says otherwise."""

    serializer_class = s.FindingSerializer

    def listing(self) -> selectors.Listing:
        return selectors.finding_listing(self.request.user, self.request.query_params)


class FindingDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.FindingSerializer

    def get_queryset(self) -> QuerySet[Finding]:
        return Finding.objects.filter(account__in=visible_accounts(self.request.user)).select_related(
            "account", "assignee"
        )


@extend_schema(
    parameters=query_params(principal="principal id", account="linked account id", stale="1: stale ones too")
)
class SuggestionList(ListingView):
    """Tightened policy sets, newest first; stale ones (the principal changed since) only with `stale=1`."""

    serializer_class = s.SuggestionSerializer

    def listing(self) -> selectors.Listing:
        params = self.request.query_params
        qs = Suggestion.objects.filter(
            principal__account__in=visible_accounts(self.request.user)
        ).select_related("principal")
        filters: dict[str, str] = {}
        for name, lookup in (("principal", "principal_id"), ("account", "principal__account_id")):
            value = db_id(params.get(name))
            if value is not None:
                qs = qs.filter(**{lookup: value})
                filters[name] = str(value)
        if params.get("stale") == "1":
            filters["stale"] = "1"
        else:
            qs = qs.filter(stale=False)
        return selectors.Listing(qs.order_by("-created_at", "-id"), filters, "-created_at")


class SuggestionDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.SuggestionSerializer

    def get_queryset(self) -> QuerySet[Suggestion]:
        return Suggestion.objects.filter(
            principal__account__in=visible_accounts(self.request.user)
        ).select_related("principal")


def change_requests(user: Any) -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(account__in=visible_accounts(user)).select_related(
        "account", "requested_by", "applied_by"
    )


class ChangeDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One change request: its documents, the `version` and `digest` an approval must name, approvals,
    progress and the steps an apply wrote."""

    roles = VIEWER
    serializer_class = s.ChangeRequestDetailSerializer

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        return change_requests(self.request.user).prefetch_related("approvals__approver")


class AccountList(ListingView):
    """The linked accounts you may see."""

    serializer_class = s.AccountSerializer

    def listing(self) -> selectors.Listing:
        return selectors.Listing(visible_accounts(self.request.user).order_by("name", "id"), {}, "name")


class AccountDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.AccountSerializer

    def get_queryset(self) -> QuerySet[LinkedAccount]:
        return visible_accounts(self.request.user)


@extend_schema(
    parameters=query_params(account="linked account id", status="queued, running, succeeded, failed")
)
class SyncRunList(ListingView):
    """Sync runs, newest first: status, progress, API calls, timings and errors of each."""

    serializer_class = s.SyncRunSerializer

    def listing(self) -> selectors.Listing:
        params = self.request.query_params
        qs = SyncRun.objects.filter(account__in=visible_accounts(self.request.user)).select_related(
            "account", "requested_by"
        )
        filters: dict[str, str] = {}
        account = db_id(params.get("account"))
        if account is not None:
            qs = qs.filter(account_id=account)
            filters["account"] = str(account)
        status = params.get("status", "")
        if status in ("queued", "running", "succeeded", "failed"):
            qs = qs.filter(status=status)
            filters["status"] = status
        return selectors.Listing(qs.order_by("-created_at", "-id"), filters, "-created_at")


class SyncRunDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.SyncRunSerializer

    def get_queryset(self) -> QuerySet[SyncRun]:
        return SyncRun.objects.filter(account__in=visible_accounts(self.request.user)).select_related(
            "account", "requested_by"
        )


@extend_schema(
    parameters=query_params(
        action="action prefix, e.g. change. or finding.suppress",
        actor="username (system for the product's own changes)",
        account="12-digit AWS account id",
        object="object id",
    )
)
class AuditList(ListingView):
    """The audit log, newest first (the reviewer role, like the page)."""

    roles = {"GET": Role.REVIEWER}
    serializer_class = s.AuditEventSerializer

    def listing(self) -> selectors.Listing:
        return selectors.audit_listing(self.request.user, self.request.query_params)
