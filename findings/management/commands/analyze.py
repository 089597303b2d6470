"""`manage.py analyze PATH`: the engine's offline report (policy/cli.py); touches no database.

manage.py runs policy/cli.py before Django starts; this command keeps `analyze` in `manage.py help`
and callable through `call_command`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policy.cli import AnalyzeError, run


class Command(BaseCommand):
    help = "Analyze a get-account-authorization-details JSON file (no database, no AWS calls)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "path", help="JSON from `aws iam get-account-authorization-details`, or - for stdin"
        )
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument(
            "--indent", type=int, default=None, help="pretty-print JSON (slower on big accounts)"
        )
        parser.add_argument("--account", default="", help="account id, when the file's ARNs do not say")
        parser.add_argument(
            "--scp",
            action="append",
            default=[],
            help="an SCP level (repeatable, root first): one policy or a JSON list of them",
        )
        parser.add_argument(
            "--org-accounts",
            default="",
            help="comma-separated ids of the organisation's own accounts (trusting them needs no ExternalId)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            run(
                opts["path"],
                fmt=opts["format"],
                indent=opts["indent"],
                account=opts["account"],
                scps=opts["scp"],
                org_accounts=tuple(a.strip() for a in opts["org_accounts"].split(",") if a.strip()),
                out=self.stdout,
            )
        except AnalyzeError as exc:
            raise CommandError(str(exc)) from exc
