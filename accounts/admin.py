"""Django admin for linked accounts and profiles (admin role only; every change audited).

A linked account is read-only here: the product's form checks more than the model (a role ARN must be in
the account's own account) and writes the audit log; deleting one is allowed here, and audited. On a
profile, admin sets which accounts the user may see; the digest settings are the user's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import LinkedAccount, Profile
from core.admin import AuditedAdmin


@admin.register(LinkedAccount)
class LinkedAccountAdmin(AuditedAdmin):
    list_display = ["name", "account_id", "enabled", "sync_interval_minutes"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


PROFILE_FIELDS = [
    "user",
    "accounts",
    "digest_frequency",
    "digest_accounts",
    "digest_min_severity",
    "digest_all_clear",
    "last_review_at",
    "last_digest_at",
]


@admin.register(Profile)
class ProfileAdmin(AuditedAdmin):
    list_display = ["user", "digest_frequency", "last_review_at"]
    fields = PROFILE_FIELDS
    readonly_fields = [f for f in PROFILE_FIELDS if f != "accounts"]
    filter_horizontal = ["accounts"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made on a user's first page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
