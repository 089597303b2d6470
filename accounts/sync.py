"""Sync runs: request one, claim it atomically, collect, store in one transaction, analyse.

A run is a row the UI polls. Everything AWS returns is held in memory until the end, so a run that fails
(or a worker that dies) never leaves a half-written snapshot: the previous one stays current.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.aws.client import AwsAccessError, AwsSession, AwsTarget, CallCounter
from accounts.aws.collect import (
    CredentialReportError,
    access_keys,
    analyzer_findings,
    authorization_details,
    credential_report,
    last_accessed,
)
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from findings.audit import audit_record
from policy.gaad import GaadError

logger = logging.getLogger(__name__)


class RunReaped(Exception):
    """The reaper failed this run while its worker was still going: roll the snapshot back."""


def stale_after() -> timedelta:
    """How long a sync or apply may go without reporting before its worker is taken for dead."""
    return timedelta(seconds=settings.IAMREVIEW_STALE_SECONDS)


def aws_target(account: LinkedAccount, *, apply: bool = False) -> AwsTarget:
    role = account.apply_role_arn if apply and account.apply_role_arn else account.role_arn
    region = (account.regions or [settings.AWS_DEFAULT_REGION])[0]
    return AwsTarget(
        account_id=account.account_id,
        role_arn=role,
        external_id=account.external_id,
        region=region,
        endpoint_url=settings.AWS_ENDPOINT_URL,
        max_attempts=settings.AWS_MAX_ATTEMPTS,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )


def sync_run_request(
    *, account: LinkedAccount, trigger: str = "manual", actor: AbstractBaseUser | None = None
) -> tuple[SyncRun, bool]:
    """Queue a sync unless one is already queued or running for the account: (run, created)."""
    from accounts.tasks import sync_account

    try:
        with transaction.atomic():
            run = SyncRun.objects.create(account=account, trigger=trigger, requested_by=actor)
    except IntegrityError:
        return SyncRun.objects.get(account=account, status__in=["queued", "running"]), False
    if actor is not None:
        audit_record(
            actor=actor,
            action="sync.request",
            obj=run,
            account_id=account.account_id,
            summary=f"Requested a sync of {account}",
        )
    transaction.on_commit(lambda: sync_account.delay(run.pk))
    return run, True


def _progress(run: SyncRun, step: str, progress: int, **extra: Any) -> None:
    run.step = step
    run.progress = max(0, min(100, progress))
    run.heartbeat_at = timezone.now()
    fields = ["step", "progress", "heartbeat_at", *extra]
    for name, value in extra.items():
        setattr(run, name, value)
    SyncRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in fields})


def sync_run_claim(run_id: int) -> SyncRun | None:
    """Queued -> running, for exactly one worker; None when another worker had it or it is finished."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, started_at=now, heartbeat_at=now, worker=socket.gethostname()[:200]
    )
    if claimed != 1:
        return None
    return SyncRun.objects.select_related("account").get(pk=run_id)


def sync_run_execute(*, run_id: int, session_factory: Any = None) -> SyncRun | None:
    """Claim and run one sync. Returns the finished run, or None when it was not ours to run."""
    from findings.analysis import account_analyze
    from findings.lifecycle import findings_refresh
    from findings.snapshot import Collected, snapshot_store

    run = sync_run_claim(run_id)
    if run is None:
        return None
    account = run.account
    counter = CallCounter()
    timings: dict[str, float] = {}
    warnings: list[str] = []
    started = time.monotonic()

    def timed(name: str, since: float) -> float:
        timings[name] = round(time.monotonic() - since, 3)
        return time.monotonic()

    try:
        t = time.monotonic()
        _progress(run, "Assuming the read-only role", 2)
        session = (session_factory or AwsSession)(aws_target(account), counter)
        iam = session.client("iam", pool=8)
        t = timed("assume_role", t)

        _progress(run, "Reading users, groups, roles and policies", 8, api_calls=counter.as_dict())
        gaad = authorization_details(iam)
        t = timed("authorization_details", t)

        _progress(run, "Reading the credential report", 25, api_calls=counter.as_dict())
        try:
            report_rows, generated = credential_report(iam, poll_seconds=settings.IAMREVIEW_POLL_MS / 1000)
        except CredentialReportError as exc:
            raise AwsAccessError(f"The credential report is malformed ({exc}); nothing was stored.") from exc
        t = timed("credential_report", t)

        users_with_keys = [
            r["user"]
            for r in report_rows
            if r.get("user") != "<root_account>"
            and (r.get("access_key_1_active") or r.get("access_key_2_active"))
        ]
        _progress(
            run, f"Listing access keys of {len(users_with_keys)} users", 32, api_calls=counter.as_dict()
        )
        keys = access_keys(iam, users_with_keys)
        t = timed("access_keys", t)

        arns = [
            item["Arn"]
            for key in ("UserDetailList", "RoleDetailList", "GroupDetailList")
            for item in gaad.get(key, [])
        ]

        def advisor_progress(done: int, total: int) -> None:
            if done == total or done % max(1, total // 20) == 0:
                _progress(
                    run,
                    f"Access Advisor: {done} of {total} principals",
                    35 + int(45 * done / max(total, 1)),
                    api_calls=counter.as_dict(),
                )

        _progress(run, f"Access Advisor: 0 of {len(arns)} principals", 35, api_calls=counter.as_dict())
        advisor = last_accessed(
            iam,
            arns,
            concurrency=settings.IAMREVIEW_ADVISOR_CONCURRENCY,
            poll=settings.IAMREVIEW_POLL_MS / 1000,
            max_wait=settings.IAMREVIEW_ADVISOR_MAX_WAIT,
            progress=advisor_progress,
        )
        failed = {a: r.error for a, r in advisor.items() if r.error}
        if failed:
            warnings.append(
                f"Access Advisor data missing for {len(failed)} principal(s): {next(iter(failed.values()))}"
            )
        t = timed("access_advisor", t)

        _progress(run, "Reading IAM Access Analyzer findings", 82, api_calls=counter.as_dict())
        _, analyzer = analyzer_findings(session.client("accessanalyzer"))
        t = timed("access_analyzer", t)

        _progress(run, "Storing the snapshot", 88, api_calls=counter.as_dict())
        collected = Collected(
            gaad=gaad,
            credential_rows=report_rows,
            credential_generated_at=generated,
            access_keys=keys,
            # Principals whose job failed keep their previous last-accessed rows.
            last_accessed={a: r.services for a, r in advisor.items() if not r.error},
            analyzer_findings=analyzer,
        )
        with transaction.atomic():
            stored = snapshot_store(account=account, collected=collected, run=run)
            t = timed("store", t)
            outcome = account_analyze(
                account=account,
                details=stored.account_details,
                changed=stored.changed_principals,
                usage_changed=stored.usage_changed,
            )
            lifecycle = findings_refresh(account=account, outcome=outcome, run=run)
            t = timed("analyze", t)
            counts = {**stored.counts, **outcome.counts(), **lifecycle, "api_calls": counter.total}
            # Success is recorded in the same transaction as the snapshot: a worker killed at any moment
            # leaves either both or neither. A run the reaper already failed (its worker looked dead)
            # stores nothing, so what it says ("nothing was stored") stays true.
            recorded = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
                status=SyncStatus.SUCCEEDED,
                step="Done",
                progress=100,
                counts=counts,
                api_calls=counter.as_dict(),
                timings={**timings, "total": round(time.monotonic() - started, 3)},
                warnings=warnings,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
            )
            if not recorded:
                raise RunReaped
        if settings.IAMREVIEW_BUILD_SUGGESTIONS:
            from findings.tasks import build_suggestions

            transaction.on_commit(lambda: build_suggestions.delay(account.pk))
    except RunReaped:
        logger.warning(
            "sync %s of %s was failed by the reaper while running; its snapshot was not stored",
            run.pk,
            account.account_id,
        )
    except (AwsAccessError, GaadError) as exc:
        _fail(run, str(exc), counter, timings, warnings)
    except Exception as exc:
        logger.exception("sync %s of %s failed", run.pk, account.account_id)
        _fail(
            run,
            f"Unexpected error ({type(exc).__name__}: {exc}). The previous snapshot is still current.",
            counter,
            timings,
            warnings,
        )
    run.refresh_from_db()
    return run


def _fail(
    run: SyncRun, message: str, counter: CallCounter, timings: dict[str, float], warnings: list[str]
) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncStatus.FAILED,
        error=message,
        api_calls=counter.as_dict(),
        timings=timings,
        warnings=warnings,
        finished_at=timezone.now(),
    )
    audit_record(
        actor=None, action="sync.fail", obj=run, account_id=run.account.account_id, summary=message[:500]
    )


def sync_runs_reap_stale(*, now: Any = None) -> int:
    """Fail runs whose worker stopped writing progress, and runs no worker ever started, so the account
    can sync again. Each is audited like any failed sync."""
    now = now or timezone.now()
    lost_worker = (
        "The worker stopped during this sync (killed or restarted). Nothing was stored; the previous "
        "snapshot is still current. The next scheduled sync will run normally."
    )
    never_started = (
        "No worker started this sync (the worker holding it was lost, or none is running). Nothing was "
        "stored; the previous snapshot is still current. Check that a worker runs; the next sync will start."
    )
    queued_max = timedelta(seconds=settings.IAMREVIEW_QUEUED_MAX_SECONDS)
    candidates = [
        (SyncStatus.RUNNING, Q(heartbeat_at__lt=now - stale_after()), lost_worker),
        # A task the broker lost, or a worker died holding unacked, would block the account for good.
        (SyncStatus.QUEUED, Q(created_at__lt=now - queued_max), never_started),
    ]
    count = 0
    for status, stale, message in candidates:
        for run in SyncRun.objects.filter(stale, status=status).select_related("account"):
            if SyncRun.objects.filter(pk=run.pk, status=status).update(
                status=SyncStatus.FAILED, finished_at=now, error=message
            ):
                audit_record(
                    actor=None,
                    action="sync.fail",
                    obj=run,
                    account_id=run.account.account_id,
                    summary=message[:500],
                )
                count += 1
    return count


def accounts_due(*, now: Any = None) -> list[LinkedAccount]:
    """Enabled accounts whose last sync started longer ago than their interval (or never synced)."""
    now = now or timezone.now()
    due = []
    for account in LinkedAccount.objects.filter(enabled=True):
        last = account.sync_runs.order_by("-created_at").first()
        if last is None or (
            not last.is_active and last.created_at <= now - timedelta(minutes=account.sync_interval_minutes)
        ):
            due.append(account)
    return due
