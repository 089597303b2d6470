"""Tightening and grants_nothing_new checked by an independent evaluator (z3, no code shared with policy/):
on adversarial policies and random usage, no tightened set allows a request the original refuses, every
action the usage calls used or unknown stays allowed, and grants_nothing_new never misses new access."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.catalog import Catalog
from policy.model import parse_policy
from policy.tighten import grants_nothing_new, tighten_policy
from policy.usage import ActionUse, Usage
from tests.independent.z3_policy import new_access

CATALOG = Catalog.from_actions(
    {
        "s3:GetObject": "Read",
        "s3:PutObject": "Write",
        "s3:ListBucket": "List",
        "s3:CreateBucket": "Write",
        "s3:DeleteObject": "Write",
        "ec2:RunInstances": "Write",
        "ec2:DescribeInstances": "List",
        "iam:PassRole": "Permissions management",
        "iam:GetRole": "Read",
        "iam:CreateRole": "Write",
    }
)
# Names the catalog does not know: a newer action of a known service, and a service it has never seen.
UNCATALOGUED = ["s3:getobjectbrandnew", "zzz:dothing"]
ACTIONS = [
    "*",
    "s3:*",
    "s3:Get*",
    "S3:get*",
    "s3:GetObject",
    "s3:GetObjectBrandNew",
    "s3:DeleteObject",
    "ec2:*",
    "ec2:Describe*",
    "ec2:RunInstances",
    "iam:PassRole",
    "iam:?assRole",
    "IAM:GetRole",
    "zzz:*",
    "zzz:DoThing",
    "*:Get*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::a/*",
    "arn:aws:s3:::a/${aws:username}",
    "arn:aws:s3:::A/*",
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::${*}",
    "arn:aws:s3:::a/?",
    "arn:aws:iam::1:role/r",
    "arn:aws:ec2:*:1:instance/*",
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    None,
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"Bool": {"AWS:multifactorauthpresent": "true"}},
    {"StringEquals": {"aws:username": "alice"}},
    {"StringEquals": {"s3:prefix": "${aws:username}"}},
    {"StringLike": {"s3:prefix": "home/*"}},
    {"StringNotEquals": {"aws:PrincipalTag/Team": "red"}},
    {"StringEqualsIfExists": {"aws:principaltag/team": "blue"}},
    {"Null": {"aws:TokenIssueTime": "false"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
]
VERSIONS = ["2012-10-17", "2008-10-17", None]


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True))
    out["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True))
    out["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = resources
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        out["Condition"] = condition
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from(VERSIONS))
    body = {"Statement": draw(st.lists(statements(), min_size=1, max_size=4))}
    return body | ({"Version": version} if version else {})


SERVICES = ["s3", "ec2", "iam", "zzz"]
NAMES = sorted(CATALOG.canonical) + UNCATALOGUED


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    return Usage.of(
        used_services=draw(st.sets(st.sampled_from(SERVICES))),
        tracked_services=draw(st.sets(st.sampled_from(SERVICES))),
        tracked_actions=draw(st.sets(st.sampled_from(NAMES))),
        used_actions=draw(st.sets(st.sampled_from(NAMES), max_size=3)),
        young=draw(st.integers(0, 9)) == 0,
    )


def _nameable(original: dict[str, Any], usage: Usage, *, declared_lost: bool) -> list[str]:
    """Actions tightening can name and so must keep when used or unknown: the catalog's, those the
    usage names, those the original writes out, and one action of each uncatalogued service it grants
    by `service:*`-like patterns. (An uncatalogued service reached only through `*` cannot be named; one
    reached through a NotAction or a wildcard service name cannot always be, and when the tightening
    says so to the reviewer (`declared_lost`) its uncatalogued services are not required.)"""
    names = set(CATALOG.canonical) | usage.used_actions | usage.tracked_actions
    for statement in original["Statement"]:
        for pattern in statement.get("Action", []):
            service = pattern.lower().split(":", 1)[0]
            if "*" not in pattern and "?" not in pattern:
                names.add(pattern.lower())
            elif (
                ":" in pattern
                and "*" not in service
                and not CATALOG.service_known(service)
                and not declared_lost
            ):
                names.add(f"{service}:dothing")
    return sorted(a for a in names if usage.state(a) is not ActionUse.UNUSED)


UNNAMED_LOST = (
    "a service newer than the action catalog and not reported by Access Advisor is no longer granted"
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), usages())
def test_tightened_set_grants_nothing_new_and_keeps_what_is_used_or_unknown(
    original: dict[str, Any], usage: Usage
) -> None:
    result = tighten_policy(parse_policy(original, "original"), usage, CATALOG)
    found = new_access([original], result.documents)
    assert found is None, f"the tightened policy allows {found}; documents: {result.documents}"
    assert (
        grants_nothing_new(
            [parse_policy(original, "original")],
            [parse_policy(d, f"part{i}") for i, d in enumerate(result.documents)],
            CATALOG,
        )
        == []
    )
    keep = _nameable(original, usage, declared_lost=any(UNNAMED_LOST in w for w in result.warnings))
    if keep:
        lost = new_access(result.documents, [original], keep)
        assert lost is None, (
            f"a used or unknown action is no longer allowed: {lost}; documents: {result.documents}"
        )


def test_an_uncatalogued_service_named_elsewhere_is_kept_where_a_notaction_grants_it() -> None:
    """Found by the property above: a NotAction statement grants `zzz:*` (a service the catalog does not
    know) and another statement names the service; the rewrite into a list of actions must keep it."""
    original = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["s3:Get*"], "Resource": ["*"]},
            {"Effect": "Allow", "Action": ["*", "zzz:*"], "NotResource": ["*"]},
        ],
    }
    usage = Usage.of(tracked_services={"s3"})
    result = tighten_policy(parse_policy(original, "original"), usage, CATALOG)
    assert new_access([original], result.documents) is None
    assert new_access(result.documents, [original], ["zzz:dothing"]) is None, result.documents
    assert any("zzz:*" in st.get("Action", []) for d in result.documents for st in d["Statement"])


@st.composite
def edited(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """An edit of the original, as a reviewer (or an attacker) might make it."""
    proposed = [dict(s) for s in original["Statement"] if draw(st.integers(0, 5)) > 0]
    for statement in proposed:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            key = "Action" if "Action" in statement else "NotAction"
            statement[key] = [*statement[key], draw(st.sampled_from(ACTIONS))]
        elif choice == 1:
            statement.pop("Condition", None)
        elif choice == 2:
            statement["Condition"] = draw(st.sampled_from(CONDITIONS)) or {}
            if not statement["Condition"]:
                statement.pop("Condition")
        elif choice == 3:
            key = "Resource" if "Resource" in statement else "NotResource"
            statement[key] = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True))
        elif choice == 4:
            key = "Action" if "Action" in statement else "NotAction"
            statement[key] = [a.upper() if draw(st.booleans()) else a for a in statement[key]]
    if draw(st.integers(0, 3)) == 0:
        proposed.append(draw(statements()))
    if not proposed:
        proposed.append(draw(statements()))
    version = draw(st.sampled_from([original.get("Version"), *VERSIONS]))
    return {"Statement": proposed} | ({"Version": version} if version else {})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_grants_nothing_new_never_misses_what_z3_finds(data: st.DataObject) -> None:
    original = data.draw(documents())
    proposed = data.draw(edited(original))
    problems = grants_nothing_new(
        [parse_policy(original, "original")], [parse_policy(proposed, "proposed")], CATALOG
    )
    found = new_access([original], [proposed])
    if found is not None:
        assert problems, f"z3 finds {found} newly allowed, grants_nothing_new finds nothing"
