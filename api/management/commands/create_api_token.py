"""Create an API token for a user and print it once (only its SHA-256 digest is stored)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.tokens import TokenError, token_create


class Command(BaseCommand):
    help = "Create an API token for USER and print it; it cannot be shown again. Acts as USER's role."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="created with manage.py", help="what will use the token")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="days until it expires (0: never; IAMREVIEW_API_TOKEN_DAYS)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user called {opts['username']!r}.")
        if opts["days"] is not None and opts["days"] < 0:
            raise CommandError("--days must be 0 or more.")
        try:
            token, raw = token_create(actor=None, user=user, name=opts["name"], days=opts["days"])
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        expires = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
        self.stderr.write(f"Token {token.prefix} for {user.get_username()} ({expires}); shown once:")
        self.stdout.write(raw)
