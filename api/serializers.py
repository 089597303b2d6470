"""What the API shows of each object, and the bodies its actions take. Read-only projections of the
models; every write goes through a service of the app that owns the object."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import LinkedAccount, SyncRun
from core.models import AuditEvent
from findings.change_items import items_digest
from findings.change_requests import approvals_count
from findings.models import Approval, ChangeRequest, Finding, Principal, Suggestion
from findings.selectors import risk_band


class AccountSerializer(serializers.ModelSerializer[LinkedAccount]):
    class Meta:
        model = LinkedAccount
        fields = [
            "id",
            "account_id",
            "name",
            "role_arn",
            "apply_role_arn",
            "regions",
            "enabled",
            "sync_interval_minutes",
            "unused_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SyncRunSerializer(serializers.ModelSerializer[SyncRun]):
    aws_account_id = serializers.CharField(source="account.account_id", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "account",
            "aws_account_id",
            "status",
            "trigger",
            "requested_by",
            "step",
            "progress",
            "error",
            "counts",
            "api_calls",
            "timings",
            "warnings",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class PrincipalSerializer(serializers.ModelSerializer[Principal]):
    aws_account_id = serializers.CharField(source="account.account_id", read_only=True)
    risk_band = serializers.SerializerMethodField()

    class Meta:
        model = Principal
        fields = [
            "id",
            "account",
            "aws_account_id",
            "arn",
            "kind",
            "name",
            "path",
            "risk_score",
            "risk_band",
            "is_admin",
            "unused_count",
            "last_used_at",
            "tags",
            "first_seen",
            "last_seen",
        ]
        read_only_fields = fields

    def get_risk_band(self, obj: Principal) -> str:
        return risk_band(obj.risk_score)


class PrincipalDetailSerializer(PrincipalSerializer):
    """With the score's reasons and the privilege-escalation paths, as the principal page shows them."""

    reasons = serializers.JSONField(source="score_explanation", read_only=True)
    paths = serializers.JSONField(source="escalation_paths", read_only=True)

    class Meta(PrincipalSerializer.Meta):
        fields = [
            *PrincipalSerializer.Meta.fields,
            "reasons",
            "paths",
            "groups",
            "attached_policy_arns",
            "boundary_arn",
            "errors",
            "analyzed_at",
        ]
        read_only_fields = fields


class FindingSerializer(serializers.ModelSerializer[Finding]):
    aws_account_id = serializers.CharField(source="account.account_id", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "account",
            "aws_account_id",
            "principal",
            "principal_arn",
            "kind",
            "severity",
            "subject",
            "title",
            "detail",
            "data",
            "sources",
            "status",
            "first_seen",
            "last_seen",
            "resolved_at",
            "reopened_count",
            "assignee",
            "suppressed_until",
            "suppression_reason",
        ]
        read_only_fields = fields


class SuggestionSerializer(serializers.ModelSerializer[Suggestion]):
    principal_arn = serializers.CharField(source="principal.arn", read_only=True)

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "principal",
            "principal_arn",
            "created_at",
            "stale",
            "items",
            "removed_count",
            "risk_before",
            "risk_after",
            "engine_problems",
            "blocked_reason",
        ]
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer[Approval]):
    approver = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Approval
        fields = ["approver", "approve", "comment", "version", "digest", "created_at"]
        read_only_fields = fields


class ChangeRequestSerializer(serializers.ModelSerializer[ChangeRequest]):
    """`version` and `digest` are what an approval must name: the documents the approver saw."""

    aws_account_id = serializers.CharField(source="account.account_id", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    applied_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    digest = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "account",
            "aws_account_id",
            "principal",
            "principal_arn",
            "principal_kind",
            "principal_name",
            "suggestion",
            "requested_by",
            "reason",
            "items",
            "version",
            "digest",
            "required_approvals",
            "status",
            "step",
            "progress",
            "error",
            "created_at",
            "expires_at",
            "applied_at",
            "applied_by",
            "rolled_back_at",
            "steps",
            "watch_checked_at",
            "watch_error",
            "watch_events",
        ]
        read_only_fields = fields

    def get_digest(self, obj: ChangeRequest) -> str:
        return items_digest(obj.items)


class ChangeRequestDetailSerializer(ChangeRequestSerializer):
    """With the decisions so far and how many of them count (approvals of the current version and
    documents, by others than the requester)."""

    approvals = ApprovalSerializer(many=True, read_only=True)
    approvals_count = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = [*ChangeRequestSerializer.Meta.fields, "approvals_count", "approvals", "log"]
        read_only_fields = fields

    def get_approvals_count(self, obj: ChangeRequest) -> int:
        return approvals_count(obj)


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "account_id",
            "summary",
            "before",
            "after",
        ]
        read_only_fields = fields


# -- request bodies ----------------------------------------------------------------------------------


# Ids and versions beyond what the database columns hold are refused (400) rather than looked up.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


class TriageSerializer(serializers.Serializer[dict[str, Any]]):
    """The findings page's bulk actions: acknowledge, assign, suppress (reason and date), reopen."""

    action = serializers.ChoiceField(choices=["acknowledge", "assign", "suppress", "reopen"])
    findings = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), min_length=1, max_length=1000
    )
    assignee = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    until = serializers.DateField(required=False, allow_null=True, default=None)


class TriageResultSerializer(serializers.Serializer[dict[str, Any]]):
    action = serializers.CharField()
    changed = serializers.IntegerField(
        help_text="findings changed; those not in a state the action fits (or not visible) are left as they are"
    )


class ChangeCreateSerializer(serializers.Serializer[dict[str, Any]]):
    suggestion = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class DecideSerializer(serializers.Serializer[dict[str, Any]]):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    version = serializers.IntegerField(min_value=1, max_value=INT_MAX)
    digest = serializers.CharField(max_length=64)


class RollbackSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()
