"""The one ingest pipeline: what a sync collected (or a file an import read) becomes the account's snapshot,
its analysis, its findings and, after commit, its suggestions. A live sync and `import_gaad` both call
`snapshot_ingest`; `sync_run_execute` is a live sync end to end (collect in `accounts`, ingest here)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.aws.client import AwsAccessError
from accounts.aws.collect import Collected
from accounts.models import LinkedAccount, SyncRun
from accounts.sync import SyncMeter, sync_collect, sync_run_claim, sync_run_fail, sync_run_succeed
from core import jobs
from core.jobs import job_progress
from findings.analysis import account_analyze
from findings.identity_center import identity_center_store
from findings.lifecycle import findings_refresh
from findings.models import AccessKey, CredentialReportRow, Principal
from findings.organization import organization_store
from findings.snapshot import snapshot_store
from policy.gaad import GaadError

logger = logging.getLogger(__name__)


class RunReaped(Exception):
    """The reaper failed this run while its worker was still going: roll the snapshot back."""


def snapshot_ingest(
    *, account: LinkedAccount, collected: Collected, run: SyncRun, meter: SyncMeter | None = None
) -> dict[str, Any]:
    """Store `collected` as the account's snapshot, analyse it, refresh findings; the counts of each step.

    Runs in the caller's transaction (all or nothing with the run's success). Suggestions are built by
    their own task once the snapshot is committed, so a sync's AWS calls stay bounded.
    """
    meter = meter or SyncMeter()
    with meter.timed("store"):
        stored = snapshot_store(account=account, collected=collected, run=run)
        if collected.organization is not None:
            organization_store(
                account=account, org=collected.organization, run=run, collected_at=collected.collected_at
            )
        identity_center_counts: dict[str, int] = {}
        if collected.identity_center is not None:
            identity_center_counts = identity_center_store(
                account=account, data=collected.identity_center, run=run, collected_at=collected.collected_at
            )
        users_last_used_store(account=account)
    with meter.timed("analyze"):
        outcome = account_analyze(
            account=account,
            details=stored.account_details,
            changed=stored.changed_principals,
            usage_changed=stored.usage_changed,
        )
        lifecycle = findings_refresh(account=account, outcome=outcome, run=run)
    gaps = outcome.report.catalog_gaps if outcome.report is not None else {}
    if gaps:
        # Once per sync, not a finding per principal: AWS is newer than the action catalog.
        names = ", ".join(list(gaps)[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        meter.warnings.append(
            f"The action catalog does not know some actions of {len(gaps)} AWS managed "
            f"polic{'y' if len(gaps) == 1 else 'ies'} ({names}); `manage.py catalog_refresh` installs a "
            "newer IAM definition."
        )
    if settings.IAMREVIEW_BUILD_SUGGESTIONS:
        jobs.enqueue("findings.tasks.suggestions_build_for_account", account.pk)
    return {
        **stored.counts,
        **outcome.counts(),
        **lifecycle,
        **identity_center_counts,
        "catalog_gaps": len(gaps),
    }


def users_last_used_store(*, account: LinkedAccount) -> int:
    """A user's "last used": the latest of its password's last use (credential report) and its access
    keys' (IAM has no RoleLastUsed for users). Returns how many users changed."""
    latest: dict[str, datetime] = {}
    for arn, values in CredentialReportRow.objects.filter(account=account, is_root=False).values_list(
        "arn", "values"
    ):
        try:
            when = parse_datetime(str((values or {}).get("password_last_used") or ""))
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            latest[arn] = when
    for arn, when in AccessKey.objects.filter(
        principal__account=account, last_used_at__isnull=False
    ).values_list("principal__arn", "last_used_at"):
        latest[arn] = max(when, latest.get(arn, when))
    users = list(Principal.objects.filter(account=account, kind="user"))
    changed = [u for u in users if u.last_used_at != latest.get(u.arn)]
    for u in changed:
        u.last_used_at = latest.get(u.arn)
    Principal.objects.bulk_update(changed, ["last_used_at"], batch_size=500)
    return len(changed)


def sync_run_execute(*, run_id: int, session_factory: Any = None) -> SyncRun | None:
    """Claim and run one sync. Returns the finished run, or None when it was not ours to run."""
    run = sync_run_claim(run_id)
    if run is None:
        return None
    account = run.account
    meter = SyncMeter()
    try:
        collected = sync_collect(run=run, meter=meter, session_factory=session_factory)
        job_progress(run, "Storing the snapshot", 88, api_calls=meter.counter.as_dict())
        with transaction.atomic():
            counts = snapshot_ingest(account=account, collected=collected, run=run, meter=meter)
            counts["api_calls"] = meter.counter.total
            # Success is recorded in the same transaction as the snapshot: a worker killed at any moment
            # leaves either both or neither.
            if not sync_run_succeed(run=run, counts=counts, meter=meter):
                raise RunReaped
    except RunReaped:
        logger.warning(
            "sync %s of %s was failed by the reaper while running; its snapshot was not stored",
            run.pk,
            account.account_id,
        )
    except (AwsAccessError, GaadError) as exc:
        sync_run_fail(run=run, message=str(exc), meter=meter)
    except Exception as exc:
        logger.exception("sync %s of %s failed", run.pk, account.account_id)
        sync_run_fail(
            run=run,
            message=f"Unexpected error ({type(exc).__name__}: {exc}). The previous snapshot is still current.",
            meter=meter,
        )
    run.refresh_from_db()
    return run
