"""Celery tasks for findings: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="findings.tasks.expire_suppressions")
def expire_suppressions() -> int:
    from findings.lifecycle import suppressions_expire

    return suppressions_expire()
