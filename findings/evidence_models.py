"""Evidence of use from CloudTrail, per principal, and the worker jobs that collect it (`findings.evidence`).

Access Advisor's rows stay in `LastAccessed`; `findings.facts.principal_evidence` reads both as one list of
`policy.evidence.Evidence`. Imported by `findings.models`, so that Django registers these models.
"""

from __future__ import annotations

from django.db import models

from accounts.models import LinkedAccount
from core.models import JobRow
from policy.evidence import EvidenceSource


class EvidenceJobKind(models.TextChoices):
    GENERATION = "generation", "Access Analyzer policy generation"
    LOOKUP = "lookup", "CloudTrail LookupEvents"


class EvidenceJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for AWS"  # a generation job AWS has not finished: polled again later
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_EVIDENCE_STATUSES = (EvidenceJobStatus.QUEUED, EvidenceJobStatus.RUNNING, EvidenceJobStatus.WAITING)


class EvidenceJob(JobRow):
    """One collection: a policy generation for one principal, or a LookupEvents sweep of one account."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="evidence_jobs")
    principal = models.ForeignKey(
        "findings.Principal", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence_jobs"
    )
    kind = models.CharField(max_length=16, choices=EvidenceJobKind.choices)
    status = models.CharField(
        max_length=16, choices=EvidenceJobStatus.choices, default=EvidenceJobStatus.QUEUED
    )
    aws_job_id = models.CharField(max_length=100, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    polls = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)  # when AWS accepted the job
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One job of a kind at a time per account: Access Analyzer runs one generation at a time.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=models.Q(status__in=["queued", "running", "waiting"]),
                name="one_active_evidence_job_per_account_kind",
            )
        ]
        indexes = [
            # The daily quota: generations started per account in the last 24 hours.
            models.Index(fields=["account", "kind", "created_at"], name="evidencejob_quota_idx"),
            # Fair rotation: each principal's newest successful generation.
            models.Index(fields=["principal", "status", "finished_at"], name="evidencejob_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} of {self.account_id}: {self.status}"


class EvidenceRecord(models.Model):
    """One observed use by a principal: an action (or `service:*`), the resource where the source names it,
    when it was first and last seen, and how often (0: the source does not count)."""

    principal = models.ForeignKey("findings.Principal", on_delete=models.CASCADE, related_name="evidence")
    action = models.CharField(max_length=200)  # lower case
    resource = models.CharField(max_length=2048, blank=True)  # "" when the source names none
    source = models.CharField(max_length=32, choices=[(s.value, s.value) for s in EvidenceSource])
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    collected_at = models.DateTimeField()
    job = models.ForeignKey(EvidenceJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["principal", "source"], name="evidence_principal_idx")]

    def __str__(self) -> str:
        return f"{self.action} on {self.resource or '*'} ({self.source})"
