"""The world the change tests run in: a small company seeded in fakeaws, linked and synced once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import account_clients, seed_account
from findings.ingest import sync_run_execute
from tests.scenarios import ACCOUNT, small_company


@pytest.fixture
def world(users: dict[str, Any]) -> Any:
    with fakeaws.mock():
        spec = small_company()
        spec["users"].append({"name": "boss", "created_days": 500})
        seed_account(ACCOUNT, spec)
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT,
            name="prod",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
            apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
        )
        run = SyncRun.objects.create(account=account)
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            assert sync_run_execute(run_id=run.pk).status == "succeeded"  # type: ignore[union-attr]
        yield {"account": account, "iam": account_clients(ACCOUNT)["iam"], **users}
