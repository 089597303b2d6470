"""Deliveries against a real HTTP server on loopback: signatures a receiver can verify, retries with
exponential backoff on 5xx through Celery's retry, no retry on 4xx, no redirect followed, the delivery
log, and the address guard that keeps webhooks off private addresses unless allowed."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from notify import transport
from notify.deliver import backoff
from notify.models import Delivery, DeliveryStatus
from notify.tasks import delivery_send
from tests.notify.helpers import make_channel
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "receiver-shared-secret-7f3a9c1e"


def _delivery(channel: Any, event: str = "change_done") -> Delivery:
    return Delivery.objects.create(
        channel=channel,
        event=event,
        message={
            "title": "Change #7 applied",
            "lines": ["<!channel> & *bold*"],
            "link": "https://x/",
            "data": {"change": 7},
        },
    )


def test_a_webhook_is_signed_so_the_receiver_can_verify_it(users: Any, server: Receiver) -> None:
    channel, _ = make_channel(users["viewer"], f"{server.url}/hook?team=sec", secret=SECRET)
    delivery = _delivery(channel)
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.DELIVERED
    [request] = server.requests
    assert request.path == "/hook?team=sec"
    assert server.verify(request, SECRET)
    assert not server.verify(request, "another-secret-of-the-same-size")
    tampered = type(request)(request.path, request.headers, request.body.replace(b"#7", b"#8"), request.at)
    assert not server.verify(tampered, SECRET)
    body = request.json()
    assert body["event"] == "change_done" and body["delivery"] == delivery.pk
    assert body["title"] == "Change #7 applied" and body["data"] == {"change": 7}
    assert request.headers["X-Iamreview-Event"] == "change_done"
    assert request.headers["X-Iamreview-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.attempt_log[0]["status_code"] == 200 and delivery.finished_at is not None


def test_a_500_is_retried_with_exponential_backoff_until_delivered(
    users: Any, server: Receiver, settings: Any
) -> None:
    settings.IAMREVIEW_NOTIFY_RETRY_SECONDS = 20
    channel, _ = make_channel(users["viewer"], server.url, secret=SECRET)
    delivery = _delivery(channel)
    server.script = [500, 503, 429, 200]
    result = delivery_send.apply(args=[delivery.pk, 0])  # Celery's own retry, run eagerly
    assert result.get() == DeliveryStatus.DELIVERED
    assert len(server.requests) == 4
    # Every attempt is signed afresh, and verifies.
    assert all(server.verify(r, SECRET) for r in server.requests)
    delivery.refresh_from_db()
    log = delivery.attempt_log
    assert [a["status_code"] for a in log] == [500, 503, 429, 200]
    assert [a["retry_in"] for a in log] == [20, 40, 80, None]
    assert [a["attempt"] for a in log] == [1, 2, 3, 4]
    assert log[0]["error"] == "HTTP 500" and log[0]["response"] == "server error"
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 4


def test_retries_stop_after_the_last_attempt(users: Any, server: Receiver, settings: Any) -> None:
    settings.IAMREVIEW_NOTIFY_MAX_ATTEMPTS = 3
    channel, _ = make_channel(users["viewer"], server.url, secret=SECRET)
    delivery = _delivery(channel)
    server.script = [500] * 10
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.FAILED
    assert len(server.requests) == 3
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert [a["retry_in"] for a in delivery.attempt_log] == [backoff(1), backoff(2), None]


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_client_error_is_not_retried(users: Any, server: Receiver, status: int) -> None:
    channel, _ = make_channel(users["viewer"], server.url, kind="slack")
    delivery = _delivery(channel)
    server.script = [status]
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.FAILED
    assert len(server.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempt_log[0]["status_code"] == status and delivery.attempt_log[0]["retry_in"] is None


def test_a_redirect_is_not_followed(users: Any, server: Receiver) -> None:
    """A receiver (or whoever took over its name) cannot bounce the signed request somewhere else."""
    channel, _ = make_channel(users["viewer"], f"{server.url}/a", secret=SECRET)
    server.script = [302]
    server.redirect_to = "http://169.254.169.254/latest/meta-data/"
    delivery = _delivery(channel)
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.FAILED
    assert [r.path for r in server.requests] == ["/a"]


def test_an_attempt_is_made_once_even_when_queued_twice(users: Any, server: Receiver) -> None:
    """The task's retry and the beat's catch-up of a lost one carry the same attempt number: one sends."""
    channel, _ = make_channel(users["viewer"], server.url, secret=SECRET)
    delivery = _delivery(channel)
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.DELIVERED
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == "skipped"
    assert len(server.requests) == 1


def test_slack_and_teams_bodies_escape_what_people_wrote(users: Any, server: Receiver) -> None:
    slack, _ = make_channel(users["viewer"], f"{server.url}/slack", kind="slack")
    teams, _ = make_channel(users["viewer"], f"{server.url}/teams", kind="teams")
    for channel in (slack, teams):
        delivery_send.apply(args=[_delivery(channel).pk, 0])
    slack_body, teams_body = (r.json() for r in server.requests)
    assert "X-Iamreview-Signature" not in server.requests[0].headers
    text = slack_body["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; *bold*" in text and "<!channel>" not in json.dumps(slack_body)
    assert slack_body["text"] == "Change #7 applied"
    card = teams_body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["actions"][0]["url"] == "https://x/"
    assert "\\*bold\\*" in card["content"]["body"][1]["text"]


@pytest.mark.parametrize(
    ("url", "allow_http", "problem"),
    [
        ("http://127.0.0.1:9/x", False, "Only https"),
        ("https://127.0.0.1:9/x", True, "private, loopback or link-local"),
        ("https://169.254.169.254/latest/meta-data/", True, "private, loopback or link-local"),
        ("https://10.0.0.8/hook", True, "private, loopback or link-local"),
        ("https://[::1]/hook", True, "private, loopback or link-local"),
        ("file:///etc/passwd", True, "Only http"),
    ],
)
def test_private_addresses_and_plain_http_are_refused_by_default(
    settings: Any, url: str, allow_http: bool, problem: str
) -> None:
    settings.IAMREVIEW_NOTIFY_ALLOW_HTTP = allow_http
    settings.IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES = False
    response = transport.post(url, b"{}", {})
    assert response.status is None and response.permanent and problem in response.error


def test_a_refused_address_fails_the_delivery_at_once(users: Any, server: Receiver, settings: Any) -> None:
    channel, _ = make_channel(users["viewer"], server.url, secret=SECRET)
    settings.IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES = False  # the receiver is on loopback
    delivery = _delivery(channel)
    assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.FAILED
    assert server.requests == []
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "loopback" in delivery.attempt_log[0]["error"]


def test_a_receiver_that_is_down_is_retried_and_the_url_is_not_logged(
    users: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.processes import free_port

    settings.IAMREVIEW_NOTIFY_MAX_ATTEMPTS = 2
    url = f"http://127.0.0.1:{free_port()}/services/T0001/B0002/secretpathXYZ123"
    channel, _ = make_channel(users["viewer"], url, kind="slack")
    delivery = _delivery(channel)
    with caplog.at_level(logging.DEBUG):
        assert delivery_send.apply(args=[delivery.pk, 0]).get() == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert [a["status_code"] for a in delivery.attempt_log] == [None, None]
    assert "could not connect" in delivery.attempt_log[0]["error"]
    assert delivery.attempt_log[0]["retry_in"] == backoff(1)
    assert "secretpathXYZ123" not in caplog.text and "secretpathXYZ123" not in json.dumps(
        delivery.attempt_log
    )
    assert f"channel {channel.pk}" in caplog.text


def test_https_goes_to_the_checked_address_and_verifies_the_host_name(
    users: Any, settings: Any, tmp_path: Any
) -> None:
    """https://localhost resolves (to ::1 and 127.0.0.1; the server listens on the second), the connection
    goes to a checked address, and TLS verifies the certificate for "localhost"; the same server reached
    as https://127.0.0.1 is refused, its certificate not being for that name."""
    from tests.receiver import receiver, self_signed

    cert, key = self_signed(tmp_path)
    settings.IAMREVIEW_NOTIFY_CA_BUNDLE = cert
    with receiver(tls=(cert, key)) as tls_server:
        channel, _ = make_channel(users["viewer"], f"{tls_server.url}/hook", secret=SECRET)
        assert delivery_send.apply(args=[_delivery(channel).pk, 0]).get() == DeliveryStatus.DELIVERED
        [request] = tls_server.requests
        assert request.headers["Host"] == tls_server.url.removeprefix("https://")
        assert tls_server.verify(request, SECRET)
        wrong_name = transport.post(tls_server.url.replace("localhost", "127.0.0.1"), b"{}", {})
        assert wrong_name.status is None and "TLS failed" in wrong_name.error
        settings.IAMREVIEW_NOTIFY_CA_BUNDLE = ""  # the system's CAs do not know this certificate
        untrusted = transport.post(f"{tls_server.url}/hook", b"{}", {})
        assert untrusted.status is None and "TLS failed" in untrusted.error
        assert len(tls_server.requests) == 1
