"""Celery tasks: each takes ids and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="accounts.tasks.sync_account", acks_late=True)
def sync_account(run_id: int) -> str:
    from accounts.sync import sync_run_execute

    run = sync_run_execute(run_id=run_id)
    return run.status if run is not None else "not-claimed"


@shared_task(name="accounts.tasks.sync_due_accounts")
def sync_due_accounts() -> int:
    """Beat: fail syncs and applies whose worker died, then queue a sync for every account that is due."""
    from accounts.login import login_failures_forget
    from accounts.sync import accounts_due, sync_run_request, sync_runs_reap_stale
    from findings.changes import change_requests_reap_stale

    sync_runs_reap_stale()
    change_requests_reap_stale()
    login_failures_forget()
    queued = 0
    for account in accounts_due():
        _, created = sync_run_request(account=account, trigger="schedule")
        queued += int(created)
    return queued
