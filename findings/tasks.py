"""Celery tasks for findings: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="findings.tasks.expire_suppressions")
def expire_suppressions() -> int:
    from findings.lifecycle import suppressions_expire

    return suppressions_expire()


@shared_task(name="findings.tasks.apply_change", acks_late=True)
def apply_change(change_id: int) -> str:
    from findings.changes import change_request_apply

    return change_request_apply(change_id=change_id).status


@shared_task(name="findings.tasks.build_suggestions")
def build_suggestions(account_id: int) -> int:
    from findings.suggestions import suggestions_build_for_account

    return suggestions_build_for_account(account_id=account_id)


@shared_task(name="findings.tasks.expire_change_requests")
def expire_change_requests() -> int:
    from findings.changes import change_requests_expire

    return change_requests_expire()


@shared_task(
    name="findings.tasks.send_digests", autoretry_for=(RuntimeError,), retry_backoff=60, max_retries=5
)
def send_digests() -> int:
    from findings.digest import digests_send_due

    return digests_send_due()
