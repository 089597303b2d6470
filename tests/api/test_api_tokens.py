"""API tokens: stored as a SHA-256 digest only, shown once, revocable, expiring, audited; the command and
the page make them; a revoked, expired or unknown token, or one of an inactive user, gets 401."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from api.tokens import token_create, token_revoke
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"iamr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _all_database_text() -> str:
    """Every row of the token and audit tables as text: where a leaked token would be."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t::text FROM api_apitoken t UNION ALL SELECT a::text FROM findings_auditevent a"
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_token_is_stored_only_as_its_sha256_digest(users: dict[str, Any]) -> None:
    token, raw = token_create(actor=users["viewer"], user=users["viewer"], name="ci")
    assert TOKEN_RE.fullmatch(raw), raw
    row = ApiToken.objects.get(pk=token.pk)
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(f"iamr_{row.prefix}_")
    secret = raw.rsplit("_", 1)[1]
    text = _all_database_text()
    assert raw not in text and secret not in text
    assert row.prefix in text  # the prefix is what finds the row, and what the page shows
    assert _bearer(raw).get("/api/v1/accounts/").status_code == 200


def test_a_token_acts_as_its_user_and_records_its_use(users: dict[str, Any]) -> None:
    token, raw = token_create(actor=users["reviewer"], user=users["reviewer"], name="ci")
    assert token.last_used_at is None
    assert _bearer(raw).get("/api/v1/audit/").status_code == 200  # reviewer may read the audit log
    token.refresh_from_db()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(seconds=10)
    _, viewer_raw = token_create(actor=users["viewer"], user=users["viewer"], name="ci")
    assert _bearer(viewer_raw).get("/api/v1/audit/").status_code == 403


def test_revoked_expired_inactive_and_forged_tokens_are_refused(users: dict[str, Any]) -> None:
    viewer = users["viewer"]
    token, raw = token_create(actor=viewer, user=viewer, name="ci")
    assert _bearer(raw).get("/api/v1/accounts/").status_code == 200
    assert token_revoke(actor=viewer, token=token)
    assert not token_revoke(actor=viewer, token=token)  # already revoked: nothing to do
    response = _bearer(raw).get("/api/v1/accounts/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")

    token, raw = token_create(actor=viewer, user=viewer, name="ci", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _bearer(raw).get("/api/v1/accounts/").status_code == 401

    token, raw = token_create(actor=viewer, user=viewer, name="ci")
    prefix = token.prefix
    forged = f"iamr_{prefix}_{'A' * 43}"  # a known prefix with a wrong secret
    assert _bearer(forged).get("/api/v1/accounts/").status_code == 401
    assert _bearer(raw.upper()).get("/api/v1/accounts/").status_code == 401
    assert _bearer("").get("/api/v1/accounts/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/accounts/").status_code == 401
    viewer.is_active = False
    viewer.save()
    assert _bearer(raw).get("/api/v1/accounts/").status_code == 401


def test_a_session_is_not_enough_for_the_api(client_as: Any) -> None:
    """The API takes bearer tokens only: a signed-in browser session (and its CSRF token) does not
    authenticate a script's call, so a page cannot be turned into an API caller."""
    client = client_as("admin")
    assert client.get("/api/v1/accounts/").status_code == 401
    assert client.post("/api/v1/changes/1/apply/").status_code == 401


def test_every_token_change_is_audited(users: dict[str, Any]) -> None:
    token, _ = token_create(actor=users["admin"], user=users["viewer"], name="siem export")
    token_revoke(actor=users["admin"], token=token)
    events = list(AuditEvent.objects.filter(object_type="ApiToken").order_by("id"))
    assert [e.action for e in events] == ["api_token.create", "api_token.revoke"]
    assert all(e.actor_name == "admin" and token.prefix in e.summary for e in events)
    assert "viewer" in events[0].summary and "siem export" in events[0].summary


def test_the_command_prints_the_token_once_and_stores_its_digest(users: dict[str, Any]) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token", "approver", "--name", "deploy bot", "--days", "0", stdout=out, stderr=err
    )
    raw = out.getvalue().strip()
    assert TOKEN_RE.fullmatch(raw), raw
    token = ApiToken.objects.get(user=users["approver"])
    assert token.name == "deploy bot" and token.expires_at is None
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in err.getvalue() and token.prefix in err.getvalue()
    assert _bearer(raw).get("/api/v1/changes/").status_code == 200
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "ghost", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_default_lifetime_comes_from_the_setting(users: dict[str, Any], settings: Any) -> None:
    settings.IAMREVIEW_API_TOKEN_DAYS = 30
    token, _ = token_create(actor=users["viewer"], user=users["viewer"], name="ci")
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


def test_the_page_shows_a_new_token_once_and_revokes_it(client_as: Any, users: dict[str, Any]) -> None:
    client = client_as("viewer")
    response = client.post("/api/tokens/", {"action": "create", "name": "laptop script"})
    assert response.status_code == 200
    raw = TOKEN_RE.search(response.content.decode())
    assert raw is not None, "the new token is shown on the page that made it"
    raw = raw.group(0)
    assert _bearer(raw).get("/api/v1/principals/").status_code == 200
    listing = client.get("/api/tokens/").content.decode()
    assert "laptop script" in listing and raw not in listing, "the token is never shown again"
    token = ApiToken.objects.get(user=users["viewer"])
    assert token.prefix in listing

    # Another user can neither see nor revoke it; its owner can.
    other = client_as("reviewer")
    assert "laptop script" not in other.get("/api/tokens/").content.decode()
    other.post("/api/tokens/", {"action": "revoke", "token": token.pk})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    client.post("/api/tokens/", {"action": "revoke", "token": token.pk})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert _bearer(raw).get("/api/v1/principals/").status_code == 401
    assert "revoked" in client.get("/api/tokens/").content.decode()


def test_an_admin_sees_and_revokes_everyones_tokens(client_as: Any, users: dict[str, Any]) -> None:
    token, raw = token_create(actor=users["viewer"], user=users["viewer"], name="forgotten cron job")
    admin = client_as("admin")
    assert "forgotten cron job" in admin.get("/api/tokens/").content.decode()
    admin.post("/api/tokens/", {"action": "revoke", "token": token.pk})
    assert _bearer(raw).get("/api/v1/accounts/").status_code == 401
    assert AuditEvent.objects.get(action="api_token.revoke").actor_name == "admin"


def test_a_token_needs_a_name(client_as: Any) -> None:
    response = client_as("viewer").post("/api/tokens/", {"action": "create", "name": "  "}, follow=True)
    assert b"Name the token" in response.content
    assert not ApiToken.objects.exists()
