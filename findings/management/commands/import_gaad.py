"""`manage.py import_gaad PATH --account ID`: store an authorization-details file as a snapshot, then analyse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun, SyncStatus, account_id_validator
from findings.analysis import account_analyze
from findings.lifecycle import findings_refresh
from findings.snapshot import Collected, snapshot_store
from policy.gaad import GaadError


class Command(BaseCommand):
    help = (
        "Store a get-account-authorization-details JSON file as the snapshot of an account (no AWS needed)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--account", required=True, help="12-digit account id")
        parser.add_argument("--name", default="", help="name for the account when it is not linked yet")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            account_id_validator(opts["account"])
        except Exception as exc:
            raise CommandError(
                f"--account {opts['account']!r}: an AWS account id is exactly 12 digits"
            ) from exc
        try:
            data = json.loads(Path(opts["path"]).read_text())
        except OSError as exc:
            raise CommandError(f"cannot read {opts['path']}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{opts['path']} is not JSON: {exc.msg} at line {exc.lineno}") from exc
        account, created = LinkedAccount.objects.get_or_create(
            account_id=opts["account"],
            defaults={"name": opts["name"] or f"imported {opts['account']}", "enabled": False},
        )
        run = SyncRun.objects.create(
            account=account, trigger="import", status=SyncStatus.RUNNING, started_at=timezone.now()
        )
        try:
            with transaction.atomic():
                stored = snapshot_store(account=account, collected=Collected(gaad=data), run=run)
                outcome = account_analyze(
                    account=account, details=stored.account_details, changed=stored.changed_principals
                )
                lifecycle = findings_refresh(account=account, outcome=outcome, run=run)
        except GaadError as exc:
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncStatus.FAILED, error=str(exc), finished_at=timezone.now()
            )
            raise CommandError(str(exc)) from exc
        counts = {**stored.counts, **outcome.counts(), **lifecycle}
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncStatus.SUCCEEDED, progress=100, step="Done", counts=counts, finished_at=timezone.now()
        )
        self.stdout.write(
            f"{'Created' if created else 'Updated'} account {account.account_id}: {counts['principals']} principals, "
            f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed, "
            f"{counts['findings_created']} new findings."
        )
