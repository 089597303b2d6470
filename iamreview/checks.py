"""System checks of our own: `check --deploy` refuses the demo secret key outside DEBUG; single sign-on
must be configured whole."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def demo_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Django's own check (security.W009) is only a warning, so `check --deploy` passed with the key every
    # clone of the repository knows: sessions, CSRF tokens and password-reset links could be forged.
    if settings.DEBUG or settings.SECRET_KEY != settings.IAMREVIEW_DEMO_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the demo key from the source code while DEBUG is off.",
            hint="Set SECRET_KEY (or SECRET_KEY_FILE) to 50 or more random characters.",
            id="iamreview.E001",
        )
    ]


@register(Tags.security)
def single_sign_on(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Single sign-on half configured fails at startup, not at someone's first sign-in."""
    import shutil

    problems: list[CheckMessage] = []
    if settings.IAMREVIEW_OIDC_ENABLED:
        missing = [
            f"IAMREVIEW_OIDC_{name}"
            for name, value in (
                ("CLIENT_SECRET", settings.OIDC_RP_CLIENT_SECRET),
                ("AUTHORIZATION_ENDPOINT", settings.OIDC_OP_AUTHORIZATION_ENDPOINT),
                ("TOKEN_ENDPOINT", settings.OIDC_OP_TOKEN_ENDPOINT),
                ("USERINFO_ENDPOINT", settings.OIDC_OP_USER_ENDPOINT),
                ("JWKS_ENDPOINT", settings.OIDC_OP_JWKS_ENDPOINT),
            )
            if not value
        ]
        if missing:
            problems.append(
                Error(
                    f"OpenID Connect is on (IAMREVIEW_OIDC_CLIENT_ID is set) but {', '.join(missing)} is not.",
                    hint="Copy them from the provider's /.well-known/openid-configuration.",
                    id="iamreview.E002",
                )
            )
    if settings.IAMREVIEW_SAML_ENABLED and shutil.which("xmlsec1") is None:
        problems.append(
            Error(
                "SAML is on but the xmlsec1 program, which checks the assertions' signatures, is missing.",
                hint="apt-get install xmlsec1 (the Dockerfile and `make test` install it).",
                id="iamreview.E003",
            )
        )
    sso = settings.IAMREVIEW_OIDC_ENABLED or settings.IAMREVIEW_SAML_ENABLED
    if sso and not settings.IAMREVIEW_SSO_GROUP_MAP:
        problems.append(
            Error(
                "Single sign-on is on but IAMREVIEW_SSO_GROUP_MAP is empty: nobody would get a role.",
                hint='Map IdP groups to roles, e.g. IAMREVIEW_SSO_GROUP_MAP={"iam-admins": "admin"}.',
                id="iamreview.E004",
            )
        )
    if not settings.IAMREVIEW_LOCAL_LOGIN and not sso:
        problems.append(
            Error(
                "IAMREVIEW_LOCAL_LOGIN is false but no single sign-on is configured: only the break-glass "
                "users could sign in.",
                id="iamreview.E005",
            )
        )
    return problems
