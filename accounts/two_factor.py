"""A second sign-in factor for local accounts: TOTP codes through django-otp.

IAMREVIEW_OTP_REQUIRED_ROLE (a role name, or empty for nobody) makes it required for that role and the
roles above it; anyone may also set it up, and whoever has a confirmed device is always asked for a
code. The password step (accounts/login.py) comes first; until the code is given, SecondFactorMiddleware
(iamreview/middleware.py) lets the session reach only these pages and logout.
"""

from __future__ import annotations

import base64
from typing import Any

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts.roles import FORM, Role, has_role, role_required
from core.audit import audit_record

DEVICE_NAME = "authenticator app"
SETUP_SESSION_KEY = "iamreview_otp_setup_key"


def required_role() -> Role | None:
    name = settings.IAMREVIEW_OTP_REQUIRED_ROLE
    return Role[name.upper()] if name else None


def has_device(user: Any) -> bool:
    return bool(django_otp.user_has_device(user, confirmed=True))


def second_factor_due(user: Any) -> bool:
    """A signed-in session that still owes a code: the user has a device, or the role requires one."""
    if not user.is_authenticated or user.is_verified():
        return False
    role = required_role()
    return has_device(user) or (role is not None and has_role(user, role))


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip().replace(" ", "")
        if not (token.isascii() and token.isdigit()):
            raise forms.ValidationError("The code is 6 digits.")
        return token


def _next(request: HttpRequest) -> str:
    """Where to go after the code: a path on this site (`redirect("0")` would have looked up a view "0")."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=False
    ):
        return wanted
    return reverse(settings.LOGIN_REDIRECT_URL)


def _verify(device: TOTPDevice, token: str) -> tuple[bool, str]:
    # django-otp's throttling: after each failure the device refuses every code for 1, 2, 4, ... seconds.
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False, "Too many wrong codes. Wait a little and try again."
    if device.verify_token(token):
        return True, ""
    return False, "That code is not valid (it changes every 30 seconds). Try the current one."


@role_required(Role.NONE, FORM)
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in, for a user with a confirmed device."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if device is None:  # nothing to verify: set one up if the role needs it, else carry on
        if second_factor_due(request.user):
            return HttpResponseRedirect(f"{reverse('otp_setup')}?{urlencode({'next': _next(request)})}")
        return HttpResponseRedirect(_next(request))
    if request.user.is_verified():  # type: ignore[union-attr]
        return HttpResponseRedirect(_next(request))
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        ok, problem = _verify(device, form.cleaned_data["token"])
        if ok:
            django_otp.login(request, device)
            return HttpResponseRedirect(_next(request))
        form.add_error("token", problem)
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next(request)})


def _qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code, drawn here: the secret never leaves for a third-party service."""
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@role_required(Role.NONE, FORM)
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the code, type one code back to confirm it."""
    user = request.user
    if has_device(user):
        # Only a session that already gave a code may see this page again: a password alone must never
        # be enough to enrol a second device. Replacing a lost device is for an administrator.
        if not user.is_verified():  # type: ignore[union-attr]
            return HttpResponseRedirect(f"{reverse('otp_verify')}?{urlencode({'next': _next(request)})}")
        messages.info(
            request, "Your authenticator app is set up. An administrator can reset it if you lose it."
        )
        return HttpResponseRedirect(_next(request))
    # The key waits in the session until a code proves the app holds it: nothing is stored before that.
    key = request.session.setdefault(SETUP_SESSION_KEY, random_hex())
    device = TOTPDevice(user=user, name=DEVICE_NAME, key=key, confirmed=False)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        if totp.verify(int(form.cleaned_data["token"]), device.tolerance):
            device.confirmed = True
            device.last_t = totp.t()  # this code is spent
            device.save()
            del request.session[SETUP_SESSION_KEY]
            django_otp.login(request, device)
            audit_record(
                actor=user,
                action="user.otp_setup",
                obj=user,
                summary=f"{user.get_username()} set up an authenticator app for signing in",
            )
            messages.success(request, "Authenticator app set up: sign-ins now ask for a code.")
            return HttpResponseRedirect(_next(request))
        form.add_error(
            "token", "That code does not match (it changes every 30 seconds). Try the current one."
        )
    context = {
        "form": form,
        "next": _next(request),
        "qr": _qr_svg(device),
        "secret": base64.b32encode(device.bin_key).decode(),
        "required": second_factor_due(user),
    }
    return render(request, "registration/otp_setup.html", context)
