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
from accounts.selectors import visible_accounts, visible_sync_runs
from api import serializers as s
from api.auth import DeclaredMethods
from findings import reads, selectors
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
        return reads.visible_principals(user=self.request.user)


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
        return reads.visible_findings(user=self.request.user)


@extend_schema(
    parameters=query_params(principal="principal id", account="linked account id", stale="1: stale ones too")
)
class SuggestionList(ListingView):
    """Tightened policy sets, newest first; stale ones (the principal changed since) only with `stale=1`."""

    serializer_class = s.SuggestionSerializer

    def listing(self) -> selectors.Listing:
        return selectors.suggestion_listing(self.request.user, self.request.query_params)


class SuggestionDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.SuggestionSerializer

    def get_queryset(self) -> QuerySet[Suggestion]:
        return reads.visible_suggestions(user=self.request.user)


class ChangeDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One change request: its documents, the `version` and `digest` an approval must name, approvals,
    progress and the steps an apply wrote."""

    roles = VIEWER
    serializer_class = s.ChangeRequestDetailSerializer

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        return reads.visible_changes(user=self.request.user).prefetch_related("approvals__approver")


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
        return selectors.sync_run_listing(self.request.user, self.request.query_params)


class SyncRunDetail(DeclaredMethods, generics.RetrieveAPIView):  # type: ignore[type-arg]
    roles = VIEWER
    serializer_class = s.SyncRunSerializer

    def get_queryset(self) -> QuerySet[SyncRun]:
        return visible_sync_runs(user=self.request.user)


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
