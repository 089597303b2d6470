"""The channel pages: a secret is shown once and never again (not on the pages, not in the audit log, not
in the logs), changes are audited, "send a test" answers at once, and a channel is its owner's (team
channels are the admins')."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from core.models import AuditEvent
from notify.models import Channel, ChannelKind, Delivery
from tests.notify.helpers import make_channel
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

URL_PATH = "/services/T0AAA/B0BBB/xoxSecretPath9876"


def _all_text(client: Client, channel: Channel) -> str:
    pages = [
        client.get("/notifications/"),
        client.get(f"/notifications/{channel.pk}/"),
        client.get(f"/notifications/{channel.pk}/deliveries/"),
    ]
    assert all(p.status_code == 200 for p in pages)
    return "".join(p.content.decode() for p in pages)


def _audit_text() -> str:
    return " ".join(f"{e.summary} {e.before} {e.after}" for e in AuditEvent.objects.all())


def test_a_webhook_channel_shows_its_secret_once(
    client_as: Any, server: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    viewer = client_as("viewer")
    with caplog.at_level(logging.DEBUG):
        response = viewer.post(
            "/notifications/new/",
            {
                "name": "siem",
                "kind": "webhook",
                "url": server.url + URL_PATH,
                "events": ["finding_new"],
                "min_severity": "high",
                "enabled": "on",
            },
        )
        assert response.status_code == 200
        channel = Channel.objects.get()
        secret = channel.secret
        assert len(secret) >= 40 and secret in response.content.decode(), "shown once, on creation"
        assert channel.owner.username == "viewer" and channel.events == ["finding_new"]
        page = _all_text(viewer, channel)
        test = viewer.post(f"/notifications/{channel.pk}/test/", HTTP_HX_REQUEST="true")
    assert "Test delivered: HTTP 200." in test.content.decode() and test["HX-Trigger"] == "deliveries-changed"
    assert server.verify(server.requests[0], secret)
    for text in (page, _audit_text(), caplog.text, test.content.decode()):
        assert secret not in text and "xoxSecretPath9876" not in text
    assert channel.url_hint in page and channel.url_hint.startswith("http://127.0.0.1:")
    created = AuditEvent.objects.get(action="channel.create")
    assert created.actor.username == "viewer" and created.after["url"] == channel.url_hint
    assert created.after["signing_secret_changed"] is True
    assert AuditEvent.objects.filter(action="channel.test", summary__contains="delivered (HTTP 200)").exists()


def test_a_form_with_an_error_does_not_echo_the_url(client_as: Any) -> None:
    response = client_as("viewer").post(
        "/notifications/new/", {"name": "", "kind": "slack", "url": "https://hooks.slack.com" + URL_PATH}
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert "xoxSecretPath9876" not in response.content.decode() and not Channel.objects.exists()


def test_an_edit_keeps_the_url_when_left_empty_and_is_audited(
    client_as: Any, users: Any, server: Receiver
) -> None:
    channel, _ = make_channel(users["reviewer"], server.url + URL_PATH, kind="slack", events=["finding_new"])
    reviewer = client_as("reviewer")
    response = reviewer.post(
        f"/notifications/{channel.pk}/",
        {
            "name": "sec-alerts",
            "url": "",
            "events": ["finding_new", "change_failed"],
            "min_severity": "critical",
        },
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.url == server.url + URL_PATH and channel.name == "sec-alerts"
    assert sorted(channel.events) == ["change_failed", "finding_new"] and channel.min_severity == "critical"
    assert not channel.enabled  # the box was not ticked
    update = AuditEvent.objects.get(action="channel.update")
    assert update.before["events"] == ["finding_new"] and update.after["events"] == [
        "change_failed",
        "finding_new",
    ]
    assert "events" in update.summary and "url" not in update.summary.split(": ", 1)[1]
    reviewer.post(
        f"/notifications/{channel.pk}/",
        {
            "name": "sec-alerts",
            "url": server.url + "/new-path-secret-55",
            "events": [],
            "min_severity": "high",
        },
    )
    channel.refresh_from_db()
    assert channel.url == server.url + "/new-path-secret-55"
    assert (
        "new-path-secret-55" not in _audit_text()
        and "url" in AuditEvent.objects.filter(action="channel.update").first().summary
    )


def test_a_failed_test_says_why_and_is_not_retried(client_as: Any, users: Any, server: Receiver) -> None:
    channel, _ = make_channel(users["viewer"], server.url, kind="teams")
    server.script = [404]
    response = client_as("viewer").post(f"/notifications/{channel.pk}/test/", HTTP_HX_REQUEST="true")
    assert "Test failed: HTTP 404" in response.content.decode()
    assert len(server.requests) == 1 and server.requests[0].json()["type"] == "message"
    log = client_as("viewer").get(f"/notifications/{channel.pk}/deliveries/").content.decode()
    assert "HTTP 404" in log and "invalid_token" not in log.split("HTTP 404")[0]
    assert Delivery.objects.get().event == "test"


def test_rotating_the_secret_shows_the_new_one_once(client_as: Any, users: Any, server: Receiver) -> None:
    channel, old = make_channel(users["viewer"], server.url)
    viewer = client_as("viewer")
    response = viewer.post(f"/notifications/{channel.pk}/rotate-secret/")
    channel.refresh_from_db()
    new = channel.secret
    assert new != old and new in response.content.decode() and old not in response.content.decode()
    viewer.post(f"/notifications/{channel.pk}/test/")
    assert server.verify(server.requests[0], new) and not server.verify(server.requests[0], old)
    assert AuditEvent.objects.filter(action="channel.rotate_secret").exists()
    assert new not in _audit_text()
    slack, _ = make_channel(users["viewer"], server.url, kind="slack")
    assert viewer.post(f"/notifications/{slack.pk}/rotate-secret/").status_code == 302


def test_delete_is_audited(client_as: Any, users: Any) -> None:
    channel, _ = make_channel(users["viewer"], "https://hooks.example.com/x")
    assert client_as("viewer").post(f"/notifications/{channel.pk}/delete/").status_code == 302
    assert not Channel.objects.exists()
    deleted = AuditEvent.objects.get(action="channel.delete")
    assert deleted.object_id == str(channel.pk) and deleted.before["name"] == channel.name


ROUTES = ["/", "/deliveries/", "/test/", "/rotate-secret/", "/delete/"]


def test_a_channel_is_its_owners_and_team_channels_are_the_admins(client_as: Any, users: Any) -> None:
    team, _ = make_channel(users["admin"], "https://hooks.example.com/team", team=True)
    personal, _ = make_channel(users["reviewer"], "https://hooks.example.com/mine")
    assert team.is_team and not personal.is_team
    cases = [("viewer", team), ("approver", team), ("viewer", personal), ("admin", personal)]
    for user, channel in cases:
        client = client_as(user)
        for route in ROUTES:
            for method in ("get", "post"):
                response = getattr(client, method)(f"/notifications/{channel.pk}{route}")
                assert response.status_code in (404, 405), f"{user} {method} {route}: {response.status_code}"
        assert channel.name not in client.get("/notifications/").content.decode()
    assert Channel.objects.count() == 2 and not Delivery.objects.exists()
    admin_list = client_as("admin").get("/notifications/").content.decode()
    assert team.name in admin_list and personal.name not in admin_list


def test_only_admins_create_team_channels(client_as: Any) -> None:
    data = {
        "name": "ops",
        "kind": "slack",
        "url": "https://hooks.example.com/a",
        "min_severity": "high",
        "team": "on",
    }
    assert b'name="team"' not in client_as("approver").get("/notifications/new/").content
    client_as("approver").post("/notifications/new/", data)
    assert Channel.objects.get(name="ops").owner.username == "approver"
    assert b'name="team"' in client_as("admin").get("/notifications/new/").content
    client_as("admin").post("/notifications/new/", {**data, "name": "ops-team"})
    assert Channel.objects.get(name="ops-team").is_team


def test_the_form_refuses_a_private_or_plain_http_url_by_default(client_as: Any, settings: Any) -> None:
    settings.IAMREVIEW_NOTIFY_ALLOW_HTTP = False
    response = client_as("viewer").post(
        "/notifications/new/",
        {
            "name": "x",
            "kind": ChannelKind.WEBHOOK,
            "url": "http://hooks.example.com/a",
            "min_severity": "high",
        },
    )
    assert "Only https:// URLs are allowed." in response.content.decode() and not Channel.objects.exists()


def test_no_role_no_channels(client_as: Any) -> None:
    assert client_as("nobody").get("/notifications/").status_code == 403
    assert client_as("nobody").post("/notifications/new/", {}).status_code == 403


def test_a_team_channel_of_an_admin_limited_to_one_account_hears_only_that_one(
    client_as: Any, users: Any
) -> None:
    from accounts.models import LinkedAccount, Profile

    prod = LinkedAccount.objects.create(account_id="210987654321", name="prod")
    sandbox = LinkedAccount.objects.create(account_id="444455556666", name="sandbox")
    Profile.objects.get_or_create(user=users["admin"])[0].accounts.set([sandbox])
    admin = client_as("admin")
    form = admin.get("/notifications/new/").content.decode()
    assert "sandbox" in form and "prod" not in form
    data = {
        "name": "soc",
        "kind": "slack",
        "url": "https://hooks.example.com/a",
        "min_severity": "high",
        "team": "on",
    }
    admin.post("/notifications/new/", {**data, "accounts": [prod.pk]})
    assert not Channel.objects.exists(), "an account the admin may not see is refused"
    admin.post("/notifications/new/", data)
    channel = Channel.objects.get()
    assert channel.is_team and list(channel.accounts.all()) == [sandbox]
