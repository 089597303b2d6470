"""Stored secrets are encrypted (Fernet, keys from IAMREVIEW_FIELD_KEY or SECRET_KEY), readable across a
key change while the old key is configured, re-encrypted by `manage.py rotate_field_key`, and a secret no
key reads fails its deliveries with a plain reason instead of an error."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from core import crypto
from iamreview.env import ConfigError, env_secret_keys
from notify.deliver import delivery_send
from notify.models import Channel, Delivery, DeliveryStatus
from tests.notify.helpers import make_channel
from tests.receiver import Receiver

OLD = "old-field-key-" + "a" * 40
NEW = "new-field-key-" + "b" * 40


def test_round_trip_and_no_plaintext() -> None:
    token = crypto.encrypt("https://hooks.slack.com/services/T1/B2/abc")
    assert "hooks.slack.com" not in token and crypto.decrypt(token).endswith("/B2/abc")
    assert crypto.encrypt("same") != crypto.encrypt("same")
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_setting_a_field_key_keeps_secrets_stored_under_the_secret_key(settings: Any) -> None:
    settings.IAMREVIEW_FIELD_KEYS = []
    before = crypto.encrypt("stored before the field key")
    settings.IAMREVIEW_FIELD_KEYS = [NEW]
    assert crypto.decrypt(before) == "stored before the field key"
    after = crypto.encrypt("stored after")
    settings.IAMREVIEW_FIELD_KEYS = []
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(after)  # encrypted with the field key, not the secret key


def test_rotation(settings: Any) -> None:
    settings.IAMREVIEW_FIELD_KEYS = [OLD]
    token = crypto.encrypt("rotate me")
    settings.IAMREVIEW_FIELD_KEYS = [NEW, OLD]
    rotated = crypto.reencrypt(token)
    settings.IAMREVIEW_FIELD_KEYS = [NEW]
    settings.SECRET_KEY = "another-secret-key-" + "c" * 40
    assert crypto.decrypt(rotated) == "rotate me"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def test_short_field_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAMREVIEW_FIELD_KEY", f"{NEW},short")
    with pytest.raises(ConfigError, match="key 2 is shorter than 32"):
        env_secret_keys("IAMREVIEW_FIELD_KEY")
    monkeypatch.setenv("IAMREVIEW_FIELD_KEY", f" {NEW} , {OLD} ")
    assert env_secret_keys("IAMREVIEW_FIELD_KEY") == [NEW, OLD]


def test_mask_shows_only_the_end() -> None:
    assert crypto.mask("https://hooks.slack.com/services/T1/B2/abcdefXYZ9") == "••••XYZ9"
    assert crypto.mask("short") == "••••"


@pytest.mark.django_db
def test_the_database_holds_ciphertext_only(users: Any, settings: Any) -> None:
    settings.IAMREVIEW_NOTIFY_ALLOW_HTTP = True
    url = "https://hooks.example.com/services/T0/B0/very-secret-path-41"
    channel, secret = make_channel(users["viewer"], url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM notify_channel WHERE id = %s", [channel.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert secret and secret not in row and "very-secret-path-41" not in row
    assert "hooks.example.com" in row  # the masked hint says which service
    stored = Channel.objects.get(pk=channel.pk)
    assert stored.url == url and stored.secret == secret


@pytest.mark.django_db
def test_rotate_field_key_command_and_an_unreadable_secret(
    users: Any, settings: Any, server: Receiver
) -> None:
    settings.IAMREVIEW_FIELD_KEYS = [OLD]
    channel, _ = make_channel(users["viewer"], server.url)
    settings.IAMREVIEW_FIELD_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("rotate_field_key", stdout=out)
    assert "Re-encrypted 1 channel(s)" in out.getvalue()
    settings.IAMREVIEW_FIELD_KEYS = [NEW]
    settings.SECRET_KEY = "another-secret-key-" + "d" * 40
    assert Channel.objects.get(pk=channel.pk).url == server.url
    # Every key that could read it gone: the delivery fails, saying why, and nothing is sent.
    settings.IAMREVIEW_FIELD_KEYS = ["yet-another-key-" + "e" * 40]
    delivery = Delivery.objects.create(
        channel=channel, event="test", message={"title": "t", "lines": [], "link": ""}
    )
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert "enter it again" in delivery.attempt_log[0]["error"] and server.requests == []
