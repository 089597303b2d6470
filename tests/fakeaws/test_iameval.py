"""fakeaws's evaluator decides single requests as IAM does: a row per case."""

from __future__ import annotations

from typing import Any

import pytest

from fakeaws.iameval import PolicyInvalid, decide, parse
from tests.fakeaws.adversarial import allow, deny, doc

ROLE = "arn:aws:iam::111111111111:role/app"
OWN = "arn:aws:iam::111111111111:role/iamreview-apply"
CASES: list[tuple[str, dict[str, Any], str, str, dict[str, list[str]], str]] = [
    ("allowed", doc(allow("iam:PutRolePolicy")), "iam:PutRolePolicy", ROLE, {}, "allowed"),
    ("action names ignore case", doc(allow("IAM:putrolepolicy")), "iam:PutRolePolicy", ROLE, {}, "allowed"),
    ("nothing allows it", doc(allow("iam:Get*")), "iam:PutRolePolicy", ROLE, {}, "implicitDeny"),
    (
        "Deny wins",
        doc(allow("iam:*"), deny("iam:PutRolePolicy", "arn:aws:iam::*:role/iamreview-*")),
        "iam:PutRolePolicy",
        OWN,
        {},
        "explicitDeny",
    ),
    (
        "Deny on another resource",
        doc(allow("iam:*"), deny("iam:PutRolePolicy", "arn:aws:iam::*:role/iamreview-*")),
        "iam:PutRolePolicy",
        ROLE,
        {},
        "allowed",
    ),
    (
        "resources are case-sensitive",
        doc(allow("iam:PutRolePolicy", ROLE.upper())),
        "iam:PutRolePolicy",
        ROLE,
        {},
        "implicitDeny",
    ),
    (
        "NotResource",
        doc({"Effect": "Allow", "Action": "iam:*", "NotResource": OWN}),
        "iam:PutRolePolicy",
        OWN,
        {},
        "implicitDeny",
    ),
    (
        "NotAction",
        doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        "iam:PutRolePolicy",
        ROLE,
        {},
        "implicitDeny",
    ),
    (
        "a variable filled from the request",
        doc(allow("iam:PutRolePolicy", "arn:aws:iam::111111111111:role/${aws:PrincipalTag/app}")),
        "iam:PutRolePolicy",
        ROLE,
        {"aws:PrincipalTag/app": ["app"]},
        "allowed",
    ),
    (
        "a variable the request lacks",
        doc(allow("iam:PutRolePolicy", "arn:aws:iam::111111111111:role/${aws:PrincipalTag/app}")),
        "iam:PutRolePolicy",
        ROLE,
        {},
        "implicitDeny",
    ),
    (
        "before 2012-10-17 a variable is text",
        doc(
            allow("iam:PutRolePolicy", "arn:aws:iam::111111111111:role/${aws:PrincipalTag/app}"), version=None
        ),
        "iam:PutRolePolicy",
        ROLE,
        {"aws:PrincipalTag/app": ["app"]},
        "implicitDeny",
    ),
    (
        "condition met",
        doc(
            allow(
                "iam:AttachRolePolicy", Condition={"ArnLike": {"iam:PolicyARN": "arn:aws:iam::*:policy/ok-*"}}
            )
        ),
        "iam:AttachRolePolicy",
        ROLE,
        {"iam:PolicyARN": ["arn:aws:iam::111111111111:policy/ok-1"]},
        "allowed",
    ),
    (
        "condition not met",
        doc(
            allow(
                "iam:AttachRolePolicy", Condition={"ArnLike": {"iam:PolicyARN": "arn:aws:iam::*:policy/ok-*"}}
            )
        ),
        "iam:AttachRolePolicy",
        ROLE,
        {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        "implicitDeny",
    ),
    (
        "an operator the evaluator does not know never allows",
        doc(allow("iam:PutRolePolicy", Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})),
        "iam:PutRolePolicy",
        ROLE,
        {"aws:MultiFactorAuthAge": ["10"]},
        "implicitDeny",
    ),
    (
        "and always lets a Deny apply",
        doc(
            allow("iam:*"),
            deny("iam:PutRolePolicy", Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "1"}}),
        ),
        "iam:PutRolePolicy",
        ROLE,
        {"aws:MultiFactorAuthAge": ["10"]},
        "explicitDeny",
    ),
]


@pytest.mark.parametrize(
    ("name", "document", "action", "resource", "context", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_decide(
    name: str,
    document: dict[str, Any],
    action: str,
    resource: str,
    context: dict[str, list[str]],
    expected: str,
) -> None:
    assert decide([parse(document)], action, resource, context) == expected


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{not json", "JSON_SYNTAX_ERROR"),
        ({"Version": "2012-10-17"}, "MISSING_STATEMENT"),
        ({"Version": "2013-01-01", "Statement": []}, "INVALID_VERSION"),
        (doc({"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}), "INVALID_EFFECT"),
        (doc({"Effect": "Allow", "Resource": "*"}), "MISSING_ACTION"),
        (doc({"Effect": "Allow", "Action": "s3:*"}), "MISSING_RESOURCE"),
        (doc({**allow("s3:*"), "Principal": "*"}), "UNSUPPORTED_PRINCIPAL"),
        (doc({**allow("s3:*"), "Extra": 1}), "INVALID_POLICY_ELEMENT"),
    ],
)
def test_documents_iam_refuses(document: Any, code: str) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse(document)
    assert refused.value.code == code
