"""After an apply and a resync: the applied suggestion is not offered again, the change page reads as
history (Applied once, Before/After), an edit's counts are recomputed; the principal page says why nothing
is proposed, spells actions as AWS does and dates a user's last use from its password and keys."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import SyncRun
from findings import change_requests, suggestions
from findings.ingest import sync_run_execute
from findings.models import ChangeStatus, Principal
from tests.changes.flow import apply, approved, suggest

pytestmark = pytest.mark.django_db


def _page(user: Any, url: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(url).content.decode()


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))


def test_applied_suggestion_is_not_offered_after_a_resync(world: Any) -> None:
    # The world fixture's local AWS is still running (its fixture yields inside fakeaws.mock()).
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    body = _page(world["viewer"], f"/changes/{cr.pk}/")
    progress = body.split('id="change-progress"')[1].split("</div>")[0]
    assert _visible(progress).count("Applied") == 1
    assert "<h4>Before</h4>" in body and "<h4>After</h4>" in body and "<h4>Tightened</h4>" not in body
    run = SyncRun.objects.create(account=world["account"])
    with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        assert sync_run_execute(run_id=run.pk).status == "succeeded"  # type: ignore[union-attr]
    suggestions.suggestions_build_for_account(account_id=world["account"].pk)
    app = Principal.objects.get(name="app")
    page = _page(world["viewer"], f"/principals/{app.pk}/")
    assert 'id="view-suggestion"' not in page
    assert f"since change #{cr.pk} was applied" in page


def test_an_edited_change_is_counted_again(world: Any) -> None:
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest("app"), reason="quarterly review"
    )
    item = dict(cr.items[0])
    assert item["removed_actions"] == ["lambda:DeleteFunction"]
    proposed = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": "*"}],
    }
    item["proposed"] = [proposed]
    cr = change_requests.change_request_edit(actor=world["reviewer"], change=cr, items=[item], reason="less")
    edited = cr.items[0]
    assert edited["removed_actions"] == [
        "lambda:DeleteFunction",
        "lambda:UpdateFunctionCode",
        "sqs:SendMessage",
    ]
    assert edited["kept_actions"] == 1 and edited["size"] < item["size"]


def test_principal_page_spelling_reasons_and_last_use(world: Any) -> None:
    escalator = Principal.objects.get(name="escalator")
    page = _page(world["viewer"], f"/principals/{escalator.pk}/")
    assert "iam:PutUserPolicy" in page and "iam:putuserpolicy" not in page
    assert 'id="no-suggestion"' in page and "No tightened policy is proposed for this principal:" in page
    alice = Principal.objects.get(name="alice")
    # Alice's key was used a day ago, her password two days ago: her last use is the key's.
    assert alice.last_used_at is not None
    assert timezone.now() - timedelta(days=1, hours=2) < alice.last_used_at < timezone.now()
    old_admin = Principal.objects.get(name="old-admin")
    assert old_admin.last_used_at is not None  # the password, 300 days ago (keys 400 days)
    assert (timezone.now() - old_admin.last_used_at).days in (299, 300)
    page = _page(world["viewer"], f"/principals/{alice.pk}/")
    assert 'id="user-last-used"' in page and f"{alice.last_used_at:%Y-%m-%d}" in page
