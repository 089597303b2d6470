"""Sync runs of an account: request one, claim it, collect everything from AWS, finish or fail it, reap it.

A run is a job row the UI polls (`core.jobs`). Collection holds everything AWS returns in memory and hands
it to the ingest service of `findings` (the app above this one), which stores it in one transaction, so a
run that fails (or a worker that dies) never leaves a half-written snapshot: the previous one stays current.
This app never imports `findings`: the task that runs a sync end to end is queued by its name, `SYNC_TASK`.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.aws.client import AwsAccessError, AwsSession, CallCounter
from accounts.aws.collect import (
    Collected,
    CredentialReportError,
    access_keys,
    analyzer_findings,
    authorization_details,
    credential_report,
    last_accessed,
    organization,
)
from accounts.aws.identity_center import permission_sets
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.services import aws_target
from core import jobs
from core.audit import audit_record
from core.jobs import job_claim, job_progress, stale_rows

logger = logging.getLogger(__name__)

# Collect (here), then ingest (findings): the task lives in the app above this one.
SYNC_TASK = "findings.tasks.sync_run_execute"


@dataclass
class SyncMeter:
    """What a run measures as it goes: API calls, seconds per step, warnings."""

    counter: CallCounter = field(default_factory=CallCounter)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        since = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - since, 3)

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.monotonic() - self.started, 3)}


def sync_run_request(
    *, account: LinkedAccount, trigger: str = "manual", actor: AbstractBaseUser | None = None
) -> tuple[SyncRun, bool]:
    """Queue a sync unless one is already queued or running for the account: (run, created)."""
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
    jobs.enqueue(SYNC_TASK, run.pk)
    return run, True


def sync_run_claim(run_id: int) -> SyncRun | None:
    """Queued -> running, for exactly one worker; None when another worker had it or it is finished."""
    claimed = job_claim(
        SyncRun.objects,
        pk=run_id,
        status=SyncStatus.QUEUED,
        to=SyncStatus.RUNNING,
        started_at=timezone.now(),
        worker=socket.gethostname()[:200],
    )
    return SyncRun.objects.select_related("account").get(pk=run_id) if claimed else None


def sync_run_start_import(*, account: LinkedAccount) -> SyncRun | None:
    """A running row for an offline import (no worker, no queue); None while another sync of the account
    is queued or running. Its heartbeat starts now, so the reaper fails it if the importing process dies."""
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                account=account,
                trigger="import",
                status=SyncStatus.RUNNING,
                started_at=timezone.now(),
                heartbeat_at=timezone.now(),
                worker=socket.gethostname()[:200],
            )
    except IntegrityError:
        return None


def sync_collect(*, run: SyncRun, meter: SyncMeter, session_factory: Any = None) -> Collected:
    """Everything the read-only role can see of the account, held in memory; progress 0-85 on the run."""
    account = run.account
    counter = meter.counter

    def progress(step: str, pct: int) -> None:
        job_progress(run, step, pct, api_calls=counter.as_dict())

    with meter.timed("assume_role"):
        job_progress(run, "Assuming the read-only role", 2)
        session = (session_factory or AwsSession)(aws_target(account), counter)
        iam = session.client("iam", pool=8)

    with meter.timed("authorization_details"):
        progress("Reading users, groups, roles and policies", 8)
        gaad = authorization_details(iam)

    with meter.timed("credential_report"):
        progress("Reading the credential report", 25)
        try:
            report_rows, generated = credential_report(iam, poll_seconds=settings.IAMREVIEW_POLL_MS / 1000)
        except CredentialReportError as exc:
            raise AwsAccessError(f"The credential report is malformed ({exc}); nothing was stored.") from exc

    with meter.timed("access_keys"):
        users_with_keys = [
            r["user"]
            for r in report_rows
            if r.get("user") != "<root_account>"
            and (r.get("access_key_1_active") or r.get("access_key_2_active"))
        ]
        progress(f"Listing access keys of {len(users_with_keys)} users", 32)
        keys = access_keys(iam, users_with_keys)

    arns = [
        item["Arn"]
        for key in ("UserDetailList", "RoleDetailList", "GroupDetailList")
        for item in gaad.get(key, [])
    ]

    def advisor_progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            progress(f"Access Advisor: {done} of {total} principals", 35 + int(45 * done / max(total, 1)))

    with meter.timed("access_advisor"):
        progress(f"Access Advisor: 0 of {len(arns)} principals", 35)
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
            meter.warnings.append(
                f"Access Advisor data missing for {len(failed)} principal(s): {next(iter(failed.values()))}"
            )

    with meter.timed("access_analyzer"):
        progress("Reading IAM Access Analyzer findings", 82)
        _, analyzer = analyzer_findings(session.client("accessanalyzer"))

    org = identity_center = None
    if account.reads_organization:
        with meter.timed("organization"):
            progress("Reading the organisation's OU tree, SCPs and RCPs", 84)
            org = organization(session.client("organizations"))
        with meter.timed("identity_center"):
            progress("Reading IAM Identity Center's permission sets", 86)
            try:
                identity_center = permission_sets(session.client("sso-admin"))
            except AwsAccessError as exc:
                # Optional: the rest of the sync stands; the permission sets stored before stay.
                meter.warnings.append(
                    f"IAM Identity Center was not read: {exc} The permission sets stored before are kept."
                )

    return Collected(
        organization=org,
        identity_center=identity_center,
        gaad=gaad,
        credential_rows=report_rows,
        credential_generated_at=generated,
        access_keys=keys,
        # Principals whose job failed keep their previous last-accessed rows.
        last_accessed={a: r.services for a, r in advisor.items() if not r.error},
        analyzer_findings=analyzer,
    )


def sync_run_succeed(*, run: SyncRun, counts: dict[str, Any], meter: SyncMeter) -> bool:
    """Running -> succeeded; False when the reaper already failed the run (the caller must then roll the
    snapshot back, so that the reaper's "nothing was stored" stays true)."""
    return bool(
        SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.SUCCEEDED,
            step="Done",
            progress=100,
            counts=counts,
            api_calls=meter.counter.as_dict(),
            timings=meter.total(),
            warnings=meter.warnings,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    )


def sync_run_fail(*, run: SyncRun, message: str, meter: SyncMeter | None = None) -> None:
    """Failed with the reason in words; audited. The previous snapshot stays current."""
    meter = meter or SyncMeter()
    # The status and its audit entry together, as for every end of a job: a worker killed in between left
    # a failed sync the audit log never heard of (the fault campaign found one).
    with transaction.atomic():
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncStatus.FAILED,
            step="Failed",
            error=message,
            api_calls=meter.counter.as_dict(),
            timings=meter.timings,
            warnings=meter.warnings,
            finished_at=timezone.now(),
        )
        audit_record(
            actor=None, action="sync.fail", obj=run, account_id=run.account.account_id, summary=message[:500]
        )


def sync_runs_reap_stale(*, now: datetime | None = None) -> int:
    """Fail runs whose worker stopped beating, and runs no worker ever started, so the account can sync
    again. Each is audited like any failed sync."""
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
    # A task the broker lost, or a worker died holding it unacked, would block the account for good.
    never = SyncRun.objects.filter(status=SyncStatus.QUEUED, created_at__lt=now - queued_max)
    candidates = [
        (
            SyncStatus.RUNNING,
            list(stale_rows(SyncRun.objects, status=SyncStatus.RUNNING, now=now)),
            lost_worker,
        ),
        (SyncStatus.QUEUED, list(never), never_started),
    ]
    count = 0
    for status, runs, message in candidates:
        for run in runs:
            with transaction.atomic():  # failed and audited together (`sync_run_fail`)
                if SyncRun.objects.filter(pk=run.pk, status=status).update(
                    status=SyncStatus.FAILED, step="Failed", finished_at=now, error=message
                ):
                    audit_record(
                        actor=None,
                        action="sync.fail",
                        obj=run,
                        summary=message[:500],
                    )
                    count += 1
    return count


def accounts_due(*, now: datetime | None = None) -> list[LinkedAccount]:
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


def accounts_sync_due() -> int:
    """Queue a sync of every account that is due; the number queued."""
    queued = 0
    for account in accounts_due():
        _, created = sync_run_request(account=account, trigger="schedule")
        queued += int(created)
    return queued
