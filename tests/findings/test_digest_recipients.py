"""Digests per recipient: a refused or header-injecting address fails alone, users without a role get
none, the list is capped with a link to the rest, links keep their filter, suppressed findings stay out."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import CommandError, call_command
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone

from accounts.models import DigestSent, LinkedAccount, Profile
from findings.digest import DIGEST_MAX_FINDINGS, digest_content, digest_send, digests_send_due
from findings.models import SEVERITY_RANK, Finding, FindingStatus
from findings.selectors import finding_listing

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
REFUSED = "refused@example.com"
pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> LinkedAccount:
    call_command(
        "import_gaad", str(FIXTURE), "--account", "111122223333", "--name", "prod", stdout=io.StringIO()
    )
    return LinkedAccount.objects.get(account_id="111122223333")


def subscribe(user: Any, email: str = "", **prefs: Any) -> Profile:
    user.email = email or f"{user.username}@example.com"
    user.save()
    profile, _ = Profile.objects.get_or_create(user=user)
    for k, v in {
        "digest_frequency": "daily",
        "digest_min_severity": "high",
        "last_digest_at": timezone.now() - timedelta(days=1),
        **prefs,
    }.items():
        setattr(profile, k, v)
    profile.save()
    return profile


class RefusingServer:
    """An SMTP server that refuses one mailbox (550) and keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == REFUSED:
            return "550 5.1.1 <refused@example.com>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[RefusingServer]:
    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = RefusingServer()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=5,
        ):
            yield handler
    finally:
        controller.stop()


def test_a_refused_address_fails_alone_and_is_tried_again(
    users: dict[str, Any], account: LinkedAccount, smtp: RefusingServer
) -> None:
    for name in ("admin", "viewer"):
        subscribe(users[name])
    subscribe(users["approver"], email=REFUSED)
    subscribe(users["reviewer"])
    with pytest.raises(RuntimeError, match="3 digest\\(s\\) sent, 1 could not be"):
        digests_send_due()
    delivered = sorted(to[0] for to, _ in smtp.messages)
    assert delivered == ["admin@example.com", "reviewer@example.com", "viewer@example.com"]
    refused = DigestSent.objects.get(user=users["approver"])
    assert refused.sent_at is None and "550" in refused.error and REFUSED in refused.error
    assert DigestSent.objects.exclude(user=users["approver"]).filter(sent_at__isnull=False).count() == 3
    # The task's retry sends only what failed: the others are not sent twice.
    with pytest.raises(RuntimeError, match="0 digest\\(s\\) sent, 1 could not be"):
        digests_send_due()
    assert len(smtp.messages) == 3
    subject = message_from_bytes(smtp.messages[0][1])["Subject"]
    assert subject.startswith("iamreview: ")


HOSTILE_ADDRESSES = [
    "victim@example.com\nBcc: everyone@example.com",
    "victim@example.com\r\nSubject: hi",
    "victim@example.com\u2028Bcc: everyone@example.com",
    "victim@example.com, everyone@example.com",
    "Victim <victim@example.com>",
    "victim@exa\x0bmple.com",
]


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_a_header_injecting_address_is_refused_when_saved(
    client_as: Any, users: dict[str, Any], address: str
) -> None:
    data = {"email": address, "digest_frequency": "daily", "digest_min_severity": "high"}
    response = client_as("viewer").post("/settings/", data)
    assert response.status_code == 200 and "Enter one email address" in response.content.decode()
    users["viewer"].refresh_from_db()
    assert users["viewer"].email == ""
    with pytest.raises(CommandError, match="--email"):
        call_command("create_user", "x", "--role", "viewer", "--email", address, "--password", "pw")


def test_a_plain_address_is_saved_from_the_settings_page(client_as: Any, users: dict[str, Any]) -> None:
    data = {"email": "me@example.com", "digest_frequency": "weekly", "digest_min_severity": "critical"}
    assert client_as("viewer").post("/settings/", data).status_code == 302
    users["viewer"].refresh_from_db()
    assert users["viewer"].email == "me@example.com"
    assert Profile.objects.get(user=users["viewer"]).digest_frequency == "weekly"


def test_an_address_set_another_way_is_checked_again_before_sending(
    users: dict[str, Any], account: LinkedAccount
) -> None:
    """Saved through Django admin or a shell: the digest refuses it and the others are still sent."""
    subscribe(users["approver"], email=HOSTILE_ADDRESSES[0])
    subscribe(users["reviewer"])
    with pytest.raises(RuntimeError, match="1 digest\\(s\\) sent, 1 could not be"):
        digests_send_due()
    assert [m.to for m in mail.outbox] == [["reviewer@example.com"]]
    assert "refused" in DigestSent.objects.get(user=users["approver"]).error


def test_users_who_lost_their_role_get_no_digest(users: dict[str, Any], account: LinkedAccount) -> None:
    subscribe(users["nobody"])  # never had a role
    demoted = subscribe(users["reviewer"])
    demoted.user.groups.clear()
    gone = subscribe(users["approver"])
    gone.user.is_active = False
    gone.user.save()
    subscribe(users["viewer"])
    assert digests_send_due() == 1
    assert [m.to for m in mail.outbox] == [["viewer@example.com"]]


def _more_findings(account: LinkedAccount, count: int, status: str = FindingStatus.OPEN) -> None:
    now = timezone.now()
    Finding.objects.bulk_create(
        Finding(
            fingerprint=f"extra-{status}-{n}",
            account=account,
            principal_arn=f"arn:aws:iam::111122223333:role/extra-{n:03d}",
            kind="admin",
            severity="critical",
            severity_rank=SEVERITY_RANK["critical"],
            title=f"Extra finding {n}",
            status=status,
            first_seen=now - timedelta(minutes=5),
            last_seen=now,
        )
        for n in range(count)
    )


def test_a_large_digest_is_capped_with_a_link_to_the_full_list(
    users: dict[str, Any], account: LinkedAccount
) -> None:
    _more_findings(account, DIGEST_MAX_FINDINGS + 30)
    profile = subscribe(users["reviewer"])
    total = digest_content(profile, timezone.now())["new_count"]
    assert total > DIGEST_MAX_FINDINGS + 30
    assert digest_send(profile=profile) is not None
    message = mail.outbox[0]
    listed = [line for line in message.body.splitlines() if line.startswith("    - ")]
    assert len(listed) == DIGEST_MAX_FINDINGS
    assert f"... and {total - DIGEST_MAX_FINDINGS} more, not listed here." in message.body
    assert f"iamreview: {total} new findings" == message.subject
    html = message.alternatives[0][0]
    assert html.count("<li>") == DIGEST_MAX_FINDINGS and "Review all of them" in html


def test_the_link_keeps_its_since_filter(users: dict[str, Any], account: LinkedAccount) -> None:
    profile = subscribe(users["reviewer"])
    content = digest_content(profile, timezone.now())
    query = urlsplit(content["findings_url"]).query
    assert "+" not in query
    listing = finding_listing(users["reviewer"], QueryDict(query))
    assert listing.filters["since"] == content["since"].isoformat()
    digest_send(profile=profile)
    assert re.search(r"since=[^\s\"]*%2B00%3A00", mail.outbox[0].body)


def test_suppressed_findings_are_left_out(users: dict[str, Any], account: LinkedAccount) -> None:
    Finding.objects.filter(account=account).update(status=FindingStatus.SUPPRESSED)
    _more_findings(account, 2)
    profile = subscribe(users["reviewer"])
    assert digest_send(profile=profile) is not None
    assert mail.outbox[0].subject == "iamreview: 2 new findings"
    assert "Extra finding 0" in mail.outbox[0].body
