"""Principals the organisation protects by tag or path get no direct apply; the pages say why and what to
do instead (against fakeaws, with the product roles' permission checks on)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import SyncRun
from findings import change_requests
from findings.ingest import sync_run_execute
from findings.models import Principal, Suggestion
from tests.changes.flow import suggest

pytestmark = pytest.mark.django_db(transaction=True)


def resync(world: Any) -> None:
    run = SyncRun.objects.create(account=world["account"])
    with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        assert sync_run_execute(run_id=run.pk).status == "succeeded"  # type: ignore[union-attr]


@override_settings(IAMREVIEW_PROTECTED_TAG="iamreview:protected=true")
def test_a_role_tagged_as_protected_is_not_applied(world: Any, client_as: Any) -> None:
    world["iam"].tag_role(RoleName="app", Tags=[{"Key": "iamreview:protected", "Value": "true"}])
    world["iam"].tag_role(RoleName="ci", Tags=[{"Key": "iamreview:protected", "Value": "no"}])
    resync(world)
    app = Principal.objects.get(name="app")
    assert app.tags == {"iamreview:protected": "true"}
    s = suggest("app")
    assert "tag iamreview:protected=true" in s.blocked_reason and "Terraform" in s.blocked_reason
    with pytest.raises(change_requests.ChangeError, match="cannot be applied"):
        change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason="review")
    reviewer = client_as("reviewer")
    page = reviewer.get(f"/principals/{app.pk}/").content.decode()
    assert 'id="protected-reason"' in page and "iamreview:protected=true" in page
    detail = reviewer.get(f"/suggestions/{s.pk}/").content.decode()
    assert 'id="blocked-reason"' in detail and 'id="accept-suggestion"' not in detail
    # Another value of the tag is not protected.
    assert "tag" not in suggest("ci").blocked_reason
    assert fakeaws.STATE.refused == []


def test_a_principal_under_a_protected_path_is_not_applied(world: Any) -> None:
    s = suggest("app")
    assert s.blocked_reason == ""
    Principal.objects.filter(name="app").update(path="/platform/team/")
    with override_settings(IAMREVIEW_PROTECTED_PATHS=["/platform/"]):
        # A suggestion made before the setting is refused all the same (loaded afresh, as a request does).
        s = Suggestion.objects.get(pk=s.pk)
        with pytest.raises(change_requests.ChangeError, match="path /platform/"):
            change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason="review")
        assert "path /platform/" in suggest("app").blocked_reason
