"""A reviewer sets a principal's own window and margin on its page: audited, shown, used when its
suggestion is built; bad values are refused with a sentence; another account's principal is a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, Profile, SyncRun
from core.models import AuditEvent
from fakeaws.scenario import seed_account
from findings.ingest import sync_run_execute
from findings.models import LastAccessed, Principal, PrincipalWindow
from findings.review_window import review_window
from findings.suggestions import suggestion_build
from tests.scenarios import ACCOUNT, small_company


def app_with_old_sqs_use(users: Any) -> Principal:
    """The small company synced; role `app` (lambda and sqs:SendMessage) last used SQS 45 days ago."""
    with fakeaws.mock():
        seed_account(ACCOUNT, small_company())
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
    app = Principal.objects.get(account=account, name="app")
    LastAccessed.objects.filter(principal=app, service="sqs").update(
        last_accessed_at=timezone.now() - timedelta(days=45)
    )
    return app


def removed(principal: Principal) -> set[str]:
    suggestion = suggestion_build(principal=principal)
    return {a.lower() for i in (suggestion.items if suggestion else []) for a in i["removed_actions"]}


def test_a_reviewer_narrows_the_window_and_the_suggestion_follows(users: Any, client_as: Any) -> None:
    ci = app_with_old_sqs_use(users)
    assert "sqs:sendmessage" not in removed(ci)  # the account's 90 days: SQS was used
    response = client_as("reviewer").post(
        reverse("principal_window", args=[ci.pk]),
        {"unused_days": "30", "periodic_days": "200", "reason": "nightly job only"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"now count 30 days as the window" in response.content
    assert b"<strong>30 days</strong>" in response.content and b"nightly job only" in response.content
    window = review_window(ci)
    assert (window.unused_days, window.periodic_days, window.overridden) == (30, 200, True)
    event = AuditEvent.objects.get(action="principal.window_set")
    assert event.actor is not None and event.actor.username == "reviewer"  # type: ignore[attr-defined]
    assert "90 -> 30 days" in event.summary and "nightly job only" in event.summary
    assert "sqs:sendmessage" in removed(ci)  # SQS's last use is outside the principal's own 30 days

    client_as("reviewer").post(reverse("principal_window", args=[ci.pk]), {"clear": "1"})
    assert not PrincipalWindow.objects.filter(principal=ci).exists()
    assert review_window(ci).unused_days == ci.account.unused_days
    assert "sqs:sendmessage" not in removed(ci)
    assert AuditEvent.objects.filter(action="principal.window_set").count() == 2


def test_bad_values_are_refused_with_a_sentence(imported: Any, client_as: Any) -> None:
    ci = Principal.objects.get(account=imported["prod"], name="ci")
    url = reverse("principal_window", args=[ci.pk])
    for data, says in (
        ({"unused_days": "60", "periodic_days": "30"}, b"must be at least the window"),
        ({"unused_days": "-3"}, b"whole number of days from 1 to 400"),
        ({"periodic_days": "9999"}, b"whole number of days from 1 to 400"),
    ):
        response = client_as("reviewer").post(url, data, follow=True)
        assert says in response.content, data
    client_as("reviewer").post(url, {"unused_days": "", "periodic_days": ""})  # nothing to set or clear
    assert not PrincipalWindow.objects.filter(principal=ci).exists()
    assert not AuditEvent.objects.filter(action="principal.window_set").exists()


def test_another_accounts_principal_is_not_found(imported: Any, client_as: Any, users: Any) -> None:
    Profile.objects.get_or_create(user=users["reviewer"])[0].accounts.set([imported["sandbox"]])
    ci = Principal.objects.get(account=imported["prod"], name="ci")
    response = client_as("reviewer").post(reverse("principal_window", args=[ci.pk]), {"unused_days": "30"})
    assert response.status_code == 404
    assert not PrincipalWindow.objects.filter(principal=ci).exists()
