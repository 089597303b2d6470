"""From events to deliveries: which channels hear an event, the minute's batch of new findings, and the
beat's catch-up of events and deliveries a lost task left behind.

Who hears what: a channel subscribed to the event, enabled, covering the event's account (its own
account list, and for a personal channel the accounts its owner may see); a personal channel's owner
must still hold a role, and "awaiting approval" reaches personal channels of approvers other than the
requester only. Team channels (no owner) are managed by admins and hear every account unless limited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.roles import Role, user_role
from core import jobs
from findings.models import Finding, FindingStatus
from notify.messages import findings_message
from notify.models import Channel, Delivery, DeliveryStatus, Event, EventKind
from policy.kinds import SEVERITY_RANK

logger = logging.getLogger(__name__)

SEND_TASK = "notify.tasks.delivery_send"
DISPATCH_TASK = "notify.tasks.event_dispatch"
# An event or a delivery this late was lost by the queue (broker down when it was sent): the beat sends it.
LATE = timedelta(minutes=2)


def _channels(kind: str) -> list[Channel]:
    return list(
        Channel.objects.filter(enabled=True, subscriptions__event=kind)
        .select_related("owner")
        .prefetch_related(Prefetch("accounts"))
        .distinct()
    )


def _owner_accounts(channel: Channel, cache: dict[int, set[int] | None]) -> set[int] | None:
    """Account pks the channel may hear about (None: every account)."""
    chosen = {a.pk for a in channel.accounts.all()} or None
    if channel.owner is None:
        return chosen
    if channel.owner_id not in cache:
        profile = getattr(channel.owner, "profile", None)
        limited = set(profile.accounts.values_list("pk", flat=True)) if profile is not None else set()
        cache[channel.owner_id] = limited or None
    visible = cache[channel.owner_id]
    if chosen is None:
        return visible
    return chosen if visible is None else chosen & visible


def _hears(channel: Channel, event: Event, cache: dict[int, set[int] | None]) -> bool:
    if channel.owner is not None:
        needed = Role.APPROVER if event.kind == EventKind.CHANGE_AWAITING else Role.VIEWER
        if user_role(channel.owner) < needed:
            return False
        if event.kind == EventKind.CHANGE_AWAITING and channel.owner_id == event.data.get("requested_by"):
            return False
    accounts = _owner_accounts(channel, cache)
    return accounts is None or event.account_id in accounts


def event_queue(event_id: int) -> None:
    """Dispatch the event once the transaction that recorded it commits."""
    jobs.enqueue(DISPATCH_TASK, event_id)


def _queue(deliveries: Iterable[Delivery]) -> int:
    count = 0
    for delivery in deliveries:
        jobs.enqueue(SEND_TASK, delivery.pk, 0)
        count += 1
    return count


def event_dispatch(*, event_id: int) -> int:
    """Fan an event out to every channel that hears it, once (claimed by a conditional update)."""
    with transaction.atomic():
        # Findings events go out with the minute's batch, never one by one.
        claimed = Event.objects.filter(pk=event_id, dispatched_at=None).exclude(kind=EventKind.FINDING_NEW)
        if not claimed.update(dispatched_at=timezone.now()):
            return 0
        event = Event.objects.get(pk=event_id)
        cache: dict[int, set[int] | None] = {}
        deliveries = Delivery.objects.bulk_create(
            Delivery(channel=c, event=event.kind, message=event.data["message"])
            for c in _channels(event.kind)
            if _hears(c, event, cache)
        )
        return _queue(deliveries)


def findings_batch(*, now: datetime | None = None) -> int:
    """The minute's batch: every findings event not yet sent, as one message per channel. Events are
    locked (SKIP LOCKED), so two beats at once never send a finding twice."""
    now = now or timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(kind=EventKind.FINDING_NEW, dispatched_at=None)
            .order_by("pk")
        )
        if not events:
            return 0
        Event.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=now)
        ids = {i for e in events for i in e.data.get("findings", [])}
        # Still open now: one resolved or suppressed within the minute is no news.
        findings = list(
            Finding.objects.filter(
                pk__in=ids, status=FindingStatus.OPEN, severity_rank__lte=SEVERITY_RANK["high"]
            ).select_related("account")
        )
        cache: dict[int, set[int] | None] = {}
        deliveries = []
        for channel in _channels(EventKind.FINDING_NEW):
            if channel.owner is not None and user_role(channel.owner) < Role.VIEWER:
                continue
            accounts = _owner_accounts(channel, cache)
            rank = SEVERITY_RANK[channel.min_severity]
            heard = [
                f
                for f in findings
                if f.severity_rank <= rank and (accounts is None or f.account_id in accounts)
            ]
            if heard:
                deliveries.append(
                    Delivery(channel=channel, event=EventKind.FINDING_NEW, message=findings_message(heard))
                )
        return _queue(Delivery.objects.bulk_create(deliveries))


def notifications_dispatch_due(*, now: datetime | None = None) -> dict[str, Any]:
    """Beat, every minute: the findings batch; events and deliveries whose task was lost; old log rows."""
    now = now or timezone.now()
    sent = findings_batch(now=now)
    late_events = list(
        Event.objects.filter(dispatched_at=None, created_at__lt=now - LATE)
        .exclude(kind=EventKind.FINDING_NEW)
        .values_list("pk", flat=True)
    )
    for pk in late_events:
        sent += event_dispatch(event_id=pk)
    # Sending for longer than a worker may take: the worker died mid-send; the attempt counts as failed.
    cutoff = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now
    )
    lost = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=now - LATE) | (
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at=None, created_at__lt=now - LATE
        )
    )
    requeued = 0
    for delivery in lost:
        jobs.enqueue(SEND_TASK, delivery.pk, delivery.attempts)
        # Not queued again for another LATE, even if a busy worker has not reached this copy yet.
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now)
        requeued += 1
    keep = now - timedelta(days=settings.IAMREVIEW_NOTIFY_LOG_DAYS)
    Delivery.objects.filter(created_at__lt=keep).exclude(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).delete()
    Event.objects.filter(created_at__lt=keep).exclude(dispatched_at=None).delete()
    return {"queued": sent, "late_events": len(late_events), "requeued": requeued}
