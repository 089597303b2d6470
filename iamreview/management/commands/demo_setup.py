"""Link the demo organisation's accounts and run their first sync, printing progress (used by `make demo`)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import LinkedAccount, SyncRun
from accounts.product_roles import ACCESS_ROLE_NAME
from accounts.sync import sync_run_request
from fakeaws.demo import DEMO_ACCOUNTS, MANAGEMENT, PROD, SANDBOX, demo_external_id
from fakeaws.scenario import trail_arn

# Sync waves: the management account's organisation caps the members' analyses, and staging's path to
# prod's administrator is found once prod is analysed.
WAVES = [{MANAGEMENT}, {PROD}]


class Command(BaseCommand):
    help = "Link the demo organisation's accounts (management, prod, staging, sandbox) and wait for their first sync."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=int, default=600)

    def handle(self, *args: Any, **opts: Any) -> None:
        deadline = time.monotonic() + opts["timeout"]
        runs: list[SyncRun] = []
        remaining = [a for a, _ in DEMO_ACCOUNTS]
        for wave in [*WAVES, set(remaining)]:
            batch = []
            for account_id, name in DEMO_ACCOUNTS:
                if account_id not in wave or account_id not in remaining:
                    continue
                remaining.remove(account_id)
                account, _ = LinkedAccount.objects.get_or_create(
                    account_id=account_id,
                    defaults={
                        "name": name,
                        "external_id": demo_external_id(account_id),
                        "role_arn": f"arn:aws:iam::{account_id}:role/iamreview-read",
                        # Sandbox IAM changes go through the platform pipeline (its SCP denies IAM writes
                        # to all but that pipeline's role and the product's roles): review only, no apply.
                        "apply_role_arn": ""
                        if account_id == SANDBOX
                        else f"arn:aws:iam::{account_id}:role/iamreview-apply",
                        "reads_organization": account_id == MANAGEMENT,
                        # Evidence of use from the demo's trail: policy generation and LookupEvents.
                        "cloudtrail_trail_arn": trail_arn(account_id),
                        "policy_generation_role_arn": f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}",
                        "cloudtrail_lookup": True,
                        "regions": ["us-east-1"],
                        "sync_interval_minutes": 360,
                    },
                )
                run, _ = sync_run_request(account=account, trigger="manual")
                batch.append(run)
            self._wait(batch, deadline)
            runs += batch
        failed = [r for r in runs if r.status != "succeeded"]
        if failed:
            raise CommandError("; ".join(f"{r.account.name}: {r.error}" for r in failed))
        total = sum(int(SyncRun.objects.get(pk=r.pk).counts.get("principals", 0)) for r in runs)
        self.stdout.write(f"[demo] synced {len(runs)} accounts, {total} principals")
        self._backfill_history([r.account for r in runs])
        self._send_a_digest()
        # The first evidence collection (policy generation, LookupEvents); beat carries on every 5 minutes.
        from findings.evidence import evidence_tick

        self.stdout.write(f"[demo] queued {evidence_tick()} evidence collection job(s)")

    def _wait(self, runs: list[SyncRun], deadline: float) -> None:
        shown = ""
        while True:
            for run in runs:
                run.refresh_from_db()
            line = "  ".join(f"{r.account.name}: {r.status} {r.progress:3d}% {r.step[:40]}" for r in runs)
            if line != shown:
                self.stdout.write(f"[demo] {line}")
                shown = line
            if all(not r.is_active for r in runs):
                return
            if time.monotonic() > deadline:
                raise CommandError("the first sync did not finish in time; see var/log/worker.log")
            time.sleep(1)

    def _send_a_digest(self) -> None:
        """Demo only: the manager subscribes to the weekly digest and gets this week's at once."""
        from datetime import timedelta

        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from accounts.models import Profile
        from findings.digest import digest_send

        manager = get_user_model().objects.filter(username="manager").first()
        if manager is None:
            return
        profile, _ = Profile.objects.get_or_create(user=manager)
        profile.digest_frequency = Profile.DigestFrequency.WEEKLY
        profile.digest_min_severity = "critical"
        profile.last_digest_at = timezone.now() - timedelta(days=7)
        profile.save()
        claim = digest_send(profile=profile)
        if claim is not None and claim.sent_at is not None:
            self.stdout.write("[demo] sent the manager's weekly digest (see var/mail/)")

    def _backfill_history(self, accounts: list[LinkedAccount]) -> None:
        """Demo only: 120 days of daily figures leading to today's, so the trends page has a story to tell
        (a slowly improving organisation with a bad week in the middle)."""
        import random
        from datetime import timedelta

        from django.utils import timezone

        from findings.models import DailyMetric

        # Synthetic demo trend history, not security.
        rng = random.Random(7)  # nosec B311
        today = timezone.localdate()
        for account in accounts:
            current = DailyMetric.objects.filter(account=account, date=today).first()
            if current is None:
                continue
            rows = []
            for back in range(1, 121):
                worse = 1 + back / 160 + (0.25 if 50 <= back <= 56 else 0) + rng.uniform(-0.03, 0.03)
                rows.append(
                    DailyMetric(
                        account=account,
                        date=today - timedelta(days=back),
                        principals=current.principals,
                        users=current.users,
                        roles=current.roles,
                        groups=current.groups,
                        admins=max(1, round(current.admins * worse)),
                        high_risk=round(current.high_risk * worse),
                        score_mean=round(current.score_mean * worse, 1),
                        score_p90=min(100.0, round(current.score_p90 * worse, 1)),
                        score_histogram=current.score_histogram,
                        open_by_severity={k: round(v * worse) for k, v in current.open_by_severity.items()},
                        open_by_kind=current.open_by_kind,
                        unused_permissions=round(current.unused_permissions * worse),
                        old_keys=round(current.old_keys * worse),
                    )
                )
            DailyMetric.objects.bulk_create(rows, ignore_conflicts=True)
        self.stdout.write("[demo] recorded 120 days of trend history")
