"""Django admin is open to the admin role (not only to superusers), and signs in through the product's login."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.roles import Role, has_role


def _admin_role_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and has_role(request.user, Role.ADMIN))


@login_not_required
def _login_through_the_product(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Admin's own login page checked passwords with no throttling and no audit: there is one door only.

    Whatever is posted here is ignored; the browser is sent to /login/, back to where it was going. A
    signed-in user without the admin role is refused here (sending it to /login/ would loop back).
    """
    if request.user.is_authenticated:
        raise PermissionDenied("Django admin needs the admin role.")
    wanted = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=False):
        wanted = ""
    return redirect_to_login(wanted or reverse("admin:index"), reverse("login"))


admin.site.has_permission = _admin_role_only  # type: ignore[method-assign]
admin.site.login = _login_through_the_product  # type: ignore[assignment]
admin.site.site_header = "iamreview administration"
admin.site.site_title = "iamreview"
