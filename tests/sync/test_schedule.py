"""Beat's fan-out: every enabled account whose interval has passed gets exactly one queued sync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.sync import accounts_due
from accounts.tasks import accounts_sync_due

pytestmark = pytest.mark.django_db


def make(account_id: str, **kwargs: Any) -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id=account_id, name=account_id, sync_interval_minutes=60, **kwargs
    )


def test_due_accounts() -> None:
    never = make("100000000001")
    recent = make("100000000002")
    old = make("100000000003")
    disabled = make("100000000004", enabled=False)
    running = make("100000000005")
    SyncRun.objects.create(account=recent, status=SyncStatus.SUCCEEDED)
    stale = SyncRun.objects.create(account=old, status=SyncStatus.FAILED)
    SyncRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    SyncRun.objects.create(account=running, status=SyncStatus.RUNNING)
    assert {a.account_id for a in accounts_due()} == {never.account_id, old.account_id}
    assert disabled not in accounts_due()


def test_beat_task_queues_once(django_capture_on_commit_callbacks: Any) -> None:
    make("100000000001")
    make("100000000002")
    with django_capture_on_commit_callbacks(execute=False):
        assert accounts_sync_due() == 2
        assert accounts_sync_due() == 0  # already queued: nothing new
    assert SyncRun.objects.filter(status=SyncStatus.QUEUED, trigger="schedule").count() == 2
