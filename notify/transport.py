"""One HTTP POST to a channel's URL: the address checked and pinned, no redirects, a short timeout, and
errors in words that never carry the URL (for Slack and Teams, the URL is the secret).

A URL's host is resolved once and the connection goes to that checked address (TLS still verifies the
host name), so a name that resolves to a public address when checked and to 169.254.169.254 when
connecting cannot reach the cloud metadata service.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, LocationParseError, NewConnectionError

SIGNATURE_HEADER = "X-Iamreview-Signature"
TIMESTAMP_HEADER = "X-Iamreview-Timestamp"
MAX_URL_LENGTH = 2000
RESPONSE_KEPT = 300  # characters of a response body kept in the delivery log


class UrlRefused(ValueError):
    """A URL iamreview will not call (scheme, address), with the reason in words."""


class NoAddress(OSError):
    """The host name does not resolve (now: it may later)."""


@dataclass(frozen=True)
class Response:
    status: int | None  # None: no HTTP answer (connection refused, timeout, address refused)
    body: str
    error: str
    elapsed_ms: int
    permanent: bool = False  # trying again cannot help (the URL or address is refused)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the receiver recomputes it and refuses
    a timestamp too far from its clock (a replayed request)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def check_url(url: str) -> urllib3.util.Url:
    """The parsed URL when its form is acceptable (scheme, host, length); the address is checked on use."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise UrlRefused("The URL holds spaces or invisible characters.")
    try:
        parsed = urllib3.util.parse_url(url)
    except LocationParseError as exc:
        raise UrlRefused("This is not a URL.") from exc
    allowed = {"https", "http"} if settings.IAMREVIEW_NOTIFY_ALLOW_HTTP else {"https"}
    if parsed.scheme not in allowed:
        raise UrlRefused(
            "Only https:// URLs are allowed."
            if not settings.IAMREVIEW_NOTIFY_ALLOW_HTTP
            else "Only http:// and https:// URLs are allowed."
        )
    if not parsed.host:
        raise UrlRefused("The URL has no host.")
    return parsed


def _addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to: every address the name resolves to must be public (unless allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NoAddress(f"the host name {host} does not resolve") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not settings.IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                raise UrlRefused(
                    f"{host} resolves to {address}, a private, loopback or link-local address "
                    "(set IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES=true for a receiver inside your network)."
                )
    return addresses


def _pool(scheme: str, address: str, port: int, hostname: str) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(
        connect=min(5, settings.IAMREVIEW_NOTIFY_TIMEOUT), read=settings.IAMREVIEW_NOTIFY_TIMEOUT
    )
    if scheme == "https":
        # Connected to the checked address; TLS verifies the certificate for the URL's host name.
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=hostname,
            assert_hostname=hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.IAMREVIEW_NOTIFY_CA_BUNDLE or None,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)


def post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` as JSON. Never raises for the network: the outcome is in the Response."""
    started = time.monotonic()

    def done(status: int | None, text: str, error: str, permanent: bool = False) -> Response:
        return Response(status, text, error, int((time.monotonic() - started) * 1000), permanent)

    try:
        parsed = check_url(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        hostname = str(parsed.host).strip("[]")
        addresses = _addresses(hostname, port)
    except UrlRefused as exc:
        return done(None, "", str(exc), permanent=True)
    except NoAddress as exc:
        return done(None, "", str(exc))
    all_headers = {
        "Content-Type": "application/json",
        "User-Agent": "iamreview-notify/1",
        **headers,
        "Host": str(parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"),
    }
    if parsed.auth:
        all_headers.update(urllib3.util.make_headers(basic_auth=parsed.auth))
    error = ""
    for address in addresses:  # in the resolver's order, the next one when one cannot be reached
        pool = _pool(str(parsed.scheme), address, port, hostname)
        try:
            answer = pool.urlopen(
                "POST",
                parsed.request_uri,
                body=body,
                headers=all_headers,
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                text = answer.read(RESPONSE_KEPT * 4, decode_content=True).decode("utf-8", "replace")
            finally:
                answer.release_conn()
        except NewConnectionError as exc:
            error = _describe(exc)
            continue
        except (HTTPError, OSError) as exc:
            return done(None, "", _describe(exc))
        finally:
            pool.close()
        status = int(answer.status)
        return done(status, text[:RESPONSE_KEPT], "" if 200 <= status < 300 else f"HTTP {status}")
    return done(None, "", error)


def _describe(exc: BaseException) -> str:
    """What went wrong, without the URL: urllib3's messages name the path (the secret of a Slack URL)."""
    reason = getattr(exc, "reason", None) or exc
    kind = type(reason).__name__
    if isinstance(reason, (TimeoutError, socket.timeout)) or "Timeout" in kind:
        return "no answer in time (timeout)"
    if isinstance(reason, ConnectionRefusedError) or "Refused" in str(reason) or "NewConnectionError" in kind:
        return "could not connect (connection refused or unreachable)"
    if "SSL" in kind or "Certificate" in kind:
        return "TLS failed (certificate not trusted or host name mismatch)"
    return f"the connection failed ({kind})"
