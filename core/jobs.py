"""One mechanism for background-job rows (sync runs, change requests): claim, progress, heartbeat, staleness.

A job row is claimed with a conditional UPDATE, so a task delivered twice runs once; the worker writes its
step and progress with a heartbeat as it goes; a row whose heartbeat stopped for IAMREVIEW_STALE_SECONDS is
taken for dead (worker killed, host lost) by its app's reaper, which fails it with `INTERRUPTED` so that
nothing stays "running" for a person to unstick. Each app decides what failing one of its rows means.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import JobRow

J = TypeVar("J", bound=JobRow)

INTERRUPTED = "The worker stopped during this job (killed or restarted)."


def enqueue(task_name: str, *args: Any) -> None:
    """Send the task `task_name` once the current transaction commits (at once outside one).

    Services queue work by the task's name and never import a tasks module, because every tasks module
    imports the services it calls; tests/test_architecture.py checks that each name is a registered task.
    """
    # robust: a broker that is down must not undo the commit that queued the work. Nothing is lost
    # silently: the row stays queued (or applying) and its app's reaper fails it with a message.
    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)), robust=True)


def stale_after() -> timedelta:
    """How long a job may go without a heartbeat before its worker is taken for dead."""
    return timedelta(seconds=settings.IAMREVIEW_STALE_SECONDS)


def job_claim(rows: QuerySet[J], *, pk: int, status: str | list[str], to: str, **fields: Any) -> bool:
    """Move row `pk` from `status` to `to` for exactly one caller (a conditional UPDATE); a heartbeat too."""
    statuses = [status] if isinstance(status, str) else status
    return bool(
        rows.filter(pk=pk, status__in=statuses).update(status=to, heartbeat_at=timezone.now(), **fields)
    )


def job_progress(row: JobRow, step: str, progress: int, **fields: Any) -> None:
    """Record what the job is doing (and that it is alive); `fields` are saved with it."""
    row.step = step[:200]
    row.progress = max(0, min(100, progress))
    row.heartbeat_at = timezone.now()
    for name, value in fields.items():
        setattr(row, name, value)
    type(row)._default_manager.filter(pk=row.pk).update(
        step=row.step, progress=row.progress, heartbeat_at=row.heartbeat_at, **fields
    )


def stale_rows(rows: QuerySet[J], *, status: str, now: datetime | None = None) -> Iterator[J]:
    """Rows in `status` whose worker stopped beating (never beating counts from `created_at` when the
    model has one). The caller fails each one with a conditional update, so a row that finished in the
    meantime is left alone."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    stale = Q(heartbeat_at__lt=cutoff)
    if any(f.name == "created_at" for f in rows.model._meta.get_fields()):
        stale |= Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    yield from rows.filter(stale, status=status)
