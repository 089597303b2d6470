"""The organisation as its management (or delegated-admin) account's last sync saw it (imported by
`findings.models`, kept apart so that module stays readable)."""

from __future__ import annotations

from django.db import models

from accounts.models import LinkedAccount, SyncRun


class OrganizationSnapshot(models.Model):
    """One sync's view of the organisation: the OU tree, and every SCP and RCP with its targets. A sync of
    the management account stores a row when anything changed since the previous one; the newest row
    whose tree holds an account gives that account's SCP and RCP levels."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    organization_id = models.CharField(max_length=64)
    management_account_id = models.CharField(max_length=12)
    # node id (root, OU or account) -> {"name", "kind", "parent"}
    nodes = models.JSONField(default=dict)
    enabled_types = models.JSONField(default=list)
    # policy id -> {"name", "type", "aws_managed", "content", "targets"}
    policies = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["-collected_at", "-id"]
        indexes = [models.Index(fields=["-collected_at"], name="orgsnapshot_recent_idx")]

    def __str__(self) -> str:
        return f"organisation {self.organization_id} at {self.collected_at:%Y-%m-%d %H:%M}"
