"""Sign-in with brute-force protection (settings IAMREVIEW_LOGIN_MAX_FAILURES, IAMREVIEW_LOGIN_LOCKOUT_SECONDS).

- A username with too many failures is locked for the lockout time, even with the right password.
- An address with too many failures (for any usernames) is slowed down, never locked: it gets one password
  check per delay, the delay doubling with each further failure up to a minute. A browser that signed in
  as a user before (a signed "device" cookie, as OWASP describes) is not slowed for that user, so an
  attacker sharing an office's address does not keep its people out.
- Both limits are audited when reached. Django admin's login hands over to this one (iamreview/admin.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core import signing
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginFailure
from accounts.sso import local_login_allowed
from core.audit import audit_record
from core.client import client_address

# An address may fail for several people (an office behind NAT) before it is slowed down itself.
ADDRESS_FACTOR = 5
ADDRESS_FIRST_DELAY_SECONDS = 5
ADDRESS_MAX_DELAY_SECONDS = 60
DEVICE_COOKIE = "iamreview_device"
DEVICE_SALT = "iamreview.login.device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def address_delay(failures: int, threshold: int) -> int:
    """Seconds an address waits between password checks once it has reached its threshold of failures."""
    excess = max(0, failures - threshold)
    return int(min(ADDRESS_FIRST_DELAY_SECONDS * 2 ** min(excess, 16), ADDRESS_MAX_DELAY_SECONDS))


def _device_user(request: Any) -> str | None:
    raw = request.COOKIES.get(DEVICE_COOKIE) if request is not None else None
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) else None


class ThrottledAuthenticationForm(AuthenticationForm):
    locked = False  # the page says why, instead of "did not match"

    def _refuse(self, message: str) -> forms.ValidationError:
        self.locked = True
        return forms.ValidationError(message, code="locked")

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip().lower()[:150]
        address = client_address(self.request) if self.request is not None else None
        now = timezone.now()
        window = now - timedelta(seconds=settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS)
        limit = settings.IAMREVIEW_LOGIN_MAX_FAILURES
        recent = LoginFailure.objects.filter(created_at__gte=window)
        if username and recent.filter(username=username).count() >= limit:
            minutes = max(1, settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS // 60)
            raise self._refuse(
                f"Too many failed sign-ins. Wait {minutes} minutes and try again, or ask an administrator "
                "to check the account."
            )
        threshold = limit * ADDRESS_FACTOR
        trusted_device = bool(username) and _device_user(self.request) == username
        if address and not trusted_device:
            from_address = recent.filter(ip=address)
            failures = from_address.count()
            if failures >= threshold:
                last = from_address.order_by("-created_at").values_list("created_at", flat=True).first()
                wait = address_delay(failures, threshold)
                if last is not None and (now - last).total_seconds() < wait:
                    raise self._refuse(
                        f"Too many failed sign-ins from your address. Wait {wait} seconds and try again."
                    )
        if username and not local_login_allowed(username):
            raise self._refuse(
                "Sign-in with a password is turned off here: use single sign-on above. "
                "(Break-glass accounts still use their password.)"
            )
        try:
            return super().clean()
        except forms.ValidationError:
            LoginFailure.objects.create(username=username, ip=address)
            if username and recent.filter(username=username).count() == limit:
                audit_record(
                    actor=None,
                    action="login.locked",
                    obj=username,
                    summary=f"Sign-in for {username!r} locked after {limit} failures (last from {address})",
                )
            if address and recent.filter(ip=address).count() == threshold:
                audit_record(
                    actor=None,
                    action="login.address_throttled",
                    obj=address,
                    summary=f"Sign-ins from {address} slowed down after {threshold} failures "
                    f"(last for {username!r})",
                )
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        LoginFailure.objects.filter(username=user.get_username().lower()).delete()


class ThrottledLoginView(LoginView):
    """The only sign-in page. After a success it leaves a device cookie for the address slow-down."""

    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso"] = [
            (reverse(name), label)
            for enabled, name, label in (
                (settings.IAMREVIEW_OIDC_ENABLED, "oidc_authentication_init", settings.IAMREVIEW_OIDC_LABEL),
                (settings.IAMREVIEW_SAML_ENABLED, "saml2_login", settings.IAMREVIEW_SAML_LABEL),
            )
            if enabled
        ]
        context["local_login"] = settings.IAMREVIEW_LOCAL_LOGIN
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        response.set_cookie(
            DEVICE_COOKIE,
            signing.dumps(form.get_user().get_username().lower(), salt=DEVICE_SALT),
            max_age=DEVICE_MAX_AGE,
            path=reverse("login"),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response


def login_failures_forget(*, now: Any = None) -> int:
    """Drop failures older than a day (beat)."""
    now = now or timezone.now()
    deleted, _ = LoginFailure.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    return deleted
