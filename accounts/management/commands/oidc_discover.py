"""Print the IAMREVIEW_OIDC_* settings for a provider, read from its discovery document."""

from __future__ import annotations

from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError

FIELDS = (  # (setting, field of the discovery document)
    ("IAMREVIEW_OIDC_ISSUER", "issuer"),
    ("IAMREVIEW_OIDC_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
    ("IAMREVIEW_OIDC_TOKEN_ENDPOINT", "token_endpoint"),
    ("IAMREVIEW_OIDC_USERINFO_ENDPOINT", "userinfo_endpoint"),
    ("IAMREVIEW_OIDC_JWKS_ENDPOINT", "jwks_uri"),
)


class Command(BaseCommand):
    help = (
        "Read an OpenID Connect provider's /.well-known/openid-configuration and print the IAMREVIEW_OIDC_* "
        "lines for your environment (client id and secret are yours to add)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("issuer", help="the issuer URL, or the full URL of its discovery document")

    def handle(self, *args: Any, **opts: Any) -> None:
        url = opts["issuer"].rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise CommandError("Give the issuer's URL (https://...).")
        if not url.endswith("/.well-known/openid-configuration"):
            url += "/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=10)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"Could not read {url}: {exc}") from exc
        missing = [key for _, key in FIELDS if not document.get(key)]
        if missing:
            raise CommandError(f"{url} has no {', '.join(missing)}: is it an OpenID Connect provider?")
        for name, key in FIELDS:
            self.stdout.write(f"{name}={document[key]}")
        algorithms = document.get("id_token_signing_alg_values_supported") or []
        if "RS256" not in algorithms and algorithms:
            self.stdout.write(f"IAMREVIEW_OIDC_SIGN_ALGO={algorithms[0]}")
