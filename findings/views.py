"""Review pages. Each renders the whole page, or only its swappable region for htmx requests."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import LinkedAccount
from accounts.roles import Role, role_required
from findings.models import AuditEvent


def _render(request: HttpRequest, template: str, fragment: str, context: dict[str, object]) -> HttpResponse:
    """One URL, two renderings: the fragment for htmx (not boosted), else the page."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        return render(request, fragment, context)
    return render(request, template, context)


@role_required(Role.VIEWER)
def dashboard(request: HttpRequest) -> HttpResponse:
    accounts = list(LinkedAccount.objects.all())
    return render(request, "findings/dashboard.html", {"accounts": accounts})


@role_required(Role.VIEWER)
def principal_list(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/principal_list.html", {"has_accounts": LinkedAccount.objects.exists()})


@role_required(Role.VIEWER)
def finding_list(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/finding_list.html", {"has_accounts": LinkedAccount.objects.exists()})


@role_required(Role.VIEWER)
def key_list(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/key_list.html", {"has_accounts": LinkedAccount.objects.exists()})


@role_required(Role.VIEWER)
def change_list(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/change_list.html", {})


@role_required(Role.VIEWER)
def trends(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/trends.html", {"has_accounts": LinkedAccount.objects.exists()})


@role_required(Role.REVIEWER)
def audit_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor")
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    context = {"page": page, "action": action}
    return _render(request, "findings/audit_list.html", "findings/htmx/audit_table.html", context)
