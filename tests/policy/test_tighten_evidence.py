"""Tightening keeps what the evidence cannot call unused, never widens a pattern, and says when it cannot
fit: one test per rule, with last-accessed data shaped as AWS reports it."""

from __future__ import annotations

from typing import Any

from policy.catalog import default_catalog
from policy.model import minified_length, parse_policy
from policy.tighten import grants_nothing_new, inline_total_warning, tighten_policy
from policy.usage import Usage
from tests.policy.gaad_builder import allow, deny, doc

# Management actions Access Advisor reports at action level for these services (a sample); data-plane
# actions such as s3:GetObject, dynamodb:GetItem and lambda:InvokeFunction never appear.
MANAGEMENT = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "sns:CreateTopic",
]
WORKLOAD = Usage.of(
    used_services=["s3", "dynamodb", "lambda"],
    tracked_services=["s3", "dynamodb", "lambda", "sns", "iam"],
    tracked_actions=MANAGEMENT,
    used_actions=["lambda:CreateFunction"],
)


def _reparsed(documents: list[dict[str, Any]]) -> list[Any]:
    return [parse_policy(d, f"part{i}") for i, d in enumerate(documents)]


def test_data_plane_actions_of_used_services_are_kept_as_unknown() -> None:
    cat = default_catalog()
    data_plane = [
        "s3:GetObject",
        "s3:PutObject",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "lambda:InvokeFunction",
    ]
    original = parse_policy(doc(allow([*MANAGEMENT, *data_plane, "sns:Publish", "iam:PassRole"])), "app")
    result = tighten_policy(original, WORKLOAD, cat)
    kept = set(result.documents[0]["Statement"][0]["Action"])
    assert set(data_plane) | {"lambda:CreateFunction", "iam:PassRole"} == kept
    assert set(result.unknown_actions) == set(data_plane) | {"iam:PassRole"}
    assert "lambda:CreateFunction" not in result.unknown_actions  # used, not merely unknown
    assert set(result.removed_actions) == set(MANAGEMENT) - {"lambda:CreateFunction"} | {"sns:Publish"}
    assert grants_nothing_new([original], _reparsed(result.documents), cat) == []


def test_young_principal_loses_nothing() -> None:
    cat = default_catalog()
    original = parse_policy(doc(allow(["s3:*", "sns:Publish"])), "app")
    young = Usage.of(tracked_services=["s3", "sns"], tracked_actions=MANAGEMENT, young=True)
    result = tighten_policy(original, young, cat)
    assert result.unchanged
    assert result.documents[0]["Statement"][0]["Action"] == ["s3:*", "sns:Publish"]


def test_actions_newer_than_the_catalog_are_kept_when_used_or_unknown() -> None:
    cat = default_catalog()
    original = parse_policy(
        doc(allow(["s3:GetObject", "s3:GetObjectBrandNewApi", "sns:Publish", "zzznewservice:*"])), "app"
    )
    result = tighten_policy(original, WORKLOAD, cat)
    actions = result.documents[0]["Statement"][0]["Action"]
    assert "s3:getobjectbrandnewapi" in actions  # s3 used, the action unknown to Access Advisor
    assert "zzznewservice:*" in actions  # a service Access Advisor does not report
    assert "sns:Publish" in result.removed_actions
    assert {"s3:getobjectbrandnewapi", "zzznewservice:*"} <= set(result.unknown_actions)
    assert grants_nothing_new([original], _reparsed(result.documents), cat) == []
    # Tracked and unused, the unknown service goes like any other.
    tracked = Usage.of(used_services=["s3"], tracked_services=["s3", "sns", "zzznewservice"])
    result = tighten_policy(original, tracked, cat)
    assert "zzznewservice:*" in result.removed_actions
    assert "zzznewservice:*" not in result.documents[0]["Statement"][0]["Action"]


def test_used_action_unknown_to_the_catalog_survives_a_cut_wildcard() -> None:
    cat = default_catalog()
    original = parse_policy(doc(allow(["s3:*"], "arn:aws:s3:::data/*")), "app")
    usage = Usage.of(
        tracked_services=["s3"],
        tracked_actions=[*cat.expand("s3:*"), "s3:newmanagementapi"],
        used_actions=["s3:GetObject", "s3:NewManagementApi"],
    )
    result = tighten_policy(original, usage, cat)
    assert result.documents[0]["Statement"][0]["Action"] == ["s3:GetObject", "s3:newmanagementapi"]
    assert grants_nothing_new([original], _reparsed(result.documents), cat) == []


def test_version_2008_with_variables_is_kept() -> None:
    cat = default_catalog()
    raw = {
        "Version": "2008-10-17",
        "Statement": [allow(["s3:GetObject", "sns:Publish"], "arn:aws:s3:::home/${aws:username}/*")],
    }
    original = parse_policy(raw, "old")
    result = tighten_policy(original, WORKLOAD, cat)
    assert result.documents[0]["Version"] == "2008-10-17"
    assert grants_nothing_new([original], _reparsed(result.documents), cat) == []
    # Without `${`, the version means nothing and the tightened document is written as 2012-10-17.
    plain = parse_policy({**raw, "Statement": [allow(["s3:GetObject", "sns:Publish"])]}, "plain")
    assert tighten_policy(plain, WORKLOAD, cat).documents[0]["Version"] == "2012-10-17"


def _big_policy(cat: Any, resources: int) -> tuple[Any, Usage]:
    actions = sorted(cat.canonical[a] for a in cat.expand("ec2:*"))
    arns = [f"arn:aws:ec2:us-east-1:111122223333:instance/i-{i:017d}" for i in range(resources)]
    original = parse_policy(
        doc(
            allow(actions, arns),
            deny("ec2:TerminateInstances", "arn:aws:ec2:*:*:instance/protected-*"),
            deny("s3:DeleteObject", "arn:aws:s3:::tenant/protected/*"),
        ),
        "big",
    )
    usage = Usage.of(used_actions=actions[::2], tracked_services=["ec2"], tracked_actions=actions)
    return original, usage


def test_every_part_of_a_split_carries_every_deny() -> None:
    cat = default_catalog()
    original, usage = _big_policy(cat, 40)
    result = tighten_policy(original, usage, cat)
    assert len(result.documents) > 1 and result.fits
    denies = [s for s in original.raw["Statement"] if s["Effect"] == "Deny"]
    kept: set[str] = set()
    for part in result.documents:
        assert minified_length(part) <= 6144
        assert [s for s in part["Statement"] if s["Effect"] == "Deny"] == denies
        kept |= {a for s in part["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert kept == set(result.kept_actions)  # no piece lost between parts
    # Any one part alone grants nothing new and keeps every Deny.
    for i, part in enumerate(_reparsed(result.documents)):
        assert grants_nothing_new([original], [part], cat) == [], i


def test_a_split_that_cannot_fit_says_so() -> None:
    cat = default_catalog()
    original, usage = _big_policy(cat, 160)  # its resource list alone is over 6,144 characters
    result = tighten_policy(original, usage, cat)
    assert not result.fits
    assert any(w.startswith("cannot fit") for w in result.warnings)
    assert not any(w.startswith("split into") for w in result.warnings)


def test_inline_policies_fit_together_or_say_so() -> None:
    assert inline_total_warning([1000, 1048], "inline-user") is None
    warning = inline_total_warning([1000, 1049], "inline-user")
    assert warning is not None and "2,049" in warning and "2,048" in warning
    assert inline_total_warning([6000, 4240], "inline-role") is None
    assert inline_total_warning([5121], "inline-group") is not None


def test_rewriting_a_star_says_unnamed_services_lose_access() -> None:
    cat = default_catalog()
    star = parse_policy(doc(allow("*")), "admin")
    result = tighten_policy(star, WORKLOAD, cat)
    assert any("newer than the action catalog" in w for w in result.warnings)
    listed = parse_policy(doc(allow(["s3:*", "sns:*"])), "app")
    assert not any("newer than" in w for w in tighten_policy(listed, WORKLOAD, cat).warnings)
