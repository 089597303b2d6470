"""A task whose row was removed after it was queued (its account deleted, with everything of it) finishes
quietly: a worker must not fail, retry or log an error for it."""

from __future__ import annotations

import pytest

from accounts.checks import account_check_run
from findings import tasks
from findings.models import ChangeRequest, EvidenceJob
from findings.suggestions import suggestions_build_for_account
from notify.deliver import delivery_send
from notify.dispatch import event_dispatch

pytestmark = pytest.mark.django_db
MISSING = 987654321


def test_every_task_taking_a_row_id_finishes_quietly_when_the_row_is_gone() -> None:
    assert not ChangeRequest.objects.filter(pk=MISSING).exists()
    assert not EvidenceJob.objects.filter(pk=MISSING).exists()
    assert tasks.change_request_apply(MISSING) == tasks.GONE
    assert tasks.change_request_rollback(MISSING) == tasks.GONE
    assert tasks.evidence_job_run(MISSING) == tasks.GONE
    assert tasks.sync_run_execute(MISSING) == "not-claimed"
    assert tasks.suggestions_build_for_account(MISSING) == 0
    assert suggestions_build_for_account(account_id=MISSING) == 0
    # The other apps' tasks that take a row id claim it first, so a missing row is simply not theirs.
    assert account_check_run(MISSING) is False
    assert delivery_send(delivery_id=MISSING).status == "skipped"
    assert event_dispatch(event_id=MISSING) == 0
