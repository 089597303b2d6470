"""Django admin: open to the admin role, signed in through the product's login, and audited.

Every model admin that can change data is an AuditedAdmin: each add, change, deletion and bulk action
lands in the audit log with what changed (a test checks the whole registry). Models with a product form
that validates more than the model does (linked accounts) are read-only here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import ROLE_GROUPS, Role, has_role
from core.admin import AuditedAdmin


# Never copied into the log: a password hash and a TOTP key are secrets; login times change at every sign-in.
def _admin_role_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and has_role(request.user, Role.ADMIN))


@login_not_required
def _login_through_the_product(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Admin's own login page checked passwords with no throttling and no audit: there is one door only.

    Whatever is posted here is ignored; the browser is sent to /login/, back to where it was going. A
    signed-in user without the admin role is refused here (sending it to /login/ would loop back).
    """
    if request.user.is_authenticated:
        raise PermissionDenied("Django admin needs the admin role.")
    wanted = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=False):
        wanted = ""
    return redirect_to_login(wanted or reverse("admin:index"), reverse("login"))


admin.site.has_permission = _admin_role_only  # type: ignore[method-assign]
admin.site.login = _login_through_the_product  # type: ignore[method-assign]
admin.site.site_header = "iamreview administration"
admin.site.site_title = "iamreview"


class AuditedUserAdmin(AuditedAdmin, UserAdmin):  # type: ignore[type-arg]
    """Users and their roles (groups) are managed here, as the README says; every change is audited."""


class RoleGroupAdmin(AuditedAdmin, GroupAdmin):
    """The four role groups are found by name: renaming or deleting one would take the role from everyone."""

    def _is_role_group(self, obj: Group | None) -> bool:
        return obj is not None and obj.name in {r.group_name for r in ROLE_GROUPS}

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "name"] if self._is_role_group(obj) else fields

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return not self._is_role_group(obj) and super().has_delete_permission(request, obj)


def _audit_registered(model: type[Model], base: type[admin.ModelAdmin]) -> None:  # type: ignore[type-arg]
    """Swap an app's admin for the same class with auditing (django-celery-beat's, django-otp's)."""
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{base.__name__}", (AuditedAdmin, base), {}))


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleGroupAdmin)
for _model, _base in (
    (PeriodicTask, beat_admin.PeriodicTaskAdmin),
    (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
    (CrontabSchedule, beat_admin.CrontabScheduleAdmin),
    (SolarSchedule, beat_admin.SolarScheduleAdmin),
    (ClockedSchedule, beat_admin.ClockedScheduleAdmin),
    # Deleting a user's device here is how a lost authenticator app is reset.
    (TOTPDevice, TOTPDeviceAdmin),
):
    _audit_registered(_model, _base)
