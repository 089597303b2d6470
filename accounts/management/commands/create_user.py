"""Create (or update) a user with one of the four roles; prints nothing secret."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.forms import validate_email_address
from accounts.roles import ROLE_GROUPS


class Command(BaseCommand):
    help = "Create or update a user holding one role: viewer, reviewer, approver or admin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.group_name for r in ROLE_GROUPS])
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", help="Defaults to reading DJANGO_USER_PASSWORD from the environment."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        import os

        password = opts["password"] or os.environ.get("DJANGO_USER_PASSWORD")
        if not password:
            raise CommandError("Give --password or set DJANGO_USER_PASSWORD.")
        if opts["email"]:
            try:
                validate_email_address(opts["email"])
            except ValidationError as exc:
                raise CommandError(f"--email {opts['email']!r}: {' '.join(exc.messages)}") from exc
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=opts["username"])
        user.email = opts["email"] or user.email
        user.set_password(password)
        user.is_staff = opts["role"] == "admin"
        user.save()
        user.groups.set([Group.objects.get(name=opts["role"])])
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.get_username()} with role {opts['role']}")
