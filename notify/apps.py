"""Notification channels (Slack, Microsoft Teams, signed webhooks): who hears about which event."""

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notify import receivers

        receivers.connect()
