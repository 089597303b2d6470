"""SCP conditions on the principal decided per principal: an SCP that denies iam:* unless the caller is an
admin-* role caps every principal but those roles, for certain; a condition the request decides stays
"may be denied"."""

from __future__ import annotations

from typing import Any

import pytest

from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext
from policy.model import Condition, parse_policy
from policy.scp import condition_for_principal, scp_caps
from tests.policy.gaad_builder import ACCOUNT, ADMIN_ARN, Gaad, allow, deny, doc

ORG = "o-abc123def4"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin-ops"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ROLE = PrincipalContext(ADMIN_ROLE, "admin-ops", "role", ACCOUNT, (("team", "platform"),))
OTHER = PrincipalContext(APP_ROLE, "app", "role", ACCOUNT, ())
GROUP = PrincipalContext(f"arn:aws:iam::{ACCOUNT}:group/devs", "devs", "group", ACCOUNT, None)
ADMINS = "arn:aws:iam::*:role/admin-*"

CASES: list[tuple[str, str, tuple[str, ...], PrincipalContext, bool | None]] = [
    ("ArnLike", "aws:PrincipalArn", (ADMINS,), ROLE, True),
    ("ArnLike", "aws:PrincipalArn", (ADMINS,), OTHER, False),
    ("ArnNotLike", "aws:PrincipalArn", (ADMINS,), ROLE, False),
    ("ArnNotLike", "aws:PrincipalArn", (ADMINS,), OTHER, True),
    ("ArnNotLikeIfExists", "aws:PrincipalArn", (ADMINS,), OTHER, True),
    ("ArnNotLikeIfExists", "aws:PrincipalArn", (ADMINS,), ROLE, False),
    ("StringNotLike", "aws:PrincipalArn", (ADMINS,), ROLE, False),
    ("StringNotLike", "aws:PrincipalArn", (ADMINS,), OTHER, True),
    ("StringNotLikeIfExists", "aws:PrincipalArn", ("arn:aws:iam::*:role/app",), OTHER, False),
    ("StringLike", "aws:PrincipalArn", ("*:role/admin-*",), ROLE, True),
    # ArnLike compares the ARN part by part: a wildcard does not run across a colon.
    ("ArnLike", "aws:PrincipalArn", ("arn:aws:iam::*",), ROLE, False),
    ("StringLike", "aws:PrincipalArn", ("arn:aws:iam::*",), ROLE, True),
    ("ArnEquals", "aws:PrincipalArn", (APP_ROLE,), OTHER, True),
    ("StringEquals", "aws:PrincipalAccount", (ACCOUNT,), OTHER, True),
    ("StringNotEquals", "aws:PrincipalAccount", (ACCOUNT,), OTHER, False),
    ("StringEquals", "aws:PrincipalOrgID", (ORG,), OTHER, True),
    ("StringNotEquals", "aws:PrincipalOrgID", (ORG,), OTHER, False),
    ("StringEquals", "aws:PrincipalTag/team", ("platform",), ROLE, True),
    ("StringEquals", "aws:PrincipalTag/team", ("platform",), OTHER, False),
    ("StringNotEquals", "aws:PrincipalTag/team", ("platform",), ROLE, False),
    ("StringNotEquals", "aws:PrincipalTag/team", ("platform",), OTHER, True),  # no tag: not equal
    ("StringEqualsIfExists", "aws:PrincipalTag/team", ("platform",), OTHER, True),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", ("PLATFORM",), ROLE, True),
    ("Null", "aws:PrincipalTag/team", ("true",), OTHER, True),
    ("Null", "aws:PrincipalTag/team", ("true",), ROLE, False),
    ("ForAnyValue:StringEquals", "aws:PrincipalTag/team", ("platform",), OTHER, False),
    ("ForAllValues:StringEquals", "aws:PrincipalTag/team", ("platform",), OTHER, True),
    ("StringEquals", "aws:PrincipalType", ("AssumedRole",), ROLE, True),
    ("Bool", "aws:PrincipalIsAWSService", ("true",), ROLE, False),
    # What the snapshot cannot decide stays undecided.
    ("StringEquals", "aws:RequestedRegion", ("eu-west-1",), ROLE, None),
    ("StringEquals", "aws:PrincipalTag/team", ("${aws:username}",), ROLE, None),
    ("ArnNotLike", "aws:PrincipalArn", (ADMINS,), GROUP, None),  # a group's members decide
    ("StringEquals", "aws:PrincipalTag/team", ("platform",), GROUP, None),
    ("StringEquals", "aws:PrincipalAccount", (ACCOUNT,), GROUP, True),
    ("DateGreaterThan", "aws:PrincipalAccount", ("2020-01-01",), ROLE, None),
]


@pytest.mark.parametrize(("operator", "key", "values", "ctx", "expected"), CASES)
def test_condition_for_principal(
    operator: str, key: str, values: tuple[str, ...], ctx: PrincipalContext, expected: bool | None
) -> None:
    assert condition_for_principal(Condition(operator, key.lower(), values), ctx, ORG) is expected


def test_org_id_unknown_leaves_the_condition_undecided() -> None:
    cond = Condition("StringEquals", "aws:principalorgid", (ORG,))
    assert condition_for_principal(cond, OTHER, None) is None


def except_admins(operator: str = "ArnNotLike", key: str = "aws:PrincipalArn", value: Any = ADMINS) -> Any:
    return doc(deny("iam:*", Condition={operator: {key: value}}))


def analyze(scp: dict[str, Any], **tags: dict[str, str]) -> tuple[Gaad, dict[str, Any]]:
    g = Gaad()
    for name in ("admin-ops", "app"):
        g.role(name, attached=[ADMIN_ARN])
        if name in tags:
            g.data["RoleDetailList"][-1]["Tags"] = [{"Key": k, "Value": v} for k, v in tags[name].items()]
    g.user("dev", attached=[ADMIN_ARN])
    full = parse_policy(doc(allow("*")), "SCP FullAWSAccess")  # AWS keeps it on every level
    levels = [[full], [full, parse_policy(scp, "SCP deny-iam")]]
    from policy.analyze import AccountAnalysis
    from policy.gaad import load_gaad

    analysis = AccountAnalysis(load_gaad(g.data), default_catalog(), scps=levels, organization_id=ORG)
    report = analysis.run()
    return g, {"reports": {p.arn: p for p in report.principals}, "perms": analysis.perms}


@pytest.mark.parametrize(
    "operator", ["ArnNotLike", "ArnNotLikeIfExists", "StringNotLike", "StringNotLikeIfExists"]
)
def test_deny_unless_admin_role_caps_everyone_else_for_certain(operator: str) -> None:
    _, found = analyze(except_admins(operator))
    reports, perms = found["reports"], found["perms"]
    dev = f"arn:aws:iam::{ACCOUNT}:user/dev"
    assert reports[ADMIN_ROLE].is_admin
    assert not reports[APP_ROLE].is_admin and not reports[dev].is_admin
    assert perms[ADMIN_ROLE].decide("iam:PutRolePolicy") == (True, False, ("AdministratorAccess",), ())
    assert not perms[APP_ROLE].allows("iam:PutRolePolicy") and perms[APP_ROLE].allows("s3:GetObject")
    catalog = default_catalog()
    assert scp_caps(perms[ADMIN_ROLE], catalog) == []
    (cap,) = scp_caps(perms[APP_ROLE], catalog)
    assert (cap.source, cap.how, cap.actions, cap.conditional) == (
        "SCP deny-iam",
        "denied",
        ("iam:*",),
        False,
    )
    assert cap.sentence() == "iam:* denied by SCP deny-iam"


def test_a_principal_tag_exempts_the_tagged_role() -> None:
    scp = except_admins("StringNotEquals", "aws:PrincipalTag/team", "platform")
    _, found = analyze(scp, app={"team": "platform"})
    reports = found["reports"]
    assert reports[APP_ROLE].is_admin  # tagged platform: exempt
    assert not reports[ADMIN_ROLE].is_admin  # no tag: capped, whatever its name


def test_a_condition_the_request_decides_stays_may_be_denied() -> None:
    scp = except_admins("StringNotEquals", "aws:RequestedRegion", "eu-west-1")
    _, found = analyze(scp)
    (cap,) = scp_caps(found["perms"][ADMIN_ROLE], default_catalog())
    assert cap.conditional and cap.sentence() == "iam:* may be denied by SCP deny-iam"


def test_principals_with_the_same_outcome_share_resolved_documents() -> None:
    from policy.scp import ScpLevels

    level = [parse_policy(except_admins(), "SCP deny-iam")]
    levels = ScpLevels([level], ORG)
    a = levels.for_principal(OTHER)
    b = levels.for_principal(PrincipalContext(f"arn:aws:iam::{ACCOUNT}:user/x", "x", "user", ACCOUNT, ()))
    assert a[0][0] is b[0][0] and a[0][0] is not level[0]
    assert a[0][0].statements[0].conditions == ()
    assert levels.for_principal(ROLE)[0][0].statements == ()
    assert levels.for_principal(GROUP)[0][0] is level[0]  # undecided: the document as written
