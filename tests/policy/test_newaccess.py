"""grants_nothing_new: what the catalog does not know, policy versions, condition-key case, NotAction,
NotResource and Deny statements. A row per case: original statements, proposed statements, and the words
the problem must contain (None: no problem)."""

from __future__ import annotations

from typing import Any

import pytest

from policy.catalog import default_catalog
from policy.model import parse_policy
from policy.tighten import grants_nothing_new
from tests.policy.gaad_builder import allow, deny

A = "arn:aws:s3:::a/*"
HOME = "arn:aws:s3:::home/${aws:username}/*"
TEAM = {"StringEquals": {"aws:PrincipalTag/Team": "blue"}}
V12, V08 = "2012-10-17", "2008-10-17"


def _doc(statements: list[dict[str, Any]], version: str | None = V12) -> dict[str, Any]:
    return {"Statement": statements} | ({"Version": version} if version else {})


CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], str | None]] = [
    # -- what the catalog cannot expand
    ("new service", [allow("s3:GetObject")], [allow(["s3:GetObject", "zzznewservice:*"])], "zzznewservice:*"),
    ("new action", [allow("s3:GetObject")], [allow("s3:GetObjectBrandNewApi")], "s3:GetObjectBrandNewApi"),
    (
        "new action, lower case",
        [allow("s3:GetObject")],
        [allow("s3:getobjectbrandnewapi")],
        "catalog does not",
    ),
    ("covered by pattern", [allow("s3:Get*")], [allow("s3:GetObjectBrandNewApi")], None),
    ("covered, case differs", [allow("S3:get*")], [allow("s3:GETOBJECTBRANDNEWAPI")], None),
    ("covered literally", [allow("s3:GetObjectBrandNewApi")], [allow("S3:getObjectBrandNewApi")], None),
    ("star covers new service", [allow("*")], [allow("zzznewservice:*")], None),
    ("same new service", [allow("zzznewservice:*")], [allow(["zzznewservice:*", "ZZZNewService:Foo"])], None),
    ("? does not cover *", [allow("s3:Get?bject")], [allow("s3:Get*bject")], "wildcard s3:Get*bject"),
    ("narrower pattern", [allow("s3:*")], [allow("s3:Get?bject*")], None),
    # A fold into a wildcard the original did not write: AWS may add actions it matches.
    (
        "fold",
        [allow(sorted(default_catalog().name(a) for a in default_catalog().expand("s3:Get*")))],
        [allow("s3:Get*")],
        "wildcard s3:Get*",
    ),
    # -- NotAction
    (
        "outside NotAction",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        [allow("zzz:*")],
        None,
    ),
    (
        "inside NotAction",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        [allow("iam:BrandNewApi")],
        "iam:BrandNewApi",
    ),
    (
        "overlapping NotAction",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        [allow("*:List*")],
        "wildcard *:List*",
    ),
    (
        "proposed NotAction, original star",
        [allow("*")],
        [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}],
        None,
    ),
    (
        "proposed NotAction excluding more",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        [{"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"}],
        None,
    ),
    (
        "proposed NotAction excluding less",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        [{"Effect": "Allow", "NotAction": "iam:Create*", "Resource": "*"}],
        "NotAction",
    ),
    (
        "proposed NotAction, original listed",
        [allow(["s3:*", "ec2:*"])],
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        "NotAction",
    ),
    # -- resources (case-sensitive) and NotResource
    ("narrower resource", [allow("s3:GetObject", A)], [allow("s3:GetObject", "arn:aws:s3:::a/x/*")], None),
    ("wider resource", [allow("s3:GetObject", A)], [allow("s3:GetObject", "*")], "no original Allow"),
    ("resource case", [allow("s3:GetObject", A)], [allow("s3:GetObject", "arn:aws:s3:::A/*")], "no original"),
    (
        "resource to NotResource",
        [allow("s3:GetObject", A)],
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/*"}],
        "NotResource",
    ),
    (
        "outside NotResource",
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}],
        [allow("s3:GetObject", A)],
        None,
    ),
    (
        "inside NotResource",
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}],
        [allow("s3:GetObject", "arn:aws:s3:::secret/x")],
        "no original Allow",
    ),
    (
        "NotResource excluding more",
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}],
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": ["arn:aws:s3:::secret/*", A]}],
        None,
    ),
    (
        "NotResource excluding less",
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}],
        [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/x"}],
        "no original Allow",
    ),
    # -- conditions: keys are case-insensitive in AWS, values are not (for StringEquals)
    (
        "key case only",
        [allow("s3:GetObject", Condition=TEAM)],
        [allow("s3:GetObject", Condition={"StringEquals": {"AWS:principaltag/team": "blue"}})],
        None,
    ),
    (
        "value case",
        [allow("s3:GetObject", Condition=TEAM)],
        [allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/Team": "Blue"}})],
        "fewer conditions",
    ),
    ("condition dropped", [allow("s3:GetObject", Condition=TEAM)], [allow("s3:GetObject")], "conditions"),
    ("condition added", [allow("s3:GetObject")], [allow("s3:GetObject", Condition=TEAM)], None),
    # -- Deny statements
    ("deny dropped", [allow("s3:*"), deny("s3:DeleteObject")], [allow("s3:GetObject")], "Deny"),
    (
        "deny kept",
        [allow("s3:*"), deny("s3:DeleteObject", A)],
        [allow("s3:Get*"), deny("S3:deleteobject", A)],
        None,
    ),
    (
        "deny broader",
        [allow("s3:*"), deny("s3:DeleteObject", A)],
        [allow("s3:Get*"), deny("s3:Delete*")],
        None,
    ),
    (
        "deny given a condition",
        [allow("s3:*"), deny("s3:DeleteObject")],
        [allow("s3:Get*"), deny("s3:DeleteObject", Condition=TEAM)],
        "Deny",
    ),
    (
        "deny narrowed",
        [allow("s3:*"), deny("s3:DeleteObject")],
        [allow("s3:Get*"), deny("s3:DeleteObject", A)],
        "Deny",
    ),
    (
        "deny NotAction excluding more",
        [allow("s3:*"), {"Effect": "Deny", "NotAction": "s3:Get*", "Resource": "*"}],
        [allow("s3:GetObject"), {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}],
        "Deny",
    ),
]


@pytest.mark.parametrize(
    ("original", "proposed", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_grants_nothing_new(
    original: list[dict[str, Any]], proposed: list[dict[str, Any]], expected: str | None
) -> None:
    problems = grants_nothing_new(
        [parse_policy(_doc(original), "current")],
        [parse_policy(_doc(proposed), "proposed")],
        default_catalog(),
    )
    if expected is None:
        assert problems == []
    else:
        assert problems and any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        (V08, V12, True),  # the literal text `${aws:username}` becomes the caller's name
        (None, V12, True),  # no Version reads as 2008-10-17
        (V12, V08, True),
        (V12, None, True),
        (V08, None, False),
        (V12, V12, False),
    ],
)
def test_version_decides_what_a_variable_is(before: str | None, after: str | None, problem: bool) -> None:
    cat = default_catalog()
    statements = [allow("s3:GetObject", HOME), deny("s3:DeleteObject", HOME)]
    found = grants_nothing_new(
        [parse_policy(_doc(statements, before), "current")],
        [parse_policy(_doc(statements, after), "new")],
        cat,
    )
    assert bool(found) is problem
    if problem:
        assert any("Version" in p and "Allow" in p for p in found)
        assert any("Version" in p and "Deny" in p for p in found)


def test_version_change_without_variables_is_harmless() -> None:
    cat = default_catalog()
    statements = [allow("s3:GetObject", A), deny("s3:DeleteObject")]
    assert (
        grants_nothing_new(
            [parse_policy(_doc(statements, V08), "current")],
            [parse_policy(_doc(statements, V12), "new")],
            cat,
        )
        == []
    )


def test_condition_variable_follows_version() -> None:
    cat = default_catalog()
    cond = {"StringEquals": {"s3:prefix": "${aws:username}"}}
    statements = [allow("s3:ListBucket", "arn:aws:s3:::home", Condition=cond)]
    found = grants_nothing_new(
        [parse_policy(_doc(statements, V08), "current")], [parse_policy(_doc(statements, V12), "new")], cat
    )
    assert found and "Version" in found[0]
