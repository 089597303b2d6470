"""Linked AWS accounts.

Snapshot storage (principals, policies, usage) lives in `findings` because every reader of it is there;
this app owns what we know about an account as a link: where to assume, and how often to sync.
"""

from __future__ import annotations

import secrets

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

account_id_validator = RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")
role_arn_validator = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "A role ARN looks like arn:aws:iam::123456789012:role/iamreview-read.",
)


def new_external_id() -> str:
    return "iamreview-" + secrets.token_hex(16)


class LinkedAccount(models.Model):
    account_id = models.CharField(max_length=12, unique=True, validators=[account_id_validator])
    name = models.CharField(max_length=100)
    role_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[role_arn_validator],
        help_text="Read-only role to assume. Leave empty to use the product's own credentials.",
    )
    apply_role_arn = models.CharField(
        max_length=600,
        blank=True,
        validators=[role_arn_validator],
        help_text="Optional role with the few write actions that applying tightened policies needs.",
    )
    # Not a secret (AWS documents it as a confused-deputy guard), but unique per account and never reused.
    external_id = models.CharField(max_length=64, unique=True, default=new_external_id, editable=False)
    regions = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(default=360, validators=[MinValueValidator(15)])
    unused_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"
