"""Django admin for linked accounts (admins only)."""

from django.contrib import admin

from accounts.models import LinkedAccount


@admin.register(LinkedAccount)
class LinkedAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "account_id", "enabled", "sync_interval_minutes"]
    readonly_fields = ["external_id"]
