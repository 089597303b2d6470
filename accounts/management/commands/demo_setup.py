"""Link the demo organisation's accounts and run their first sync, printing progress (used by `make demo`)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import LinkedAccount, SyncRun
from accounts.sync import sync_run_request
from fakeaws.demo import DEMO_ACCOUNTS


class Command(BaseCommand):
    help = "Link the demo accounts (prod, staging, sandbox) and wait for their first sync."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=int, default=600)

    def handle(self, *args: Any, **opts: Any) -> None:
        runs = []
        for account_id, name in DEMO_ACCOUNTS:
            account, _ = LinkedAccount.objects.get_or_create(
                account_id=account_id,
                defaults={
                    "name": name,
                    "role_arn": f"arn:aws:iam::{account_id}:role/iamreview-read",
                    "apply_role_arn": f"arn:aws:iam::{account_id}:role/iamreview-apply",
                    "regions": ["us-east-1"],
                    "sync_interval_minutes": 360,
                },
            )
            run, _ = sync_run_request(account=account, trigger="manual")
            runs.append(run)
        deadline = time.monotonic() + opts["timeout"]
        shown = ""
        while True:
            for run in runs:
                run.refresh_from_db()
            line = "  ".join(f"{r.account.name}: {r.status} {r.progress:3d}% {r.step[:40]}" for r in runs)
            if line != shown:
                self.stdout.write(f"[demo] {line}")
                shown = line
            if all(not r.is_active for r in runs):
                break
            if time.monotonic() > deadline:
                raise CommandError("the first sync did not finish in time; see var/log/worker.log")
            time.sleep(1)
        failed = [r for r in runs if r.status != "succeeded"]
        if failed:
            raise CommandError("; ".join(f"{r.account.name}: {r.error}" for r in failed))
        total = sum(int(SyncRun.objects.get(pk=r.pk).counts.get("principals", 0)) for r in runs)
        self.stdout.write(f"[demo] synced {len(runs)} accounts, {total} principals")
