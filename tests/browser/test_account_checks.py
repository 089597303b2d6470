"""Account page in a browser: "Test connection" and "Discover" say what they found, and "Not synced yet"
goes as soon as a sync starts, without a reload."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from django.db import transaction
from django.test import override_settings

import fakeaws
from accounts.checks import account_check_run
from accounts.models import LinkedAccount
from fakeaws.scenario import seed_account
from findings.ingest import sync_run_execute
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCOUNT = "111111111111"


def _worker_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the worker would do with each queued task, run once the request commits."""
    services = {
        "accounts.tasks.account_check_run": account_check_run,
        "findings.tasks.sync_run_execute": lambda pk: sync_run_execute(run_id=pk),
    }
    monkeypatch.setattr(
        "core.jobs.enqueue",
        lambda name, *args: (
            transaction.on_commit(lambda: services[name](*args)) if name in services else None
        ),
    )


def test_connection_test_and_sync_on_the_account_page(
    live_server: Any, page: Any, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _worker_inline(monkeypatch)
    with fakeaws.mock(), override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        seed_account(ACCOUNT, {})  # the read role exists, with the template's policy
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )
        login(page, live_server.url, "reviewer", PASSWORD)
        page.goto(f"{live_server.url}/accounts/{account.pk}/")
        empty = page.locator("#sync-runs .empty-state")
        assert empty.is_visible() and "Not synced yet" in empty.inner_text()

        page.click("text=Test connection")
        page.wait_for_selector("#connection-result .message-success")
        result = page.locator("#connection-result").inner_text()
        assert "Connected as" in result and f"account {ACCOUNT}" in result and "IAM is readable" in result

        page.click("text=Sync now")
        page.wait_for_selector("#sync-runs .sync-run")
        assert not empty.is_visible(), "the empty state goes once a run is on the page"
        page.wait_for_selector("#sync-runs .badge.status-succeeded", timeout=60_000)
        assert not empty.is_visible()


def test_discovery_says_what_it_found(
    live_server: Any, page: Any, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _worker_inline(monkeypatch)
    with fakeaws.mock():
        management = LinkedAccount.objects.create(account_id="123456789012", name="management")
        login(page, live_server.url, "admin", PASSWORD)
        page.goto(f"{live_server.url}/accounts/discover/")
        page.click("text=List member accounts")
        page.wait_for_selector("#connection-result .message")
        assert "not in an AWS Organization" in page.locator("#connection-result").inner_text()

        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        org.create_account(AccountName="staging", Email="staging@example.com")
        page.select_option("select[name=management]", str(management.pk))
        page.click("text=List member accounts")
        page.wait_for_selector("#connection-result table")
        text = page.locator("#connection-result").inner_text()
        assert "1 member(s) besides this one, 1 not linked yet" in text and "staging" in text
        page.check("#connection-result input[name=account_id]")
        page.click("text=Link selected")
        page.wait_for_url("**/accounts/")
    assert LinkedAccount.objects.filter(name="staging").exists()
