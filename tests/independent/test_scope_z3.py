"""Resource scoping checked by the independent evaluator (z3, no code shared with policy/), on generated
adversarial policies and evidence: no tightened and narrowed document (nor its hardened version) allows a
request the original refuses, and no request in the evidence that the original allowed is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.catalog import Catalog
from policy.evidence import Evidence, EvidenceSource
from policy.model import parse_policy
from policy.scope import harden, regions_seen, scope_documents
from policy.tighten import tighten_policy
from policy.usage import Usage
from tests.independent.z3_policy import new_access

S3_BUCKET = "arn:${Partition}:s3:::${BucketName}"
DDB_TABLE = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"
CATALOG = Catalog.from_actions(
    {
        "s3:GetObject": "Read",
        "s3:PutObject": "Write",
        "s3:ListBucket": "List",
        "dynamodb:Query": "Read",
        "dynamodb:GetItem": "Read",
        "ec2:DescribeInstances": "List",
        "iam:PassRole": "Permissions management",
    },
    resource_types={
        "s3:GetObject": ("object",),
        "s3:PutObject": ("object",),
        "s3:ListBucket": ("bucket",),
        "dynamodb:Query": ("table", "index"),
        "dynamodb:GetItem": ("table",),
        "iam:PassRole": ("role",),
    },
    resource_arns={
        "s3": {"bucket": S3_BUCKET, "object": S3_BUCKET + "/${ObjectName}"},
        "dynamodb": {"table": DDB_TABLE, "index": DDB_TABLE + "/index/${IndexName}"},
        "iam": {"role": "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"},
    },
)
ACTIONS = [
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "dynamodb:*",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "ec2:DescribeInstances",
    "iam:PassRole",
    "*:Get*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::a/*",
    "arn:aws:s3:::a/k/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::a",
    "arn:aws:s3:::A/*",
    "arn:aws:s3:::a?/*",
    "arn:aws:s3:::a/${aws:username}",
    "arn:aws:dynamodb:*:1:table/*",
    "arn:aws:dynamodb:r:1:table/t",
    "arn:aws:iam::1:role/*",
]
USED = [
    "arn:aws:s3:::a/k/x",
    "arn:aws:s3:::a/y",
    "arn:aws:s3:::ab/z",
    "arn:aws:s3:::a",
    "arn:aws:s3:::a/*",  # a generated policy names a pattern
    "arn:aws:dynamodb:r:1:table/t",
    "arn:aws:dynamodb:r:1:table/t/index/i",
    "arn:aws:dynamodb:q:1:table/u",
    "arn:aws:iam::1:role/r",
    None,
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    None,
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:RequestedRegion": "r"}},
    {"StringLike": {"s3:prefix": "home/*"}},
]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4, unique=True))
    out["NotAction" if draw(st.integers(0, 6)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True))
    out["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = resources
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        out["Condition"] = condition
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[Evidence], Usage]:
    original = {"Version": "2012-10-17", "Statement": draw(st.lists(statements(), min_size=1, max_size=3))}
    concrete = [a for a in CATALOG.canonical.values()]
    evidence = [
        Evidence(action, resource, EvidenceSource.CLOUDTRAIL_LOOKUP, NOW, 1)
        for action, resource in draw(
            st.lists(st.tuples(st.sampled_from(concrete), st.sampled_from(USED)), min_size=1, max_size=6)
        )
    ]
    usage = Usage.of(
        tracked_services=draw(st.sets(st.sampled_from(["s3", "dynamodb", "ec2", "iam"]))),
        tracked_actions=draw(st.sets(st.sampled_from(sorted(CATALOG.canonical)))),
    ).with_evidence(evidence)
    return original, evidence, usage


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_narrowed_policies_grant_nothing_new_and_refuse_nothing_used(case: Any) -> None:
    original, evidence, usage = case
    tightened = tighten_policy(parse_policy(original, "original"), usage, CATALOG)
    scoped = scope_documents(tightened.documents, evidence, CATALOG).documents
    found = new_access([original], scoped)
    assert found is None, f"the narrowed policy allows {found}; documents: {scoped}"
    hardened = harden(scoped, regions=regions_seen(evidence))
    found = new_access([original], hardened)
    assert found is None, f"the hardened policy allows {found}; documents: {hardened}"
    for e in evidence:
        # A record naming no resource: any resource the original allowed; a pattern: one it stands for.
        resources = [] if e.resource is None else [e.resource.replace("*", "x")]
        lost = new_access(scoped, [original], [e.action], resources)
        assert lost is None, f"{e.action} on {e.resource} was used and is now refused: {lost}; {scoped}"
