"""An unused service's finding lists only what Access Advisor could have seen used.

Before the restructuring (5155d3e) the unused-service finding of a role granted `dynamodb:*` and tracked
but idle counted every catalogued dynamodb action, `dynamodb:ConditionCheckItem` included: an action AWS
checks inside a transaction, never called, so never recorded (benchmarks/compare_outputs.py: "78 dynamodb
action(s)" before, 77 after, on each demo account). Its usage is unknown and it is kept (policy/usage.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from fakeaws.scenario import seed_account
from findings.ingest import sync_run_execute
from findings.models import Finding
from policy.catalog import default_catalog
from tests.scenarios import ACCOUNT, small_company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account() -> Any:
    with fakeaws.mock():
        seed_account(ACCOUNT, small_company())
        yield LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )


def test_unused_service_leaves_out_actions_access_advisor_never_records(account: LinkedAccount) -> None:
    run = SyncRun.objects.create(account=account)
    with override_settings(IAMREVIEW_POLL_MS=20):
        done = sync_run_execute(run_id=run.pk)
    assert done is not None and done.status == SyncStatus.SUCCEEDED, done.error if done else ""
    # old-batch: dynamodb:* granted, dynamodb tracked and last used 200 days ago
    found = Finding.objects.get(
        principal_arn__endswith="/old-batch", kind="unused-service", subject="dynamodb"
    )
    actions = found.data["actions"]
    catalogued = {a for a in default_catalog().all_actions if a.startswith("dynamodb:")}
    assert "dynamodb:GetItem" in actions and "dynamodb:DeleteTable" in actions
    assert "dynamodb:ConditionCheckItem" not in actions
    assert found.data["action_count"] == len(actions) == len(catalogued) - 1
    assert found.detail.startswith(f"{len(catalogued) - 1} dynamodb action(s) granted")
