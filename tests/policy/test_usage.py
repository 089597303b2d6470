"""Usage per action: used, unused, or unknown (what Access Advisor cannot see is kept)."""

from __future__ import annotations

import pytest

from policy.catalog import default_catalog
from policy.tighten import Usage as UsageFromTighten
from policy.usage import NOT_RECORDED_BY_ACCESS_ADVISOR, ActionUse, Usage

U, N, K = ActionUse.USED, ActionUse.UNUSED, ActionUse.UNKNOWN

# Shaped as AWS reports it: s3 and iam tracked, with some management actions at action level; data-plane
# actions (s3:GetObject) never appear at action level. sns tracked and never used. ec2 not reported at all.
REPORTED = Usage.of(
    used_services=["s3", "iam"],
    tracked_services=["s3", "iam", "sns"],
    tracked_actions=["s3:CreateBucket", "s3:PutBucketPolicy", "iam:GetRole", "iam:CreateRole", "sns:Publish"],
    used_actions=["s3:CreateBucket", "iam:GetRole"],
)


@pytest.mark.parametrize(
    ("usage", "action", "expected"),
    [
        (REPORTED, "s3:CreateBucket", U),  # tracked at action level, used
        (REPORTED, "S3:CREATEBUCKET", U),  # names are case-insensitive
        (REPORTED, "s3:PutBucketPolicy", N),  # tracked at action level, not used
        (REPORTED, "s3:GetObject", K),  # data plane, service used: it may be what was used
        (REPORTED, "iam:PassRole", K),  # permission-only: never recorded
        (REPORTED, "iam:DeleteRole", K),  # not at action level, iam used
        (REPORTED, "sns:Publish", N),
        (REPORTED, "sns:Subscribe", N),  # whole service unused
        (REPORTED, "ec2:RunInstances", K),  # not tracked
        (REPORTED, "zzznewservice:DoThing", K),  # unknown service: not tracked
        (Usage.of(tracked_services=["iam"], tracked_actions=["iam:passrole"]), "iam:PassRole", K),
        (Usage.of(tracked_services=["sts"]), "sts:TagSession", K),
        (Usage.of(tracked_services=["sts"]), "sts:AssumeRole", N),
        (
            Usage.of(tracked_services=["s3"], tracked_actions=["s3:createbucket"], young=True),
            "s3:CreateBucket",
            K,
        ),
        (Usage.of(tracked_services=["s3"], young=True), "s3:GetObject", K),
        # A used action marks its service used: its other data-plane actions are unknown, not unused.
        (Usage.of(tracked_services=["s3"], used_actions=["s3:GetObject"]), "s3:PutObject", K),
        (
            Usage(tracked_services=frozenset({"s3"}), used_actions=frozenset({"s3:getobject"})),
            "s3:getobject",
            U,
        ),
    ],
)
def test_state(usage: Usage, action: str, expected: ActionUse) -> None:
    assert usage.state(action) is expected
    assert usage.is_used(action) is (expected is not N)


@pytest.mark.parametrize(
    ("usage", "service", "expected"),
    [
        (REPORTED, "s3", U),
        (REPORTED, "sns", N),
        (REPORTED, "ec2", K),
        (Usage.of(tracked_services=["zzz"], used_actions=["zzz:a"]), "zzz", U),
        (Usage.of(tracked_services=["zzz"], young=True), "zzz", K),
    ],
)
def test_service_state(usage: Usage, service: str, expected: ActionUse) -> None:
    assert usage.service_state(service) is expected


def test_one_usage_model() -> None:
    assert UsageFromTighten is Usage


def test_not_recorded_actions_are_catalog_actions() -> None:
    cat = default_catalog()
    assert cat.all_actions >= NOT_RECORDED_BY_ACCESS_ADVISOR
