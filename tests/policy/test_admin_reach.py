"""Table of who reaches administrator, by which chain and with what prerequisites (reference/privesc-paths.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.policy.gaad_builder import (
    ADMIN_ARN,
    Gaad,
    allow,
    arn,
    deny,
    doc,
    trust_account,
    trust_service,
    trust_web_identity,
)

ME = "arn:aws:iam::111122223333:user/me"


@dataclass
class Case:
    id: str
    build: Callable[[Gaad], None]  # adds principals; the one under test is the user "me"
    reaches: bool
    steps: int | None = None  # hops of the chain (0: an administrator itself)
    needs: bool = False  # some hop needs what the snapshot cannot show
    conditional: bool = False
    admin: bool = False  # reported as an administrator (full or equivalent)
    kwargs: dict[str, Any] | None = None


def me(*statements: dict[str, Any], **extra: Any) -> Callable[[Gaad], None]:
    def build(g: Gaad) -> None:
        g.user("me", inline={"p": doc(*statements)}, **extra)

    return build


def tagged(team: str, *statements: dict[str, Any]) -> Callable[[Gaad], None]:
    def build(g: Gaad) -> None:
        g.user("me", inline={"p": doc(*statements)})
        g.data["UserDetailList"][-1]["Tags"] = [{"Key": "team", "Value": team}]

    return build


def both(first: Callable[[Gaad], None], *rest: Callable[[Gaad], None]) -> Callable[[Gaad], None]:
    def build(g: Gaad) -> None:
        for f in (first, *rest):
            f(g)

    return build


def admin_role(name: str = "boss", trust: dict[str, Any] | None = None) -> Callable[[Gaad], None]:
    return lambda g: g.role(name, trust=trust or trust_account(), attached=[ADMIN_ARN]) and None


def admin_user(name: str = "root-ish") -> Callable[[Gaad], None]:
    return lambda g: g.user(name, attached=[ADMIN_ARN]) and None


PAST = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
OLD_TOKEN = {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
FUTURE_TOKEN = {"DateLessThan": {"aws:TokenIssueTime": "2999-01-01T00:00:00Z"}}
ANY_ADDRESS = {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}
NO_ADDRESS = {"NotIpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}
TEAM_OPS = {"StringEquals": {"aws:PrincipalTag/team": "ops"}}
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
SOURCE_IP = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
BOUNDARY_ARN = "arn:aws:iam::111122223333:policy/bounded"

CASES = [
    Case("full-admin", lambda g: g.user("me", attached=[ADMIN_ARN]) and None, True, 0, admin=True),
    Case("iam-star", me(allow("iam:*")), True, 1, admin=True),
    Case("attach-own-policy", me(allow("iam:AttachUserPolicy", ME)), True, 1, admin=True),
    Case("put-own-policy", me(allow("iam:PutUserPolicy", ME)), True, 1, admin=True),
    Case("attach-other-user-only", me(allow("iam:AttachUserPolicy", arn("user", "other"))), False),
    Case(
        "attach-own-under-source-ip",
        me(allow("iam:AttachUserPolicy", ME, Condition=SOURCE_IP)),
        True,
        1,
        conditional=True,
    ),
    Case("attach-own-expired", me(allow("iam:AttachUserPolicy", ME, Condition=PAST)), False),
    # Conditions the snapshot decides: a token issued before a date long past is expired; every address
    # is in 0.0.0.0/0 and ::/0, none outside; the principal's own tag.
    Case("attach-own-old-token-only", me(allow("iam:AttachUserPolicy", ME, Condition=OLD_TOKEN)), False),
    Case(
        "attach-own-token-bound-in-future",
        me(allow("iam:AttachUserPolicy", ME, Condition=FUTURE_TOKEN)),
        True,
        1,
        conditional=True,
    ),
    Case(
        "attach-own-from-any-address",
        me(allow("iam:AttachUserPolicy", ME, Condition=ANY_ADDRESS)),
        True,
        1,
        admin=True,
    ),
    Case("attach-own-from-no-address", me(allow("iam:AttachUserPolicy", ME, Condition=NO_ADDRESS)), False),
    Case(
        "attach-own-own-tag-matches",
        tagged("ops", allow("iam:AttachUserPolicy", ME, Condition=TEAM_OPS)),
        True,
        1,
        admin=True,
    ),
    Case(
        "attach-own-own-tag-differs",
        tagged("dev", allow("iam:AttachUserPolicy", ME, Condition=TEAM_OPS)),
        False,
    ),
    Case(
        "attach-own-with-mfa", me(allow("iam:AttachUserPolicy", ME, Condition=MFA)), True, 1, conditional=True
    ),
    Case(
        "assume-denied-unless-tag",
        both(
            admin_role(),
            tagged(
                "dev",
                allow("sts:AssumeRole"),
                {
                    "Effect": "Deny",
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "ops"}},
                },
            ),
        ),
        True,
        1,
        conditional=True,  # StringNotEquals is not decided: the Deny may or may not apply
    ),
    Case("attach-own-denied-elsewhere", me(allow("iam:AttachUserPolicy", ME), deny("iam:Attach*")), False),
    Case(
        "attach-own-under-boundary",
        both(
            lambda g: g.policy("bounded", doc(allow(["s3:GetObject", "iam:AttachUserPolicy"]))) and None,
            me(allow("iam:AttachUserPolicy", ME), boundary=BOUNDARY_ARN),
        ),
        False,
    ),
    Case("assume-admin-role", both(admin_role(), me(allow("sts:AssumeRole"))), True, 1),
    Case(
        "assume-admin-role-named-in-trust",
        both(
            admin_role(trust=doc({"Effect": "Allow", "Principal": {"AWS": ME}, "Action": "sts:AssumeRole"})),
            me(allow("s3:ListAllMyBuckets")),
        ),
        True,
        1,
    ),
    Case(
        "assume-refused-by-trust",
        both(admin_role(trust=trust_service("lambda.amazonaws.com")), me(allow("sts:AssumeRole"))),
        False,
    ),
    Case(
        "assume-denied-elsewhere",
        both(admin_role(), me(allow("sts:AssumeRole"), deny("sts:AssumeRole"))),
        False,
    ),
    Case(
        "two-hops-through-a-role",
        both(
            admin_role(
                trust=doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": arn("role", "middle")},
                        "Action": "sts:AssumeRole",
                    }
                )
            ),
            lambda g: (
                g.role("middle", inline={"m": doc(allow("sts:AssumeRole", arn("role", "boss")))}) and None
            ),
            me(allow("sts:AssumeRole", arn("role", "middle"))),
        ),
        True,
        2,
    ),
    Case(
        "passrole-new-lambda",
        both(
            admin_role("fn", trust_service("lambda.amazonaws.com")),
            me(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])),
        ),
        True,
        1,
    ),
    Case(
        "existing-lambda-needs-a-function",
        both(admin_role("fn", trust_service("lambda.amazonaws.com")), me(allow("lambda:UpdateFunctionCode"))),
        True,
        1,
        needs=True,
    ),
    Case(
        "passrole-only-to-weak-role",
        both(
            lambda g: (
                g.role(
                    "weak",
                    trust=trust_service("lambda.amazonaws.com"),
                    inline={"w": doc(allow("logs:CreateLogStream"))},
                )
                and None
            ),
            me(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])),
        ),
        False,
    ),
    Case(
        "key-of-admin-unknown-count",
        both(admin_user(), me(allow("iam:CreateAccessKey"))),
        True,
        1,
        needs=True,
    ),
    Case(
        "key-of-admin-free-slot",
        both(admin_user(), me(allow("iam:CreateAccessKey"))),
        True,
        1,
        kwargs={"access_key_counts": {arn("user", "root-ish"): 1}},
    ),
    Case(
        "key-of-admin-two-keys",
        both(admin_user(), me(allow("iam:CreateAccessKey"))),
        False,
        kwargs={"access_key_counts": {arn("user", "root-ish"): 2}},
    ),
    Case(
        "password-of-admin-without-one",
        both(admin_user(), me(allow("iam:UpdateLoginProfile"))),
        False,
        kwargs={"login_profiles": {}},
    ),
    Case(
        "password-of-admin-with-one",
        both(admin_user(), me(allow("iam:UpdateLoginProfile"))),
        True,
        1,
        kwargs={"login_profiles": {arn("user", "root-ish"): True}},
    ),
    Case(
        "password-of-admin-unknown",
        both(admin_user(), me(allow("iam:UpdateLoginProfile"))),
        True,
        1,
        needs=True,
    ),
    Case(
        "join-admin-group",
        both(lambda g: g.group("admins", attached=[ADMIN_ARN]) and None, me(allow("iam:AddUserToGroup"))),
        True,
        1,
    ),
    Case(
        "join-weak-group-only",
        both(
            lambda g: g.group("readers", inline={"r": doc(allow("s3:GetObject"))}) and None,
            me(allow("iam:AddUserToGroup")),
        ),
        False,
    ),
    Case("read-only", me(allow(["s3:GetObject", "iam:Get*", "iam:List*"])), False),
    # pathfinding.cloud's newer paths: what each needs beyond the snapshot, and trust they depend on.
    Case(
        "ecs-008-runtask-needs-a-task-definition",
        both(
            admin_role("task", trust_service("ecs-tasks.amazonaws.com")),
            me(allow(["iam:PassRole", "ecs:RunTask"])),
        ),
        True,
        1,
        needs=True,
    ),
    Case(
        "ecs-003-new-service-needs-nothing",
        both(
            admin_role("task", trust_service("ecs-tasks.amazonaws.com")),
            me(allow(["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:CreateService"])),
        ),
        True,
        1,
    ),
    Case(
        "ecs-006-exec-needs-a-running-task",
        both(
            admin_role("task", trust_service("ecs-tasks.amazonaws.com")),
            me(allow(["ecs:ExecuteCommand", "ecs:DescribeTasks"])),
        ),
        True,
        1,
        needs=True,
    ),
    Case(
        "cognitoidentity-001-federated-pool-role",
        both(
            admin_role("unauth", trust_web_identity("cognito-identity.amazonaws.com")),
            me(allow(["iam:PassRole", "cognito-identity:SetIdentityPoolRoles"])),
        ),
        True,
        1,
        needs=True,
    ),
    Case(
        "cognitoidentity-001-other-identity-provider",
        both(
            admin_role("oidc", trust_web_identity("accounts.google.com")),
            me(allow(["iam:PassRole", "cognito-identity:SetIdentityPoolRoles"])),
        ),
        False,
    ),
    Case(
        "emr-001-instance-profile-role",
        both(
            admin_role("emr-node", trust_service("ec2.amazonaws.com")),
            me(allow(["iam:PassRole", "elasticmapreduce:RunJobFlow"])),
        ),
        True,
        1,
    ),
    Case(
        "iam-023-remove-an-admin-roles-boundary-then-assume-it",
        both(
            lambda g: (
                g.role(
                    "capped",
                    trust=trust_account(),
                    attached=[ADMIN_ARN],
                    boundary=g.policy("narrow", doc(allow("s3:GetObject"))),
                )
                and None
            ),
            me(allow(["iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"])),
        ),
        True,
        1,
    ),
    Case(
        "iam-023-boundary-of-a-weak-role",
        both(
            lambda g: (
                g.role(
                    "capped",
                    trust=trust_account(),
                    inline={"w": doc(allow("s3:PutObject"))},
                    boundary=g.policy("narrow", doc(allow("s3:GetObject"))),
                )
                and None
            ),
            me(allow(["iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"])),
        ),
        False,
    ),
    Case(
        "glue-007-session-without-run-statement",
        both(
            admin_role("glue", trust_service("glue.amazonaws.com")),
            me(allow(["iam:PassRole", "glue:CreateSession"])),
        ),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reaches_admin(case: Case) -> None:
    g = Gaad()
    case.build(g)
    report = g.analyze(**(case.kwargs or {}))[ME]
    assert report.reaches_admin is case.reaches
    assert report.is_admin is case.admin
    if not case.reaches:
        assert report.admin_path is None
        return
    path = report.admin_path
    assert path is not None
    assert len(path.hops) == case.steps
    assert bool(path.needs) is case.needs
    assert path.conditional is case.conditional
    assert (report.admin_reason != "") is case.admin
    for hop in path.hops:
        assert hop.actions, "every hop names its actions"
        assert not hop.target.startswith("freed:"), "a freed role is shown as the role itself"


def test_chain_lists_every_hop_with_its_actions() -> None:
    g = Gaad()
    next(c for c in CASES if c.id == "two-hops-through-a-role").build(g)
    report = g.analyze()[ME]
    assert report.admin_path is not None
    hops = [(h.source, h.target, h.actions) for h in report.admin_path.hops]
    assert hops == [
        (ME, arn("role", "middle"), ("sts:AssumeRole",)),
        (arn("role", "middle"), arn("role", "boss"), ("sts:AssumeRole",)),
    ]
    chained = [e for e in report.privilege_escalation if e.via[-1:] == [arn("role", "boss")]]
    assert chained and chained[0].via == [arn("role", "middle"), arn("role", "boss")]


def test_equivalent_admin_counts_in_stats_and_json() -> None:
    from policy.analyze import analyze_account
    from policy.catalog import default_catalog
    from policy.gaad import load_gaad

    g = Gaad()
    g.user("me", inline={"p": doc(allow("iam:*"))})
    g.user("reader", inline={"p": doc(allow("s3:GetObject"))})
    report = analyze_account(load_gaad(g.data), default_catalog())
    assert report.stats()["admins"] == 1 and report.stats()["reach_admin"] == 1
    me_json = next(p.to_json() for p in report.principals if p.arn == ME)
    assert me_json["is_admin"] and me_json["reaches_admin"]
    assert "iam:AttachUserPolicy" in me_json["admin_reason"] or "iam:PutUserPolicy" in me_json["admin_reason"]
    assert "admin" in {f["kind"] for f in me_json["findings"]}


def test_principal_tag_conditions_are_decided_per_principal_on_a_shared_policy() -> None:
    g = Gaad()
    shared = g.policy(
        "self-service",
        doc(allow("iam:AttachUserPolicy", "*", Condition=TEAM_OPS)),  # no variable: grants shared
    )
    ops = g.user("ops-user", attached=[shared])
    dev = g.user("dev-user", attached=[shared])
    g.data["UserDetailList"][0]["Tags"] = [{"Key": "team", "Value": "ops"}]
    g.data["UserDetailList"][1]["Tags"] = [{"Key": "team", "Value": "dev"}]
    reports = g.analyze()
    assert reports[ops].is_admin and reports[ops].reaches_admin
    assert not reports[dev].reaches_admin and not reports[dev].privilege_escalation
