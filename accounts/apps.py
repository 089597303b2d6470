"""Linked AWS accounts, sync runs and the collectors."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Linked accounts"

    def ready(self) -> None:
        from accounts.signals import grant_admin_group_all_permissions

        post_migrate.connect(grant_admin_group_all_permissions, dispatch_uid="iamreview-admin-perms")
