"""Tightening covers every principal the evidence says something about: administrators whose services
were all never accessed get a suggestion that says so, and groups are tightened from their members' use
together, applied to the group through the usual change workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import account_clients, seed_account
from fakeaws.state import record_access_denied
from findings import change_requests, suggestions, watch
from findings.ingest import sync_run_execute
from findings.models import ChangeStatus, Principal, Suggestion
from tests.changes.flow import apply, decide, rollback
from tests.scenarios import ACCOUNT, doc, small_company

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_old_administrator_gets_a_suggestion_with_the_evidence(world: Any) -> None:
    old_admin = Principal.objects.get(name="old-admin")
    suggestion = suggestions.suggestion_build(principal=old_admin)
    assert suggestion is not None and not suggestion.blocked_reason
    (item,) = suggestion.items
    assert item["name"] == "AdministratorAccess"
    assert item["never_used"].startswith("Nothing this policy grants was used in the last 90 days")
    assert "Kept only what Access Advisor cannot see" in item["never_used"]  # named, with a count
    # A role that used two services: its suggestion is no "never used" one.
    admin = suggestions.suggestion_build(principal=Principal.objects.get(name="admin"))
    assert admin is not None and admin.items[0]["never_used"] == ""


@pytest.fixture
def groups_world(users: dict[str, Any]) -> Any:
    """devs: alice used s3:GetObject, bob used ec2:DescribeInstances; the group's inline policy grants
    more than both."""
    with fakeaws.mock():
        spec = small_company()
        spec["groups"][0]["inline"] = {
            "extra": doc(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:CreateBucket", "sns:Publish", "ec2:DescribeInstances"],
                    "Resource": "*",
                }
            )
        }
        spec["users"].append({"name": "bob", "groups": ["devs"], "created_days": 400})
        spec["usage"]["bob"] = {"ec2": {"days": 3, "actions": {"DescribeInstances": 3}}}
        seed_account(ACCOUNT, spec)
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT,
            name="prod",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
            apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            run = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        assert run is not None and run.status == "succeeded", run and run.error
        yield {"account": account, "iam": account_clients(ACCOUNT)["iam"], **users}


def test_a_group_is_tightened_from_the_union_of_its_members_use(groups_world: Any) -> None:
    world, iam = groups_world, groups_world["iam"]
    devs = Principal.objects.get(name="devs", kind="group")
    suggestion = suggestions.suggestion_build(principal=devs)
    assert suggestion is not None, "a group's policies are tightened"
    inline = next(i for i in suggestion.items if i["name"] == "extra")
    kept = {a for st in inline["proposed"][0]["Statement"] for a in st["Action"]}
    assert kept == {"s3:GetObject", "ec2:DescribeInstances"}  # alice's s3, bob's ec2
    assert set(inline["removed_actions"]) == {"s3:CreateBucket", "sns:Publish"}
    # Applied to the group, and rolled back, through the usual workflow.
    cr = change_requests.change_request_open(actor=world["reviewer"], suggestion=suggestion, reason="groups")
    cr = apply(world, decide(cr, world["approver"], comment="ok"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    live = iam.get_group_policy(GroupName="devs", PolicyName="extra")["PolicyDocument"]
    assert {a for st in live["Statement"] for a in st["Action"]} == kept
    # The watch reads the members' refused calls: the group itself never calls AWS. (CreateBucket is a
    # management event, which LookupEvents returns; sns:Publish is a data event, which it never does.)
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    record_access_denied(ACCOUNT, bob, "s3:CreateBucket", cr.applied_at + timedelta(minutes=1))
    watch.watch_change(change=cr, now=cr.applied_at + timedelta(minutes=5))
    cr.refresh_from_db()
    assert [e["action"] for e in cr.watch_events] == ["s3:CreateBucket"], cr.watch_error
    cr = rollback(world, cr)
    assert cr.status == ChangeStatus.ROLLED_BACK, cr.error
    live = iam.get_group_policy(GroupName="devs", PolicyName="extra")["PolicyDocument"]
    assert "sns:Publish" in {a for st in live["Statement"] for a in st["Action"]}


def test_every_group_is_considered_for_the_account(groups_world: Any) -> None:
    assert suggestions.suggestions_build_for_account(account_id=groups_world["account"].pk) > 0
    assert Suggestion.objects.filter(principal__kind="group", stale=False).exists()
