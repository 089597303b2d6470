"""Channels (where a message goes), subscriptions (which events it hears), events (what happened) and
deliveries (one message to one channel, with every attempt).

Secrets are stored encrypted (core.crypto): the webhook URL (for Slack and Teams the URL is the secret)
and a webhook's signing secret. Only a masked hint is stored in the clear, for the pages and the audit log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import LinkedAccount
from core import crypto


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook)"
    TEAMS = "teams", "Microsoft Teams (workflow or incoming webhook)"
    WEBHOOK = "webhook", "Webhook (JSON, signed with HMAC-SHA256)"


class EventKind(models.TextChoices):
    FINDING_NEW = "finding_new", "New critical or high findings (gathered each minute)"
    CHANGE_AWAITING = "change_awaiting_approval", "A change awaits approval"
    CHANGE_DONE = "change_done", "An apply or rollback finished"
    CHANGE_FAILED = "change_failed", "An apply or rollback failed"
    ACCESS_DENIED = "access_denied", "AccessDenied seen after an apply"


class MinSeverity(models.TextChoices):
    CRITICAL = "critical", "Critical only"
    HIGH = "high", "Critical and high"


class Channel(models.Model):
    """A place to send messages, owned by a user (personal) or by the team (no owner; admins manage it)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    url_ciphertext = models.TextField()
    url_hint = models.CharField(max_length=120, help_text="scheme, host and the URL's last characters")
    secret_ciphertext = models.TextField(blank=True)
    min_severity = models.CharField(max_length=8, choices=MinSeverity.choices, default=MinSeverity.HIGH)
    # Empty: every account the owner may see (a team channel: every account).
    accounts = models.ManyToManyField(LinkedAccount, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} channel {self.name}"

    @property
    def is_team(self) -> bool:
        return self.owner_id is None

    @property
    def url(self) -> str:
        return crypto.decrypt(self.url_ciphertext)

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_ciphertext)

    def set_url(self, url: str) -> None:
        self.url_ciphertext = crypto.encrypt(url)
        self.url_hint = url_hint(url)

    def set_secret(self, secret: str) -> None:
        self.secret_ciphertext = crypto.encrypt(secret)

    @property
    def events(self) -> list[str]:
        return [s.event for s in self.subscriptions.all()]


def url_hint(url: str) -> str:
    """`https://hooks.slack.com/…Xy7Q`: which service, never the path (for Slack and Teams, the secret)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/{crypto.mask(url)}"[:120]


class Subscription(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="subscriptions")
    event = models.CharField(max_length=32, choices=EventKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "event"], name="one_subscription_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} hears {self.event}"


class Event(models.Model):
    """Something happened; fanned out to the channels that hear it once (`dispatched_at`). Findings events
    wait for the minute's batch; the others go at once, and the minute's run picks up any left behind."""

    kind = models.CharField(max_length=32, choices=EventKind.choices)
    account = models.ForeignKey(LinkedAccount, null=True, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dispatched_at", "kind"], name="notify_event_pending_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One message to one channel: its attempts (time, HTTP status, error, next try) are the channel's log."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)  # an EventKind, or "test"
    message = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="notify_delivery_channel_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="notify_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} to {self.channel_id}: {self.status}"

    @property
    def last_error(self) -> str:
        return str(self.attempt_log[-1].get("error", "")) if self.attempt_log else ""
