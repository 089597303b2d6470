"""Celery tasks of the findings app: each takes ids (or nothing) and calls the one service it is named after."""

from __future__ import annotations

from celery import shared_task

from findings import (
    change_apply,
    change_requests,
    change_stages,
    digest,
    evidence,
    ingest,
    lifecycle,
    retention,
    suggestions,
    watch,
)
from findings.models import ChangeRequest, EvidenceJob

# What a task returns when its row is gone (its account was removed after it was queued): nothing to do.
GONE = "gone"


@shared_task(name="findings.tasks.sync_run_execute", acks_late=True)
def sync_run_execute(run_id: int) -> str:
    """Collect one account and ingest what was collected (queued by `accounts.sync.sync_run_request`)."""
    run = ingest.sync_run_execute(run_id=run_id)
    return run.status if run is not None else "not-claimed"


@shared_task(name="findings.tasks.suggestions_build_for_account")
def suggestions_build_for_account(account_id: int) -> int:
    return suggestions.suggestions_build_for_account(account_id=account_id)


@shared_task(name="findings.tasks.change_request_apply", acks_late=True)
def change_request_apply(change_id: int) -> str:
    if not ChangeRequest.objects.filter(pk=change_id).exists():
        return GONE
    return change_apply.change_request_apply(change_id=change_id).status


@shared_task(name="findings.tasks.change_request_rollback", acks_late=True)
def change_request_rollback(change_id: int) -> str:
    if not ChangeRequest.objects.filter(pk=change_id).exists():
        return GONE
    return change_apply.change_request_rollback(change_id=change_id).status


@shared_task(name="findings.tasks.change_requests_expire")
def change_requests_expire() -> int:
    return change_requests.change_requests_expire()


@shared_task(name="findings.tasks.change_requests_reap_stale")
def change_requests_reap_stale() -> int:
    """Beat: applies and rollbacks whose worker died are failed (and what an apply wrote, rolled back)."""
    return change_requests.change_requests_reap_stale()


@shared_task(name="findings.tasks.access_denied_watch")
def access_denied_watch() -> int:
    """Beat: look for AccessDenied of principals whose change was applied recently; store what was seen."""
    return watch.access_denied_watch()


@shared_task(name="findings.tasks.stages_promote_due")
def stages_promote_due() -> int:
    """Beat: promote each applied stage of a staged change whose AccessDenied watch stayed clean."""
    return change_stages.stages_promote_due()


@shared_task(name="findings.tasks.suppressions_expire")
def suppressions_expire() -> int:
    return lifecycle.suppressions_expire()


@shared_task(
    name="findings.tasks.digests_send_due", autoretry_for=(RuntimeError,), retry_backoff=60, max_retries=5
)
def digests_send_due() -> int:
    return digest.digests_send_due()


@shared_task(name="findings.tasks.evidence_tick")
def evidence_tick() -> int:
    """Beat: reap evidence jobs, poll unfinished policy generations, start what the quota allows."""
    return evidence.evidence_tick()


@shared_task(name="findings.tasks.evidence_job_run", acks_late=True)
def evidence_job_run(job_id: int) -> str:
    if not EvidenceJob.objects.filter(pk=job_id).exists():
        return GONE
    return evidence.evidence_job_run(job_id=job_id).status


@shared_task(name="findings.tasks.retention_prune")
def retention_prune() -> dict[str, object]:
    """Beat: prune and roll up history older than IAMREVIEW_RETENTION_DAYS (figures in the log and audit)."""
    return retention.retention_prune()
