"""Evidence to add-back in a browser: a suggestion shows its CloudTrail evidence; it is accepted in
stages and approved; stage 1 is applied through fakeaws; AWS then refuses a call of the principal (an
AccessDenied recorded in fakeaws's CloudTrail); the watch (run in-process, as the worker would) shows it on
the change; "Add back" opens a follow-up change with exactly the refused action on the refused resource.
Seeded in Python; only the reviewer's and approver's clicks go through the browser."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import seed_account
from findings import change_apply, evidence, suggestions, watch
from findings.evidence_models import EvidenceJobKind
from findings.ingest import sync_run_execute
from findings.models import ChangeRequest, ChangeStatus, Principal
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.scenarios import ACCOUNT, small_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"


def seeded(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The small company synced, with one LookupEvents sweep: `app` called lambda:GetFunction on FUNCTION."""
    spec = small_company()
    spec["events"] = {"app": [{"action": "lambda:GetFunction", "days": 1, "resources": [FUNCTION]}]}
    seed_account(ACCOUNT, spec)
    account = LinkedAccount.objects.create(
        account_id=ACCOUNT,
        name="prod",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
        apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
        cloudtrail_lookup=True,
    )
    # The worker's part, run in-line once the request commits; nothing else (notifications, rebuilds).
    monkeypatch.setattr(
        "core.jobs.enqueue",
        lambda name, *args: (
            transaction.on_commit(lambda: change_apply.change_request_apply(change_id=args[0]))
            if name == "findings.tasks.change_request_apply"
            else None
        ),
    )
    with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
    now = timezone.now()
    job = evidence._create(account, EvidenceJobKind.LOOKUP, None, now - evidence.WINDOW, now)
    assert job is not None and evidence.evidence_job_run(job_id=job.pk).status == "succeeded"
    app = Principal.objects.get(name="app")
    suggestion = suggestions.suggestion_build(principal=app)
    assert suggestion is not None
    return app, suggestion


def test_evidence_staged_apply_access_denied_add_back(
    live_server: Any, browser: Any, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with fakeaws.mock():
        app, suggestion = seeded(monkeypatch)
        base = live_server.url

        reviewer = browser.new_context().new_page()
        login(reviewer, base, "reviewer", PASSWORD)
        reviewer.goto(f"{base}/suggestions/{suggestion.pk}/")
        # The evidence record: what is removed and why; what is kept, on the resource CloudTrail saw.
        removed = reviewer.locator(".evidence-removed tr", has_text="lambda:DeleteFunction")
        removed.wait_for()
        reviewer.click("#evidence-record details summary")
        kept = reviewer.locator(".evidence-kept tr", has_text="lambda:GetFunction")
        kept.wait_for()
        assert FUNCTION in kept.inner_text() and "CloudTrail (LookupEvents)" in kept.inner_text()
        reviewer.check("#staged")
        reviewer.fill("input[name=reason]", "least privilege, in stages")
        reviewer.click("#accept-suggestion")
        reviewer.wait_for_url("**/changes/*/")
        change_url = reviewer.url
        first = ChangeRequest.objects.get()
        assert (first.stage, first.stage_name) == (1, "actions") and first.plan

        approver = browser.new_context().new_page()
        login(approver, base, "approver", PASSWORD)
        approver.goto(change_url)
        approver.click("#approve-change")
        approver.locator("#apply-change").wait_for()
        approver.click("#apply-change")
        approver.locator("#rollback-open").wait_for()
        first.refresh_from_db()
        assert first.status == ChangeStatus.APPLIED, first.error

        # AWS refuses the call stage 1 took away; the watch reads CloudTrail as the worker would.
        fakeaws.record_access_denied(ACCOUNT, app.arn, "lambda:DeleteFunction", timezone.now(), FUNCTION)
        watch.watch_change(change=first)

        reviewer.goto(change_url)
        add = reviewer.locator("#add-back-1")
        add.wait_for()
        refused = reviewer.locator("section.add-back").inner_text()
        assert "lambda:DeleteFunction" in refused and FUNCTION in refused
        add.click()
        reviewer.wait_for_url(lambda url: url.rstrip("/") != change_url.rstrip("/") and "/changes/" in url)
        follow = ChangeRequest.objects.get(follow_up_of=first)
        assert reviewer.url.rstrip("/").endswith(f"/changes/{follow.pk}")
        reviewer.locator("text=after AWS refused it, and nothing else").wait_for()
        assert follow.status == ChangeStatus.PENDING
        assert follow.add_back == [{"action": "lambda:DeleteFunction", "resource": FUNCTION}]
        assert follow.items[0]["proposed"][0]["Statement"][-1] == {
            "Sid": "AddedBack",
            "Effect": "Allow",
            "Action": "lambda:DeleteFunction",
            "Resource": FUNCTION,
        }
