"""Sessions: secure cookies behind TLS, an absolute lifetime, and nothing usable after logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_login_sets_secure_httponly_samesite_cookies(users: dict[str, Any]) -> None:
    client = Client()
    client.get("/login/")
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == "" and cookie["expires"] == "", "the session ends with the browser"
    assert client.cookies["csrftoken"]["secure"]


def test_a_session_expires_after_its_lifetime(users: dict[str, Any], settings: Any) -> None:
    client = Client()
    client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert client.get("/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date <= timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 5)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logout_ends_the_session_on_the_server(users: dict[str, Any]) -> None:
    client = Client()
    client.post("/login/", {"username": "viewer", "password": PASSWORD})
    stolen = client.cookies["sessionid"].value
    assert client.post("/logout/").status_code == 302
    thief = Client()
    thief.cookies["sessionid"] = stolen
    response = thief.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_rotates_the_session_key(users: dict[str, Any]) -> None:
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert client.session.session_key != before, "no session fixation"


@pytest.mark.parametrize("case_of_username", ["viewer", "VIEWER"])
def test_repeated_failures_lock_the_username_out(
    users: dict[str, Any], settings: Any, case_of_username: str
) -> None:
    from accounts.models import LoginFailure
    from core.models import AuditEvent

    settings.IAMREVIEW_LOGIN_MAX_FAILURES = 5
    client = Client()
    for _ in range(5):
        response = client.post("/login/", {"username": case_of_username, "password": "wrong"})
        assert response.status_code == 200 and b"Too many failed" not in response.content
    locked = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert locked.status_code == 200 and b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session, "the right password does not get through a lockout"
    assert AuditEvent.objects.filter(action="login.locked", object_id="viewer").count() == 1

    other = Client()  # another user is not affected
    assert other.post("/login/", {"username": "reviewer", "password": PASSWORD}).status_code == 302

    LoginFailure.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS + 1)
    )
    assert client.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    assert not LoginFailure.objects.filter(username="viewer").exists(), "a success clears the failures"


def test_one_address_failing_for_many_usernames_is_slowed_down(users: dict[str, Any], settings: Any) -> None:
    settings.IAMREVIEW_LOGIN_MAX_FAILURES = 2
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):  # 2 x 5 (ADDRESS_FACTOR) failures, each for a different username
        client.post("/login/", {"username": f"guess{n}", "password": "x"})
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert b"Too many failed sign-ins" in response.content
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
