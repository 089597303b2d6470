"""Celery tasks of the notify app: each takes ids (or nothing) and calls the one service it is named after."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from notify import deliver, dispatch


@shared_task(name="notify.tasks.event_dispatch")
def event_dispatch(event_id: int) -> int:
    """Fan one event out to the channels that hear it (queued when the event is recorded)."""
    return dispatch.event_dispatch(event_id=event_id)


@shared_task(name="notify.tasks.delivery_send", bind=True, acks_late=True, max_retries=None)
def delivery_send(self: Task, delivery_id: int, attempts_made: int = 0) -> str:
    """One attempt; a failed one that may succeed later is retried by Celery after an exponential backoff."""
    outcome = deliver.delivery_send(delivery_id=delivery_id, attempts_made=attempts_made)
    if outcome.retry_in is not None:
        raise self.retry(args=[delivery_id, attempts_made + 1], countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="notify.tasks.notifications_dispatch_due")
def notifications_dispatch_due() -> dict[str, Any]:
    """Beat, every minute: the batch of new findings, and events or deliveries a lost task left behind."""
    return dispatch.notifications_dispatch_due()
