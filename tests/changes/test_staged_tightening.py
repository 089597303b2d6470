"""A staged change: unused services dropped, then resources narrowed to what CloudTrail shows used, each
stage applied, watched for AccessDenied, promoted (by the worker once the watch stayed clean, or by an
approver) and rolled back alone, the latest stage first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from fakeaws.state import record_access_denied
from findings import change_apply, change_requests, change_stages, suggestions, watch
from findings.change_requests import ChangeError
from findings.models import Approval, ChangeRequest, ChangeStatus, Principal
from policy.evidence import Evidence, EvidenceSource
from tests.changes.flow import apply, change_tasks, decide, not_sent, rollback
from tests.scenarios import ACCOUNT

pytestmark = pytest.mark.django_db(transaction=True)
DEPLOY = f"arn:aws:iam::{ACCOUNT}:policy/deploy"


def _evidence() -> list[Evidence]:
    from django.utils import timezone

    now = timezone.now()
    return [
        Evidence("s3:PutObject", "arn:aws:s3:::builds/app/1.zip", EvidenceSource.CLOUDTRAIL_LOOKUP, now, 4),
        Evidence("s3:GetObject", "arn:aws:s3:::builds/app/0.zip", EvidenceSource.CLOUDTRAIL_LOOKUP, now, 2),
    ]


def _live(world: Any) -> list[dict[str, Any]]:
    iam = world["iam"]
    version = iam.get_policy(PolicyArn=DEPLOY)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=DEPLOY, VersionId=version)["PolicyVersion"]["Document"][
        "Statement"
    ]


def _staged(world: Any) -> ChangeRequest:
    # ci: `deploy` grants s3:GetObject, s3:PutObject and lambda:UpdateFunctionCode; ci used s3 only.
    suggestion = suggestions.suggestion_build(
        principal=Principal.objects.get(name="ci"), evidence=_evidence()
    )
    assert suggestion is not None
    cr = change_stages.change_plan_open(
        actor=world["reviewer"], suggestion=suggestion, reason="least privilege"
    )
    assert (cr.stage, cr.stage_count, cr.stage_name) == (1, 2, "services")
    assert [s["stage"] for s in cr.plan] == ["resources"]
    return apply(world, decide(cr, world["approver"], comment="plan ok"))


def test_stages_are_applied_watched_promoted_and_rolled_back_alone(world: Any) -> None:
    original = _live(world)
    first = _staged(world)
    assert first.status == ChangeStatus.APPLIED, first.error
    (statement,) = _live(world)
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:PutObject"] and statement["Resource"] == "*"

    # Nothing is promoted before the watch has read CloudTrail, nor before it stayed clean long enough.
    with pytest.raises(ChangeError, match="has not read CloudTrail"):
        change_stages.stage_promote(actor=world["approver"], change=first)
    applied = first.applied_at
    with override_settings(IAMREVIEW_STAGE_WATCH_HOURS=24):
        watch.watch_change(change=first, now=applied + timedelta(hours=2))
        assert change_stages.stages_promote_due(now=applied + timedelta(hours=2)) == 0
        watch.watch_change(change=first, now=applied + timedelta(hours=25))
        with pytest.MonkeyPatch.context() as mp:
            queued = not_sent(mp)
            assert change_stages.stages_promote_due(now=applied + timedelta(hours=25)) == 1
    second = ChangeRequest.objects.get(parent=first)
    assert change_tasks(queued) == [(change_requests.APPLY_TASK, (second.pk,))]
    assert (second.stage, second.stage_name, second.status) == (2, "resources", ChangeStatus.APPLYING)
    # Carries the approval of the plan, bound to its own documents.
    assert change_requests.approvals_count(second) == 1
    assert Approval.objects.get(change_request=second).approver == world["approver"]
    second = change_apply.change_request_apply(change_id=second.pk)
    assert second.status == ChangeStatus.APPLIED, second.error
    (statement,) = _live(world)
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert statement["Resource"] == "arn:aws:s3:::builds/*"

    # The first stage waits until the second is undone; the second is rolled back alone.
    with pytest.raises(ChangeError, match="roll it back first"):
        change_requests.change_request_queue_rollback(actor=world["approver"], change=first, reason="x")
    second = rollback(world, second)
    assert second.status == ChangeStatus.ROLLED_BACK, second.error
    (statement,) = _live(world)
    assert statement["Resource"] == "*" and "lambda:UpdateFunctionCode" not in statement["Action"]
    first = rollback(world, first)
    assert first.status == ChangeStatus.ROLLED_BACK, first.error
    assert _live(world) == original


def test_an_access_denied_stops_the_plan(world: Any) -> None:
    first = _staged(world)
    record_access_denied(
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:role/ci",
        "lambda:UpdateFunctionCode",
        first.applied_at + timedelta(minutes=5),
    )
    with override_settings(IAMREVIEW_STAGE_WATCH_HOURS=1):
        watch.watch_change(change=first, now=first.applied_at + timedelta(hours=2))
        assert change_stages.stages_promote_due(now=first.applied_at + timedelta(hours=2)) == 0
        with pytest.raises(ChangeError, match="refused call"):
            change_stages.stage_promote(actor=world["approver"], change=first)
    assert not ChangeRequest.objects.filter(parent=first).exists()


def test_only_an_approver_promotes(world: Any) -> None:
    first = _staged(world)
    with pytest.raises(ChangeError, match="approver role"):
        change_stages.stage_promote(actor=world["reviewer"], change=first)


def test_the_suggestion_page_offers_stages_and_hardening(world: Any, client_as: Any) -> None:
    from django.urls import reverse

    suggestion = suggestions.suggestion_build(
        principal=Principal.objects.get(name="ci"), evidence=_evidence()
    )
    assert suggestion is not None
    reviewer = client_as("reviewer")
    page = reviewer.get(reverse("suggestion_detail", args=[suggestion.pk])).content.decode()
    assert 'name="staged"' in page and 'name="harden"' in page
    assert "arn:aws:s3:::builds/*" in page  # the narrowed resources, with the action
    response = reviewer.post(
        reverse("suggestion_accept", args=[suggestion.pk]), {"reason": "staged", "staged": "1", "harden": "1"}
    )
    assert response.status_code == 302
    cr = ChangeRequest.objects.get()
    assert (cr.stage, cr.stage_count) == (1, 2)
    (last,) = cr.plan[-1]["items"]
    (statement,) = last["proposed"][0]["Statement"]
    assert statement["Condition"]["Bool"] == {"aws:SecureTransport": "true"}
    assert statement["Resource"] == "arn:aws:s3:::builds/*"
    detail = client_as("approver").get(reverse("change_detail", args=[cr.pk])).content.decode()
    assert "1 of 2" in detail and "Narrow resources to those used" in detail
