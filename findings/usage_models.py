"""What Access Advisor reports a principal never used, one row per principal (`findings.usage_rows`).
Imported by `findings.models`, so that Django registers it."""

from __future__ import annotations

from django.db import models


class NeverUsed(models.Model):
    """The services and tracked actions of a principal's latest Access Advisor report with no last use:
    most of a report (AWS lists every service the principal's policies grant, about 150 for a broad policy,
    and the tracked actions of each) and nothing but a name each. Kept as one list rather than a
    `LastAccessed` row each; the readers in `findings.usage_rows` give them back as rows."""

    principal = models.OneToOneField(
        "findings.Principal", on_delete=models.CASCADE, related_name="never_used"
    )
    entries = models.JSONField(default=list)  # [[service, service name, action ("" for the service)], …]
    collected_at = models.DateTimeField()  # when the report last changed, as a row's `collected_at`

    def __str__(self) -> str:
        return f"{len(self.entries)} services and actions never used by {self.principal_id}"
