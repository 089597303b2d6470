"""Channels made the way the pages make them (the channel service), for the notification tests."""

from __future__ import annotations

from typing import Any

from notify.channels import channel_save
from notify.models import Channel, Delivery, DeliveryStatus, EventKind
from notify.tasks import delivery_send

ALL_EVENTS = [e.value for e in EventKind]


def make_channel(
    owner: Any,
    url: str,
    *,
    kind: str = "webhook",
    secret: str = "",
    events: list[str] | None = None,
    team: bool = False,
    min_severity: str = "high",
    accounts: list[Any] | None = None,
    name: str = "",
) -> tuple[Channel, str]:
    data = {
        "name": name or f"{kind} of {owner.get_username()}",
        "kind": kind,
        "url": url,
        "secret": secret,
        "events": ALL_EVENTS if events is None else events,
        "min_severity": min_severity,
        "enabled": True,
        "team": team,
    }
    return channel_save(actor=owner, channel=None, data=data, accounts=accounts or [])


def send_pending() -> list[Delivery]:
    """What the worker does with the queued sends: run each one (Celery's retries run at once, eagerly)."""
    pending = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0))
    for delivery in pending:
        delivery_send.apply(args=[delivery.pk, 0])
    return [Delivery.objects.get(pk=d.pk) for d in pending]
