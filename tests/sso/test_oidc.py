"""OpenID Connect end to end against a real provider process (django-oauth-toolkit) on loopback.

The app's side runs in Django's test client; every call between the app and the provider (token,
userinfo, JWKS) and the browser's trips through the provider's login are real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import LinkedAccount, Profile
from accounts.roles import Role, user_role
from core.models import AuditEvent
from tests.conftest import PASSWORD, make_user
from tests.sso.servers import OidcIdp

# One worker runs the whole module under `make test` (--dist loadgroup): one IdP process, not two.
pytestmark = pytest.mark.xdist_group("sso-oidc")

GROUP_MAP = {
    "sec-viewers": {"role": "viewer", "accounts": None},
    "sec-reviewers": {"role": "reviewer", "accounts": None},
    "iam-admins": {"role": "admin", "accounts": None},
    "team-a": {"role": "approver", "accounts": ["111111111111"]},
}
IDP_PASSWORD = "idp password 123"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIdp]:
    server = OidcIdp(tmp_path_factory.mktemp("oidc"))
    try:
        server.register("http://testserver/oidc/callback/")
        yield server
    finally:
        server.stop()


@pytest.fixture
def oidc(idp: OidcIdp, settings: Any, db: None) -> OidcIdp:
    for name, value in idp.settings().items():
        setattr(settings, name, value)
    settings.IAMREVIEW_SSO_GROUP_MAP = GROUP_MAP
    return idp


def idp_user(idp: OidcIdp, username: str, *groups: str) -> None:
    idp.control(
        "user", username=username, password=IDP_PASSWORD, email=f"{username}@example.com", groups=list(groups)
    )


def sign_in(
    client: Client, idp: OidcIdp, username: str, *, authorize: Any = None, callback: Any = None
) -> Any:
    """Start at the app, sign in at the provider, come back to the callback; the app's last response."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302 and start["Location"].startswith(idp.base), start
    authorize_url = authorize(start["Location"]) if authorize else start["Location"]
    back = idp.sign_in(authorize_url, username, IDP_PASSWORD)
    assert back.startswith("http://testserver/oidc/callback/?"), back
    return client.get(callback(back) if callback else back)


def with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


def user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_first_sign_in_creates_the_user_with_the_mapped_role(oidc: OidcIdp) -> None:
    idp_user(oidc, "ada", "sec-reviewers", "unrelated")
    client = Client()
    response = sign_in(client, oidc, "ada")
    assert response.status_code == 302 and response["Location"] == "/", response
    ada = user("ada@example.com")
    assert user_role(ada) == Role.REVIEWER
    assert not ada.has_usable_password() and not ada.is_superuser
    assert client.get("/").status_code == 200  # signed in, and no TOTP step for an SSO session
    assert actions() == ["user.sso_created", "user.role_changed", "login.sso"]
    last = AuditEvent.objects.get(action="login.sso")
    assert last.actor == ada and "OpenID Connect" in last.summary and "sec-reviewers" in last.summary


def test_a_group_change_at_the_idp_changes_the_role_at_the_next_sign_in(oidc: OidcIdp) -> None:
    LinkedAccount.objects.create(account_id="111111111111", name="team a")
    LinkedAccount.objects.create(account_id="222222222222", name="other")
    idp_user(oidc, "bob", "sec-viewers")
    sign_in(Client(), oidc, "bob")
    bob = user("bob@example.com")
    assert user_role(bob) == Role.VIEWER
    assert not Profile.objects.get(user=bob).accounts.exists()  # every account

    idp_user(oidc, "bob", "team-a")
    response = sign_in(Client(), oidc, "bob")
    assert response.status_code == 302 and response["Location"] == "/"
    bob = user("bob@example.com")
    assert user_role(bob) == Role.APPROVER
    assert list(Profile.objects.get(user=bob).accounts.values_list("account_id", flat=True)) == [
        "111111111111"
    ]
    change = AuditEvent.objects.filter(action="user.role_changed").order_by("id").last()
    assert change.before == {"role": "viewer", "accounts": "all"}
    assert change.after == {"role": "approver", "accounts": ["111111111111"]}

    idp_user(oidc, "bob", "iam-admins", "team-a")  # an unlimited group lifts the account limit
    sign_in(Client(), oidc, "bob")
    bob = user("bob@example.com")
    assert user_role(bob) == Role.ADMIN and bob.is_staff
    assert not Profile.objects.get(user=bob).accounts.exists()
    assert AuditEvent.objects.filter(action="login.sso").count() == 3


def test_no_mapped_group_means_no_access_and_says_why(oidc: OidcIdp) -> None:
    idp_user(oidc, "carol", "marketing")
    client = Client()
    response = sign_in(client, oidc, "carol")
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/")
    assert b"none of your groups (marketing) gives access to iamreview" in page.content
    assert not get_user_model().objects.filter(username="carol@example.com").exists()
    assert client.get("/").status_code == 302  # still anonymous
    assert AuditEvent.objects.filter(action="login.sso_refused", object_id="carol@example.com").exists()


def test_losing_every_mapped_group_takes_the_role_away(oidc: OidcIdp) -> None:
    idp_user(oidc, "dave", "sec-reviewers")
    sign_in(Client(), oidc, "dave")
    idp_user(oidc, "dave", "former-staff")
    client = Client()
    sign_in(client, oidc, "dave")
    assert user_role(user("dave@example.com")) == Role.NONE
    assert client.get("/").status_code == 302
    change = AuditEvent.objects.filter(action="user.role_changed").order_by("id").last()
    assert change.before["role"] == "reviewer" and change.after["role"] == "none"


def test_an_account_limit_to_accounts_not_linked_is_refused_not_widened(oidc: OidcIdp) -> None:
    idp_user(oidc, "erin", "team-a")  # 111111111111 is not linked in this test
    client = Client()
    sign_in(client, oidc, "erin")
    assert b"not linked here yet" in client.get("/login/").content
    assert not get_user_model().objects.filter(username="erin@example.com").exists()


def test_a_tampered_state_is_refused(oidc: OidcIdp) -> None:
    idp_user(oidc, "frank", "sec-viewers")
    client = Client()
    response = sign_in(client, oidc, "frank", callback=lambda url: with_param(url, state="forged-state"))
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert b"did not match a sign-in started from this browser" in client.get("/login/").content
    assert client.get("/").status_code == 302
    assert not get_user_model().objects.filter(username="frank@example.com").exists()
    assert AuditEvent.objects.filter(action="login.sso_refused").exists()


def test_a_callback_cannot_be_replayed(oidc: OidcIdp) -> None:
    idp_user(oidc, "gina", "sec-viewers")
    client = Client()
    start = client.get("/oidc/authenticate/")
    back = oidc.sign_in(start["Location"], "gina", IDP_PASSWORD)
    assert client.get(back)["Location"] == "/"
    client.logout()
    replay = client.get(back)
    assert replay["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_a_tampered_nonce_is_refused(oidc: OidcIdp) -> None:
    """The provider signs the nonce it was sent; one that is not the session's fails the ID token check."""
    idp_user(oidc, "hal", "sec-viewers")
    client = Client()
    response = sign_in(client, oidc, "hal", authorize=lambda url: with_param(url, nonce="attacker-nonce"))
    assert response["Location"] == "/login/"
    assert b"did not match a sign-in started from this browser" in client.get("/login/").content
    assert not get_user_model().objects.filter(username="hal@example.com").exists()
    refused = AuditEvent.objects.get(action="login.sso_refused")
    assert "Nonce" in refused.summary


def test_a_forged_code_is_refused_by_the_provider(oidc: OidcIdp) -> None:
    idp_user(oidc, "ivy", "sec-viewers")
    client = Client()
    response = sign_in(client, oidc, "ivy", callback=lambda url: with_param(url, code="forged"))
    assert response["Location"] == "/login/"
    assert b"did not complete the sign-in" in client.get("/login/").content
    assert client.get("/").status_code == 302


def test_an_id_token_from_another_issuer_is_refused(oidc: OidcIdp, settings: Any) -> None:
    settings.IAMREVIEW_OIDC_ISSUER = "https://login.example.com/"
    idp_user(oidc, "jack", "sec-viewers")
    client = Client()
    assert sign_in(client, oidc, "jack")["Location"] == "/login/"
    assert not get_user_model().objects.filter(username="jack@example.com").exists()


def test_local_passwords_off_except_break_glass(oidc: OidcIdp, settings: Any, users: dict[str, Any]) -> None:
    settings.IAMREVIEW_LOCAL_LOGIN = False
    settings.IAMREVIEW_BREAK_GLASS_USERS = ["admin"]
    client = Client()
    refused = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert refused.status_code == 200 and b"Sign-in with a password is turned off" in refused.content
    assert client.get("/").status_code == 302
    assert not Client().login(username="viewer", password=PASSWORD)  # the backend itself refuses too
    assert client.post("/login/", {"username": "admin", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    # The login page leads with single sign-on and keeps the password form for break-glass use.
    page = Client().get("/login/").content
    assert b'href="/oidc/authenticate/"' in page and b"Break-glass sign-in" in page
    # Single sign-on never signs in as a break-glass account (the IdP must not be able to take it over).
    idp_user(oidc, "admin", "sec-viewers")
    settings.IAMREVIEW_OIDC_USERNAME_CLAIM = "preferred_username"
    other = Client()
    assert sign_in(other, oidc, "admin")["Location"] == "/login/"
    assert b"break-glass account" in other.get("/login/").content
    assert user_role(user("admin")) == Role.ADMIN


def test_local_sign_in_keeps_its_second_factor(oidc: OidcIdp, settings: Any, db: None) -> None:
    settings.IAMREVIEW_OTP_REQUIRED_ROLE = "viewer"
    make_user("local-viewer", Role.VIEWER)
    local = Client()
    local.post("/login/", {"username": "local-viewer", "password": PASSWORD})
    assert local.get("/")["Location"].startswith("/two-factor/setup/")
    idp_user(oidc, "kim", "sec-viewers")
    sso = Client()
    sign_in(sso, oidc, "kim")
    assert sso.get("/").status_code == 200


def test_sso_is_off_unless_configured(client: Client, db: None) -> None:
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert b"/oidc/authenticate/" not in client.get("/login/").content


def test_oidc_discover_prints_the_settings_for_a_real_provider(idp: OidcIdp) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("oidc_discover", f"{idp.base}/o", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    expected = idp.settings()
    assert lines["IAMREVIEW_OIDC_ISSUER"] == expected["IAMREVIEW_OIDC_ISSUER"]
    assert lines["IAMREVIEW_OIDC_TOKEN_ENDPOINT"] == expected["OIDC_OP_TOKEN_ENDPOINT"]
    assert lines["IAMREVIEW_OIDC_JWKS_ENDPOINT"] == expected["OIDC_OP_JWKS_ENDPOINT"]
    assert lines["IAMREVIEW_OIDC_AUTHORIZATION_ENDPOINT"] == expected["OIDC_OP_AUTHORIZATION_ENDPOINT"]
    assert lines["IAMREVIEW_OIDC_USERINFO_ENDPOINT"] == expected["OIDC_OP_USER_ENDPOINT"]


def test_a_sign_in_logs_no_secret_even_at_debug(oidc: OidcIdp) -> None:
    """The client secret, the tokens and the ID token never reach the logs, with every logger at DEBUG."""
    import io
    import logging

    from iamreview.logs import RedactSecretsFilter

    root = logging.getLogger()
    handler = next(h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters))
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)  # type: ignore[attr-defined]
    loggers = [
        root,
        *(logging.getLogger(n) for n in ("mozilla_django_oidc", "urllib3", "accounts", "django")),
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        idp_user(oidc, "lena", "sec-viewers")
        assert sign_in(Client(), oidc, "lena")["Location"] == "/"
        sign_in(Client(), oidc, "lena", callback=lambda url: with_param(url, code="forged"))  # a failure too
    finally:
        handler.setStream(old_stream)  # type: ignore[attr-defined]
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    text = buffer.getvalue()
    assert "/o/token/" in text, "the token request was logged at DEBUG, so the check saw the traffic"
    assert oidc.client_secret not in text and "eyJ" not in text
