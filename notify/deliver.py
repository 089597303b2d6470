"""Sending one delivery: one attempt per call, recorded in the delivery's log; the task retries with
exponential backoff (IAMREVIEW_NOTIFY_RETRY_SECONDS, doubling) up to IAMREVIEW_NOTIFY_MAX_ATTEMPTS.

An attempt is claimed with a conditional update on the number of attempts made, so the task's own retry
and the beat's catch-up of a lost one never send the same attempt twice. Retried: no answer, 408, 425,
429 and 5xx. Anything else (a 4xx: a revoked Slack URL, a wrong path) fails at once: trying again would
not help. The URL and the signing secret appear nowhere in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core.crypto import SecretUnreadable
from notify import messages, transport
from notify.models import Channel, ChannelKind, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

RETRIED_STATUSES = {408, 425, 429}
MAX_BACKOFF_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Outcome:
    status: str  # a DeliveryStatus, or "skipped" when this attempt was not ours to make
    retry_in: int | None = None  # seconds until the next attempt, when there is one


def backoff(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (1-based): base, 2x base, 4x base, ..."""
    return int(min(settings.IAMREVIEW_NOTIFY_RETRY_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def _claim(delivery_id: int, attempts_made: int) -> Delivery | None:
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempts_made
    ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    if not claimed:
        return None
    return Delivery.objects.select_related("channel").get(pk=delivery_id)


def attempt(delivery: Delivery) -> transport.Response:
    """POST the delivery's message to its channel once (signed for a webhook)."""
    channel: Channel = delivery.channel
    sent_at = timezone.now().isoformat()
    try:
        url = channel.url
        secret = channel.secret if channel.kind == ChannelKind.WEBHOOK else ""
    except SecretUnreadable as exc:
        return transport.Response(None, "", str(exc), 0, permanent=True)
    body = messages.body(
        channel.kind, delivery.event, delivery.message, delivery_id=delivery.pk, sent_at=sent_at
    )
    headers = {"X-Iamreview-Event": delivery.event, "X-Iamreview-Delivery": str(delivery.pk)}
    if secret:
        headers.update(transport.signed_headers(secret, body))
    return transport.post(url, body, headers)


def _retryable(response: transport.Response) -> bool:
    if response.status is None:
        return not response.permanent
    return response.status >= 500 or response.status in RETRIED_STATUSES


def delivery_send(*, delivery_id: int, attempts_made: int = 0, retries: bool = True) -> Outcome:
    """Make attempt number `attempts_made + 1` of a delivery and record it."""
    delivery = _claim(delivery_id, attempts_made)
    if delivery is None:
        return Outcome("skipped")
    response = attempt(delivery)
    now = timezone.now()
    ok = response.status is not None and 200 <= response.status < 300
    retry_in = None
    if (
        not ok
        and retries
        and _retryable(response)
        and delivery.attempts < settings.IAMREVIEW_NOTIFY_MAX_ATTEMPTS
    ):
        retry_in = backoff(delivery.attempts)
    entry = {
        "at": now.isoformat(),
        "attempt": delivery.attempts,
        "status_code": response.status,
        "error": response.error,
        "response": response.body if not ok else "",
        "ms": response.elapsed_ms,
        "retry_in": retry_in,
    }
    status = (
        DeliveryStatus.DELIVERED
        if ok
        else DeliveryStatus.PENDING
        if retry_in is not None
        else DeliveryStatus.FAILED
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempt_log=[*delivery.attempt_log, entry],
        last_status_code=response.status,
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
        finished_at=None if retry_in is not None else now,
    )
    if not ok:
        # The channel's name and the error only: never the URL or the secret.
        logger.warning(
            "notification %s to channel %s (%s), attempt %s: %s%s",
            delivery.pk,
            delivery.channel.pk,
            delivery.channel.name,
            delivery.attempts,
            response.error,
            f"; next attempt in {retry_in} s" if retry_in is not None else "",
        )
    return Outcome(status, retry_in)
