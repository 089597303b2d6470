"""The independent evaluator itself, against answers AWS documents: a row per case."""

from __future__ import annotations

from typing import Any

import pytest

from tests.independent.z3_policy import decide, new_access


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    return {"Statement": list(statements)} | ({"Version": version} if version else {})


def _allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


HOME = "arn:aws:s3:::home/${aws:username}/*"
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


@pytest.mark.parametrize(
    ("documents", "action", "resource", "context", "expected"),
    [
        ([_doc(_allow("s3:Get*"))], "S3:GETOBJECT", "arn:aws:s3:::a/b", {}, True),
        ([_doc(_allow("s3:Get?bject"))], "s3:GetObject", "x", {}, True),
        ([_doc(_allow("s3:Get?bject"))], "s3:GetObjects", "x", {}, False),
        ([_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], "zzz:anything", "x", {}, True),
        ([_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], "iam:PassRole", "x", {}, False),
        ([_doc(_allow("s3:*", "arn:aws:s3:::a/*"))], "s3:GetObject", "arn:aws:s3:::A/x", {}, False),
        (
            [_doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::s/*"})],
            "s3:x",
            "arn:aws:s3:::s/1",
            {},
            False,
        ),
        (
            [_doc(_allow("s3:*"), {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"})],
            "s3:DeleteObject",
            "x",
            {},
            False,
        ),
        (
            [_doc(_allow("s3:*", HOME))],
            "s3:GetObject",
            "arn:aws:s3:::home/alice/f",
            {"aws:username": "alice"},
            True,
        ),
        (
            [_doc(_allow("s3:*", HOME))],
            "s3:GetObject",
            "arn:aws:s3:::home/alice/f",
            {"aws:username": "bob"},
            False,
        ),
        ([_doc(_allow("s3:*", HOME))], "s3:GetObject", "arn:aws:s3:::home/alice/f", {}, False),
        # 2008-10-17, or no Version: `${...}` is text.
        (
            [_doc(_allow("s3:*", HOME), version=None)],
            "s3:GetObject",
            "arn:aws:s3:::home/alice/f",
            {"aws:username": "alice"},
            False,
        ),
        (
            [_doc(_allow("s3:*", HOME), version="2008-10-17")],
            "s3:GetObject",
            "arn:aws:s3:::home/${aws:username}/f",
            {},
            True,
        ),
        ([_doc(_allow("s3:*", "arn:aws:s3:::a/${*}"))], "s3:GetObject", "arn:aws:s3:::a/*", {}, True),
        ([_doc(_allow("s3:*", "arn:aws:s3:::a/${*}"))], "s3:GetObject", "arn:aws:s3:::a/b", {}, False),
        (
            [_doc(_allow("s3:*", Condition=MFA))],
            "s3:GetObject",
            "x",
            {"aws:MultiFactorAuthPresent": "true"},
            True,
        ),
        ([_doc(_allow("s3:*", Condition=MFA))], "s3:GetObject", "x", {}, False),
        # Condition keys are case-insensitive.
        (
            [_doc(_allow("s3:*", Condition=MFA))],
            "s3:GetObject",
            "x",
            {"AWS:multifactorauthpresent": "true"},
            True,
        ),
        (
            [_doc(_allow("s3:*", Condition={"StringNotEquals": {"aws:PrincipalTag/team": "red"}}))],
            "s3:a",
            "x",
            {},
            True,
        ),
        (
            [_doc(_allow("s3:*", Condition={"StringNotEquals": {"aws:PrincipalTag/team": "red"}}))],
            "s3:a",
            "x",
            {"aws:principaltag/TEAM": "red"},
            False,
        ),
        (
            [_doc(_allow("s3:*", Condition={"StringEqualsIfExists": {"s3:prefix": "a"}}))],
            "s3:a",
            "x",
            {},
            True,
        ),
        (
            [_doc(_allow("s3:*", Condition={"StringLike": {"s3:prefix": "home/*"}}))],
            "s3:a",
            "x",
            {"s3:prefix": "home/x"},
            True,
        ),
        (
            [_doc(_allow("s3:*", Condition={"StringLike": {"s3:prefix": "home/*"}}))],
            "s3:a",
            "x",
            {"s3:prefix": "Home/x"},
            False,
        ),
        ([_doc(_allow("s3:*", Condition={"Null": {"aws:TokenIssueTime": "true"}}))], "s3:a", "x", {}, True),
        (
            [_doc(_allow("s3:*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))],
            "s3:a",
            "x",
            {"s3:max-keys": "9"},
            True,
        ),
        (
            [_doc(_allow("s3:*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))],
            "s3:a",
            "x",
            {"s3:max-keys": "10"},
            False,
        ),
    ],
)
def test_decide(
    documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str], expected: bool
) -> None:
    assert decide(documents, action, resource, context) is expected


def test_new_access_finds_a_request() -> None:
    found = new_access([_doc(_allow("s3:Get*"))], [_doc(_allow("s3:*"))])
    assert (
        found is not None and found["action"].startswith("s3:") and not found["action"].startswith("s3:get")
    )
    assert new_access([_doc(_allow("s3:*"))], [_doc(_allow("s3:Get*"))]) is None
    found = new_access([_doc(_allow("s3:*", HOME), version=None)], [_doc(_allow("s3:*", HOME))])
    assert found is not None and "aws:username" in found
