"""The README's five-minute tour, run in a browser against the demo organisation (seeded in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.demo import DEMO_ACCOUNTS, demo_accounts, demo_external_id
from fakeaws.scenario import seed_account
from findings import suggestions
from findings.ingest import sync_run_execute
from findings.models import ChangeRequest, Principal
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_readme_tour(live_server: Any, browser: Any, users: dict[str, Any], tmp_path: Path) -> None:
    with fakeaws.mock():
        for account_id, spec in demo_accounts().items():
            seed_account(account_id, spec)
        for account_id, name in DEMO_ACCOUNTS:
            account = LinkedAccount.objects.create(
                account_id=account_id,
                name=name,
                role_arn=f"arn:aws:iam::{account_id}:role/iamreview-read",
                external_id=demo_external_id(account_id),
            )
            with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
                assert (
                    sync_run_execute(run_id=SyncRun.objects.create(account=account).pk).status == "succeeded"
                )  # type: ignore[union-attr]
        deploy = Principal.objects.get(account__name="staging", name="github-deploy")
        suggestions.suggestion_build(principal=deploy)
        base = live_server.url
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()

        # 1. The dashboard
        login(page, base, "reviewer", PASSWORD)
        body = page.content()
        assert "administrators" in body and "can escalate" in body and "staging" in body
        # 2. Principals: filter, open github-deploy in staging
        page.click("nav >> text=Principals")
        page.locator("input[name=q]").press_sequentially("github-deploy")
        page.wait_for_url("**/principals/?*q=github-deploy*")
        page.select_option("select[name=account]", str(deploy.account_id))
        page.wait_for_url(f"**account={deploy.account_id}*")
        page.click("#principal-table >> text=github-deploy")
        page.wait_for_url(f"**/principals/{deploy.pk}/")
        text = page.content()
        assert (
            "lambda-003" in text and "Why this score" in text and "Trust policy" in text and "unused" in text
        )
        screenshot(page, "tour-principal", tmp_path)
        # 3. Findings: the weekly review
        page.click("nav >> text=Findings")
        page.click("text=Weekly review")
        page.wait_for_selector("#review-card")
        page.keyboard.press("a")  # acknowledge the first
        page.wait_for_selector("#review-card")
        # 4. The tightened policy, accepted; the approver signs it off
        page.goto(f"{base}/principals/{deploy.pk}/")
        page.click("#view-suggestion")
        page.fill("input[name=reason]", "tour")
        page.click("#accept-suggestion")
        page.wait_for_url("**/changes/*/")
        approver = browser.new_context().new_page()
        login(approver, base, "approver", PASSWORD)
        approver.goto(page.url)
        approver.click("#approve-change")
        approver.wait_for_selector("#apply-change")
        assert ChangeRequest.objects.get().status == "approved"
        # 5. Keys and accounts
        page.click("nav >> text=Keys")
        page.wait_for_url("**/keys/")
        page.locator("text=old-admin").first.wait_for()
        page.click("nav >> text=Accounts")
        page.wait_for_url("**/accounts/")
        assert page.locator("text=Succeeded").count() == len(DEMO_ACCOUNTS)
