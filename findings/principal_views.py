"""The principal page: the whole page, or (for htmx) one page of one of its long lists, and the actions
granted in one service a page at a time."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from accounts.roles import Role, role_required
from core.htmx import is_partial, render_page_or_fragment
from core.paging import page_number
from findings import reads
from findings.principal_page import (
    principal_actions_context,
    principal_document_context,
    principal_list_context,
    principal_page_context,
)

LISTS = ("services", "policies", "findings")


@role_required(Role.VIEWER)
def principal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The page shows the first page of each long list; `?services_page=2` (or policies_, findings_) shows
    another, and from htmx (the "show more" control) only that page of that list comes back."""
    principal = reads.principal_for(user=request.user, pk=pk)
    pages = {name: page_number(request.GET.get(f"{name}_page")) for name in LISTS}
    asked = next((name for name in LISTS if f"{name}_page" in request.GET), None)
    if asked is not None and is_partial(request):
        if asked == "services" and principal.kind == "group":
            raise Http404("a group is granted nothing of its own to list")
        context = principal_list_context(principal, asked, pages[asked])
        response = render(request, f"findings/htmx/principal_{asked}.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    response = render(
        request, "findings/principal_detail.html", principal_page_context(principal, pages=pages)
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@role_required(Role.VIEWER)
def principal_service_actions(request: HttpRequest, pk: int, service: str) -> HttpResponse:
    """The actions the principal is granted in one service, a page at a time (`?page=`), with their use."""
    principal = reads.principal_for(user=request.user, pk=pk)
    context = principal_actions_context(principal, service[:64].lower(), page_number(request.GET.get("page")))
    if context is None:
        raise Http404("the principal is granted nothing of this service")
    return render_page_or_fragment(
        request, "findings/principal_actions.html", "findings/htmx/principal_actions.html", context
    )


@role_required(Role.VIEWER)
def principal_policy_document(request: HttpRequest, pk: int, sha256: str) -> HttpResponse:
    """A policy document of the principal's, pretty-printed: the page loads large ones when opened."""
    principal = reads.principal_for(user=request.user, pk=pk)
    context = principal_document_context(principal, sha256)
    if context is None:
        raise Http404("the principal depends on no such document")
    return render_page_or_fragment(
        request, "findings/principal_document.html", "findings/htmx/principal_document.html", context
    )
