"""Write endpoints. Each calls the very service the page calls (same rules: roles, no self-approval,
approvals bound to version and digest, one sync per account at a time), and each service audits.
A refusal by a service answers 409 with its reason in `detail`; a malformed body answers 400."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Role
from accounts.selectors import visible_accounts
from accounts.sync import sync_run_request
from api import serializers as s
from api.auth import DeclaredMethods
from api.views import ListingView, query_params
from findings import change_requests as changes
from findings import lifecycle, reads, selectors

REFUSED = OpenApiResponse(s.ErrorSerializer, description="refused by the rules, with the reason")


def _refused(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    get=extend_schema(
        parameters=query_params(
            status="pending, approved, rejected, expired, applying, applied, failed, rolling_back, ...",
            account="linked account id",
            principal="principal id",
        )
    )
)
class ChangeList(ListingView):
    """GET: change requests, newest first. POST: open one from a suggestion (reviewer), as the
    suggestion page's "Request this change" does; an approver other than you must then approve it."""

    roles = {"GET": Role.VIEWER, "POST": Role.REVIEWER}
    serializer_class = s.ChangeRequestSerializer

    def listing(self) -> selectors.Listing:
        return selectors.change_listing(self.request.user, self.request.query_params)

    @extend_schema(
        request=s.ChangeCreateSerializer,
        responses={201: s.ChangeRequestDetailSerializer, 409: REFUSED},
    )
    def post(self, request: Request) -> Response:
        body = s.ChangeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        suggestion = reads.suggestion_for(user=request.user, pk=body.validated_data["suggestion"])
        try:
            cr = changes.change_request_open(
                actor=request.user, suggestion=suggestion, reason=body.validated_data["reason"]
            )
        except changes.ChangeError as exc:
            return _refused(str(exc))
        return Response(s.ChangeRequestDetailSerializer(cr).data, status=status.HTTP_201_CREATED)


class _ChangeAction(DeclaredMethods, APIView):
    roles = {"POST": Role.APPROVER}

    def change(self, request: Request, pk: int) -> Any:
        return reads.change_for(user=request.user, pk=pk)


class ChangeDecide(_ChangeAction):
    """Approve or reject exactly the version you reviewed: name its `version` and `digest` (from the
    change request). Refused for your own request, a stale version, or a second decision."""

    @extend_schema(request=s.DecideSerializer, responses={200: s.ChangeRequestDetailSerializer, 409: REFUSED})
    def post(self, request: Request, pk: int) -> Response:
        cr = self.change(request, pk)
        body = s.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            cr = changes.change_request_decide(
                actor=request.user,
                change=cr,
                approve=body.validated_data["approve"],
                comment=body.validated_data["comment"],
                version=body.validated_data["version"],
                digest=body.validated_data["digest"],
            )
        except changes.ChangeError as exc:
            return _refused(str(exc))
        return Response(s.ChangeRequestDetailSerializer(cr).data)


class ChangeApply(_ChangeAction):
    """Queue the apply of an approved request; a worker writes to AWS and the request shows progress."""

    @extend_schema(request=None, responses={202: s.ChangeRequestDetailSerializer, 409: REFUSED})
    def post(self, request: Request, pk: int) -> Response:
        cr = self.change(request, pk)
        try:
            cr = changes.change_request_queue_apply(actor=request.user, change=cr)
        except changes.ChangeError as exc:
            return _refused(str(exc))
        return Response(s.ChangeRequestDetailSerializer(cr).data, status=status.HTTP_202_ACCEPTED)


class ChangeRollback(_ChangeAction):
    """Queue the rollback of an applied request (or one that failed part-way); say why."""

    @extend_schema(
        request=s.RollbackSerializer, responses={202: s.ChangeRequestDetailSerializer, 409: REFUSED}
    )
    def post(self, request: Request, pk: int) -> Response:
        cr = self.change(request, pk)
        body = s.RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            cr = changes.change_request_queue_rollback(
                actor=request.user, change=cr, reason=body.validated_data["reason"]
            )
        except changes.ChangeError as exc:
            return _refused(str(exc))
        return Response(s.ChangeRequestDetailSerializer(cr).data, status=status.HTTP_202_ACCEPTED)


class FindingTriage(DeclaredMethods, APIView):
    """The findings page's bulk actions on findings you can see: acknowledge, assign (to `assignee`, or
    nobody when empty), suppress (`reason` and `until`, a date), reopen. Each change is audited."""

    roles = {"POST": Role.REVIEWER}

    @extend_schema(request=s.TriageSerializer, responses={200: s.TriageResultSerializer, 409: REFUSED})
    def post(self, request: Request) -> Response:
        body = s.TriageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        selected = reads.findings_by_ids(user=request.user, ids=list(data["findings"]))
        action = data["action"]
        if action == "acknowledge":
            n = lifecycle.findings_acknowledge(actor=request.user, findings=selected)
        elif action == "assign":
            assignee = None
            if data["assignee"]:
                assignee = reads.active_user(username=data["assignee"])
                if assignee is None:
                    return _refused(f"No active user called {data['assignee']!r}.")
            n = lifecycle.findings_assign(actor=request.user, findings=selected, assignee=assignee)
        elif action == "suppress":
            if data["until"] is None:
                return _refused("Give the date the suppression ends (until: YYYY-MM-DD).")
            until = timezone.make_aware(datetime.combine(data["until"], time(23, 59)))
            try:
                n = lifecycle.findings_suppress(
                    actor=request.user, findings=selected, reason=data["reason"], until=until
                )
            except ValueError as exc:
                return _refused(str(exc))
        else:
            n = lifecycle.findings_reopen(actor=request.user, findings=selected, why="reopened by a reviewer")
        return Response({"action": action, "changed": n})


class AccountSync(DeclaredMethods, APIView):
    """Start a sync of the account now (reviewer), unless one is already queued or running: 202 with the
    new run, or 200 with the run already under way."""

    roles = {"POST": Role.REVIEWER}

    @extend_schema(request=None, responses={202: s.SyncRunSerializer, 200: s.SyncRunSerializer})
    def post(self, request: Request, pk: int) -> Response:
        account = get_object_or_404(visible_accounts(request.user), pk=pk)
        run, created = sync_run_request(account=account, trigger="manual", actor=request.user)
        return Response(
            s.SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )
