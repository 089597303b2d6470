"""History the trends and principal pages draw: one row per account per day, and each score change."""

from __future__ import annotations

from django.db import models


class DailyMetric(models.Model):
    """One row per account per day: the figures the trends page draws."""

    account = models.ForeignKey(
        "accounts.LinkedAccount", on_delete=models.CASCADE, related_name="daily_metrics"
    )
    date = models.DateField()
    principals = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    roles = models.PositiveIntegerField(default=0)
    groups = models.PositiveIntegerField(default=0)
    admins = models.PositiveIntegerField(default=0)
    high_risk = models.PositiveIntegerField(default=0)
    score_mean = models.FloatField(default=0)
    score_p90 = models.FloatField(default=0)
    score_histogram = models.JSONField(default=list, blank=True)
    open_by_severity = models.JSONField(default=dict, blank=True)
    open_by_kind = models.JSONField(default=dict, blank=True)
    unused_permissions = models.PositiveIntegerField(default=0)
    old_keys = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="daily_metric_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}"


class ScoreHistory(models.Model):
    """A principal's risk score each time it changed: the principal page's chart."""

    principal = models.ForeignKey(
        "findings.Principal", on_delete=models.CASCADE, related_name="score_history"
    )
    recorded_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [
            # The principal page reads one principal's history in time order.
            models.Index(fields=["principal", "recorded_at"], name="scorehistory_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.principal_id} {self.score} at {self.recorded_at:%Y-%m-%d}"
