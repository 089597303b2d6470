"""A principal's own unused-permission window and "periodic?" margin, where a reviewer set one; the
account's apply otherwise (`findings.review_window`). Imported by `findings.models`, so that Django
registers it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class PrincipalWindow(models.Model):
    """Per-principal override of `LinkedAccount.unused_days` (the window) and `periodic_days` (the margin:
    a use older than the window but within it is kept as "periodic?"). A null field follows the account."""

    principal = models.OneToOneField(
        "findings.Principal", on_delete=models.CASCADE, related_name="review_window"
    )
    unused_days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    periodic_days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    reason = models.CharField(max_length=500, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"window of {self.principal_id}: {self.unused_days}/{self.periodic_days}"
