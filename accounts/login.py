"""Sign-in with brute-force protection: too many failures for a username, or from one address, lock it
out for a while (settings IAMREVIEW_LOGIN_MAX_FAILURES and IAMREVIEW_LOGIN_LOCKOUT_SECONDS)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from accounts.models import LoginFailure
from core.audit import audit_record

# An address may fail for several people (an office behind NAT) before it is locked out itself.
ADDRESS_FACTOR = 5


def _address(request: Any) -> str | None:
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


class ThrottledAuthenticationForm(AuthenticationForm):
    locked = False  # the page says why, instead of "did not match"

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip().lower()[:150]
        address = _address(self.request)
        window = timezone.now() - timedelta(seconds=settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS)
        limit = settings.IAMREVIEW_LOGIN_MAX_FAILURES
        recent = LoginFailure.objects.filter(created_at__gte=window)
        if (username and recent.filter(username=username).count() >= limit) or (
            address and recent.filter(ip=address).count() >= limit * ADDRESS_FACTOR
        ):
            self.locked = True
            minutes = max(1, settings.IAMREVIEW_LOGIN_LOCKOUT_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {minutes} minutes and try again, or ask an administrator "
                "to check the account.",
                code="locked",
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
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        LoginFailure.objects.filter(username=user.get_username().lower()).delete()


def login_failures_forget(*, now: Any = None) -> int:
    """Drop failures older than a day (beat)."""
    now = now or timezone.now()
    deleted, _ = LoginFailure.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    return deleted
