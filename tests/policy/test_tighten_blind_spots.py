"""What Access Advisor cannot see is the catalog's to say (engine and findings read it there), actions
CloudTrail shows used are kept though the catalog is older than they are, and a group's use is the union
of its members'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from findings.detect import unused_for_principal
from findings.facts import usage_from_rows
from findings.models import LastAccessed, Principal
from policy.catalog import Catalog, default_catalog
from policy.evidence import Evidence, EvidenceSource
from policy.model import parse_policy
from policy.tighten import grants_nothing_new, tighten_policy
from policy.usage import ActionUse, Usage
from tests.policy.gaad_builder import allow, doc

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_catalog_reads_permission_only_actions_from_its_definition() -> None:
    cat = default_catalog()
    # Documented only in the IAM user guide (no API of its own): the hard-coded list never had it.
    assert not cat.recorded_by_access_advisor("sts:TagGetWebIdentityToken")
    assert not cat.recorded_by_access_advisor("iam:PassRole")
    assert cat.recorded_by_access_advisor("sts:AssumeRole")
    original = parse_policy(doc(allow(["sts:AssumeRole", "sts:TagGetWebIdentityToken"])), "p")
    sts_unused = Usage.of(tracked_services=["sts"], used_services=[])
    result = tighten_policy(original, sts_unused, cat)
    assert result.removed_actions == ["sts:AssumeRole"]
    assert result.unknown_actions == ["sts:TagGetWebIdentityToken"]


def test_a_catalog_that_knows_more_blind_spots_keeps_them() -> None:
    cat = Catalog.from_actions(
        {"svc:Call": "Write", "svc:PassThing": "Write"}, not_recorded=["svc:PassThing"]
    )
    original = parse_policy(doc(allow(["svc:Call", "svc:PassThing"])), "p")
    result = tighten_policy(original, Usage.of(tracked_services=["svc"]), cat)
    assert result.removed_actions == ["svc:Call"]
    assert result.kept_actions == result.unknown_actions == ["svc:PassThing"]


def test_findings_read_the_same_blind_spots_as_the_engine() -> None:
    principal = Principal(
        kind="role", name="r", arn="arn:aws:iam::1:role/r", aws_created_at=NOW - timedelta(days=900)
    )
    rows = [
        LastAccessed(
            principal=principal,
            service="sts",
            action="",
            tracked=True,
            last_accessed_at=None,
            collected_at=NOW,
        )
    ]
    usage = usage_from_rows(principal=principal, rows=rows, window_days=90, now=NOW)
    state = unused_for_principal(
        allowed=frozenset({"sts:assumerole", "sts:taggetwebidentitytoken"}),
        usage=usage,
        action_name=default_catalog().name,
    )
    assert state.unused_services == {"sts": ["sts:AssumeRole"]}


def test_actions_cloudtrail_shows_used_are_kept_though_newer_than_the_catalog() -> None:
    cat = default_catalog()
    original = parse_policy(doc(allow(["s3:*"])), "p")
    access_advisor = Usage.of(tracked_services=["s3"], tracked_actions=cat.expand("s3:*"))
    evidence = [
        Evidence("s3:GetObject", "arn:aws:s3:::b/k", EvidenceSource.CLOUDTRAIL_LOOKUP, NOW, 3),
        Evidence("s3:BrandNewDataApi", None, EvidenceSource.CLOUDTRAIL_LOOKUP, NOW, 1),
    ]
    usage = access_advisor.with_evidence(evidence)
    assert usage.state("s3:brandnewdataapi") is ActionUse.USED
    result = tighten_policy(original, usage, cat)
    actions = result.documents[0]["Statement"][0]["Action"]
    assert "s3:brandnewdataapi" in actions and "s3:GetObject" in actions
    assert grants_nothing_new([original], [parse_policy(d, "n") for d in result.documents], cat) == []


NAMES = ["s3:getobject", "s3:createbucket", "iam:passrole", "sns:publish", "ec2:runinstances"]
SERVICES = ["s3", "iam", "sns", "ec2"]


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    return Usage.of(
        used_services=draw(st.sets(st.sampled_from(SERVICES))),
        tracked_services=draw(st.sets(st.sampled_from(SERVICES))),
        tracked_actions=draw(st.sets(st.sampled_from(NAMES))),
        used_actions=draw(st.sets(st.sampled_from(NAMES), max_size=2)),
        young=draw(st.integers(0, 6)) == 0,
    )


@given(st.lists(usages(), min_size=1, max_size=4))
def test_a_groups_use_is_unused_only_where_every_member_is_known_not_to_use_it(members: list[Usage]) -> None:
    group = Usage.union(members)
    for action in NAMES:
        states = {m.state(action) for m in members}
        expected = (
            ActionUse.USED
            if ActionUse.USED in states and not group.young
            else ActionUse.UNKNOWN
            if ActionUse.UNKNOWN in states or ActionUse.USED in states
            else ActionUse.UNUSED
        )
        assert group.state(action) is expected, (action, members)
    assert Usage.union([]).state("s3:createbucket") is ActionUse.UNKNOWN
