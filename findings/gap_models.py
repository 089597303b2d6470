"""Catalog gaps an account's last analysis met (imported by `findings.models`): actions that AWS managed
policies name and the action catalog does not know. Shown once on the account's page, not as findings."""

from __future__ import annotations

from django.db import models

from accounts.models import LinkedAccount


class CatalogGap(models.Model):
    """One action an AWS managed policy names that the catalog lacks (the catalog is older than AWS):
    which managed policies name it and how many users and roles hold them. Replaced by each analysis."""

    account = models.ForeignKey(LinkedAccount, on_delete=models.CASCADE, related_name="catalog_gaps")
    action = models.CharField(max_length=256)
    why = models.CharField(max_length=256, blank=True)
    policies = models.JSONField(default=list)
    principal_count = models.PositiveIntegerField(default=0)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-principal_count", "action"]
        constraints = [
            models.UniqueConstraint(fields=["account", "action"], name="catalog_gap_account_action_unique")
        ]

    def __str__(self) -> str:
        return f"{self.action} (catalog gap in {self.account_id})"
