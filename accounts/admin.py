"""Django admin for linked accounts (admins only)."""

from django.contrib import admin

from accounts.models import LinkedAccount, Profile


@admin.register(LinkedAccount)
class LinkedAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "account_id", "enabled", "sync_interval_minutes"]
    readonly_fields = ["external_id"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "digest_frequency", "last_review_at"]
    filter_horizontal = ["accounts", "digest_accounts"]
