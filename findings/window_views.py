"""A reviewer sets a principal's own unused-permission window and "periodic?" margin (or clears them)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.roles import ACTION, Role, role_required
from findings import reads
from findings.review_window import principal_window_set


@role_required(Role.REVIEWER, ACTION)
def principal_window(request: HttpRequest, pk: int) -> HttpResponse:
    principal = reads.principal_for(user=request.user, pk=pk)
    clear = request.POST.get("clear") == "1"
    try:
        window = principal_window_set(
            principal=principal,
            actor=request.user,
            unused_days="" if clear else request.POST.get("unused_days", ""),
            periodic_days="" if clear else request.POST.get("periodic_days", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Suggestions for {principal.name} now count {window.unused_days} days as the window and keep "
            f"uses up to {window.periodic_days} days old as periodic"
            + ("" if window.overridden else " (the account's settings)")
            + ".",
        )
    return redirect("principal_detail", pk=principal.pk)
