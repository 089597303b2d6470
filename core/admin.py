"""Django admin that writes the audit log: every add, change, deletion and bulk action, like the product's
own forms. Each app's admin classes build on `AuditedAdmin`."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from core.audit import audit_record

NOT_AUDITED = {"password", "key", "last_login"}


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
