"""The audit log, and the fields every background-job row shares (sync runs, change requests)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models


class JobRow(models.Model):
    """A unit of background work the UI shows while it runs: its step, progress, error, and a heartbeat
    the worker writes as it goes, so a row whose worker died is found by `core.jobs.stale_rows` and
    failed, never left running. Services move it with `core.jobs`."""

    step = models.CharField(max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One state change: who, when, what, before and after. Never updated, never deleted."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    # "system" for the product's own changes (syncs, automatic resolution), else the actor's username.
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    account_id = models.CharField(max_length=12, blank=True)
    summary = models.CharField(max_length=500)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # The table keeps the name it had when the audit log lived in `findings`.
        db_table = "findings_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page filtered by object ("history of this change request / account").
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


def _same(stored: Any, new: Any) -> bool:
    if isinstance(new, dict | list | tuple) or isinstance(stored, dict | list | tuple):
        # JSON columns come back as lists and dicts; a new value may hold tuples or other key orders.
        return bool(
            json.dumps(stored, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)
        )
    return bool(stored == new)


def assign_changed(row: models.Model, **values: Any) -> bool:
    """Set `values` on `row`; True when any of them differs from what the row holds (JSON compared by
    content), so a re-sync writes only rows whose content moved."""
    changed = False
    for name, value in values.items():
        if not _same(getattr(row, name), value):
            setattr(row, name, value)
            changed = True
    return changed
