"""Every URL needs a login, and every view declares the role it needs and enforces it."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.roles import Role

# Pages that must work without a login, and why. /metrics is guarded by its own bearer token or address
# list (tests/api/test_metrics.py).
PUBLIC = {"login", "healthz", "metrics"}
# Single sign-on happens before there is a login: the start, the IdP's answer, our SAML metadata for the
# IdP's administrator. Each is a 404 unless configured (tests/sso/).
PUBLIC |= {
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "saml2_login",
    "saml2_acs",
    "saml2_metadata",
}
# Logging out only needs a session.
SESSION_ONLY = {"logout"}


def _walk(patterns: list[object], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            if getattr(p, "app_name", None) == "admin":
                continue  # Django admin has its own login, tested below.
            found += _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            found.append((prefix + str(p.pattern), p))
    return found


def _concrete(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


def _is_api(pattern: URLPattern) -> bool:
    """A REST API view (Django REST framework): a bearer token, not a session, and 401 rather than a redirect."""
    return hasattr(pattern.callback, "cls")


ALL = _walk(get_resolver().url_patterns)
PROTECTED = [(route, p) for route, p in ALL if p.name not in PUBLIC | SESSION_ONLY and not _is_api(p)]
# Every API route; the route x method x role matrix with real objects is in tests/api/test_api_matrix.py.
API_ROUTES = [(route, p) for route, p in ALL if _is_api(p)]


def test_the_walk_sees_the_app() -> None:
    names = {p.name for _, p in ALL}
    assert {"dashboard", "account_list", "account_link", "audit_list"} <= names
    api = {p.name for _, p in API_ROUTES}
    assert {"api_principal_list", "api_change_decide", "api_account_sync", "api_schema"} <= api
    assert all(route.startswith("api/v1/") for route, _ in API_ROUTES)


@pytest.mark.parametrize(("route", "pattern"), API_ROUTES, ids=[p.name for _, p in API_ROUTES])
def test_every_api_view_declares_a_role_per_method(route: str, pattern: URLPattern) -> None:
    roles = getattr(pattern.callback.cls, "roles", None)
    assert isinstance(roles, dict) and roles, f"{route} declares no roles: every API view must"
    assert set(roles) <= {"GET", "POST"}, f"{route} allows {sorted(roles)}"
    assert all(isinstance(r, Role) and r >= Role.VIEWER for r in roles.values()), route
    from api.auth import DeclaredMethods, RolePermission

    assert issubclass(pattern.callback.cls, DeclaredMethods), f"{route}: its Allow header would not match"
    view = pattern.callback.cls()
    assert any(isinstance(p, RolePermission) for p in view.get_permissions()), f"{route} skips the role check"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), API_ROUTES, ids=[p.name for _, p in API_ROUTES])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_anonymous_api_call_is_401(client, route: str, pattern: URLPattern, method: str) -> None:  # type: ignore[no-untyped-def]
    url = _concrete(route)
    response = getattr(client, method)(url)
    assert response.status_code == 401, url
    assert response["WWW-Authenticate"].startswith("Bearer"), url
    bad = getattr(client, method)(url, HTTP_AUTHORIZATION="Bearer iamr_000000000000_not-a-real-token")
    assert bad.status_code == 401, url


@pytest.mark.parametrize(("route", "pattern"), PROTECTED, ids=[p.name or r for r, p in PROTECTED])
def test_every_view_declares_a_role(route: str, pattern: URLPattern) -> None:
    assert isinstance(getattr(pattern.callback, "required_role", None), Role), (
        f"{route} has no @role_required: every view must say which role it needs"
    )
    methods = pattern.callback.allowed_methods
    assert methods and set(methods) <= {"GET", "HEAD", "POST"}, f"{route} allows {methods}"
    # The full route x method x role matrix is in tests/views/test_access_matrix.py.


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), PROTECTED, ids=[p.name or r for r, p in PROTECTED])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(client, route: str, pattern: URLPattern, method: str) -> None:  # type: ignore[no-untyped-def]
    url = _concrete(route)
    response = getattr(client, method)(url)
    assert response.status_code == 302, url
    assert response["Location"].startswith("/login/?next="), response["Location"]


@pytest.mark.django_db
def test_viewer_cannot_post_admin_actions(client_as) -> None:  # type: ignore[no-untyped-def]
    response = client_as("viewer").post(
        "/accounts/link/", {"account_id": "123456789012", "name": "prod", "sync_interval_minutes": 60}
    )
    assert response.status_code == 403
    from accounts.models import LinkedAccount

    assert not LinkedAccount.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "allowed"), [("viewer", False), ("approver", False), ("admin", True)])
def test_django_admin_is_for_the_admin_role(client_as, name: str, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    response = client_as(name).get("/admin/")
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_public_pages_need_no_login(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/login/").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.mark.django_db
def test_login_refuses_open_redirect(client, users) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    response = client.post(
        "/login/", {"username": "viewer", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_login_then_dashboard(client, users) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    response = client.post("/login/", {"username": "viewer", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"No AWS account linked yet" in response.content
