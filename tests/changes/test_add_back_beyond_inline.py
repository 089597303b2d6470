"""The add-back follow-up beyond a role's inline policy: a role whose access came from a shared managed
policy that the apply replaced by a tightened policy of ours, and a user (refused calls recorded under
its IAM user ARN) with both kinds. Each follow-up adds exactly the denied action on the denied resource,
to the policy that holds the principal's access now, and goes through the usual approval and apply."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import account_clients, seed_account
from findings import add_back, watch
from findings.change_items import ItemKind
from findings.ingest import sync_run_execute
from findings.models import ChangeRequest, ChangeStatus
from tests.changes.flow import apply, approved, decide
from tests.scenarios import ACCOUNT, doc, small_company

FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"


@pytest.fixture
def world(users: dict[str, Any]) -> Any:
    """The small company, with user `dev` sharing the customer managed policy `deploy` with role `ci`
    (so tightening either replaces it rather than editing it) and holding an inline policy of its own."""
    with fakeaws.mock():
        spec = small_company()
        spec["users"].append(
            {
                "name": "dev",
                "created_days": 400,
                "attached": ["deploy"],
                "inline": {
                    "tools": doc(
                        {
                            "Effect": "Allow",
                            "Action": ["lambda:GetFunction", "lambda:DeleteFunction", "sqs:SendMessage"],
                            "Resource": "*",
                        }
                    )
                },
            }
        )
        spec["usage"]["dev"] = {
            "lambda": {"days": 1, "actions": {"GetFunction": 1}},
            "s3": {"days": 1, "actions": {"PutObject": 1}},
            "sqs": {"days": 2},
        }
        seed_account(ACCOUNT, spec)
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT,
            name="prod",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
            apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            assert sync_run_execute(run_id=SyncRun.objects.create(account=account).pk).status == "succeeded"  # type: ignore[union-attr]
        yield {"account": account, "iam": account_clients(ACCOUNT)["iam"], **users}


def refused_then_added_back(world: Any, cr: ChangeRequest, action: str) -> ChangeRequest:
    fakeaws.record_access_denied(ACCOUNT, cr.principal_arn, action, timezone.now(), FUNCTION)
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    assert [(e["action"], e["resource"]) for e in cr.watch_events] == [(action, FUNCTION)]
    follow = add_back.change_request_add_back(actor=world["reviewer"], change=cr, event=0)
    assert follow.add_back == [{"action": action, "resource": FUNCTION}]
    assert len(follow.items) == 1
    added = follow.items[0]["proposed"][0]["Statement"][-1]
    assert added == {"Sid": "AddedBack", "Effect": "Allow", "Action": action, "Resource": FUNCTION}
    follow = decide(follow, world["approver"], comment="needed")
    assert follow.status == ChangeStatus.APPROVED, follow.error
    follow = apply(world, follow)
    assert follow.status == ChangeStatus.APPLIED, follow.error
    return follow


def default_document(iam: Any, arn: str) -> Any:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def attached(iam: Any, kind: str, name: str) -> list[str]:
    listing = (iam.list_attached_role_policies if kind == "role" else iam.list_attached_user_policies)(
        **({"RoleName": name} if kind == "role" else {"UserName": name})
    )
    return sorted(p["PolicyArn"] for p in listing["AttachedPolicies"])


def test_a_replaced_managed_policy_gets_the_add_back_in_the_policy_that_replaced_it(world: Any) -> None:
    cr = apply(world, approved(world, "ci"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    assert [i["kind"] for i in cr.items] == [ItemKind.REPLACE]  # `deploy` is shared with dev
    (ours,) = attached(world["iam"], "role", "ci")
    assert ours != cr.items[0]["arn"] and "lambda:UpdateFunctionCode" not in str(
        default_document(world["iam"], ours)
    )
    follow = refused_then_added_back(world, cr, "lambda:UpdateFunctionCode")
    assert [(i["kind"], i["arn"]) for i in follow.items] == [(ItemKind.MANAGED, ours)]
    live = default_document(world["iam"], ours)
    assert live["Statement"][-1]["Action"] == "lambda:UpdateFunctionCode"
    assert live["Statement"][-1]["Resource"] == FUNCTION
    # The shared original stays detached from ci and untouched for dev.
    assert attached(world["iam"], "role", "ci") == [ours]
    assert "lambda:UpdateFunctionCode" in str(default_document(world["iam"], cr.items[0]["arn"]))


def test_a_users_refused_call_is_added_back_to_the_policy_it_came_from(world: Any) -> None:
    cr = apply(world, approved(world, "dev"))
    assert cr.status == ChangeStatus.APPLIED, cr.error
    assert sorted(i["kind"] for i in cr.items) == sorted([ItemKind.REPLACE, ItemKind.INLINE])
    follow = refused_then_added_back(world, cr, "lambda:DeleteFunction")
    assert [(i["kind"], i["name"]) for i in follow.items] == [(ItemKind.INLINE, "tools")]
    live = world["iam"].get_user_policy(UserName="dev", PolicyName="tools")["PolicyDocument"]
    assert live["Statement"][-1] == {
        "Sid": "AddedBack",
        "Effect": "Allow",
        "Action": "lambda:DeleteFunction",
        "Resource": FUNCTION,
    }
    # A call refused from the replaced managed policy goes to the policy of ours that replaced it.
    ours = next(a for a in attached(world["iam"], "user", "dev") if "iamreview-" in a)
    second = refused_then_added_back_again(world, cr, "lambda:UpdateFunctionCode")
    assert [(i["kind"], i["arn"]) for i in second.items] == [(ItemKind.MANAGED, ours)]


def refused_then_added_back_again(world: Any, cr: ChangeRequest, action: str) -> ChangeRequest:
    fakeaws.record_access_denied(ACCOUNT, cr.principal_arn, action, timezone.now(), FUNCTION)
    watch.watch_change(change=cr)
    cr.refresh_from_db()
    event = next(n for n, e in enumerate(cr.watch_events) if e["action"] == action)
    follow = add_back.change_request_add_back(actor=world["reviewer"], change=cr, event=event)
    assert follow.items[0]["proposed"][0]["Statement"][-1]["Action"] == action
    return follow


def test_each_replaced_policy_is_matched_to_the_policy_of_ours_that_replaced_it() -> None:
    ours = f"arn:aws:iam::{ACCOUNT}:policy/iamreview/iamreview-ci-"
    cr = ChangeRequest(
        principal_name="ci",
        steps=[
            {"kind": "create-policy", "arn": f"{ours}readonly"},
            {"kind": "create-policy", "arn": f"{ours}deploy"},
            {"kind": "create-policy", "arn": f"{ours}deploy-2"},
        ],
    )
    assert add_back._created_arn(cr, {"name": "deploy"}) == f"{ours}deploy"
    assert add_back._created_arn(cr, {"name": "readonly"}) == f"{ours}readonly"
    assert add_back._created_arn(cr, {"name": "x", "replacement_name": "mine"}) == ""
