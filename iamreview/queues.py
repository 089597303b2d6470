"""Which Celery queue each task goes to (README, "Planning for 1,000 accounts"); settings.py applies it.

Tasks are split by the work they wait on, so that each queue gets its own workers and a backlog of
scheduled syncs never delays an apply:

- `sync`: account syncs. AWS reads, minutes per account, bounded by each account's AWS quotas.
- `analysis`: suggestion builds after a sync, and evidence (IAM Access Analyzer policy generation).
- `apply`: what a person waits for or what guards an applied change: applies, rollbacks (including the
  reaper's rollback of an interrupted apply), stage promotion, the AccessDenied watch, Test connection.
- `celery`: everything else: notifications, digests, retention, beat's reapers and housekeeping. Celery's
  own default name, so tasks queued before the queues were split are still consumed.

`CELERY_QUEUE`, when set, puts every task on that one queue instead: a single worker then consumes it
all. Tests and benchmarks run each worker on a unique queue this way (tests/processes.py); it is one
switch rather than a prefix because a worker on one queue needs no other to run everything.
"""

from __future__ import annotations

DEFAULT_QUEUE = "celery"

TASKS_BY_QUEUE: dict[str, tuple[str, ...]] = {
    "sync": ("findings.tasks.sync_run_execute",),
    "analysis": (
        "findings.tasks.suggestions_build_for_account",
        "findings.tasks.evidence_tick",
        "findings.tasks.evidence_job_run",
    ),
    "apply": (
        "findings.tasks.change_request_apply",
        "findings.tasks.change_request_rollback",
        "findings.tasks.change_requests_reap_stale",
        "findings.tasks.stages_promote_due",
        "findings.tasks.access_denied_watch",
        "accounts.tasks.account_check_run",
    ),
    DEFAULT_QUEUE: (
        "accounts.tasks.accounts_sync_due",
        "accounts.tasks.sync_runs_reap_stale",
        "accounts.tasks.account_checks_reap_stale",
        "accounts.tasks.login_failures_forget",
        "findings.tasks.change_requests_expire",
        "findings.tasks.suppressions_expire",
        "findings.tasks.digests_send_due",
        "findings.tasks.retention_prune",
        "notify.tasks.event_dispatch",
        "notify.tasks.delivery_send",
        "notify.tasks.notifications_dispatch_due",
        "iamreview.tasks.health_ping",
    ),
}


def queue_names(single_queue: str = "") -> list[str]:
    """Every queue a task can be routed to: what the workers, together, must consume."""
    return [single_queue] if single_queue else list(TASKS_BY_QUEUE)


def task_routes(single_queue: str = "") -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES: each task's queue, or `single_queue` for all of them when it is set."""
    return {
        task: {"queue": single_queue or queue} for queue, tasks in TASKS_BY_QUEUE.items() for task in tasks
    }
