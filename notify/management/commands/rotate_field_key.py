"""Re-encrypt every stored channel secret with the first IAMREVIEW_FIELD_KEY (after adding a new key in
front of the old ones, or after setting one for the first time); then the old key can be removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit import audit_record
from core.crypto import SecretUnreadable, reencrypt
from notify.models import Channel


class Command(BaseCommand):
    help = "Re-encrypt stored notification secrets with the current first key."

    def handle(self, *args: Any, **options: Any) -> None:
        done, unreadable = 0, []
        with transaction.atomic():
            for channel in Channel.objects.select_for_update():
                try:
                    channel.url_ciphertext = reencrypt(channel.url_ciphertext)
                    channel.secret_ciphertext = reencrypt(channel.secret_ciphertext)
                except SecretUnreadable:
                    unreadable.append(channel.name)
                    continue
                channel.save(update_fields=["url_ciphertext", "secret_ciphertext"])
                done += 1
            audit_record(
                actor=None,
                action="channel.rotate_field_key",
                obj="channels",
                summary=f"Re-encrypted the secrets of {done} channel(s) with the current key",
            )
        self.stdout.write(f"Re-encrypted {done} channel(s).")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} channel(s) could not be decrypted with any configured key (enter their URL "
                f"again): {', '.join(unreadable)}"
            )
