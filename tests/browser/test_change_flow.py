"""The whole change flow in a browser: accept a tightened policy, approve as another user, apply, roll back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import account_clients, seed_account
from findings import change_apply, suggestions
from findings.ingest import sync_run_execute
from findings.models import ChangeRequest, ChangeStatus, Principal
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD
from tests.scenarios import ACCOUNT, small_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_accept_approve_apply_rollback(
    live_server: Any, browser: Any, users: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fakeaws.mock():
        seed_account(ACCOUNT, small_company())
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT,
            name="prod",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
            apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        app = Principal.objects.get(name="app")
        assert suggestions.suggestion_build(principal=app) is not None
        # The worker's part, run in-line once the request commits: the service the task would call.
        services = {
            "findings.tasks.change_request_apply": change_apply.change_request_apply,
            "findings.tasks.change_request_rollback": change_apply.change_request_rollback,
        }
        monkeypatch.setattr(
            "core.jobs.enqueue",
            # Notifications are not part of this flow (tests/notify covers them).
            lambda name, pk: (
                None
                if name.startswith("notify.")
                else transaction.on_commit(lambda: services[name](change_id=pk))
            ),
        )
        iam = account_clients(ACCOUNT)["iam"]
        before = iam.get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"]
        base = live_server.url

        reviewer = browser.new_context().new_page()
        login(reviewer, base, "reviewer", PASSWORD)
        reviewer.goto(f"{base}/principals/{app.pk}/")
        reviewer.click("#view-suggestion")
        reviewer.wait_for_url("**/suggestions/*/")
        reviewer.locator("text=lambda:DeleteFunction").first.wait_for()
        reviewer.fill("input[name=reason]", "quarterly review")
        reviewer.click("#accept-suggestion")
        reviewer.wait_for_url("**/changes/*/")
        assert "you cannot approve your own request" in reviewer.content()
        change_url = reviewer.url

        approver = browser.new_context().new_page()
        login(approver, base, "approver", PASSWORD)
        approver.goto(change_url)
        approver.click("#approve-change")
        approver.wait_for_selector("#apply-change")
        approver.click("#apply-change")
        approver.wait_for_selector("#rollback-open")
        assert "Applied" in approver.locator("#change-progress").inner_text()
        # Once applied, the page reads as history: "Applied" once, the documents as Before and After.
        assert approver.locator("#change-progress").inner_text().count("Applied") == 1
        headings = approver.locator(".diff-pair h4").all_inner_texts()
        assert headings[:2] == ["Before", "After"], headings
        approver.fill("#comment-body", "Applied after the batch window")
        approver.click("#comment-submit")
        approver.wait_for_selector("#change-comments >> text=Applied after the batch window")
        screenshot(approver, "change-request-applied", tmp_path)
        cr = ChangeRequest.objects.get()
        live = iam.get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"]
        assert live == cr.items[0]["proposed"][0] and live != before

        approver.click("#rollback-open")
        approver.fill("input[name=reason]", "AccessDenied for the batch job")
        approver.click("#rollback-change")
        approver.wait_for_selector("text=Rolled back")
        assert iam.get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"] == before
        assert ChangeRequest.objects.get().status == ChangeStatus.ROLLED_BACK
