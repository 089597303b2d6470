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
from findings.bulk import rows_update
from findings.identity_center import identity_center_store
from findings.ingest_digest import InputDigest, input_digest
from findings.lifecycle import findings_refresh
from findings.models import AccessKey, CredentialReportRow, Principal
from findings.organization import organization_store
from findings.snapshot import snapshot_store
from findings.snapshot_usage import as_datetime
from findings.usage_rows import usage_rows_read_once
from policy.gaad import GaadError

logger = logging.getLogger(__name__)


CATALOG_GAP_WARNING = "The action catalog does not know"


class RunReaped(Exception):
    """The reaper failed this run while its worker was still going: roll the snapshot back."""


def snapshot_ingest(
    *,
    account: LinkedAccount,
    collected: Collected,
    run: SyncRun,
    meter: SyncMeter | None = None,
    gaad_digest: str | None = None,
) -> dict[str, Any]:
    """Store `collected` as the account's snapshot, analyse it, refresh findings; the counts of each step.
    When its inputs are those of the account's latest successful sync (`findings.ingest_digest`), nothing
    is read back or written: the stored snapshot, analysis and findings are already theirs.

    Runs in the caller's transaction (all or nothing with the run's success). Suggestions are built by
    their own task once the snapshot is committed, so a sync's AWS calls stay bounded.
    """
    meter = meter or SyncMeter()
    digest, previous, unchanged = _unchanged_check(
        account=account, collected=collected, run=run, meter=meter, gaad_digest=gaad_digest
    )
    if unchanged is not None:
        unchanged["last_used_moved"] = last_used_refresh(account=account, gaad=collected.gaad)
        return unchanged
    with usage_rows_read_once():  # Access Advisor's rows: collected ones from memory, the rest read once
        return _ingest_changed(
            account=account, collected=collected, run=run, meter=meter, digest=digest, previous=previous
        )


def _ingest_changed(
    *,
    account: LinkedAccount,
    collected: Collected,
    run: SyncRun,
    meter: SyncMeter,
    digest: InputDigest,
    previous: dict[str, Any],
) -> dict[str, Any]:
    previous_outside = previous.get("outside_hash")
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
            # Inputs from outside the account's snapshot (other accounts, SCPs, settings, the day) moved:
            # no document of its own did, but its results may have.
            usage_changed=stored.usage_changed or previous_outside != digest.outside,
        )
        lifecycle = findings_refresh(
            account=account, outcome=outcome, run=run, collected_at=collected.collected_at
        )
    gaps = outcome.report.catalog_gaps if outcome.report is not None else {}
    if gaps:
        # Once per sync, not a finding per principal: AWS is newer than the action catalog.
        names = ", ".join(list(gaps)[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        meter.warnings.append(
            f"{CATALOG_GAP_WARNING} some actions of {len(gaps)} AWS managed "
            f"polic{'y' if len(gaps) == 1 else 'ies'} ({names}); an administrator installs a newer IAM "
            "definition on the Action catalog page (/catalog/) or with `manage.py catalog_refresh`."
        )
    if settings.IAMREVIEW_BUILD_SUGGESTIONS:
        jobs.enqueue("findings.tasks.suggestions_build_for_account", account.pk)
    return {
        **stored.counts,
        **outcome.counts(),
        **lifecycle,
        **identity_center_counts,
        "catalog_gaps": len(gaps),
        "input_hash": digest.total,
        "outside_hash": digest.outside,
        "gaad_digest": digest.gaad,
        "unchanged": False,
    }


def _unchanged_check(
    *, account: LinkedAccount, collected: Collected, run: SyncRun, meter: SyncMeter, gaad_digest: str | None
) -> tuple[InputDigest, dict[str, Any], dict[str, Any] | None]:
    """This sync's input digest, the latest successful run's counts, and this run's counts when its inputs
    are that run's (else None)."""
    with meter.timed("digest"):
        digest = input_digest(account=account, collected=collected, gaad_digest=gaad_digest)
        previous, warnings = _previous_run(account=account, run=run)
        unchanged = inputs_unchanged(account=account, previous=previous, digest=digest)
    if unchanged is not None:
        meter.warnings += [w for w in warnings if w.startswith(CATALOG_GAP_WARNING)]
    return digest, previous, unchanged


def import_same_file(*, account: LinkedAccount, file_sha256: str) -> bool:
    """The account's latest successful run imported a file with these bytes."""
    previous, _ = _previous_run(account=account, run=None)
    return bool(previous.get("gaad_digest")) and previous.get("file_sha256") == file_sha256


def import_unchanged(
    *, account: LinkedAccount, run: SyncRun, file_sha256: str, meter: SyncMeter
) -> dict[str, Any] | None:
    """`import_gaad` of a file byte for byte the one of the account's latest successful import: its counts
    when nothing else moved either (`findings.ingest_digest`), found without reading the file (memory and
    time do not grow with it); None when the file must be read and ingested."""
    previous, _ = _previous_run(account=account, run=run)
    if previous.get("file_sha256") != file_sha256 or not previous.get("gaad_digest"):
        return None
    _, _, unchanged = _unchanged_check(
        account=account,
        collected=Collected(gaad={}),
        run=run,
        meter=meter,
        gaad_digest=previous["gaad_digest"],
    )
    return unchanged


def _previous_run(*, account: LinkedAccount, run: SyncRun | None) -> tuple[dict[str, Any], list[str]]:
    """The counts and warnings of the account's latest successful sync or import before `run`."""
    last = (
        SyncRun.objects.filter(account=account, status="succeeded")
        .exclude(pk=getattr(run, "pk", None))
        .order_by("-finished_at")
        .values_list("counts", "warnings")
        .first()
    )
    return (last[0] or {}, last[1] or []) if last else ({}, [])


def inputs_unchanged(
    *, account: LinkedAccount, previous: dict[str, Any], digest: InputDigest
) -> dict[str, Any] | None:
    """The counts of a sync whose inputs equal those of the account's latest successful sync (`previous`,
    see `findings.ingest_digest`), or None when they moved and the snapshot must be stored and analysed.
    Suggestions are not built again either: they were built from this same snapshot."""
    if not previous or previous.get("input_hash") != digest.total:
        return None
    if Principal.objects.filter(account=account, analyzed_at__isnull=True).exists():
        return None  # a new organisation (or an interrupted analysis) left principals to analyse
    kept = (
        *("principals", "users", "roles", "groups", "managed_policies", "documents", "access_keys"),
        *("credential_rows", "last_accessed_rows", "analyzer_findings", "usage_hash", "catalog_gaps"),
        *("permission_sets",),
    )
    return {
        **{k: previous[k] for k in kept if k in previous},
        "added": 0,
        "removed": 0,
        "changed": 0,
        "first_seen": 0,
        "first_sync": False,
        "analyzed": 0,
        "updated": 0,
        "skipped": previous.get("principals", 0),
        "findings_created": 0,
        "findings_reopened": 0,
        "findings_resolved": 0,
        "input_hash": digest.total,
        "outside_hash": digest.outside,
        "gaad_digest": digest.gaad,
        "unchanged": True,
    }


def last_used_refresh(*, account: LinkedAccount, gaad: dict[str, Any]) -> int:
    """Roles whose last use (`RoleLastUsed`) moved within the day: their exact time and region, nothing
    else (the digest counts last use to the day). Returns how many roles were written."""
    seen = {
        item.get("Arn", ""): (
            as_datetime((item.get("RoleLastUsed") or {}).get("LastUsedDate")),
            (item.get("RoleLastUsed") or {}).get("Region") or "",
        )
        for item in gaad.get("RoleDetailList") or []
    }
    stored = Principal.objects.filter(account=account, kind="role").values_list(
        "pk", "arn", "last_used_at", "last_used_region"
    )
    moved = [
        Principal(pk=pk, last_used_at=seen[arn][0], last_used_region=seen[arn][1])
        for pk, arn, when, region in stored
        if arn in seen and (when, region) != seen[arn]
    ]
    rows_update(moved, ["last_used_at", "last_used_region"])
    return len(moved)


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
    rows_update(changed, ["last_used_at"])
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
