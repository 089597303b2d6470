"""Django admin is open to the admin role (not only to superusers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from accounts.roles import Role, has_role


def _admin_role_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and has_role(request.user, Role.ADMIN))


admin.site.has_permission = _admin_role_only  # type: ignore[method-assign]
admin.site.site_header = "iamreview administration"
admin.site.site_title = "iamreview"
