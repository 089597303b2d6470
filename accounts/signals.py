"""Keeps the admin role's group holding every model permission, so admin-role users can use Django admin."""

from __future__ import annotations

from typing import Any


def grant_admin_group_all_permissions(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.filter(name="admin").first()
    if group is not None:
        group.permissions.set(Permission.objects.all())
