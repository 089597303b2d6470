"""fakeaws applies the organisation's SCPs and RCPs, and AssumeRole's trust policy, as AWS does: the
product's roles in a member account are refused what an SCP denies (never in the management account),
and AssumeRole is refused for a missing role, a trust that does not take the caller in, or a wrong
ExternalId."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import fakeaws
from accounts.product_roles import APPLY_ROLE_NAME, READ_ROLE_NAME
from fakeaws.organization import organizations_client, seed_organization
from fakeaws.scenario import PRODUCT_ACCOUNT, account_clients, seed_account
from tests.fakeaws.sessions import refused, role_session

MGMT, MEMBER = "999999999999", "111111111111"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
POLICY = json.dumps(ALLOW_ALL)
# Inline role policies may be written only on roles under /pipeline/ (a real guardrail's shape).
PIPELINE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "iam:PutRolePolicy",
            "NotResource": "arn:aws:iam::*:role/pipeline/*",
        }
    ],
}


def roles() -> list[dict[str, Any]]:
    return [{"name": "app"}, {"name": "deploy", "path": "/pipeline/"}]


@pytest.fixture
def org() -> Iterator[dict[str, str]]:
    with fakeaws.mock():
        seed_account(MGMT, {"management": True, "roles": roles()})
        seed_account(MEMBER, {"roles": roles()})
        yield seed_organization(
            MGMT,
            {
                "accounts": {MEMBER: "workload"},
                "ous": [{"name": "Workloads", "accounts": [MEMBER]}],
                "policies": [
                    {
                        "name": "role-policies-in-pipeline-only",
                        "document": PIPELINE_ONLY,
                        "targets": ["Workloads"],
                    }
                ],
            },
        )


session = role_session


def test_an_scp_refuses_the_apply_role_in_a_member_account(org: dict[str, str]) -> None:
    iam = session(MEMBER, APPLY_ROLE_NAME).client("iam")
    message = refused(iam.put_role_policy, RoleName="app", PolicyName="p", PolicyDocument=POLICY)
    assert message == (
        f"User: arn:aws:sts::{MEMBER}:assumed-role/{APPLY_ROLE_NAME}/iamreview-test is not authorized to "
        f"perform: iam:PutRolePolicy on resource: arn:aws:iam::{MEMBER}:role/app with an explicit deny in a "
        "service control policy"
    )
    assert fakeaws.STATE.refused[-1]["action"] == "iam:PutRolePolicy"
    # Where the SCP does not deny, the role's own policy decides, and allows.
    iam.put_role_policy(RoleName="deploy", PolicyName="p", PolicyDocument=POLICY)
    # The read role keeps working in the member account.
    read = session(MEMBER, READ_ROLE_NAME)
    assert read.client("iam").get_account_authorization_details()["RoleDetailList"]
    read.client("iam").get_account_summary()


def test_scps_never_apply_to_the_management_account(org: dict[str, str]) -> None:
    iam = session(MGMT, APPLY_ROLE_NAME).client("iam")
    iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=POLICY)
    assert fakeaws.STATE.refused == []


def test_a_level_that_allows_too_little_refuses_implicitly(org: dict[str, str]) -> None:
    manage = organizations_client(MGMT)
    reads_only = manage.create_policy(
        Name="iam-reads-only",
        Description="IAM reads only",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "sts:*"], "Resource": "*"}
                ],
            }
        ),
    )["Policy"]["PolicySummary"]["Id"]
    manage.attach_policy(PolicyId=reads_only, TargetId=MEMBER)
    manage.detach_policy(PolicyId="p-FullAWSAccess", TargetId=MEMBER)
    iam = session(MEMBER, APPLY_ROLE_NAME).client("iam")
    message = refused(
        iam.attach_role_policy, RoleName="deploy", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    assert message.endswith("because no service control policy allows the iam:AttachRolePolicy action")
    iam.list_attached_role_policies(RoleName="deploy")  # allowed at every level


def test_an_scp_exempting_the_products_roles_by_principal_arn(org: dict[str, str]) -> None:
    manage = organizations_client(MGMT)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/iamreview-*"}},
            }
        ],
    }
    scp = manage.create_policy(
        Name="iam-for-the-product-only",
        Description="d",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(document),
    )["Policy"]["PolicySummary"]["Id"]
    manage.attach_policy(PolicyId=scp, TargetId=MEMBER)
    seed_account(
        MEMBER,
        {
            "product_roles": False,
            "roles": [{"name": "ops", "trust": trust_product(), "inline": {"all": ALLOW_ALL}}],
        },
    )
    ops = session(MEMBER, "ops").client("iam")
    assert "explicit deny in a service control policy" in refused(ops.get_account_summary)
    session(MEMBER, READ_ROLE_NAME).client("iam").get_account_summary()


def test_an_rcp_refusing_callers_outside_the_organisation_refuses_the_product(org: dict[str, str]) -> None:
    """The "data perimeter" RCP: sts:AssumeRole only from inside the organisation. It shuts the product
    (whose principal is in another account) out, as AWS would."""
    manage = organizations_client(MGMT)
    org_id = manage.describe_organization()["Organization"]["Id"]
    perimeter = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org_id}},
            }
        ],
    }
    rcp = manage.create_policy(
        Name="perimeter", Description="d", Type="RESOURCE_CONTROL_POLICY", Content=json.dumps(perimeter)
    )["Policy"]["PolicySummary"]["Id"]
    manage.attach_policy(PolicyId=rcp, TargetId=MEMBER)
    message = refused(session, account=MEMBER, role=READ_ROLE_NAME)
    assert message.endswith("with an explicit deny in a resource control policy")
    session(MGMT, READ_ROLE_NAME)  # RCPs never apply to the management account's resources


# --- AssumeRole and the trust policy ---------------------------------------------------------------


def trust_product(**condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{PRODUCT_ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def denied_message(role: str) -> str:
    return (
        f"User: arn:aws:sts::{PRODUCT_ACCOUNT}:user/moto is not authorized to perform: sts:AssumeRole on "
        f"resource: arn:aws:iam::{MEMBER}:role/{role}"
    )


@pytest.fixture
def member() -> Iterator[None]:
    with fakeaws.mock():
        seed_account(
            MEMBER,
            {
                "roles": [
                    {
                        "name": "vendor",
                        "trust": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        },
                    },
                    {
                        "name": "with-id",
                        "trust": trust_product(StringEquals={"sts:ExternalId": "iamreview-7f3a"}),
                    },
                    {
                        "name": "lambda",
                        "trust": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "lambda.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        },
                    },
                    {
                        "name": "anyone-but-denied",
                        "trust": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
                                {"Effect": "Deny", "Principal": {"AWS": PRODUCT_ACCOUNT}, "Action": "sts:*"},
                            ],
                        },
                    },
                    {
                        "name": "by-arn",
                        "path": "/ops/",
                        "trust": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{PRODUCT_ACCOUNT}:user/moto"},
                                    "Action": "sts:AssumeRole",
                                }
                            ],
                        },
                    },
                ]
            },
        )
        yield


@pytest.mark.parametrize(
    ("role", "extra"),
    [
        ("no-such-role", {}),
        ("vendor", {}),  # trusts another account
        ("lambda", {}),  # trusts a service only
        ("with-id", {}),  # no ExternalId given
        ("with-id", {"ExternalId": "iamreview-0000"}),  # the wrong one
        ("anyone-but-denied", {}),  # a Deny names the caller
        ("by-arn", {}),  # the role is under /ops/: this ARN names no role
    ],
)
def test_assume_role_is_refused_as_aws_refuses_it(member: None, role: str, extra: dict[str, str]) -> None:
    assert refused(session, account=MEMBER, role=role, **extra) == denied_message(role)
    assert fakeaws.STATE.refused[-1] == {"action": "sts:AssumeRole", "message": denied_message(role)}


def test_assume_role_succeeds_when_the_trust_takes_the_caller_in(member: None) -> None:
    session(MEMBER, "with-id", ExternalId="iamreview-7f3a").client("sts").get_caller_identity()
    session(MEMBER, "ops/by-arn")
    session(MEMBER, READ_ROLE_NAME)  # the product's roles trust the product's account
    assert fakeaws.STATE.refused == []
    fakeaws.STATE.enforce = False
    session(MEMBER, "vendor")  # checks off: moto's own behaviour


def test_a_role_session_is_named_by_its_role_in_a_trust_policy(member: None) -> None:
    admin = account_clients(MEMBER)["iam"]
    trusting_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MEMBER}:role/{READ_ROLE_NAME}"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    admin.create_role(RoleName="next", AssumeRolePolicyDocument=json.dumps(trusting_read))
    admin.put_role_policy(
        RoleName=READ_ROLE_NAME,
        PolicyName="hop",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    read = session(MEMBER, READ_ROLE_NAME).client("sts")
    read.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/next", RoleSessionName="hop")
    message = refused(read.assume_role, RoleArn=f"arn:aws:iam::{MEMBER}:role/vendor", RoleSessionName="hop")
    assert message.startswith(
        f"User: arn:aws:sts::{MEMBER}:assumed-role/{READ_ROLE_NAME}/iamreview-test is not"
    )
