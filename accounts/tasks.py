"""Celery tasks of the accounts app: each takes ids (or nothing) and calls one service."""

from __future__ import annotations

from celery import shared_task

from accounts.checks import account_check_run as _account_check_run
from accounts.checks import account_checks_reap_stale as _account_checks_reap_stale
from accounts.login import login_failures_forget as _login_failures_forget
from accounts.sync import accounts_sync_due as _accounts_sync_due
from accounts.sync import sync_runs_reap_stale as _sync_runs_reap_stale


@shared_task(name="accounts.tasks.accounts_sync_due")
def accounts_sync_due() -> int:
    """Beat: queue a sync for every account that is due."""
    return _accounts_sync_due()


@shared_task(name="accounts.tasks.sync_runs_reap_stale")
def sync_runs_reap_stale() -> int:
    """Beat: fail syncs whose worker died or that no worker started, so the account can sync again."""
    return _sync_runs_reap_stale()


@shared_task(name="accounts.tasks.login_failures_forget")
def login_failures_forget() -> int:
    """Beat: drop login failures older than the throttling window."""
    return _login_failures_forget()


@shared_task(name="accounts.tasks.account_check_run")
def account_check_run(check_pk: int) -> bool:
    """Run a connection test or an organization discovery a person asked for."""
    return _account_check_run(check_pk)


@shared_task(name="accounts.tasks.account_checks_reap_stale")
def account_checks_reap_stale() -> int:
    """Beat: fail checks whose worker died or that no worker started."""
    return _account_checks_reap_stale()
