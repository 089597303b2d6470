"""Single sign-on in a real browser: the login page's button, the provider's own login page, the dashboard.

The provider is the OpenID Connect test IdP (django-oauth-toolkit) in its own process on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.roles import Role, user_role
from core.models import AuditEvent
from tests.browser.conftest import screenshot
from tests.sso.servers import OidcIdp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIdp]:
    server = OidcIdp(tmp_path_factory.mktemp("oidc-browser"))
    try:
        yield server
    finally:
        server.stop()


def test_sign_in_through_the_identity_provider(
    live_server: Any, page: Any, idp: OidcIdp, settings: Any, tmp_path: Path
) -> None:
    base = live_server.url
    idp.register(f"{base}/oidc/callback/")
    idp.control(
        "user", username="grace", password="idp pass 42", email="grace@example.com", groups=["sec-team"]
    )
    for name, value in idp.settings().items():
        setattr(settings, name, value)
    settings.IAMREVIEW_SSO_GROUP_MAP = {"sec-team": {"role": "reviewer", "accounts": None}}
    settings.IAMREVIEW_LOCAL_LOGIN = False

    page.goto(f"{base}/findings/")
    page.wait_for_url(f"{base}/login/?next=/findings/")
    assert page.locator("summary").inner_text() == "Break-glass sign-in with a password"
    assert screenshot(page, "sso-login", tmp_path).stat().st_size > 5_000
    page.click("text=Sign in with single sign-on")
    page.wait_for_url(f"{idp.base}/login/**")
    page.fill("#idp-username", "grace")
    page.fill("#idp-password", "idp pass 42")
    page.click("#idp-submit")
    page.wait_for_url(f"{base}/findings/")  # back where she was going, signed in
    assert page.locator("h1").first.inner_text() == "Findings"
    assert "grace@example.com" in page.content()
    assert screenshot(page, "sso-signed-in", tmp_path).stat().st_size > 5_000
    grace = get_user_model().objects.get(username="grace@example.com")
    assert user_role(grace) == Role.REVIEWER
    assert AuditEvent.objects.filter(action="login.sso", actor=grace).exists()
