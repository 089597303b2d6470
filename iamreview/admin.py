"""Django admin: open to the admin role, signed in through the product's login, and audited.

Every model admin that can change data is an AuditedAdmin: each add, change, deletion and bulk action
lands in the audit log with what changed (a test checks the whole registry). Models with a product form
that validates more than the model does (linked accounts) are read-only here.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
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
from findings.audit import audit_record

# Never copied into the log: a password hash and a TOTP key are secrets; login times change at every sign-in.
NOT_AUDITED = {"password", "key", "last_login"}


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


def admin_snapshot(obj: Model) -> dict[str, Any]:
    """The audited fields of an object as JSON: plain values, ids for foreign keys, names for many-to-many."""
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in NOT_AUDITED:
            continue
        value = field.value_from_object(obj)
        if isinstance(value, datetime):
            # Admin's forms post whole seconds: a lost microsecond is not a change.
            value = value.isoformat(timespec="seconds")
        plain = value is None or isinstance(value, (str, int, float, bool, list, dict))
        values[field.name] = value if plain else str(value)
    if obj.pk is not None:
        for m2m in obj._meta.many_to_many:
            values[m2m.name] = sorted(str(o) for o in getattr(obj, m2m.name).all())
    return values


def _account_id(obj: Model) -> str:
    value = getattr(obj, "account_id", "")
    return value if isinstance(value, str) else ""  # a LinkedAccount's 12 digits, not a foreign key


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Writes an audit event for every add, change, deletion and action, beside Django's own LogEntry."""

    def _label(self) -> str:
        return self.model.__name__

    def save_model(self, request: Any, obj: Model, form: Any, change: bool) -> None:
        if change and obj.pk is not None:
            # Read before saving: many-to-many fields are only written later (save_related).
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            if stored is not None:
                request.__dict__.setdefault("_audit_before", {})[(self._label(), obj.pk)] = admin_snapshot(
                    stored
                )
        super().save_model(request, obj, form, change)

    def log_addition(self, request: Any, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        audit_record(
            actor=request.user,
            action="admin.add",
            obj=obj,
            account_id=_account_id(obj),
            summary=f"Added {self._label()} {obj} in Django admin",
            after=admin_snapshot(obj),
        )
        return entry

    def log_change(self, request: Any, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        before = request.__dict__.get("_audit_before", {}).pop((self._label(), obj.pk), None)
        after = admin_snapshot(obj)
        changed = sorted(k for k in after if before is not None and before.get(k) != after[k])
        old: dict[str, Any] | None = None
        new: dict[str, Any] | None = None
        if before is not None and changed:
            what = ", ".join(changed)
            old, new = {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
        else:  # no form save: a password change, say. Django's message names it (never the value).
            what = str(entry.get_change_message()) if entry is not None else "nothing"
        audit_record(
            actor=request.user,
            action="admin.change",
            obj=obj,
            account_id=_account_id(obj),
            summary=f"Changed {what} of {self._label()} {obj} in Django admin",
            before=old,
            after=new,
        )
        return entry

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        objects = list(queryset)  # still there: Django logs before it deletes
        entries = super().log_deletions(request, queryset)
        for obj in objects:
            audit_record(
                actor=request.user,
                action="admin.delete",
                obj=obj,
                account_id=_account_id(obj),
                summary=f"Deleted {self._label()} {obj} in Django admin",
                before=admin_snapshot(obj),
            )
        return entries

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request) or {}
        return {
            name: (func if name == "delete_selected" else self._audited_action(func, name), name, text)
            for name, (func, _, text) in actions.items()
        }

    def _audited_action(self, func: Any, name: str) -> Any:
        @functools.wraps(func)
        def run(modeladmin: admin.ModelAdmin, request: Any, queryset: QuerySet[Any]) -> Any:  # type: ignore[type-arg]
            ids = sorted(queryset.values_list("pk", flat=True))
            result = func(modeladmin, request, queryset)
            audit_record(
                actor=request.user,
                action="admin.action",
                obj=self._label(),
                summary=f"Ran {name} on {len(ids)} {self._label()} in Django admin",
                after={"ids": ids},
            )
            return result

        return run


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
