"""Suggestions and change requests against fakeaws: state machine, approvals, apply, drift, rollback."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

import fakeaws
from core.models import AuditEvent
from findings import change_apply, change_requests, suggestions, watch
from findings.change_items import items_digest
from findings.change_requests import ChangeError
from findings.models import ChangeRequest, ChangeStatus
from tests.changes.flow import apply, approved, decide, live_inline, not_sent, rollback, suggest
from tests.scenarios import ACCOUNT

pytestmark = pytest.mark.django_db(transaction=True)


def test_suggestion_keeps_used_actions_and_checks(world: Any) -> None:
    s = suggest("app")
    item = next(i for i in s.items if i["name"] == "app")
    assert item["kind"] == "inline"
    assert item["removed_actions"] == ["lambda:DeleteFunction"]
    proposed = item["proposed"][0]["Statement"][0]
    assert set(proposed["Action"]) == {"lambda:GetFunction", "lambda:UpdateFunctionCode", "sqs:SendMessage"}
    assert item["no_new_access"][0]["result"] == "PASS" and item["validation"][0]["available"]
    assert s.engine_problems == [] and s.risk_after <= s.risk_before
    assert suggestions.suggestion_build(principal=s.principal) == s  # unchanged basis: the same suggestion


def test_state_machine_and_permissions(world: Any) -> None:
    s = suggest("app")
    with pytest.raises(ChangeError, match="reviewer role"):
        change_requests.change_request_open(actor=world["viewer"], suggestion=s, reason="x")
    with pytest.raises(ChangeError, match="why"):
        change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason=" ")
    cr = change_requests.change_request_open(actor=world["approver"], suggestion=s, reason="tighten")
    with pytest.raises(ChangeError, match="never approves their own"):
        decide(cr, world["approver"], True, "")
    with pytest.raises(ChangeError, match="approver role"):
        decide(cr, world["reviewer"], True, "")
    with pytest.raises(ChangeError, match="approved request"):
        change_requests.change_request_queue_apply(actor=world["admin"], change=cr)
    with pytest.raises(ChangeError, match="why you reject"):
        decide(cr, world["admin"], False, "")
    cr = decide(cr, world["admin"], False, "not now")
    assert cr.status == ChangeStatus.REJECTED
    actions = list(
        AuditEvent.objects.filter(object_type="ChangeRequest", object_id=str(cr.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    # Refused decisions are audited too (a requester trying to approve their own request is worth knowing).
    assert actions == ["change.request", *["change.decide_refused"] * 3, "change.reject"]


def test_n_of_m_approvals_and_edit_resets_them(world: Any) -> None:
    with override_settings(IAMREVIEW_REQUIRED_APPROVALS=2):
        cr = change_requests.change_request_open(
            actor=world["reviewer"], suggestion=suggest("app"), reason="tighten"
        )
    cr = decide(cr, world["approver"], True, "")
    assert cr.status == ChangeStatus.PENDING
    items = [dict(i) for i in cr.items]
    items[0]["proposed"] = [
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}],
        }
    ]
    with pytest.raises(ChangeError, match="Only the requester"):
        change_requests.change_request_edit(
            actor=world["approver"], change=cr, items=items, reason="narrower"
        )
    cr = change_requests.change_request_edit(
        actor=world["reviewer"], change=cr, items=items, reason="narrower"
    )
    assert cr.version == 2
    cr = decide(cr, world["admin"], True, "")
    assert cr.status == ChangeStatus.PENDING  # the first approval was for version 1
    cr = decide(cr, world["approver"], True, "")
    assert cr.status == ChangeStatus.APPROVED


def test_edits_that_grant_more_are_refused(world: Any) -> None:
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest("app"), reason="tighten"
    )
    items = [dict(i) for i in cr.items]
    items[0]["proposed"] = [
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    ]
    with pytest.raises(ChangeError, match="grants more"):
        change_requests.change_request_edit(actor=world["reviewer"], change=cr, items=items, reason="oops")
    items[0]["proposed"] = [{"Statement": "nope"}]
    with pytest.raises(ChangeError, match="not valid"):
        change_requests.change_request_edit(actor=world["reviewer"], change=cr, items=items, reason="oops")


def test_requests_expire(world: Any) -> None:
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest("app"), reason="tighten"
    )
    ChangeRequest.objects.filter(pk=cr.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ChangeError, match="expired"):
        decide(cr, world["approver"], True, "")
    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeStatus.EXPIRED


def test_apply_and_rollback_inline(world: Any) -> None:
    before = live_inline(world, "app", "app")
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    assert live_inline(world, "app", "app") == cr.items[0]["proposed"][0]
    assert cr.previous[0]["document"] == before
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    assert cr.watch_checked_at is not None and cr.watch_events == [] and not cr.watch_error
    # CloudTrail names a role's caller by its session; a role whose name only starts with "app" is not it.
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/1700000000000"
    fakeaws.record_access_denied(ACCOUNT, session_arn, "lambda:DeleteFunction", timezone.now())
    other = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-runner/x"
    fakeaws.record_access_denied(ACCOUNT, other, "lambda:GetFunction", timezone.now())
    watch.access_denied_watch()
    cr.refresh_from_db()
    assert [d["action"] for d in cr.watch_events] == [
        "lambda:DeleteFunction"
    ]  # the watch after an apply sees it
    from django.test import Client

    viewer = Client()
    viewer.force_login(world["viewer"])
    page = viewer.get(f"/principals/{cr.principal_id}/").content.decode()
    assert "AWS refused 1 call(s)" in page and "roll it back" in page
    cr = rollback(world, cr)
    assert cr.status == ChangeStatus.ROLLED_BACK
    assert live_inline(world, "app", "app") == before
    assert AuditEvent.objects.filter(action="change.rollback", object_id=str(cr.pk)).exists()


def test_access_denied_watch_reads_with_a_role_allowed_to(world: Any) -> None:
    """The watch reads CloudTrail as the read-only role, which the template allows LookupEvents."""
    cr = apply(world, approved(world, "app"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    fakeaws.record_access_denied(ACCOUNT, cr.principal_arn, "lambda:DeleteFunction", timezone.now())
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    refused = [r["action"] for r in fakeaws.STATE.refused]
    assert refused == [] and not cr.watch_error
    assert [d["action"] for d in cr.watch_events] == ["lambda:DeleteFunction"]


def test_a_watch_that_cannot_read_cloudtrail_says_so(world: Any, settings: Any) -> None:
    """ "Could not read CloudTrail" is never shown as "no AccessDenied"."""
    cr = apply(world, approved(world, "app"))
    world["account"].role_arn = world["account"].apply_role_arn  # a role not allowed LookupEvents
    world["account"].save()
    watch.access_denied_watch()
    cr.refresh_from_db()
    assert cr.watch_error.startswith("Could not read CloudTrail") and cr.watch_events == []
    from django.test import Client

    viewer = Client()
    viewer.force_login(world["viewer"])
    page = viewer.get(f"/principals/{cr.principal_id}/").content.decode()
    assert "Could not read CloudTrail" in page and "No AccessDenied" not in page


def test_apply_customer_managed_with_five_versions(world: Any) -> None:
    iam = world["iam"]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/deploy"
    default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    for n in range(4):
        iam.create_policy_version(
            PolicyArn=arn,
            SetAsDefault=False,
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::v{n}"}
                    ],
                }
            ),
        )
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5
    cr = apply(world, approved(world, "ci"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    new_default = next(v for v in versions if v["IsDefaultVersion"])["VersionId"]
    live = iam.get_policy_version(PolicyArn=arn, VersionId=new_default)["PolicyVersion"]["Document"]
    assert live == cr.items[0]["proposed"][0]
    assert "deleted oldest" in cr.log[-1]["step"]
    cr = rollback(world, cr)
    assert cr.status == ChangeStatus.ROLLED_BACK
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == default


def test_apply_replaces_an_aws_managed_policy_in_a_safe_order(world: Any) -> None:
    iam = world["iam"]
    cr = apply(world, approved(world, "admin"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="admin")["AttachedPolicies"]]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" not in attached
    assert any("iamreview-admin-AdministratorAccess" in a for a in attached)
    log = [e["step"] for e in cr.log]
    assert any(s.startswith("attached") and s.index("attached") < s.index("detached") for s in log)
    cr = rollback(world, cr)
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="admin")["AttachedPolicies"]]
    assert attached == ["arn:aws:iam::aws:policy/AdministratorAccess"]


def test_drift_stops_the_apply_before_any_change(world: Any) -> None:
    cr = approved(world, "app")
    edited = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    world["iam"].put_role_policy(RoleName="app", PolicyName="app", PolicyDocument=json.dumps(edited))
    cr = apply(world, cr)
    assert cr.status == ChangeStatus.FAILED and "drift" in cr.error
    assert live_inline(world, "app", "app") == edited  # untouched


def test_size_limit_error_is_clear(world: Any) -> None:
    s = suggest("app")
    # The suggested document plus a long Deny (it grants nothing new) is over the 10,240 characters AWS
    # allows a role's inline policies: AWS refuses the write, and says why.
    big = dict(s.items[0]["proposed"][0])
    deny = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::b-{i}/*" for i in range(500)],
    }
    big["Statement"] = [*big["Statement"], deny]
    items = [{**s.items[0], "proposed": [big]}]
    cr = change_requests.change_request_open(actor=world["reviewer"], suggestion=s, reason="x", items=items)
    cr = apply(world, decide(cr, world["approver"]))
    assert cr.status == ChangeStatus.FAILED and "size limit" in cr.error


def test_documents_changed_after_approval_are_not_applied(world: Any) -> None:
    """An approval is for the documents the approver saw: a change behind its back is refused."""
    cr = approved(world, "app")
    before = live_inline(world, "app", "app")
    items = [dict(i) for i in cr.items]
    ChangeRequest.objects.filter(pk=cr.pk).update(items=[{**items[0], "proposed": []}])  # delete it instead
    cr = apply(world, cr)
    assert cr.status == ChangeStatus.FAILED and "approvals" in cr.error
    assert live_inline(world, "app", "app") == before


def test_an_approval_is_for_the_version_the_approver_saw(world: Any) -> None:
    cr = change_requests.change_request_open(actor=world["reviewer"], suggestion=suggest("app"), reason="t")
    seen_version, seen_digest = cr.version, items_digest(cr.items)
    items = [{**cr.items[0], "proposed": []}]  # the requester edits it to delete the policy
    change_requests.change_request_edit(actor=world["reviewer"], change=cr, items=items, reason="simpler")
    with pytest.raises(ChangeError, match="changed since you opened this page"):
        change_requests.change_request_decide(
            actor=world["approver"],
            change=cr,
            approve=True,
            comment="",
            version=seen_version,
            digest=seen_digest,
        )
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.PENDING and not cr.approvals.exists()
    assert AuditEvent.objects.filter(action="change.decide_refused", object_id=str(cr.pk)).exists()
    # The same version number with other documents (a digest that does not match) is refused too.
    with pytest.raises(ChangeError, match="changed since"):
        change_requests.change_request_decide(
            actor=world["approver"],
            change=cr,
            approve=True,
            comment="",
            version=cr.version,
            digest=seen_digest,
        )
    assert decide(cr, world["approver"]).status == ChangeStatus.APPROVED


def test_no_apply_without_approval(world: Any) -> None:
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest("app"), reason="tighten"
    )
    before = live_inline(world, "app", "app")
    assert change_apply.change_request_apply(change_id=cr.pk).status == ChangeStatus.PENDING
    ChangeRequest.objects.filter(pk=cr.pk).update(status=ChangeStatus.APPLYING)  # forced past the workflow
    result = change_apply.change_request_apply(change_id=cr.pk)
    assert result.status == ChangeStatus.FAILED and "approvals" in result.error
    assert live_inline(world, "app", "app") == before


def test_two_approvers_and_two_applies_at_once(world: Any) -> None:
    with override_settings(IAMREVIEW_REQUIRED_APPROVALS=1):
        cr = change_requests.change_request_open(
            actor=world["reviewer"], suggestion=suggest("app"), reason="tighten"
        )
    outcomes: list[str] = []

    def decide_at_once(user: Any) -> None:
        try:
            decide(cr, user)
            outcomes.append("ok")
        except ChangeError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=decide_at_once, args=(world[u],)) for u in ("approver", "admin")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeStatus.APPROVED
    assert outcomes.count("ok") == 1, outcomes

    queued: list[str] = []
    sent: list[int] = []

    def queue() -> None:
        try:
            change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
            queued.append("ok")
        except ChangeError as exc:
            queued.append(str(exc))
        finally:
            connection.close()

    # Patched once, outside the threads: two threads patching the same attribute each save the other's
    # patch as "the original", and one of them would stay in place for the rest of the process.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("core.jobs.enqueue", lambda name, pk: sent.append(pk))
        threads = [threading.Thread(target=queue) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert sent == [cr.pk], "exactly one apply task is sent"
    assert queued.count("ok") == 1, queued
    assert AuditEvent.objects.filter(action="change.apply_start", object_id=str(cr.pk)).count() == 1


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause catches it."""


def test_worker_killed_mid_apply_is_recovered_by_rollback(world: Any) -> None:
    iam = world["iam"]
    cr = approved(world, "admin")
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)

        def killed(*args: Any, **kwargs: Any) -> None:
            raise WorkerKilled

        mp.setattr("findings.change_items.aws.detach", killed)
        with pytest.raises(WorkerKilled):
            change_apply.change_request_apply(change_id=cr.pk)
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.APPLYING
    assert [s["kind"] for s in cr.steps] == ["create-policy", "attach"], "the half-done writes are on record"
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="admin")["AttachedPolicies"]]
    assert len(attached) == 2, "killed between attaching ours and detaching theirs"

    # Celery redelivers the task (acks_late): it must not write again, and it undoes what was written.
    cr = change_apply.change_request_apply(change_id=cr.pk)
    assert cr.status == ChangeStatus.FAILED and "interrupted" in cr.error, cr.error
    assert all(s.get("undone") for s in cr.steps)
    assert AuditEvent.objects.filter(action="change.apply_fail", object_id=str(cr.pk)).exists()
    with pytest.raises(ChangeError, match="already undone"):
        change_requests.change_request_queue_rollback(actor=world["approver"], change=cr, reason="again")
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="admin")["AttachedPolicies"]]
    assert attached == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    ours = [
        p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if "iamreview-admin" in p["PolicyName"]
    ]
    assert ours == [], "the policy the killed apply created is deleted"


def test_a_reaped_apply_is_failed_and_audited_together(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reaper stopped between failing a stale apply and auditing it leaves the apply as it was, for its
    next pass: never a failed change without its audit entry."""
    cr = approved(world, "app")
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    ChangeRequest.objects.filter(pk=cr.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=20))
    before = ChangeRequest.objects.get(pk=cr.pk).status

    def killed(**_: Any) -> None:
        raise RuntimeError("reaper killed")

    monkeypatch.setattr(change_requests, "audit_record", killed)
    with pytest.raises(RuntimeError):
        change_requests.change_requests_reap_stale()
    assert ChangeRequest.objects.get(pk=cr.pk).status == before
    monkeypatch.undo()
    assert change_requests.change_requests_reap_stale() == 1
    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeStatus.FAILED
    assert AuditEvent.objects.filter(action="change.apply_fail", object_id=str(cr.pk)).count() == 1


def test_a_reaped_apply_that_wrote_says_so_when_its_rollback_cannot_be_queued(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted apply that wrote to AWS is failed and its rollback queued in one transaction; when the
    rollback cannot be queued, the change says why instead of claiming its writes are being undone."""
    cr = approved(world, "app")
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    ChangeRequest.objects.filter(pk=cr.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=20), steps=[{"op": "put", "undone": None}]
    )

    def refused(**_: Any) -> None:
        raise ChangeError("Stage 2 of this plan (change #99) is still in place: roll it back first.")

    monkeypatch.setattr(change_requests, "change_request_queue_rollback", refused)
    assert change_requests.change_requests_reap_stale() == 1
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.FAILED
    assert (
        "could not be rolled back on their own: Stage 2" in cr.error and "being rolled back" not in cr.error
    )
    event = AuditEvent.objects.get(action="change.apply_fail", object_id=str(cr.pk))
    assert "could not be rolled back on their own" in event.summary


def test_applies_whose_worker_died_are_reaped(world: Any) -> None:
    cr = approved(world, "app")
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    assert change_requests.change_requests_reap_stale() == 0, "a live apply is left alone"
    ChangeRequest.objects.filter(pk=cr.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=20))
    assert change_requests.change_requests_reap_stale() == 1
    cr.refresh_from_db()
    assert cr.status == ChangeStatus.FAILED and "Nothing was written" in cr.error
    assert AuditEvent.objects.filter(action="change.apply_fail", object_id=str(cr.pk)).exists()
