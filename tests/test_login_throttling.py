"""Sign-in throttling: one door (Django admin's login is the product's), address slow-down that never locks
out another user, client addresses from the configured proxy header only, and both limits audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import LoginFailure
from core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.IAMREVIEW_LOGIN_MAX_FAILURES = 3
    settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS = 900
    return settings


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_page_checks_no_password_of_its_own(users: dict[str, Any], limits: Any) -> None:
    """Seen: unlimited guesses through /admin/login/, and a right password got in there while /login/ was
    locked. Admin's login now hands over to /login/ and never checks a password itself."""
    get_user_model().objects.filter(username="admin").update(is_staff=True, is_superuser=True)
    client = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(limits.IAMREVIEW_LOGIN_MAX_FAILURES):
        client.post("/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD, "next": "/admin/"})
    assert not _signed_in(client), "the right password does not get through a lockout by another door"
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    for _ in range(20):
        client.post("/admin/login/", {"username": "approver", "password": "guess"})
    assert not _signed_in(client)
    assert not LoginFailure.objects.filter(username="approver").exists(), "no password was checked"


def test_admin_login_sends_to_the_product_login_and_back(users: dict[str, Any]) -> None:
    client = Client()
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
    response = client.post(
        "/login/?next=/admin/", {"username": "admin", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200, "the admin role uses Django admin after one sign-in"
    viewer = Client()
    viewer.post("/login/", {"username": "viewer", "password": PASSWORD})
    response = viewer.get("/admin/", follow=True)
    assert response.status_code == 403 and len(response.redirect_chain) == 1, "refused, not a redirect loop"


def _fail_from(address: str, count: int, *, prefix: str = "guess") -> None:
    attacker = Client(REMOTE_ADDR=address)
    for n in range(count):
        attacker.post("/login/", {"username": f"{prefix}{n}", "password": "x"})


def test_failures_from_one_address_never_lock_out_a_returning_user(
    users: dict[str, Any], limits: Any
) -> None:
    """Seen: 50 failures from one address locked out every user (behind a proxy: the whole organisation)."""
    office = Client(REMOTE_ADDR=OFFICE)
    assert office.post("/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    office.post("/logout/")
    _fail_from(OFFICE, limits.IAMREVIEW_LOGIN_MAX_FAILURES * 5 + 5)
    response = office.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 302 and _signed_in(office), "a browser that signed in before gets in"


def test_a_throttled_address_is_slowed_not_locked(users: dict[str, Any], limits: Any) -> None:
    threshold = limits.IAMREVIEW_LOGIN_MAX_FAILURES * 5
    _fail_from(ATTACKER, threshold)
    assert LoginFailure.objects.filter(ip=ATTACKER).count() == threshold
    # From now on the address gets one password check per delay: attempts in between are answered
    # without one (and a right password is not enough to be let in during the delay).
    newcomer = Client(REMOTE_ADDR=ATTACKER)
    response = newcomer.post("/login/", {"username": "reviewer", "password": PASSWORD})
    assert response.status_code == 200 and b"Too many failed sign-ins from your address" in response.content
    assert not _signed_in(newcomer)
    _fail_from(ATTACKER, 10, prefix="more")
    assert LoginFailure.objects.filter(ip=ATTACKER).count() == threshold, "no password checked in the delay"
    # Once the delay has passed, the next attempt is checked: the right password gets in.
    LoginFailure.objects.filter(ip=ATTACKER).update(created_at=timezone.now() - timedelta(seconds=120))
    assert newcomer.post("/login/", {"username": "reviewer", "password": PASSWORD}).status_code == 302
    # Another address is not affected at all.
    assert (
        Client(REMOTE_ADDR=OFFICE).post("/login/", {"username": "viewer", "password": PASSWORD}).status_code
        == 302
    )


def test_both_limits_are_audited_once(users: dict[str, Any], limits: Any) -> None:
    _fail_from(ATTACKER, limits.IAMREVIEW_LOGIN_MAX_FAILURES * 5 + 3)
    throttled = AuditEvent.objects.filter(action="login.address_throttled")
    assert throttled.count() == 1 and ATTACKER in throttled.get().summary
    client = Client(REMOTE_ADDR=OFFICE)
    for _ in range(limits.IAMREVIEW_LOGIN_MAX_FAILURES + 2):
        client.post("/login/", {"username": "viewer", "password": "wrong"})
    locked = AuditEvent.objects.filter(action="login.locked", object_id="viewer")
    assert locked.count() == 1 and OFFICE in locked.get().summary


def test_forwarded_headers_are_ignored_unless_configured(users: dict[str, Any], limits: Any) -> None:
    client = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.1", HTTP_X_REAL_IP="192.0.2.2")
    client.post("/login/", {"username": "viewer", "password": "wrong"})
    assert LoginFailure.objects.get().ip == "10.0.0.5"


@pytest.mark.parametrize(
    ("header", "proxies", "meta", "expected"),
    [
        # One proxy appends the address it saw: the right-most hop. A client's own value on the left is
        # ignored.
        ("X-Forwarded-For", 1, {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 192.0.2.1"}, "192.0.2.1"),
        ("X-Forwarded-For", 1, {"HTTP_X_FORWARDED_FOR": "192.0.2.1"}, "192.0.2.1"),
        # Two proxies (a load balancer, then nginx): the second from the right.
        ("X-Forwarded-For", 2, {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 192.0.2.1, 10.0.0.2"}, "192.0.2.1"),
        ("X-Real-IP", 1, {"HTTP_X_REAL_IP": "2001:db8::1"}, "2001:db8::1"),
        # Not an address, or no header (a request that did not come through the proxy): REMOTE_ADDR.
        ("X-Forwarded-For", 1, {"HTTP_X_FORWARDED_FOR": "not-an-ip"}, "10.0.0.5"),
        ("X-Forwarded-For", 1, {}, "10.0.0.5"),
    ],
)
def test_client_address_from_the_configured_proxy_header(
    users: dict[str, Any], limits: Any, header: str, proxies: int, meta: dict[str, str], expected: str
) -> None:
    limits.IAMREVIEW_CLIENT_ADDRESS_HEADER = header
    limits.IAMREVIEW_TRUSTED_PROXY_COUNT = proxies
    Client(REMOTE_ADDR="10.0.0.5", **meta).post("/login/", {"username": "viewer", "password": "wrong"})
    assert LoginFailure.objects.get().ip == expected
