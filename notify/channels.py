"""Channel services: who may manage which channel, and saving, deleting, testing one, every change audited
with masked secrets (the URL's hint; whether the signing secret changed, never its value)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import LinkedAccount
from accounts.roles import Role, has_role
from core.audit import audit_record
from notify import deliver, messages
from notify.models import Channel, ChannelKind, Delivery, DeliveryStatus, Subscription


class ChannelError(Exception):
    """A channel action refused, with the reason in words."""


def manageable_channels(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Channel]:
    """The user's own channels, and the team's for admins."""
    if not user.is_authenticated:
        return Channel.objects.none()
    mine = Q(owner=user)
    return Channel.objects.filter(mine | Q(owner=None) if has_role(user, Role.ADMIN) else mine)


def _state(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "team": channel.is_team,
        "enabled": channel.enabled,
        "url": channel.url_hint,
        "events": sorted(channel.events),
        "min_severity": channel.min_severity,
        "accounts": sorted(a.account_id for a in channel.accounts.all()),
    }


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def channel_save(
    *,
    actor: AbstractBaseUser,
    channel: Channel | None,
    data: dict[str, Any],
    accounts: list[LinkedAccount],
) -> tuple[Channel, str]:
    """Create (channel None) or update a channel from cleaned form data. An empty URL or secret keeps the
    stored one. Returns the channel and a newly generated signing secret ('' when none was generated),
    which the caller shows once and never again."""
    creating = channel is None
    if channel is None:
        team = bool(data.get("team"))
        if team and not has_role(actor, Role.ADMIN):
            raise ChannelError("Only admins create team channels.")
        channel = Channel(kind=data["kind"], owner=None if team else actor, created_by=actor)
        if not data.get("url"):
            raise ChannelError("Give the channel's URL.")
    generated = ""
    with transaction.atomic():
        before = None if creating else _state(channel)
        secret_changed = False
        channel.name = data["name"]
        channel.enabled = data.get("enabled", True)
        channel.min_severity = data["min_severity"]
        if data.get("url"):
            channel.set_url(data["url"])
        if channel.kind == ChannelKind.WEBHOOK:
            if data.get("secret"):
                channel.set_secret(data["secret"])
                secret_changed = True
            elif creating:
                generated = new_secret()
                channel.set_secret(generated)
                secret_changed = True
        channel.save()
        channel.accounts.set(accounts)
        events = set(data["events"])
        Subscription.objects.filter(channel=channel).exclude(event__in=events).delete()
        for event in events - set(channel.subscriptions.values_list("event", flat=True)):
            Subscription.objects.create(channel=channel, event=event)
        after = _state(channel)
        changed = sorted(k for k in after if before is None or before[k] != after[k])
        if secret_changed and not creating:
            changed.append("signing secret")
        audit_record(
            actor=actor,
            action="channel.create" if creating else "channel.update",
            obj=channel,
            summary=(
                f"{'Created' if creating else 'Changed'} the {'team' if channel.is_team else 'personal'} "
                f"{channel.get_kind_display()} channel {channel.name!r}"
                + (f": {', '.join(changed)}" if not creating and changed else "")
            ),
            before=before,
            after={**after, "signing_secret_changed": secret_changed},
        )
    return channel, generated


def channel_rotate_secret(*, actor: AbstractBaseUser, channel: Channel) -> str:
    if channel.kind != ChannelKind.WEBHOOK:
        raise ChannelError("Only webhook channels have a signing secret.")
    secret = new_secret()
    channel.set_secret(secret)
    channel.save(update_fields=["secret_ciphertext", "updated_at"])
    audit_record(
        actor=actor,
        action="channel.rotate_secret",
        obj=channel,
        summary=f"New signing secret for the webhook channel {channel.name!r} (the old one no longer verifies)",
    )
    return secret


def channel_delete(*, actor: AbstractBaseUser, channel: Channel) -> None:
    before = _state(channel)
    pk = channel.pk
    with transaction.atomic():
        channel.delete()
        channel.pk = pk
        audit_record(
            actor=actor,
            action="channel.delete",
            obj=channel,
            summary=f"Deleted the {channel.get_kind_display()} channel {before['name']!r}",
            before=before,
        )


def channel_test(*, actor: AbstractBaseUser, channel: Channel) -> Delivery:
    """Send a test message now, once (no retries: the person pressing the button sees the answer)."""
    delivery = Delivery.objects.create(
        channel=channel, event="test", message=messages.test_message(channel.name, actor.get_username())
    )
    deliver.delivery_send(delivery_id=delivery.pk, retries=False)
    delivery.refresh_from_db()
    outcome = (
        f"delivered (HTTP {delivery.last_status_code})"
        if delivery.status == DeliveryStatus.DELIVERED
        else f"failed: {delivery.last_error}"
    )
    audit_record(
        actor=actor,
        action="channel.test",
        obj=channel,
        summary=f"Test message to the channel {channel.name!r} {outcome}",
        after={
            "delivery": delivery.pk,
            "status_code": delivery.last_status_code,
            "at": timezone.now().isoformat(),
        },
    )
    return delivery
