"""The minute's beat also catches up what a lost task left behind (broker down when it was queued): an
event never dispatched, a delivery never sent, an attempt whose worker died; and it prunes the old log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notify.dispatch import DISPATCH_TASK, SEND_TASK, notifications_dispatch_due
from notify.models import Delivery, DeliveryStatus, Event, EventKind
from tests.notify.helpers import make_channel

pytestmark = pytest.mark.django_db

MESSAGE = {"title": "t", "lines": [], "link": "", "data": {}}


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Tasks queued by the services, kept here instead of reaching the broker."""
    found: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr("core.jobs.enqueue", lambda name, *args: found.append((name, args)))
    return found


def test_lost_events_and_deliveries_are_sent_by_the_beat(users: Any, queued: list[Any]) -> None:
    channel, _ = make_channel(users["approver"], "https://hooks.example.com/a")
    long_ago = timezone.now() - timedelta(minutes=5)
    event = Event.objects.create(kind=EventKind.CHANGE_DONE, data={"message": MESSAGE, "requested_by": None})
    fresh = Event.objects.create(kind=EventKind.CHANGE_DONE, data={"message": MESSAGE, "requested_by": None})
    Event.objects.filter(pk=event.pk).update(created_at=long_ago)
    lost = Delivery.objects.create(channel=channel, event="change_done", message=MESSAGE)
    Delivery.objects.filter(pk=lost.pk).update(created_at=long_ago)
    retry_lost = Delivery.objects.create(
        channel=channel, event="change_done", message=MESSAGE, attempts=2, next_attempt_at=long_ago
    )
    waiting = Delivery.objects.create(
        channel=channel, event="change_done", message=MESSAGE, attempts=1, next_attempt_at=timezone.now()
    )
    died = Delivery.objects.create(
        channel=channel,
        event="change_done",
        message=MESSAGE,
        attempts=1,
        status=DeliveryStatus.SENDING,
        claimed_at=timezone.now() - timedelta(days=1),
    )
    outcome = notifications_dispatch_due()
    assert outcome["late_events"] == 1
    assert Event.objects.get(pk=event.pk).dispatched_at is not None
    assert Event.objects.get(pk=fresh.pk).dispatched_at is None  # its own task is still on the way
    new = Delivery.objects.get(channel=channel, created_at__gt=long_ago + timedelta(minutes=1), attempts=0)
    assert (SEND_TASK, (new.pk, 0)) in queued and (SEND_TASK, (lost.pk, 0)) in queued
    assert (SEND_TASK, (retry_lost.pk, 2)) in queued
    assert not [q for q in queued if q[1][0] in (waiting.pk, died.pk)]
    died.refresh_from_db()
    assert died.status == DeliveryStatus.PENDING  # tried again once it is overdue
    queued.clear()
    assert notifications_dispatch_due()["requeued"] == 0, "not queued again every minute"
    assert DISPATCH_TASK not in [q[0] for q in queued]


def test_the_log_is_pruned(users: Any, settings: Any) -> None:
    settings.IAMREVIEW_NOTIFY_LOG_DAYS = 30
    channel, _ = make_channel(users["viewer"], "https://hooks.example.com/a")
    old = Delivery.objects.create(
        channel=channel, event="test", message=MESSAGE, status=DeliveryStatus.DELIVERED
    )
    kept = Delivery.objects.create(
        channel=channel, event="test", message=MESSAGE, status=DeliveryStatus.FAILED
    )
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    notifications_dispatch_due()
    assert list(Delivery.objects.values_list("pk", flat=True)) == [kept.pk]
