"""`manage.py import_gaad PATH --account ID`: store an authorization-details file as a snapshot, then analyse."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount, SyncRun, SyncStatus, account_id_validator
from accounts.sync import SyncMeter, sync_run_start_import, sync_run_succeed
from core.jobs import job_progress
from findings.ingest import import_same_file, import_unchanged, snapshot_ingest
from policy.gaad import GaadError
from policy.gaad_check import gaad_check, gaad_from_json


def _file_sha256(path: Path) -> str:
    """The file's SHA-256, read a megabyte at a time."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Command(BaseCommand):
    help = (
        "Store a get-account-authorization-details JSON file as the snapshot of an account (no AWS needed)."
    )
    # Django's system checks (templates, URLs, SSO libraries) take about 2 s and concern the web app, not
    # storing a file; `manage.py check` and every server start still run them.
    requires_system_checks: list[str] = []

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
        name = opts["name"] or f"imported {opts['account']}"
        limit = LinkedAccount._meta.get_field("name").max_length or 0
        if len(name) > limit or not name.isprintable():
            raise CommandError(f"--name: at most {limit} printable characters")
        path = opts["path"]
        try:
            file_sha256 = _file_sha256(Path(path))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        account = LinkedAccount.objects.filter(account_id=opts["account"]).first()
        created, run, data = False, None, None
        if account is not None and import_same_file(account=account, file_sha256=file_sha256):
            # Byte for byte the file of the account's latest import: when nothing else moved either, the
            # run is recorded without reading the file.
            run = self._start(account)
        else:
            # The whole file is read and checked before anything is written: a file that cannot be stored
            # leaves no account, no run and no snapshot behind.
            data = self._read(path)
            account, created = LinkedAccount.objects.get_or_create(
                account_id=opts["account"], defaults={"name": name, "enabled": False}
            )
            run = self._start(account)
        try:
            counts = self._store(account, data, run, file_sha256, path)
        except BaseException as exc:
            # Whatever stops the import (an error, Ctrl-C), its run is finished here: a run left
            # `running` would block every later sync and import of the account.
            message = str(exc) if isinstance(exc, GaadError) else f"{type(exc).__name__}: {exc}"
            SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
                status=SyncStatus.FAILED,
                error=f"{message}. Nothing was stored; the previous snapshot is still current.",
                finished_at=timezone.now(),
            )
            if isinstance(exc, Exception):
                raise CommandError(f"{path}: import failed ({message}); nothing was stored") from exc
            raise
        self.stdout.write(
            f"{'Created' if created else 'Updated'} account {account.account_id}: {counts['principals']} principals, "
            f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed, "
            f"{counts['findings_created']} new findings."
        )

    def _start(self, account: LinkedAccount) -> SyncRun:
        """The import's run, running from now; refused while a sync or import of the account is active."""
        run = sync_run_start_import(account=account)
        if run is None:
            active = SyncRun.objects.filter(
                account=account, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
            ).first()
            raise CommandError(
                f"account {account.account_id} has a sync or import in progress"
                f"{f' (run #{active.pk}, {active.status})' if active else ''}; try again when it has finished"
            )
        return run

    def _read(self, path: str) -> Any:
        try:
            data = gaad_from_json(Path(path).read_bytes())
            gaad_check(data)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except GaadError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        return data

    def _store(
        self, account: LinkedAccount, data: Any, run: SyncRun, file_sha256: str, path: str
    ) -> dict[str, Any]:
        """The same ingest as a live sync, and the run's success: one transaction, or none of it. `data`
        None: the file is the latest import's; it is read only when some other input moved."""
        meter = SyncMeter()
        with transaction.atomic():
            job_progress(run, "Storing the snapshot", 50)
            counts = None
            if data is None:
                counts = import_unchanged(account=account, run=run, file_sha256=file_sha256, meter=meter)
            if counts is None:
                data = data if data is not None else self._read(path)
                collected = Collected(gaad=data)
                counts = snapshot_ingest(account=account, collected=collected, run=run, meter=meter)
            counts["file_sha256"] = file_sha256
            if not sync_run_succeed(run=run, counts=counts, meter=meter):
                raise CommandError("the run was failed by the reaper while it ran (no progress for too long)")
        return counts
