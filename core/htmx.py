"""htmx responses: one URL, two renderings, and the status that tells a poller to stop."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

# htmx stops an `hx-trigger="every Ns"` poll when the response has this status.
STOP_POLLING = 286


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for a region of the page (boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted)


def render_page_or_fragment(
    request: HttpRequest, template: str, fragment: str, context: dict[str, Any]
) -> HttpResponse:
    """The fragment for htmx, else the page; caches keep the two apart (`Vary: HX-Request`)."""
    response = render(request, fragment if is_partial(request) else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def poll_response(response: HttpResponse, *, finished: bool) -> HttpResponse:
    """A progress fragment that stops its poller once the job it shows is finished."""
    if finished:
        response.status_code = STOP_POLLING
    patch_vary_headers(response, ["HX-Request"])
    return response
