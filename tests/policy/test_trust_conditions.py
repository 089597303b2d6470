"""Trust conditions judged by operator and value: one table per operator family, a row per case.

A row is (operator, key, values, expected): does this condition limit who may assume the role, i.e. can it
fail for an attacker who chooses their own account, organisation, token and request?
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.gaad import PrincipalRecord
from policy.model import Condition, parse_policy
from policy.trust_conditions import AWS_KEY_RULES, KeyRule, condition_limits, oidc_key_rules
from policy.trust_findings import trust_findings

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
EKS = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
COGNITO = "arn:aws:iam::111122223333:oidc-provider/cognito-identity.amazonaws.com"
GITLAB = "arn:aws:iam::111122223333:oidc-provider/gitlab.com"
GH_SUB = "token.actions.githubusercontent.com:sub"
GH_AUD = "token.actions.githubusercontent.com:aud"
EKS_SUB = "oidc.eks.eu-west-1.amazonaws.com/id/abc123:sub"

Row = tuple[str, str, Any, bool]


def _rules_for(key: str) -> dict[str, KeyRule]:
    if key.startswith("token.actions"):
        return oidc_key_rules(GITHUB)
    if key.startswith("oidc.eks"):
        return oidc_key_rules(EKS)
    if key.startswith("cognito-identity"):
        return oidc_key_rules(COGNITO)
    if key.startswith("gitlab.com"):
        return oidc_key_rules(GITLAB)
    return AWS_KEY_RULES


def _check(operator: str, key: str, values: Any, expected: bool) -> None:
    values = tuple(values) if isinstance(values, list) else (values,)
    cond = Condition(operator, key.lower(), values)
    verdict = condition_limits(cond, _rules_for(key.lower()))
    assert verdict.limits is expected, f"{operator} {key} {values}: {verdict}"
    assert bool(verdict.reason) is not expected  # a condition that does not limit says why


STRING: list[Row] = [
    ("StringEquals", "aws:PrincipalOrgID", "o-abc123", True),
    ("StringEquals", "aws:PrincipalOrgID", "*", True),  # literal "*": no organisation has that id
    ("StringLike", "aws:PrincipalOrgID", "*", False),
    ("StringLike", "aws:PrincipalOrgID", "o-*", False),
    ("StringLike", "aws:PrincipalOrgID", "o-abc123", True),
    ("StringEqualsIgnoreCase", "aws:PrincipalOrgID", "O-ABC123", True),
    ("StringEquals", "aws:PrincipalOrgID", ["o-abc123", "o-def456"], True),
    ("StringLike", "aws:PrincipalOrgID", ["o-abc123", "*"], False),  # one alternative lets anyone in
    ("StringEquals", "aws:PrincipalAccount", "999988887777", True),
    ("StringLike", "aws:PrincipalAccount", "99998888777?", False),
    ("StringEquals", "aws:SourceAccount", "999988887777", True),
    ("StringLike", "aws:SourceAccount", "*", False),
    ("StringEquals", "aws:SourceOwner", "999988887777", True),
    ("StringLike", "aws:SourceOwner", "9999*", False),
    ("StringEquals", "aws:SourceOrgID", "o-abc123", True),
    ("StringLike", "aws:SourceOrgID", "o-*", False),
    ("StringEquals", "sts:ExternalId", "7f3c-customer-1", True),
    ("StringLike", "sts:ExternalId", "*", False),
    ("StringLike", "sts:ExternalId", "cust-*", False),  # the vendor's other customers have cust-...
    ("StringLike", "aws:userid", "AROAEXAMPLEROLEID:*", True),  # one role, any session
    ("StringLike", "aws:userid", "AROA*", False),
    ("StringEquals", "aws:userid", "AIDAEXAMPLEUSERID", True),
    ("StringEquals", "sts:ExternalId", "${aws:username}", False),  # the caller's own value
    ("StringEquals", "sts:ExternalId", "", False),
    ("StringLike", "aws:PrincipalOrgPaths", "o-abc123/*", True),
    ("StringLike", "aws:PrincipalOrgPaths", "o-*/r-ab12/*", False),
    ("StringLike", "aws:PrincipalOrgPaths", "*", False),
    ("StringEquals", "aws:PrincipalOrgPaths", "o-abc123/r-ab12/ou-ab12-11111111/", True),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::999988887777:role/*", True),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/deploy", False),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::*", False),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:role/x", False),
    ("StringEquals", "aws:SourceArn", "arn:aws:s3:::victim-logs", True),
    ("StringLike", "aws:SourceArn", "arn:aws:s3:::victim-*", False),  # anyone can create that bucket
    # With StringLike a `*` runs across colons, so one before the account could stand for it.
    ("StringLike", "aws:SourceArn", "arn:aws:sns:*:999988887777:topic", False),
]

IF_EXISTS: list[Row] = [
    # Keys an attacker can leave out of the request: IfExists passes for them.
    ("StringEqualsIfExists", "aws:PrincipalOrgID", "o-abc123", False),
    ("StringEqualsIfExists", "sts:ExternalId", "secret-1", False),
    ("StringEqualsIfExists", "aws:SourceAccount", "999988887777", False),
    ("ArnLikeIfExists", "aws:SourceArn", "arn:aws:sns:us-east-1:999988887777:t", False),
    ("StringLikeIfExists", "aws:PrincipalOrgPaths", "o-abc123/*", False),
    # Keys every AWS caller or token has: IfExists is the same as the plain operator.
    ("StringEqualsIfExists", "aws:PrincipalAccount", "999988887777", True),
    ("ArnEqualsIfExists", "aws:PrincipalArn", "arn:aws:iam::999988887777:role/ci", True),
    ("ArnLikeIfExists", "aws:PrincipalArn", "arn:aws:iam::*:role/ci", False),
    ("StringLikeIfExists", GH_SUB, "repo:acme/app:*", True),
    ("StringLikeIfExists", GH_SUB, "repo:*", False),
]

NEGATED: list[Row] = [
    ("StringNotEquals", "aws:PrincipalOrgID", "o-abc123", False),
    ("StringNotLike", "aws:PrincipalOrgID", "*", False),  # holds for a caller outside any organisation
    ("StringNotEqualsIgnoreCase", "sts:ExternalId", "x", False),
    ("StringNotEquals", "aws:PrincipalAccount", "999988887777", False),
    ("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::999988887777:role/x", False),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::*", False),
    ("StringNotLike", GH_SUB, "repo:attacker/*", False),
    ("ForAnyValue:StringNotEquals", "aws:PrincipalOrgID", "o-abc123", False),
    ("ForAllValues:StringNotLike", "aws:PrincipalOrgPaths", "o-abc123/*", False),
    ("NumericNotEquals", "aws:PrincipalAccount", "999988887777", False),
]

SET_OPERATORS: list[Row] = [
    # ForAnyValue: an absent key fails it, so it is the plain operator.
    ("ForAnyValue:StringEquals", "aws:PrincipalOrgID", "o-abc123", True),
    ("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "o-abc123/*", True),
    ("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", "*", False),
    ("ForAnyValue:StringLike", GH_SUB, "repo:*", False),
    # ForAllValues: an absent key passes it, so it limits only keys every caller has.
    ("ForAllValues:StringEquals", "aws:PrincipalOrgID", "o-abc123", False),
    ("ForAllValues:StringLike", "aws:PrincipalOrgPaths", "o-abc123/*", False),
    ("ForAllValues:StringEquals", "sts:ExternalId", "secret-1", False),
    ("ForAllValues:StringEquals", "aws:PrincipalAccount", "999988887777", True),
    ("ForAllValues:StringLike", GH_SUB, "repo:acme/*", True),
    ("ForAnyValue:StringLikeIfExists", "aws:PrincipalOrgID", "o-abc123", False),
]

WILDCARD_VALUES: list[Row] = [
    # GitHub: the owner must be literal, or anyone can register a matching owner and mint a token.
    ("StringLike", GH_SUB, "repo:*", False),
    ("StringLike", GH_SUB, "*", False),
    ("StringLike", GH_SUB, "repo:*/*", False),
    ("StringLike", GH_SUB, "repo:acme*/*", False),  # acme-evil is free to register
    ("StringLike", GH_SUB, "repo:acme/*:*", True),  # only acme's repositories
    ("StringLike", GH_SUB, "repo:acme/app:*", True),
    ("StringLike", GH_SUB, "repo:acme/app:ref:refs/heads/main", True),
    ("StringLike", GH_SUB, "repo:acme/app:environment:prod", True),
    ("StringLike", GH_SUB, "repo:?cme/app:*", False),
    ("StringEquals", GH_SUB, "repo:acme/app:ref:refs/heads/main", True),
    ("StringEquals", GH_SUB, "repo:*", True),  # literal: GitHub never issues that subject
    ("StringLike", GH_SUB, "repository_owner:acme:*", True),  # customised subject naming the owner
    ("StringLike", GH_SUB, "repository_owner_id:12345:*", True),
    ("StringLike", GH_SUB, "environment:prod:*", False),  # any repository can customise its claims so
    ("StringLike", GH_SUB, "repository_owner:ac*", False),
    ("StringLike", GH_SUB, ["repo:acme/app:*", "repo:*"], False),
    # The audience a workflow asks for is its own choice: it never limits.
    ("StringEquals", GH_AUD, "sts.amazonaws.com", False),
    # EKS: the namespace must be literal.
    ("StringLike", EKS_SUB, "system:serviceaccount:*", False),
    ("StringLike", EKS_SUB, "system:serviceaccount:*:deployer", False),
    ("StringLike", EKS_SUB, "system:serviceaccount:ci:*", True),
    ("StringEquals", EKS_SUB, "system:serviceaccount:ci:deployer", True),
    ("StringLike", EKS_SUB, "system:*", False),
    # Cognito: the identity pool is the audience; `amr` is the same for every pool.
    ("StringEquals", "cognito-identity.amazonaws.com:aud", "eu-west-1:1234-abcd", True),
    ("StringLike", "cognito-identity.amazonaws.com:aud", "eu-west-1:*", False),
    ("ForAnyValue:StringLike", "cognito-identity.amazonaws.com:amr", "authenticated", False),
    # Any other provider: some literal text must remain in the subject.
    ("StringLike", "gitlab.com:sub", "project_path:acme/app:*", True),
    ("StringLike", "gitlab.com:sub", "project_path:acme/*", True),
    ("StringLike", "gitlab.com:sub", "project_path:*", False),
    ("StringLike", "gitlab.com:sub", "project_path:acme*", False),  # acme-evil is free to create
    ("StringLike", "gitlab.com:sub", "*", False),
    ("StringLike", "gitlab.com:sub", "**?", False),
    ("StringEquals", "gitlab.com:sub", "project_path:acme/app:ref_type:branch:ref:main", True),
    ("StringLike", "gitlab.com:sub", "12345*", False),  # an opaque subject with a wildcard: anyone's
    ("StringEquals", "gitlab.com:aud", "https://gitlab.com", False),
]

NULL: list[Row] = [
    ("Null", "aws:PrincipalOrgID", "false", False),  # present: any organisation's id
    ("Null", "aws:PrincipalOrgID", "true", False),
    ("Null", "sts:ExternalId", "false", False),  # present: any value
    ("Null", GH_SUB, "false", False),
]

ARN: list[Row] = [
    ("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::999988887777:role/ci", True),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::999988887777:role/*", True),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/ci", False),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::99998888777?:role/ci", False),
    ("ArnLike", "aws:PrincipalArn", "*", False),
    ("ArnLike", "aws:PrincipalArn", "arn:*", False),
    ("ArnEquals", "aws:SourceArn", "arn:aws:s3:::victim-logs", True),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::*", False),
    ("ArnLike", "aws:SourceArn", "arn:aws:lambda:*:999988887777:function:*", True),
    ("ArnLike", "aws:SourceArn", "arn:aws:lambda:eu-west-1:*:function:f", False),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:999988887777:topic", True),  # part by part
    ("ArnLike", "aws:SourceArn", "arn:*:*:*:999988887777:*", True),
    ("ArnEquals", "aws:SourceArn", "arn:aws:iam::${aws:PrincipalAccount}:role/x", False),
]

OTHER_OPERATORS: list[Row] = [
    ("NumericEquals", "aws:PrincipalAccount", "999988887777", True),
    ("NumericGreaterThan", "aws:PrincipalAccount", "0", False),
    ("Bool", "aws:PrincipalOrgID", "true", False),
    ("IpAddress", "aws:SourceAccount", "10.0.0.0/8", False),
    ("DateGreaterThan", "sts:ExternalId", "2020-01-01T00:00:00Z", False),
    ("BinaryEquals", "sts:ExternalId", "QmluYXJ5", False),
    # Keys that say nothing about who the caller is, whatever the operator.
    ("StringEquals", "aws:PrincipalTag/team", "platform", False),  # callers tag themselves
    ("Bool", "aws:MultiFactorAuthPresent", "true", False),
    ("StringEquals", "saml:aud", "https://signin.aws.amazon.com/saml", False),
    ("StringEquals", "aws:RequestedRegion", "eu-west-1", False),
]

FAMILIES = {
    "string": STRING,
    "if-exists": IF_EXISTS,
    "negated": NEGATED,
    "set-operators": SET_OPERATORS,
    "wildcard-values": WILDCARD_VALUES,
    "null": NULL,
    "arn": ARN,
    "other": OTHER_OPERATORS,
}


def _params(rows: list[Row]) -> Any:
    return pytest.mark.parametrize(
        ("operator", "key", "values", "expected"), rows, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in rows]
    )


@_params(STRING)
def test_string_family(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(IF_EXISTS)
def test_if_exists_family(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(NEGATED)
def test_negated_family(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(SET_OPERATORS)
def test_for_any_and_for_all_values(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(WILDCARD_VALUES)
def test_wildcards_in_values(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(NULL)
def test_null_family(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(ARN)
def test_arn_family(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


@_params(OTHER_OPERATORS)
def test_other_operators_and_keys(operator: str, key: str, values: Any, expected: bool) -> None:
    _check(operator, key, values, expected)


def test_every_limiting_key_has_rows_both_ways() -> None:
    """Each key that can limit a trust is shown limiting and not limiting somewhere in the tables."""
    seen: dict[str, set[bool]] = {}
    for rows in FAMILIES.values():
        for _op, key, _values, expected in rows:
            seen.setdefault(key.lower(), set()).add(expected)
    for key in AWS_KEY_RULES:
        if key in ("aws:sourceorgpaths",):
            continue  # judged as aws:principalorgpaths
        assert seen.get(key) == {True, False}, (key, seen.get(key))
    assert seen[GH_SUB] == {True, False}
    assert seen[EKS_SUB] == {True, False}


# -- the findings, end to end on a role's trust policy ----------------------------------------------------
def _role(statement: dict[str, Any]) -> PrincipalRecord:
    trust = parse_policy({"Version": "2012-10-17", "Statement": [statement]}, "trust")
    return PrincipalRecord("arn:aws:iam::111122223333:role/r", "r", "role", "111122223333", trust=trust)


def _stmt(principal: Any, action: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        st["Condition"] = condition
    return st


# (case, trust statement, finding kind, reported)
FINDINGS: list[tuple[str, dict[str, Any], str, bool]] = [
    (
        "public-org-star",
        _stmt("*", "sts:AssumeRole", {"StringLike": {"aws:PrincipalOrgID": "*"}}),
        "trust-public",
        True,
    ),
    (
        "public-org-literal",
        _stmt("*", "sts:AssumeRole", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
        "trust-public",
        False,
    ),
    (
        "public-org-if-exists",
        _stmt("*", "sts:AssumeRole", {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}}),
        "trust-public",
        True,
    ),
    (
        "public-org-negated",
        _stmt("*", "sts:AssumeRole", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
        "trust-public",
        True,
    ),
    (
        "public-one-limiting-of-two",
        _stmt(
            {"AWS": "*"},
            "sts:AssumeRole",
            {
                "StringLike": {"aws:PrincipalOrgID": "*"},
                "StringEquals": {"aws:PrincipalAccount": "999988887777"},
            },
        ),
        "trust-public",
        False,
    ),
    (
        "public-tag-only",
        _stmt("*", "sts:AssumeRole", {"StringEquals": {"aws:PrincipalTag/team": "x"}}),
        "trust-public",
        True,
    ),
    (
        "xacct-extid-star",
        _stmt(
            {"AWS": "arn:aws:iam::999988887777:root"},
            "sts:AssumeRole",
            {"StringLike": {"sts:ExternalId": "*"}},
        ),
        "trust-cross-account-no-external-id",
        True,
    ),
    (
        "xacct-extid-if-exists",
        _stmt(
            {"AWS": "arn:aws:iam::999988887777:root"},
            "sts:AssumeRole",
            {"StringEqualsIfExists": {"sts:ExternalId": "abc"}},
        ),
        "trust-cross-account-no-external-id",
        True,
    ),
    (
        "xacct-extid-null",
        _stmt(
            {"AWS": "arn:aws:iam::999988887777:root"}, "sts:AssumeRole", {"Null": {"sts:ExternalId": "false"}}
        ),
        "trust-cross-account-no-external-id",
        True,
    ),
    (
        "xacct-extid",
        _stmt(
            {"AWS": "arn:aws:iam::999988887777:root"},
            "sts:AssumeRole",
            {"StringEquals": {"sts:ExternalId": "abc"}},
        ),
        "trust-cross-account-no-external-id",
        False,
    ),
    (
        "github-repo-star",
        _stmt(
            {"Federated": GITHUB},
            "sts:AssumeRoleWithWebIdentity",
            {"StringLike": {GH_SUB: "repo:*"}, "StringEquals": {GH_AUD: "sts.amazonaws.com"}},
        ),
        "trust-oidc-no-sub",
        True,
    ),
    (
        "github-owner-literal",
        _stmt(
            {"Federated": GITHUB},
            "sts:AssumeRoleWithWebIdentity",
            {"StringLike": {GH_SUB: "repo:acme/*:*"}, "StringEquals": {GH_AUD: "sts.amazonaws.com"}},
        ),
        "trust-oidc-no-sub",
        False,
    ),
    (
        "github-sub-negated",
        _stmt(
            {"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", {"StringNotLike": {GH_SUB: "repo:evil/*"}}
        ),
        "trust-oidc-no-sub",
        True,
    ),
    (
        "eks-any-namespace",
        _stmt(
            {"Federated": EKS},
            "sts:AssumeRoleWithWebIdentity",
            {"StringLike": {EKS_SUB: "system:serviceaccount:*"}},
        ),
        "trust-oidc-no-sub",
        True,
    ),
    (
        "cognito-amr-only",
        _stmt(
            {"Federated": "cognito-identity.amazonaws.com"},
            "sts:AssumeRoleWithWebIdentity",
            {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
        ),
        "trust-oidc-no-sub",
        True,
    ),
    (
        "cognito-pool",
        _stmt(
            {"Federated": "cognito-identity.amazonaws.com"},
            "sts:AssumeRoleWithWebIdentity",
            {"StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-1:1234-abcd"}},
        ),
        "trust-oidc-no-sub",
        False,
    ),
    (
        "saml-own-provider",
        _stmt(
            {"Federated": "arn:aws:iam::111122223333:saml-provider/okta"},
            "sts:AssumeRoleWithSAML",
            {"StringEquals": {"saml:aud": "https://signin.aws.amazon.com/saml"}},
        ),
        "trust-oidc-no-sub",
        False,
    ),
]


@pytest.mark.parametrize(("case", "statement", "kind", "reported"), FINDINGS, ids=[f[0] for f in FINDINGS])
def test_trust_findings(case: str, statement: dict[str, Any], kind: str, reported: bool) -> None:
    found = [f for f in trust_findings(_role(statement)) if f.kind == kind]
    assert bool(found) is reported, f"{case}: {[f.detail for f in found]}"
    if found and statement.get("Condition"):
        assert "do not limit who" in found[0].detail  # says which condition was there and why it fails


def test_detail_unchanged_without_conditions() -> None:
    (finding,) = trust_findings(_role(_stmt("*", "sts:AssumeRole", None)))
    assert finding.detail == "Principal * may assume this role."
