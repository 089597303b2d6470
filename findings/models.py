"""The current snapshot of every linked account, and what the engine found in it.

Why snapshot tables live here rather than in `accounts`: every reader of them (views, findings, digests,
suggestions) is in this app; `accounts` only collects. A sync replaces an account's rows in one
transaction, so readers always see one whole snapshot, the previous one until the new one commits.
History is kept as `SnapshotChange` rows (what each sync added or removed) and `DailyMetric` rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from accounts.models import LinkedAccount, SyncRun
from core.models import JobRow
from findings.org_models import OrganizationSnapshot as OrganizationSnapshot
from policy.kinds import KINDS, UNKNOWN_SEVERITY_RANK, kind_choices, severity_choices
from policy.kinds import SEVERITY_RANK as SEVERITY_RANK


class PolicyDocument(models.Model):
    """A policy document, stored once per content hash whoever uses it."""

    sha256 = models.CharField(max_length=64, unique=True)
    document = models.JSONField()
    size = models.PositiveIntegerField(help_text="characters without whitespace, as AWS counts them")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256[:12]


class ManagedPolicy(models.Model):
    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="managed_policies")
    arn = models.CharField(max_length=2048)
    name = models.CharField(max_length=128)
    aws_managed = models.BooleanField(default=False)
    default_version = models.CharField(max_length=20, blank=True)
    document = models.ForeignKey(PolicyDocument, null=True, on_delete=models.PROTECT, related_name="+")
    version_count = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="managed_policy_unique_arn")]

    def __str__(self) -> str:
        return self.name


class PrincipalKind(models.TextChoices):
    USER = "user", "User"
    ROLE = "role", "Role"
    GROUP = "group", "Group"


# A principal's stored analysis (written by `findings.analysis.account_analyze`): JSON that grows with the
# account's paths; code that does not show or compare it leaves it unread (`QuerySet.defer`).
ANALYSIS_RESULT_FIELDS = (
    "admin_reason",
    "admin_path",
    "score_explanation",
    "escalation_paths",
    "scp_caps",
    "cross_account_paths",
)


class Principal(models.Model):
    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="principals")
    arn = models.CharField(max_length=2048)
    kind = models.CharField(max_length=8, choices=PrincipalKind.choices)
    name = models.CharField(max_length=128)
    path = models.CharField(max_length=512, default="/")
    aws_created_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_region = models.CharField(max_length=32, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    trust_document = models.ForeignKey(
        PolicyDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    boundary_arn = models.CharField(max_length=2048, blank=True)
    groups = models.JSONField(default=list, blank=True)
    attached_policy_arns = models.JSONField(default=list, blank=True)
    # Hash of every document this principal's permissions depend on: analysis results are reused while it
    # (and the account's other inputs, `findings.ingest_digest`) are unchanged.
    documents_hash = models.CharField(max_length=64, blank=True)
    # Hash of its latest Access Advisor report (`findings.usage_rows.report_hash`).
    usage_hash = models.CharField(max_length=64, blank=True)
    # When Access Advisor last reported on this principal (its rows are rewritten only when the report
    # changed, so their own `collected_at` is when it last changed): `findings.usage_rows`.
    usage_collected_at = models.DateTimeField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    # Analysis results
    risk_score = models.PositiveSmallIntegerField(default=0)
    is_admin = models.BooleanField(default=False)  # every action, or can grant itself any (admin_reason)
    admin_reason = models.TextField(blank=True)
    reaches_admin = models.BooleanField(default=False)
    # The shortest chain to an administrator: hops (path, from, to, actions, conditional, needs); null when
    # it cannot reach one.
    admin_path = models.JSONField(null=True, blank=True)
    score_explanation = models.JSONField(default=list, blank=True)
    escalation_paths = models.JSONField(default=list, blank=True)
    # What the organisation's SCPs and RCPs take away ({"source", "how", "actions", "count", "conditional"})
    # and the roles of other linked accounts this principal can assume that are administrators.
    scp_caps = models.JSONField(default=list, blank=True)
    cross_account_paths = models.JSONField(default=list, blank=True)
    unused_count = models.PositiveIntegerField(default=0)
    analysis_hash = models.CharField(max_length=64, blank=True)
    analyzed_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="principal_unique_arn")]
        indexes = [
            # The principals list, default order: riskiest first, across accounts or within one.
            models.Index(fields=["-risk_score", "id"], name="principal_risk_idx"),
            models.Index(fields=["account", "-risk_score"], name="principal_account_risk_idx"),
            # The search box matches names by prefix.
            models.Index(fields=["name"], name="principal_name_idx"),
        ]

    def __str__(self) -> str:
        return self.arn


class InlinePolicy(models.Model):
    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="inline_policies")
    name = models.CharField(max_length=128)
    document = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "name"], name="inline_policy_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.principal_id}/{self.name}"


class LastAccessed(models.Model):
    """Access Advisor: when a principal last used a service (action blank) or one action of it."""

    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="last_accessed")
    service = models.CharField(max_length=64)
    service_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=200, blank=True)
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    region = models.CharField(max_length=32, blank=True)
    entity = models.CharField(max_length=2048, blank=True)
    # False when AWS has no tracking data (the service or action is not tracked): never "unused".
    tracked = models.BooleanField(default=True)
    collected_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Principal page and unused-permission analysis read all rows of one principal.
            models.Index(fields=["principal", "service"], name="lastaccessed_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service}:{self.action}" if self.action else self.service


class AccessKey(models.Model):
    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="access_keys")
    key_id = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_service = models.CharField(max_length=64, blank=True)
    last_used_region = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key_id"], name="access_key_unique")]
        indexes = [
            # The keys page sorts by age.
            models.Index(fields=["created_at"], name="accesskey_age_idx"),
        ]

    def __str__(self) -> str:
        return self.key_id


class CredentialReportRow(models.Model):
    """One row of the credential report, every column kept (parsed values, None for N/A)."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="credential_rows")
    user = models.CharField(max_length=128)
    arn = models.CharField(max_length=2048)
    is_root = models.BooleanField(default=False)
    values = models.JSONField(default=dict)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "arn"], name="credential_row_unique")]

    def __str__(self) -> str:
        return self.user


class AnalyzerFinding(models.Model):
    """An active IAM Access Analyzer finding (unused access or external access)."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="analyzer_findings")
    finding_id = models.CharField(max_length=200)
    analyzer_arn = models.CharField(max_length=2048)
    finding_type = models.CharField(max_length=64)
    resource_arn = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=32)
    details = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "finding_id"], name="analyzer_finding_unique")
        ]

    def __str__(self) -> str:
        return f"{self.finding_type} {self.resource_arn}"


class SnapshotChange(models.Model):
    """What one sync changed: a principal added or removed, a permission granted or revoked, a policy edited."""

    class Kind(models.TextChoices):
        PRINCIPAL_ADDED = "principal_added"
        PRINCIPAL_REMOVED = "principal_removed"
        POLICY_CHANGED = "policy_changed"
        PERMISSION_GRANTED = "permission_granted"
        PERMISSION_REVOKED = "permission_revoked"

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="changes")
    sync_run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL, related_name="changes")
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    principal_arn = models.CharField(max_length=2048)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # Drift between two dates, per account.
            models.Index(fields=["account", "created_at"], name="change_account_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.principal_arn}"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SUPPRESSED = "suppressed", "Suppressed"
    RESOLVED = "resolved", "Resolved"


LIVE_FINDING_STATUSES = (FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED, FindingStatus.SUPPRESSED)


class SuppressionRule(models.Model):
    """Suppresses matching findings (new and existing) until it expires; every field left empty matches all."""

    account = models.ForeignKey(LinkedAccount, null=True, blank=True, on_delete=models.CASCADE)
    principal_pattern = models.CharField(max_length=256, blank=True, help_text="name or ARN, * and ? allowed")
    tag_key = models.CharField(max_length=128, blank=True)
    tag_value = models.CharField(max_length=256, blank=True)
    kind = models.CharField(max_length=64, blank=True, choices=kind_choices)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"suppress {self.kind or 'any'} on {self.principal_pattern or 'any'} until {self.expires_at:%Y-%m-%d}"


class Finding(models.Model):
    """A risk, unused permission or credential problem, followed across syncs by its fingerprint."""

    fingerprint = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="findings")
    principal = models.ForeignKey(
        Principal, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    principal_arn = models.CharField(max_length=2048)
    kind = models.CharField(max_length=64, choices=kind_choices)
    severity = models.CharField(max_length=16, choices=severity_choices)
    # 0 critical .. 4 info: lets the findings list sort by severity from an index.
    severity_rank = models.PositiveSmallIntegerField(default=UNKNOWN_SEVERITY_RANK)
    subject = models.CharField(max_length=512, blank=True)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    sources = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suppressed_until = models.DateTimeField(null=True, blank=True)
    suppression_reason = models.TextField(blank=True)
    suppression_rule = models.ForeignKey(
        SuppressionRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    suppressed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # The findings list: live findings of an account by severity, newest first.
            models.Index(fields=["account", "status", "severity"], name="finding_account_status_idx"),
            # The findings list's default order: most severe first, most recently seen first.
            models.Index(fields=["severity_rank", "-last_seen", "id"], name="finding_severity_order_idx"),
            # "New since" (dashboard, digest): findings first seen after a date.
            models.Index(fields=["first_seen"], name="finding_first_seen_idx"),
            # Expired suppressions to reopen.
            models.Index(fields=["status", "suppressed_until"], name="finding_suppression_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} on {self.principal_arn}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.severity_rank = SEVERITY_RANK.get(self.severity, UNKNOWN_SEVERITY_RANK)
        super().save(*args, **kwargs)

    @property
    def remediation(self) -> str:
        """What to do about it, from the registry of kinds (empty for a kind no longer registered)."""
        registered = KINDS.get(self.kind)
        return registered.remediation if registered is not None else ""


class Suggestion(models.Model):
    """A tightened policy set for one principal, from its observed use; regenerated when usage changes."""

    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="suggestions")
    created_at = models.DateTimeField(auto_now_add=True)
    basis_hash = models.CharField(max_length=64, help_text="documents and usage the suggestion was made from")
    stale = models.BooleanField(default=False)
    # [{"kind": "inline"|"managed"|"aws-managed", "name", "arn", "original", "proposed": [docs], "removed_actions",
    #   "kept_actions", "size", "limit", "warnings", "validation": {...}}]
    items = models.JSONField(default=list)
    removed_count = models.PositiveIntegerField(default=0)
    risk_before = models.PositiveSmallIntegerField(default=0)
    risk_after = models.PositiveSmallIntegerField(default=0)
    engine_problems = models.JSONField(default=list, blank=True)
    # Why this suggestion cannot be applied as it is (a part over its size limit, a protected principal).
    blocked_reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The principal page shows the newest suggestion of a principal.
            models.Index(fields=["principal", "-created_at"], name="suggestion_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"suggestion {self.pk} for {self.principal_id}"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Apply failed"
    ROLLING_BACK = "rolling_back", "Rolling back"
    ROLLED_BACK = "rolled_back", "Rolled back"
    ROLLBACK_FAILED = "rollback_failed", "Roll back failed"


class ChangeRequest(JobRow):
    """A proposed change to AWS. Nothing reaches AWS without one approved by someone other than its requester."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="change_requests")
    principal = models.ForeignKey(
        Principal, null=True, on_delete=models.SET_NULL, related_name="change_requests"
    )
    principal_arn = models.CharField(max_length=2048)
    principal_kind = models.CharField(max_length=8)
    principal_name = models.CharField(max_length=128)
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    items = models.JSONField(default=list)
    version = models.PositiveIntegerField(
        default=1, help_text="bumped when the documents change; resets approvals"
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    previous = models.JSONField(
        default=list, blank=True, help_text="the live documents re-read just before the apply wrote"
    )
    # Every write the apply made, as AWS accepted it, with what undoing it needs (findings.change_items);
    # a rollback marks each step `undone` as it goes, so a retried rollback resumes where it stopped.
    steps = models.JSONField(default=list, blank=True)
    # The AccessDenied watch after an apply (findings.watch), as the worker last saw it.
    watch_checked_at = models.DateTimeField(null=True, blank=True)
    watch_error = models.TextField(blank=True)
    watch_events = models.JSONField(default=list, blank=True)
    log = models.JSONField(default=list, blank=True)
    # A follow-up that adds back what an apply took away and AWS then refused: [{"action", "resource"}],
    # the only access it may grant beyond the current documents (findings.add_back).
    add_back = models.JSONField(default=list, blank=True)
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    # A staged change (findings.change_stages): this request is stage `stage` of `stage_count` (0: not
    # staged), `parent` the stage before it; `plan` holds the stages still to come, each promoted (by an
    # approver, or by the worker once the AccessDenied watch stayed clean) into a request of its own.
    stage = models.PositiveSmallIntegerField(default=0)
    stage_count = models.PositiveSmallIntegerField(default=0)
    stage_name = models.CharField(max_length=16, blank=True)
    plan = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_stages"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The changes page lists requests by status, newest first.
            models.Index(fields=["status", "-created_at"], name="change_status_idx"),
        ]

    def __str__(self) -> str:
        return f"change #{self.pk} on {self.principal_arn}: {self.status}"


class Approval(models.Model):
    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approve = models.BooleanField()
    comment = models.TextField(blank=True)
    version = models.PositiveIntegerField()
    # The digest of the documents the approver saw (findings.change_items.items_digest).
    digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One decision per approver per version of the documents.
            models.UniqueConstraint(
                fields=["change_request", "approver", "version"], name="one_decision_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{'approve' if self.approve else 'reject'} #{self.change_request_id} v{self.version}"


# Comments, trend history and CloudTrail evidence live in modules of their own; imported here so that Django registers them.
from findings.comment_models import Comment as Comment  # noqa: E402
from findings.evidence_models import EvidenceJob as EvidenceJob  # noqa: E402
from findings.evidence_models import EvidenceRecord as EvidenceRecord  # noqa: E402
from findings.gap_models import CatalogGap as CatalogGap  # noqa: E402
from findings.history_models import DailyMetric as DailyMetric  # noqa: E402
from findings.history_models import ScoreHistory as ScoreHistory  # noqa: E402
from findings.identity_center_models import PermissionSet as PermissionSet  # noqa: E402
from findings.usage_models import NeverUsed as NeverUsed  # noqa: E402
from findings.window_models import PrincipalWindow as PrincipalWindow  # noqa: E402
