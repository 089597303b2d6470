"""TOTP as a second sign-in factor: required for a role when the setting says so, optional for anyone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEvent
from iamreview.env import ConfigError, env_choice
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice, *, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=offset):06d}"


def sign_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, "the password step"
    return client


@pytest.fixture
def required_for_approvers(settings: Any) -> None:
    settings.IAMREVIEW_OTP_REQUIRED_ROLE = "approver"


def test_a_role_that_needs_a_code_sets_up_an_app_before_anything_else(
    users: dict[str, Any], required_for_approvers: None
) -> None:
    client = sign_in("admin")
    for url in ("/", "/principals/", "/admin/", "/changes/", "/settings/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/two-factor/setup/"), url
    page = client.get("/two-factor/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    # The QR code is drawn here (an inline SVG image): the secret never goes to another site.
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert "http" not in re.search(r'<img src="([^"]+)"', html).group(1)
    assert not TOTPDevice.objects.exists(), "nothing is stored before a code confirms the app"
    device = TOTPDevice(key=client.session["iamreview_otp_setup_key"])
    wrong = "000000" if code(device) != "000000" else "111111"
    assert client.post("/two-factor/setup/", {"token": wrong}).status_code == 200
    assert client.get("/").status_code == 302, "a wrong code does not let the session in"
    assert not TOTPDevice.objects.exists()
    response = client.post("/two-factor/setup/", {"token": code(device), "next": "/changes/"})
    assert response.status_code == 302 and response["Location"] == "/changes/"
    assert client.get("/").status_code == 200 and client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.get(user=users["admin"]).confirmed
    assert AuditEvent.objects.filter(action="user.otp_setup", actor_name="admin").count() == 1


def test_a_user_with_an_app_gives_a_code_at_every_sign_in(
    users: dict[str, Any], required_for_approvers: None
) -> None:
    device = TOTPDevice.objects.create(user=users["approver"], name="phone", confirmed=True)
    client = sign_in("approver")
    response = client.get("/changes/")
    assert response.status_code == 302 and response["Location"].startswith("/two-factor/code/")
    # A password alone never enrols another app (that would make the code worthless).
    response = client.get("/two-factor/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/two-factor/code/")
    assert TOTPDevice.objects.filter(user=users["approver"]).count() == 1
    assert client.post("/two-factor/code/", {"token": "12345x"}).status_code == 200
    assert (
        client.post("/two-factor/code/", {"token": code(device), "next": "/changes/"})["Location"]
        == "/changes/"
    )
    assert client.get("/changes/").status_code == 200


def test_wrong_codes_are_throttled(
    users: dict[str, Any], required_for_approvers: None, settings: Any
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # seconds, doubling with each wrong code
    device = TOTPDevice.objects.create(user=users["approver"], name="phone", confirmed=True)
    client = sign_in("approver")
    for _ in range(3):
        client.post("/two-factor/code/", {"token": "000000" if code(device) != "000000" else "111111"})
    response = client.post("/two-factor/code/", {"token": code(device)})
    assert response.status_code == 200 and b"Too many wrong codes" in response.content
    assert client.get("/changes/").status_code == 302, "the right code waits out the delay too"


def test_roles_below_the_setting_are_not_asked(users: dict[str, Any], required_for_approvers: None) -> None:
    client = sign_in("reviewer")
    assert client.get("/").status_code == 200
    assert client.get("/two-factor/code/?next=/keys/")["Location"] == "/keys/", "no app: nothing to verify"
    assert client.get("/two-factor/code/?next=0")["Location"] == "/", "found by the query sweep: was a 500"
    assert client.get("/two-factor/code/?next=//evil.example/")["Location"] == "/"


def test_anyone_may_set_up_an_app_and_is_then_always_asked(users: dict[str, Any]) -> None:
    client = sign_in("viewer")  # IAMREVIEW_OTP_REQUIRED_ROLE is empty by default
    assert client.get("/").status_code == 200
    assert client.get("/two-factor/setup/").status_code == 200
    device = TOTPDevice(key=client.session["iamreview_otp_setup_key"])
    assert client.post("/two-factor/setup/", {"token": code(device)}).status_code == 302
    again = sign_in("viewer")
    assert again.get("/")["Location"].startswith("/two-factor/code/")


def test_an_admin_resets_a_lost_app_audited_without_its_key(
    client_as: Any, users: dict[str, Any], required_for_approvers: None
) -> None:
    device = TOTPDevice.objects.create(user=users["approver"], name="phone", confirmed=True)
    admin = sign_in("admin")
    admin_device = TOTPDevice.objects.create(user=users["admin"], name="phone", confirmed=True)
    admin.get("/two-factor/code/")
    admin.post("/two-factor/code/", {"token": code(admin_device)})
    response = admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(pk=device.pk).exists()
    event = AuditEvent.objects.get(action="admin.delete", object_type="TOTPDevice")
    assert device.key not in str([event.summary, event.before, event.after])
    client = sign_in("approver")
    assert client.get("/")["Location"].startswith("/two-factor/setup/"), "set up again at next sign-in"


def test_the_setting_refuses_unknown_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ROLE", "Approver")
    assert env_choice("X_ROLE", ["", "approver"]) == "approver"
    monkeypatch.setenv("X_ROLE", "root")
    with pytest.raises(ConfigError, match="X_ROLE"):
        env_choice("X_ROLE", ["", "approver"])


def test_codes_are_not_accepted_twice(users: dict[str, Any]) -> None:
    device = TOTPDevice.objects.create(user=users["viewer"], name="phone", confirmed=True)
    token = code(device)
    first = sign_in("viewer")
    assert first.post("/two-factor/code/", {"token": token})["Location"] == "/"
    second = sign_in("viewer")
    second.post("/two-factor/code/", {"token": token})
    assert second.get("/").status_code == 302, "a code seen once is spent (replay)"
