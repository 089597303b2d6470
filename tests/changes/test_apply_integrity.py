"""An apply writes the whole approved change or undoes what it wrote; rollbacks run in the worker, resume
after a failure and are reaped; suggestions never offer what cannot be applied; the predicted score is the
score the next sync computes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.aws.client import AwsAccessError
from accounts.models import SyncRun
from core.models import AuditEvent
from findings import change_apply, change_requests, suggestions
from findings.ingest import sync_run_execute
from findings.models import ChangeRequest, ChangeStatus, Principal
from tests.changes.flow import apply, approved, change_tasks, decide, not_sent, rollback, suggest
from tests.scenarios import ACCOUNT, ADMIN

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = f"arn:aws:iam::{ACCOUNT}:policy/deploy"
PART_1 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
PART_2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::tenant/protected/*"},
    ],
}


def attached(world: Any, role: str) -> list[str]:
    return sorted(
        p["PolicyArn"] for p in world["iam"].list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    )


def default_document(world: Any, arn: str) -> Any:
    iam = world["iam"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def ours(world: Any) -> list[str]:
    return [
        p["Arn"]
        for p in world["iam"].list_policies(Scope="Local")["Policies"]
        if "iamreview-" in p["PolicyName"]
    ]


def test_a_split_managed_policy_is_written_whole_and_rolled_back_whole(world: Any) -> None:
    s = suggest("ci")
    item = next(i for i in s.items if i["arn"] == DEPLOY)
    assert item["kind"] == "managed"
    before = default_document(world, DEPLOY)
    items = [{**i, "proposed": [PART_1, PART_2]} if i is item else i for i in s.items]
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=s, reason="split", items=items
    )
    cr = apply(world, decide(cr, world["approver"]))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    assert default_document(world, DEPLOY) == PART_1
    extra = [a for a in attached(world, "ci") if a != DEPLOY]
    assert len(extra) == 1 and "iamreview-ci-deploy-2" in extra[0]
    assert default_document(world, extra[0]) == PART_2, "the second part, with its Deny, is live"
    cr = rollback(world, cr)
    assert cr.status == ChangeStatus.ROLLED_BACK, cr.error
    assert default_document(world, DEPLOY) == before
    assert attached(world, "ci") == [DEPLOY] and ours(world) == []


def test_an_apply_that_fails_part_way_undoes_what_it_wrote(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cr = approved(world, "admin")  # replace AdministratorAccess: create ours, attach it, detach theirs
    from accounts.aws import apply as aws

    real_detach, calls = aws.detach, []

    def refused_once(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) == 1:  # the apply's detach of AdministratorAccess; the undo's detach goes through
            raise AwsAccessError("AWS refused detaching (AccessDenied): not allowed")
        real_detach(*args, **kwargs)

    monkeypatch.setattr("accounts.aws.apply.detach", refused_once)
    cr = apply(world, cr)
    monkeypatch.undo()
    assert cr.status == ChangeStatus.FAILED and "undoing" in cr.error, cr.error
    assert [s["kind"] for s in cr.steps] == ["create-policy", "attach"] and all(
        s.get("undone") for s in cr.steps
    )
    assert attached(world, "admin") == [ADMIN] and ours(world) == []
    assert AuditEvent.objects.filter(action="change.rollback_step", object_id=str(cr.pk)).count() == 2


def test_a_failed_rollback_is_retried_from_where_it_stopped(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cr = apply(world, approved(world, "admin"))
    assert cr.status == ChangeStatus.APPLIED, cr.error

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AwsAccessError("AWS refused deleting the policy (Throttling): slow down")

    monkeypatch.setattr("accounts.aws.apply.delete_policy", refused)
    cr = rollback(world, cr)
    monkeypatch.undo()
    assert cr.status == ChangeStatus.ROLLBACK_FAILED and "roll back again" in cr.error
    undone = [s["kind"] for s in cr.steps if s.get("undone")]
    assert undone == ["attach", "detach"], "the steps undone before the failure are recorded"
    cr = rollback(world, cr, reason="retry after throttling")
    assert cr.status == ChangeStatus.ROLLED_BACK, cr.error
    assert attached(world, "admin") == [ADMIN] and ours(world) == []


def test_rollbacks_and_applies_whose_worker_died_are_reaped(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cr = apply(world, approved(world, "app"))
    with monkeypatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_rollback(actor=world["approver"], change=cr, reason="x")
    long_ago = timezone.now() - timedelta(hours=1)
    ChangeRequest.objects.filter(pk=cr.pk).update(heartbeat_at=long_ago)
    assert change_requests.change_requests_reap_stale() == 1
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.ROLLBACK_FAILED and "roll back again" in cr.error
    assert rollback(world, cr).status == ChangeStatus.ROLLED_BACK

    # An apply whose worker died after writing: failed, and a rollback of what it wrote is queued.
    cr = approved(world, "admin")
    with monkeypatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    ChangeRequest.objects.filter(pk=cr.pk).update(
        steps=[{"kind": "attach", "arn": ADMIN}], heartbeat_at=long_ago
    )
    with monkeypatch.context() as mp:
        queued = not_sent(mp)
        assert change_requests.change_requests_reap_stale() == 1
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.ROLLING_BACK and change_tasks(queued) == [
        (change_requests.ROLLBACK_TASK, (cr.pk,))
    ]


def test_a_policy_that_is_another_principals_boundary_is_replaced_not_rewritten(world: Any) -> None:
    Principal.objects.filter(name="app").update(boundary_arn=DEPLOY)
    item = next(i for i in suggest("ci").items if i["arn"] == DEPLOY)
    assert item["kind"] == "replace" and item["replacement_name"].startswith("iamreview-ci-")


def test_protected_principals_and_oversized_suggestions_are_not_offered(world: Any) -> None:
    Principal.objects.filter(name="app").update(path="/aws-service-role/lambda.amazonaws.com/")
    s = suggest("app")
    assert "service-linked role" in s.blocked_reason
    with pytest.raises(change_requests.ChangeError, match="cannot be applied"):
        change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason="x")
    user = Principal(kind="user", attached_policy_arns=[])
    big = {"name": "a", "kind": "inline", "proposed": [], "fits": True, "limit": 2048}
    reason = suggestions._blocked(user, [big], {"a": 1500, "b": 900})
    assert "2,400 characters" in reason and "2,048" in reason
    unfit = {**big, "fits": False, "proposed": [{"Statement": []}]}
    assert "does not fit" in suggestions._blocked(user, [unfit], {})


@pytest.mark.parametrize("name", ["admin", "app", "ci"])
def test_the_predicted_score_is_the_score_of_the_next_sync(world: Any, name: str) -> None:
    s = suggest(name)
    cr = apply(world, approved(world, name))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        run = sync_run_execute(run_id=SyncRun.objects.create(account=world["account"]).pk)
    assert run is not None and run.status == "succeeded", run and run.error
    principal = Principal.objects.get(name=name)
    assert principal.risk_score == s.risk_after, (s.risk_before, s.risk_after, principal.score_explanation)


def test_the_rollback_page_asks_why_and_lists_its_steps(world: Any) -> None:
    from django.test import Client

    cr = apply(world, approved(world, "admin"))
    approver = Client()
    approver.force_login(world["approver"])
    page = approver.get(f"/changes/{cr.pk}/").content.decode()
    assert 'name="reason" required' in page and "create-policy" in page and "detach" in page
    with pytest.MonkeyPatch.context() as mp:
        queued = not_sent(mp)
        response = approver.post(f"/changes/{cr.pk}/rollback/", {"reason": ""})
    assert change_tasks(queued) == [] and "Say why" in approver.get(response["Location"]).content.decode()
    with pytest.MonkeyPatch.context() as mp:
        queued = not_sent(mp)
        approver.post(f"/changes/{cr.pk}/rollback/", {"reason": "breaks the nightly job"})
    assert change_tasks(queued) == [(change_requests.ROLLBACK_TASK, (cr.pk,))]
    assert change_apply.change_request_rollback(change_id=cr.pk).status == ChangeStatus.ROLLED_BACK
    assert AuditEvent.objects.filter(action="change.rollback_start", summary__contains="nightly job").exists()


def test_access_analyzer_checks_the_version_being_applied(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: a version the engine wrongly passed is stopped by CheckNoNewAccess (fakeaws answers
    it with an evaluator of its own) before anything is written."""
    s = suggest("app")
    wider = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    items = [{**s.items[0], "proposed": [wider]}]
    monkeypatch.setattr("findings.change_requests.grants_nothing_new", lambda *args: [])  # an engine bug
    cr = change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason="x", items=items)
    monkeypatch.undo()
    before = world["iam"].get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"]
    cr = apply(world, decide(cr, world["approver"]))
    assert cr.status == ChangeStatus.FAILED and "CheckNoNewAccess" in cr.error, cr.error
    assert cr.steps == []
    assert world["iam"].get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"] == before
    # A tightened version passes, and the log says it was checked.
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED and any("PASS for every document" in e["step"] for e in cr.log)
