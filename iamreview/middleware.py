"""Response headers that Django's SecurityMiddleware does not set, and the gates every request passes."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import urlencode

# Only our own static assets: no CDN, no inline script. Inline styles are allowed for chart sizing and
# htmx's indicator styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class RejectNulCharactersMiddleware:
    """Refuse (400) parameters holding NUL characters, which PostgreSQL text columns cannot store.

    A view's process_view hook, placed after login and CSRF, so those answer first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args: object) -> HttpResponse | None:
        for params in (request.GET, request.POST if request.method == "POST" else None):
            if params is None:
                continue
            for key, values in params.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return HttpResponseBadRequest(
                        "A parameter holds a NUL character, which cannot be stored; remove it and try again.",
                        content_type="text/plain",
                    )
        return None


class PrivateResponsesMiddleware:
    """Pages for a signed-in user are never stored by a browser or a proxy (`private, no-store`), and every
    response varies on HX-Request: one URL answers a whole page or an htmx fragment, and a cache that
    kept one must not serve it for the other (the back button showing a bare fragment).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ["HX-Request"])
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


# Where a session that owes its second factor may go: the two pages that take it, and the way out.
SECOND_FACTOR_OPEN = {"otp_verify", "otp_setup", "logout", "login", "healthz"}


class SecondFactorMiddleware:
    """Until a user who needs one gives a TOTP code, every other page sends the session to give it.

    After LoginRequiredMiddleware (anonymous users go to the login page first) and django-otp's
    OTPMiddleware (which knows whether this session gave a code).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args: object) -> HttpResponse | None:
        from accounts.sso import SSO_SESSION_KEY
        from accounts.two_factor import has_device, second_factor_due

        match = request.resolver_match
        if match is not None and match.view_name in SECOND_FACTOR_OPEN:
            return None
        if request.session.get(SSO_SESSION_KEY):  # the identity provider asked for its own factors
            return None
        if not second_factor_due(request.user):
            return None
        target = reverse("otp_verify" if has_device(request.user) else "otp_setup")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
