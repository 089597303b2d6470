"""Collecting evidence of use from CloudTrail in the worker, as job rows (`EvidenceJob`).

A beat tick (`evidence_tick`) reaps jobs whose worker died, polls the policy generations AWS has not
finished, and starts new work:
- one IAM Access Analyzer policy generation at a time per account (AWS runs one), at most
  IAMREVIEW_GENERATION_DAILY_QUOTA (50, AWS's quota) started per account in any 24 hours, for the
  principal whose evidence is oldest (never collected first): every principal gets its turn;
- where the account asks for it, one CloudTrail LookupEvents sweep, from where the last one stopped
  (at most 90 days back, all LookupEvents keeps).
What a job found replaces (generation) or adds to (lookup) the principal's `EvidenceRecord` rows, and the
account's suggestions are rebuilt with it; a job that cannot read AWS fails with the reason, and the page
shows it.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.aws import evidence as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.models import LinkedAccount
from accounts.services import aws_target
from core import jobs
from core.audit import audit_record
from core.jobs import job_claim, job_progress, stale_rows
from findings.evidence_models import (
    ACTIVE_EVIDENCE_STATUSES,
    EvidenceJob,
    EvidenceJobKind,
    EvidenceJobStatus,
    EvidenceRecord,
)
from findings.models import Principal
from policy.evidence import EvidenceSource

RUN_TASK = "findings.tasks.evidence_job_run"
REBUILD_TASK = "findings.tasks.suggestions_build_for_account"
WINDOW = timedelta(days=90)  # the most policy generation and LookupEvents can look back
LOOKUP_EVERY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=6)  # a generation AWS has not finished by then is cancelled


def _quota() -> int:
    return int(getattr(settings, "IAMREVIEW_GENERATION_DAILY_QUOTA", 50))


def _finish(job: EvidenceJob, status: str, *, error: str = "", rows: int = 0) -> None:
    EvidenceJob.objects.filter(pk=job.pk).update(
        status=status,
        error=error[:2000],
        rows=rows,
        finished_at=timezone.now(),
        step=status.title(),
        progress=100,
    )
    if status == EvidenceJobStatus.SUCCEEDED and rows:
        # New evidence changes what the suggestions keep and narrow: rebuild the account's (a suggestion
        # whose evidence did not change is reused as it is).
        jobs.enqueue(REBUILD_TASK, job.account_id)
    audit_record(
        actor=None,
        action=f"evidence.{job.kind}_{'done' if status == EvidenceJobStatus.SUCCEEDED else 'fail'}",
        obj=job,
        account_id=job.account.account_id,
        summary=(
            f"{job.get_kind_display()} #{job.pk}"
            + (f" for {job.principal.arn}" if job.principal else "")
            + (f": {rows} evidence row(s)" if not error else f" failed: {error[:300]}")
        ),
    )


def next_principal(account: LinkedAccount) -> Principal | None:
    """The principal whose CloudTrail evidence is oldest (never collected first), users and roles only."""
    newest = Max(
        "evidence_jobs__finished_at",
        filter=Q(
            evidence_jobs__kind=EvidenceJobKind.GENERATION,
            evidence_jobs__status__in=[EvidenceJobStatus.SUCCEEDED, EvidenceJobStatus.FAILED],
        ),
    )
    candidates = (
        Principal.objects.filter(account=account, kind__in=["user", "role"])
        .exclude(path__startswith="/aws-service-role/")
        .annotate(newest=newest)
        .order_by(models_nulls_first("newest"), "id")
    )
    return candidates.first()


def models_nulls_first(field: str) -> Any:
    from django.db.models import F

    return F(field).asc(nulls_first=True)


def generations_today(account: LinkedAccount, now: datetime) -> int:
    return EvidenceJob.objects.filter(
        account=account, kind=EvidenceJobKind.GENERATION, created_at__gte=now - timedelta(days=1)
    ).count()


def _create(
    account: LinkedAccount, kind: str, principal: Principal | None, start: datetime, end: datetime
) -> EvidenceJob | None:
    try:
        with transaction.atomic():
            job = EvidenceJob.objects.create(
                account=account,
                principal=principal,
                kind=kind,
                window_start=start,
                window_end=end,
                step="Queued",
            )
    except IntegrityError:
        return None  # another tick queued one first: one at a time per account
    audit_record(
        actor=None,
        action=f"evidence.{kind}_start",
        obj=job,
        account_id=account.account_id,
        summary=f"Queued {job.get_kind_display()} #{job.pk}" + (f" for {principal.arn}" if principal else ""),
    )
    jobs.enqueue(RUN_TASK, job.pk)
    return job


def evidence_schedule(*, now: datetime | None = None) -> list[EvidenceJob]:
    """Queue what may start now: per account, a generation within the quota, and a lookup sweep when due."""
    now = now or timezone.now()
    queued: list[EvidenceJob] = []
    for account in LinkedAccount.objects.filter(enabled=True):
        active = set(
            EvidenceJob.objects.filter(account=account, status__in=ACTIVE_EVIDENCE_STATUSES).values_list(
                "kind", flat=True
            )
        )
        if (
            account.cloudtrail_trail_arn
            and account.policy_generation_role_arn
            and EvidenceJobKind.GENERATION not in active
            and generations_today(account, now) < _quota()
        ):
            principal = next_principal(account)
            if principal is not None:
                job = _create(account, EvidenceJobKind.GENERATION, principal, now - WINDOW, now)
                queued += [job] if job else []
        if account.cloudtrail_lookup and EvidenceJobKind.LOOKUP not in active:
            last = (
                EvidenceJob.objects.filter(
                    account=account, kind=EvidenceJobKind.LOOKUP, status=EvidenceJobStatus.SUCCEEDED
                )
                .order_by("-window_end")
                .first()
            )
            if last is None or last.window_end <= now - LOOKUP_EVERY:
                start = max(last.window_end if last else now - WINDOW, now - WINDOW)
                job = _create(account, EvidenceJobKind.LOOKUP, None, start, now)
                queued += [job] if job else []
    return queued


def evidence_tick(*, now: datetime | None = None) -> int:
    """Beat: reap, poll what AWS is still generating, then schedule."""
    now = now or timezone.now()
    evidence_jobs_reap_stale(now=now)
    for job in EvidenceJob.objects.filter(status=EvidenceJobStatus.WAITING):
        jobs.enqueue(RUN_TASK, job.pk)
    return len(evidence_schedule(now=now))


def evidence_jobs_reap_stale(*, now: datetime | None = None) -> int:
    """Running jobs whose worker died: a generation AWS accepted waits to be polled again; anything else
    fails with the reason. Waiting generations AWS never finishes are cancelled after GIVE_UP_AFTER."""
    now = now or timezone.now()
    count = 0
    for job in stale_rows(EvidenceJob.objects, status=EvidenceJobStatus.RUNNING, now=now):
        if job.aws_job_id:
            count += EvidenceJob.objects.filter(pk=job.pk, status=EvidenceJobStatus.RUNNING).update(
                status=EvidenceJobStatus.WAITING, step="Waiting for AWS (worker restarted)"
            )
        elif EvidenceJob.objects.filter(pk=job.pk, status=EvidenceJobStatus.RUNNING).exists():
            _finish(job, EvidenceJobStatus.FAILED, error=jobs.INTERRUPTED)
            count += 1
    # Queued and never picked up (broker down, task lost): fail it, so the account's slot is freed.
    queued_max = timedelta(seconds=settings.IAMREVIEW_QUEUED_MAX_SECONDS)
    for job in EvidenceJob.objects.filter(status=EvidenceJobStatus.QUEUED, created_at__lt=now - queued_max):
        _finish(
            job, EvidenceJobStatus.FAILED, error="No worker picked this job up; the next tick queues another."
        )
        count += 1
    for job in EvidenceJob.objects.filter(
        status=EvidenceJobStatus.WAITING, created_at__lt=now - GIVE_UP_AFTER
    ):
        _finish(
            job,
            EvidenceJobStatus.FAILED,
            error="AWS did not finish the policy generation in 6 hours; cancelled.",
        )
        # AWS ends abandoned jobs itself; the quota slot is spent either way.
        with contextlib.suppress(AwsAccessError):
            aws.cancel_generation(_session(job.account).client("accessanalyzer"), job.aws_job_id)
        count += 1
    return count


def _session(account: LinkedAccount, session_factory: Any = None) -> Any:
    return (session_factory or AwsSession)(aws_target(account))


def evidence_job_run(*, job_id: int, session_factory: Any = None) -> EvidenceJob:
    """Run (or poll again) one job, claimed by exactly one worker."""
    job = EvidenceJob.objects.select_related("account", "principal").get(pk=job_id)
    if not job_claim(
        EvidenceJob.objects,
        pk=job.pk,
        status=[EvidenceJobStatus.QUEUED, EvidenceJobStatus.WAITING],
        to=EvidenceJobStatus.RUNNING,
    ):
        return job
    try:
        session = _session(job.account, session_factory)
        if job.kind == EvidenceJobKind.GENERATION:
            _generation(job, session.client("accessanalyzer"))
        else:
            _lookup(job, session.client("cloudtrail"))
    except AwsAccessError as exc:
        _finish(job, EvidenceJobStatus.FAILED, error=str(exc))
    job.refresh_from_db()
    return job


def _generation(job: EvidenceJob, analyzer: Any) -> None:
    account = job.account
    # Generation jobs always name their principal.
    assert job.principal is not None  # nosec B101
    if not job.aws_job_id:
        job_progress(job, "Starting IAM Access Analyzer policy generation", 5)
        job.aws_job_id = aws.start_generation(
            analyzer,
            principal_arn=job.principal.arn,
            trail_arn=account.cloudtrail_trail_arn,
            access_role=account.policy_generation_role_arn,
            start=job.window_start,
            end=job.window_end,
            token=f"iamreview-evidence-{job.pk}",
        )
        job.started_at = timezone.now()
        EvidenceJob.objects.filter(pk=job.pk).update(aws_job_id=job.aws_job_id, started_at=job.started_at)
    polls = int(getattr(settings, "IAMREVIEW_GENERATION_POLLS", 3))
    for n in range(polls):
        result = aws.generation_result(analyzer, job.aws_job_id)
        job.polls += 1
        job_progress(job, f"AWS is generating ({result.status.lower()})", 20, polls=job.polls)
        if result.status != "IN_PROGRESS":
            break
        if n + 1 < polls:
            time.sleep(settings.IAMREVIEW_POLL_MS / 1000)
    else:
        # Not finished yet: the next beat tick polls again; the job keeps the account's one slot.
        EvidenceJob.objects.filter(pk=job.pk, status=EvidenceJobStatus.RUNNING).update(
            status=EvidenceJobStatus.WAITING, step="Waiting for AWS to finish the policy generation"
        )
        return
    if result.status != "SUCCEEDED":
        _finish(
            job, EvidenceJobStatus.FAILED, error=f"Policy generation {result.status.lower()}: {result.error}"
        )
        return
    now = timezone.now()
    rows = [
        EvidenceRecord(
            principal=job.principal,
            action=action.lower(),
            resource="",
            source=EvidenceSource.CLOUDTRAIL_GENERATION,
            first_seen=job.window_start,
            last_seen=job.window_end,  # generation says "used within the window", not when
            count=0,
            collected_at=now,
            job=job,
        )
        for action in sorted(result.actions)
    ]
    with transaction.atomic():
        EvidenceRecord.objects.filter(
            principal=job.principal, source=EvidenceSource.CLOUDTRAIL_GENERATION
        ).delete()
        EvidenceRecord.objects.bulk_create(rows)
    _finish(job, EvidenceJobStatus.SUCCEEDED, rows=len(rows))


def _lookup(job: EvidenceJob, cloudtrail: Any) -> None:
    principals = {p.arn: p for p in Principal.objects.filter(account=job.account, kind__in=["user", "role"])}
    seen: dict[tuple[str, str, str], list[Any]] = {}  # (principal, action, resource) -> [first, last, count]
    pages = 0
    for page in aws.lookup_events(cloudtrail, job.window_start, job.window_end):
        pages += 1
        job_progress(job, f"Reading CloudTrail: page {pages}", min(90, 5 + pages))
        for event in page:
            if event.error or event.caller not in principals:
                continue  # a refused call is not use; callers outside the snapshot are not ours
            for resource in event.resources or ("",):
                key = (event.caller, event.action.lower(), resource)
                entry = seen.setdefault(key, [event.time, event.time, 0])
                entry[0], entry[1], entry[2] = (
                    min(entry[0], event.time),
                    max(entry[1], event.time),
                    entry[2] + 1,
                )
    now = timezone.now()
    with transaction.atomic():
        for (caller, action, resource), (first, last, count) in seen.items():
            row, created = EvidenceRecord.objects.select_for_update().get_or_create(
                principal=principals[caller],
                action=action,
                resource=resource,
                source=EvidenceSource.CLOUDTRAIL_LOOKUP,
                defaults={
                    "first_seen": first,
                    "last_seen": last,
                    "count": count,
                    "collected_at": now,
                    "job": job,
                },
            )
            if not created:
                row.first_seen = min(row.first_seen or first, first)
                row.last_seen = max(row.last_seen, last)
                row.count += count
                row.collected_at, row.job = now, job
                row.save(update_fields=["first_seen", "last_seen", "count", "collected_at", "job"])
    _finish(job, EvidenceJobStatus.SUCCEEDED, rows=len(seen))
