"""A real HTTP server on loopback that receives notifications, as Slack, Teams or a webhook receiver would:
it records every request (headers, raw body, arrival time) and answers with the statuses it is told to."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; once used up, 200.
    script: list[int] = field(default_factory=list)
    redirect_to: str = ""

    def verify(self, request: Received, secret: str, tolerance: int = 300) -> bool:
        """What a receiver does: recompute the HMAC over "<t>." + raw body and compare in constant time."""
        header = request.headers.get("X-Iamreview-Signature", "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        timestamp = int(parts.get("t", "0"))
        if abs(time.time() - timestamp) > tolerance or request.headers.get("X-Iamreview-Timestamp") != str(
            timestamp
        ):
            return False
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))


@contextmanager
def receiver(tls: tuple[str, str] | None = None) -> Iterator[Receiver]:
    """Plain http on 127.0.0.1, or https (`tls`: certificate and key files) as https://localhost:PORT."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
            status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.redirect_to or "/elsewhere")
            answer = b"ok" if status < 300 else b"invalid_token" if status < 500 else b"server error"
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        state.url = f"https://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def allow_loopback(settings: Any) -> None:
    """The product refuses plain http and private addresses by default; the receiver here is both."""
    settings.IAMREVIEW_NOTIFY_ALLOW_HTTP = True
    settings.IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES = True
    settings.IAMREVIEW_NOTIFY_RETRY_SECONDS = 30
    settings.IAMREVIEW_NOTIFY_MAX_ATTEMPTS = 6
    settings.SITE_URL = "https://iam.example.com"


def self_signed(directory: Path, name: str = "localhost") -> tuple[str, str]:
    """A certificate for the DNS name `name` only (not for 127.0.0.1), and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)
