"""Resource scoping from evidence: narrowed the way a person writes it, never beyond the original, never
for an action whose resources the evidence cannot show; conditions kept; hardening only narrows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policy.catalog import default_catalog
from policy.evidence import Evidence, EvidenceSource
from policy.model import parse_policy
from policy.scope import generalise, harden, regions_seen, scope_documents
from policy.tighten import grants_nothing_new
from tests.policy.gaad_builder import allow, doc

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACCT = "111122223333"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/orders"


def ev(action: str, resource: str | None) -> Evidence:
    return Evidence(action, resource, EvidenceSource.CLOUDTRAIL_LOOKUP, NOW, 1)


def _statements(documents: list[dict[str, Any]]) -> dict[tuple[str, ...], Any]:
    out = {}
    for d in documents:
        for st in d["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            out[tuple(actions)] = st.get("Resource")
    return out


def _subset(original: dict[str, Any], documents: list[dict[str, Any]]) -> list[str]:
    cat = default_catalog()
    return grants_nothing_new([parse_policy(original, "o")], [parse_policy(d, "n") for d in documents], cat)


def test_generalised_as_a_person_writes_it() -> None:
    cat = default_catalog()
    assert generalise("s3:GetObject", "arn:aws:s3:::app-uploads/2026/05/x.png", cat) == [
        "arn:aws:s3:::app-uploads/*"
    ]
    assert generalise("s3:ListBucket", "arn:aws:s3:::app-uploads", cat) == ["arn:aws:s3:::app-uploads"]
    assert generalise("dynamodb:Query", TABLE, cat) == [TABLE, f"{TABLE}/index/*"]
    assert generalise("dynamodb:Query", f"{TABLE}/index/by-user", cat) == [f"{TABLE}/index/*"]
    assert generalise("dynamodb:GetItem", TABLE, cat) == [TABLE]  # takes no index
    assert generalise(
        "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:eu-west-1:{ACCT}:secret:db-pass-AbC123", cat
    ) == [f"arn:aws:secretsmanager:eu-west-1:{ACCT}:secret:db-pass-??????"]
    stream = f"arn:aws:logs:eu-west-1:{ACCT}:log-group:/aws/lambda/f:log-stream:2026/05/31/abc"
    assert generalise("logs:PutLogEvents", stream, cat) == [
        f"arn:aws:logs:eu-west-1:{ACCT}:log-group:/aws/lambda/f:log-stream:*"
    ]
    assert generalise("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCT}:jobs", cat) == [
        f"arn:aws:sqs:eu-west-1:{ACCT}:jobs"
    ]
    assert (
        generalise("ec2:DescribeInstances", "arn:aws:ec2:eu-west-1:1:instance/i-1", cat) is None
    )  # only `*`
    assert generalise("s3:GetObject", "arn:aws:s3:::b/${ObjectName}", cat) == ["arn:aws:s3:::b/*"]


def test_a_statement_is_narrowed_to_what_was_used_and_keeps_its_conditions() -> None:
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    original = doc(
        allow(
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:ListBucket",
                "dynamodb:Query",
                "ec2:DescribeInstances",
                "iam:PassRole",
            ],
            "*",
            Condition=condition,
        )
    )
    evidence = [
        ev("s3:GetObject", "arn:aws:s3:::app-uploads/a.png"),
        ev("s3:GetObject", "arn:aws:s3:::app-uploads/b/c.png"),
        ev("s3:PutObject", "arn:aws:s3:::app-uploads/d.png"),
        ev("s3:ListBucket", "arn:aws:s3:::app-uploads"),
        ev("dynamodb:Query", TABLE),
        ev("ec2:DescribeInstances", None),
    ]
    result = scope_documents([original], evidence, default_catalog())
    statements = _statements(result.documents)
    assert statements[("s3:GetObject", "s3:PutObject")] == "arn:aws:s3:::app-uploads/*"
    assert statements[("s3:ListBucket",)] == "arn:aws:s3:::app-uploads"
    assert statements[("dynamodb:Query",)] == [TABLE, f"{TABLE}/index/*"]
    # No resource in the evidence (DescribeInstances takes only `*`), none at all (PassRole): as they were.
    assert statements[("ec2:DescribeInstances", "iam:PassRole")] == "*"
    for d in result.documents:
        for st in d["Statement"]:
            assert st["Condition"] == {"Bool": {"aws:multifactorauthpresent": "true"}}
    assert {n.action for n in result.narrowed} == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "dynamodb:Query",
    }
    assert _subset(original, result.documents) == []


def test_never_beyond_the_original_scope() -> None:
    # The original allows one prefix of the bucket: `bucket/*` would be wider, so the exact ARN is kept.
    original = doc(allow("s3:GetObject", "arn:aws:s3:::app-uploads/public/*"))
    evidence = [ev("s3:GetObject", "arn:aws:s3:::app-uploads/public/a.png")]
    result = scope_documents([original], evidence, default_catalog())
    assert _statements(result.documents)[("s3:GetObject",)] == "arn:aws:s3:::app-uploads/public/a.png"
    assert _subset(original, result.documents) == []
    # Evidence outside the statement's resources (granted elsewhere): the action is left as it was.
    other = [ev("s3:GetObject", "arn:aws:s3:::elsewhere/a.png")]
    result = scope_documents([original], other, default_catalog())
    assert result.documents == [original] and "s3:getobject" in result.left


def test_statements_it_cannot_read_safely_are_left_alone() -> None:
    evidence = [ev("s3:GetObject", "arn:aws:s3:::b/k")]
    for statement in (
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
        allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"),
        allow("s3:Get*", "*"),
    ):
        original = doc(statement)
        assert scope_documents([original], evidence, default_catalog()).documents == [original]
    # One use names no resource: the action is not narrowed.
    original = doc(allow("s3:GetObject"))
    result = scope_documents([original], [*evidence, ev("s3:GetObject", None)], default_catalog())
    assert result.documents == [original]


def test_hardening_adds_conditions_and_only_narrows() -> None:
    original = doc(allow("s3:GetObject", "arn:aws:s3:::b/*", Condition={"StringEquals": {"s3:prefix": "x"}}))
    evidence = [ev("dynamodb:Query", TABLE), ev("iam:GetRole", f"arn:aws:iam::{ACCT}:role/r")]
    regions = regions_seen(evidence)
    assert regions == ["eu-west-1", "us-east-1"]
    (hardened,) = harden([original], regions=regions)
    assert hardened["Statement"][0]["Condition"] == {
        "StringEquals": {"s3:prefix": "x", "aws:RequestedRegion": ["eu-west-1", "us-east-1"]},
        "Bool": {"aws:SecureTransport": "true"},
    }
    assert _subset(original, [hardened]) == []
    # A key the statement already tests is left as written.
    own = doc(allow("s3:GetObject", Condition={"Bool": {"aws:securetransport": "false"}}))
    assert harden([own])[0]["Statement"][0]["Condition"] == {"Bool": {"aws:securetransport": "false"}}
