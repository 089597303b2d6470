"""OpenID Connect sign-in through mozilla-django-oidc: authorization code flow with PKCE, state and nonce.

mozilla-django-oidc checks the state (kept in the session), the nonce and the ID token's signature (keys
from the provider's JWKS); this module adds the audience and issuer checks, turns every failure into a
message on the login page (and an audit row) instead of an error page, and hands the claims to
accounts/sso.py for the user and its role.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.sso import SSO_SESSION_KEY, SsoRefused, sso_sign_in
from core.audit import audit_record

logger = logging.getLogger(__name__)
PROTOCOL = "OpenID Connect"
MISMATCH = (
    "The answer from the identity provider did not match a sign-in started from this browser. "
    "Start again from the sign-in page."
)


def _claim_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


class OidcBackend(OIDCAuthenticationBackend):
    """Only the callback view's `authenticate(request, nonce=..., code_verifier=...)` reaches it."""

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if not settings.IAMREVIEW_OIDC_ENABLED or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            # The code was refused (replayed, expired, not ours) or the provider could not be reached.
            logger.warning("OpenID Connect token exchange failed: %s", type(exc).__name__)
            _refused(
                request, "The identity provider did not complete the sign-in. Try again.", repr(exc)[:200]
            )
            return None
        except SuspiciousOperation as exc:  # nonce, signature, audience or issuer
            _refused(request, MISMATCH, str(exc)[:200])
            return None

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        payload = super().verify_token(token, **kwargs)
        audience = _claim_list(payload.get("aud"))
        if self.OIDC_RP_CLIENT_ID not in audience:
            raise SuspiciousOperation(f"The ID token is for {audience}, not this client.")
        issuer = settings.IAMREVIEW_OIDC_ISSUER
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation(f"The ID token was issued by {payload.get('iss')!r}, not {issuer!r}.")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        username = str(claims.get(settings.IAMREVIEW_OIDC_USERNAME_CLAIM) or "")
        try:
            return sso_sign_in(
                protocol=PROTOCOL,
                username=username,
                email=str(claims.get("email") or ""),
                groups=_claim_list(claims.get(settings.IAMREVIEW_OIDC_GROUPS_CLAIM)),
            )
        except SsoRefused as exc:  # audited by sso_sign_in
            self.request._iamreview_sso_refused = True
            messages.error(self.request, str(exc))
            return None

    def get_user(self, user_id: int) -> Any:
        return ModelBackend().get_user(user_id)  # which also refuses inactive users


def _refused(request: HttpRequest, message: str, reason: str) -> None:
    audit_record(
        actor=None, action="login.sso_refused", obj="openid-connect", summary=f"{PROTOCOL} refused: {reason}"
    )
    request._iamreview_sso_refused = True  # type: ignore[attr-defined]
    messages.error(request, message)


@method_decorator(login_not_required, name="dispatch")
class OidcStartView(OIDCAuthenticationRequestView):
    """/oidc/authenticate/: off (404) unless configured; sends the browser to the provider."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.IAMREVIEW_OIDC_ENABLED:
            raise Http404("OpenID Connect is not configured.")
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class OidcCallbackView(OIDCAuthenticationCallbackView):
    """/oidc/callback/: an unknown or reused state is refused with a message, never an error page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.IAMREVIEW_OIDC_ENABLED:
            raise Http404("OpenID Connect is not configured.")
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            _refused(request, MISMATCH, str(exc)[:200])
            return HttpResponseRedirect(reverse("login"))

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        self.request.session[SSO_SESSION_KEY] = "oidc"
        return response

    def login_failure(self) -> HttpResponse:
        if not getattr(self.request, "_iamreview_sso_refused", False):
            if self.request.GET.get("error"):
                error = self.request.GET["error"][:100]
                _refused(self.request, "The identity provider refused the sign-in.", error)
            else:
                _refused(self.request, MISMATCH, "no sign-in started in this session")
        return HttpResponseRedirect(reverse("login"))
