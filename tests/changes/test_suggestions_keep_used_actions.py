"""With last-accessed data shaped as AWS gives it, no suggestion removes an action the workload used."""

from __future__ import annotations

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from fakeaws.demo import PROD, demo_accounts, demo_external_id
from fakeaws.scenario import READ_ROLE, seed_account
from findings.ingest import sync_run_execute
from findings.models import Suggestion
from findings.suggestions import suggestions_build_for_account

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_demo_suggestion_removes_a_used_action() -> None:
    spec = demo_accounts()[PROD]
    with fakeaws.mock():
        seed_account(PROD, spec)
        account = LinkedAccount.objects.create(
            account_id=PROD,
            name="prod",
            role_arn=f"arn:aws:iam::{PROD}:role/{READ_ROLE}",
            external_id=demo_external_id(PROD),
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            run = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        assert run is not None and run.status == SyncStatus.SUCCEEDED, run and run.error
        assert suggestions_build_for_account(account_id=account.pk) > 0
        assert fakeaws.STATE.refused == []  # the read role's template covers the sync and the policy checks
    removed_used = {}
    for suggestion in Suggestion.objects.filter(stale=False).select_related("principal"):
        used = {
            f"{service}:{action}".lower()
            for service, use in spec["usage"].get(suggestion.principal.name, {}).items()
            for action, days in use.get("actions", {}).items()
            if days < account.unused_days
        }
        removed = {a.lower() for item in suggestion.items for a in item.get("removed_actions", [])}
        if removed & used:
            removed_used[suggestion.principal.name] = sorted(removed & used)
    assert removed_used == {}
