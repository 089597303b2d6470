"""The client's address: REMOTE_ADDR, or the hop a configured trusted proxy wrote into its header."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address sign-in throttling counts against.

    Without IAMREVIEW_CLIENT_ADDRESS_HEADER only REMOTE_ADDR is used: a forwarded header is whatever the
    client wrote unless a proxy we trust sets it. With it, the address is the hop the outermost of
    IAMREVIEW_TRUSTED_PROXY_COUNT proxies appended (each proxy appends what it saw, so anything further
    left came from the client). A request without the header, or with a hop that is not an address,
    did not come through the proxy as configured: REMOTE_ADDR again.
    """
    remote = _valid(request.META.get("REMOTE_ADDR") or "")
    header = settings.IAMREVIEW_CLIENT_ADDRESS_HEADER
    if not header:
        return remote
    raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    hops = [h for h in (part.strip() for part in raw.split(",")) if h]
    if not hops:
        return remote
    count = settings.IAMREVIEW_TRUSTED_PROXY_COUNT
    return _valid(hops[max(0, len(hops) - count)]) or remote
