"""fakeaws refuses what an assumed role may not do, with the onboarding templates' own policies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import fakeaws
from accounts.product_roles import (
    APPLY_ROLE_NAME,
    READ_ACTIONS,
    READ_ROLE_NAME,
    apply_policy,
    identity_center_apply_policy,
    organization_policy,
    read_policy,
)
from fakeaws.enforce import action_for
from fakeaws.iamdb import iam_database
from fakeaws.scenario import seed_account
from tests.fakeaws.sessions import refused, role_session
from tests.scenarios import ACCOUNT, small_company

ADMIN = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
BOUNDARY = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def world() -> Iterator[dict[str, str]]:
    with fakeaws.mock():
        yield seed_account(ACCOUNT, small_company())


def as_role(name: str, account: str = ACCOUNT) -> boto3.Session:
    return role_session(account, name)


@pytest.mark.parametrize("target", [APPLY_ROLE_NAME, READ_ROLE_NAME])
def test_the_apply_role_cannot_change_the_products_roles(world: dict[str, str], target: str) -> None:
    iam = as_role(APPLY_ROLE_NAME).client("iam")
    attempts: list[tuple[Any, dict[str, Any]]] = [
        (iam.put_role_policy, {"RoleName": target, "PolicyName": "more", "PolicyDocument": ADMIN}),
        (iam.delete_role_policy, {"RoleName": target, "PolicyName": target}),
        (iam.attach_role_policy, {"RoleName": target, "PolicyArn": BOUNDARY}),
        (iam.update_assume_role_policy, {"RoleName": target, "PolicyDocument": ADMIN}),
        (iam.put_role_permissions_boundary, {"RoleName": target, "PermissionsBoundary": BOUNDARY}),
        (iam.delete_role_permissions_boundary, {"RoleName": target}),
    ]
    for call, kwargs in attempts:
        assert "explicit deny" in refused(call, **kwargs) or "no identity-based policy" in refused(
            call, **kwargs
        )
    live = boto3.client("iam", region_name="us-east-1")
    live.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", ACCOUNT)
    )
    assert live.list_role_policies(RoleName=target)["PolicyNames"] == [target]
    assert live.list_attached_role_policies(RoleName=target)["AttachedPolicies"] == []


def test_the_apply_role_still_tightens_other_principals(world: dict[str, str]) -> None:
    iam = as_role(APPLY_ROLE_NAME).client("iam")
    narrow = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
        }
    )
    iam.put_role_policy(RoleName="app", PolicyName="app", PolicyDocument=narrow)
    assert iam.get_role_policy(RoleName="app", PolicyName="app")["PolicyDocument"]["Statement"][0][
        "Action"
    ] == ("sqs:SendMessage")
    assert fakeaws.STATE.refused == []


def test_the_apply_role_cannot_rewrite_a_managed_policy_kept_for_the_product(world: dict[str, str]) -> None:
    admin = boto3.client("iam", region_name="us-east-1")
    admin.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", ACCOUNT)
    )
    arn = admin.create_policy(
        PolicyName="extra", Path="/iamreview-product/", PolicyDocument=json.dumps(read_policy())
    )["Policy"]["Arn"]
    iam = as_role(APPLY_ROLE_NAME).client("iam")
    assert "explicit deny" in refused(
        iam.create_policy_version, PolicyArn=arn, PolicyDocument=ADMIN, SetAsDefault=True
    )


def test_the_read_role_reads_and_writes_nothing(world: dict[str, str]) -> None:
    session = as_role(READ_ROLE_NAME)
    session.client("iam").get_account_authorization_details()
    session.client("cloudtrail").lookup_events()
    message = refused(
        session.client("iam").put_role_policy, RoleName="app", PolicyName="x", PolicyDocument=ADMIN
    )
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{READ_ROLE_NAME}/iamreview-test is not authorized to perform: "
        f"iam:PutRolePolicy on resource: arn:aws:iam::{ACCOUNT}:role/app because no identity-based policy "
        "allows the iam:PutRolePolicy action"
    )


def test_a_role_that_does_not_exist_cannot_be_assumed_and_checks_can_be_turned_off(
    world: dict[str, str],
) -> None:
    message = refused(as_role, name="no-such-role")
    assert message == (
        "User: arn:aws:sts::123456789012:user/moto is not authorized to perform: sts:AssumeRole on "
        f"resource: arn:aws:iam::{ACCOUNT}:role/no-such-role"
    )
    fakeaws.STATE.enforce = False
    as_role("no-such-role").client("iam").get_account_summary()


def test_plain_credentials_are_not_checked(world: dict[str, str]) -> None:
    boto3.client("iam", region_name="us-east-1").list_roles()
    assert fakeaws.STATE.refused == []


def test_a_template_naming_an_operation_instead_of_its_action_is_refused() -> None:
    """The defect the templates had: ListFindingsV2 is an API call, the action is ListFindings."""
    wrong = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    a.replace("ListFindings", "ListFindingsV2").replace("GetFinding", "GetFindingV2")
                    for a in READ_ACTIONS
                ],
                "Resource": "*",
            }
        ],
    }
    with fakeaws.mock():
        seed_account(
            ACCOUNT,
            {"product_roles": False, "roles": [{"name": READ_ROLE_NAME, "inline": {"read": wrong}}]},
        )
        analyzer = as_role(READ_ROLE_NAME).client("accessanalyzer")
        analyzer.list_analyzers()
        arn = "arn:aws:access-analyzer:us-east-1:111111111111:analyzer/unused"
        assert "access-analyzer:ListFindings action" in refused(analyzer.list_findings_v2, analyzerArn=arn)


def test_every_action_the_templates_name_exists() -> None:
    db = iam_database()
    named = [
        a
        for document in (read_policy(), apply_policy(), organization_policy(), identity_center_apply_policy())
        for st in document["Statement"]
        for a in st["Action"]
    ]
    assert len(named) > 50
    assert "organizations:ListTargetsForPolicy" in named
    assert {
        "sso:ListPermissionSets",
        "sso:PutInlinePolicyToPermissionSet",
        "sso:ProvisionPermissionSet",
    } <= set(named)
    assert [a for a in named if not db.exists(a)] == []


def test_operations_map_to_their_real_action_names() -> None:
    assert action_for("access-analyzer", "ListFindingsV2") == "access-analyzer:ListFindings"
    assert action_for("access-analyzer", "GetFindingV2") == "access-analyzer:GetFinding"
    assert action_for("iam", "GetAccountAuthorizationDetails") == "iam:GetAccountAuthorizationDetails"
