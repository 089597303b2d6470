"""The safety net around an apply, against fakeaws with permission enforcement on: the apply is refused when
the new policies would deny a use the evidence shows (engine and IAM's simulator), and an AccessDenied after
an apply offers a follow-up that adds back exactly the denied action on the denied resource."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import fakeaws
from accounts.aws.client import AwsSession
from accounts.services import aws_target
from core.models import AuditEvent
from findings import add_back, change_requests, evidence, watch
from findings.change_requests import ChangeError
from findings.evidence_check import check_used_access
from findings.models import ChangeRequest, ChangeStatus, Principal
from tests.changes.flow import apply, approved, decide, live_inline, not_sent
from tests.scenarios import ACCOUNT

FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"


def collect_lookup(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CloudTrail LookupEvents sweep, as the worker runs it."""
    world["account"].cloudtrail_lookup = True
    world["account"].save()
    queued = not_sent(monkeypatch)
    evidence.evidence_tick()
    for _, args in [q for q in queued if q[0] == evidence.RUN_TASK]:
        assert evidence.evidence_job_run(job_id=args[0]).status == "succeeded"
    # New evidence rebuilds the account's suggestions.
    assert (evidence.REBUILD_TASK, (world["account"].pk,)) in queued


def test_an_apply_that_would_deny_used_access_is_refused_with_the_list(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cr = approved(world, "app")
    assert "lambda:DeleteFunction" in cr.items[0]["removed_actions"]
    # Access Advisor had seen no DeleteFunction when the suggestion was made; CloudTrail has seen one since.
    app = Principal.objects.get(name="app")
    fakeaws.record_event(ACCOUNT, app.arn, "lambda:DeleteFunction", timezone.now(), resources=[FUNCTION])
    collect_lookup(world, monkeypatch)
    before = live_inline(world, "app", "app")
    cr = apply(world, cr)
    assert cr.status == ChangeStatus.FAILED
    assert "would deny 1 use(s)" in cr.error and f"lambda:deletefunction on {FUNCTION}" in cr.error
    assert cr.steps == [] and live_inline(world, "app", "app") == before  # nothing written
    # IAM's simulator was asked too, with the read role, and agreed.
    check = check_used_access(cr, AwsSession(aws_target(world["account"])).client("iam"))
    assert check.denied and "1 denied after the change" in check.simulator
    assert fakeaws.STATE.refused == []


def test_an_apply_keeping_every_used_access_passes_both_checks(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Principal.objects.get(name="app")
    fakeaws.record_event(ACCOUNT, app.arn, "lambda:GetFunction", timezone.now(), resources=[FUNCTION])
    collect_lookup(world, monkeypatch)
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    line = next(entry["step"] for entry in cr.log if entry["step"].startswith("Evidence check"))
    assert "0 denied after the change" in line and "request(s) simulated" in line
    # Access Advisor's resource-less record of GetFunction is the call LookupEvents recorded on FUNCTION:
    # the stored evidence narrows it, and the simulator asks about FUNCTION, not "*".
    narrowed = [s for s in live_inline(world, "app", "app")["Statement"] if s["Resource"] == FUNCTION]
    assert [s["Action"] for s in narrowed] in (["lambda:GetFunction"], [["lambda:GetFunction"]])


def test_access_denied_after_an_apply_offers_an_add_back_through_approval(world: Any) -> None:
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    fakeaws.record_access_denied(ACCOUNT, cr.principal_arn, "lambda:DeleteFunction", timezone.now(), FUNCTION)
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    assert cr.watch_events[0]["resource"] == FUNCTION
    reviewer = Client()
    reviewer.force_login(world["reviewer"])
    page = reviewer.get(f"/changes/{cr.pk}/").content.decode()
    assert "Add back lambda:DeleteFunction" in page
    response = reviewer.post(f"/changes/{cr.pk}/add-back/", {"event": "1"})
    follow = ChangeRequest.objects.get(follow_up_of=cr)
    assert response.status_code == 302 and response["Location"] == f"/changes/{follow.pk}/"
    assert follow.status == ChangeStatus.PENDING and follow.add_back == [
        {"action": "lambda:DeleteFunction", "resource": FUNCTION}
    ]
    added = follow.items[0]["proposed"][0]["Statement"][-1]
    assert added == {
        "Sid": "AddedBack",
        "Effect": "Allow",
        "Action": "lambda:DeleteFunction",
        "Resource": FUNCTION,
    }
    assert AuditEvent.objects.filter(action="change.add_back", object_id=str(follow.pk)).exists()
    # Only what was refused: an edit granting more is refused.
    items = [dict(follow.items[0])]
    items[0]["proposed"] = [
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}
    ]
    with pytest.raises(ChangeError, match="grants more"):
        change_requests.change_request_edit(
            actor=world["reviewer"], change=follow, items=items, reason="more"
        )
    with pytest.raises(ChangeError, match="already open"):
        add_back.change_request_add_back(actor=world["reviewer"], change=cr, event=0)
    # The usual approval, then the apply (Access Analyzer's CheckNoNewAccess allows exactly the add-back).
    follow = decide(follow, world["approver"], comment="needed by the nightly job")
    assert follow.status == ChangeStatus.APPROVED
    follow = apply(world, follow)
    assert follow.status == ChangeStatus.APPLIED, follow.error
    assert live_inline(world, "app", "app")["Statement"][-1]["Action"] == "lambda:DeleteFunction"


def test_an_add_back_for_something_the_change_did_not_remove_is_refused(world: Any) -> None:
    cr = apply(world, approved(world, "app"))
    fakeaws.record_access_denied(ACCOUNT, cr.principal_arn, "iam:CreateUser", timezone.now())
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    with pytest.raises(ChangeError, match="another cause"):
        add_back.change_request_add_back(actor=world["reviewer"], change=cr, event=0)
    viewer = Client()
    viewer.force_login(world["viewer"])
    assert viewer.post(f"/changes/{cr.pk}/add-back/", {"event": "1"}).status_code == 403
