"""Dangerous permissions left unused weigh in the score (docs/risk-score.md, "Exposures")."""

from __future__ import annotations

from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from policy.standing import dangerous_mask, unused_dangerous
from policy.usage import ActionUse, Usage
from tests.policy.gaad_builder import Gaad, allow, arn, doc, trust_service

# Both roles hold the same grants; only what they used differs.
GRANTS = doc(allow(["s3:PutBucketPolicy", "s3:GetObject", "dynamodb:DeleteTable", "sqs:SendMessage"]))
IDLE = Usage.of(
    tracked_services=["s3", "dynamodb", "sqs"],
    used_services=["sqs"],
    tracked_actions=["s3:PutBucketPolicy", "s3:GetObject"],
    used_actions=["sqs:SendMessage"],
)
BUSY = Usage.of(
    tracked_services=["s3", "dynamodb", "sqs"],
    used_services=["s3", "dynamodb", "sqs"],
    used_actions=["s3:PutBucketPolicy", "dynamodb:DeleteTable", "sqs:SendMessage"],
)


def _account() -> Gaad:
    g = Gaad()
    g.role("idle", trust=trust_service("lambda.amazonaws.com"), inline={"p": GRANTS})
    g.role("busy", trust=trust_service("lambda.amazonaws.com"), inline={"p": GRANTS})
    return g


def test_two_roles_differing_only_in_unused_dangerous_permissions_score_differently() -> None:
    g = _account()
    idle, busy = arn("role", "idle"), arn("role", "busy")
    analysis = AccountAnalysis(load_gaad(g.data), default_catalog(), usage={idle: IDLE, busy: BUSY})
    reports = {p.arn: p for p in analysis.run().principals}
    assert reports[idle].risk_score > reports[busy].risk_score
    assert [f.kind for f in reports[idle].findings] == [f.kind for f in reports[busy].findings]
    entry = next(e for e in reports[idle].score_explanation if e["kind"] == "unused-dangerous")
    assert str(analysis.facts.unused(idle)) in entry["reason"]
    assert not any(e["kind"] == "unused-dangerous" for e in reports[busy].score_explanation)


def test_without_usage_nothing_is_unused() -> None:
    g = _account()
    reports = {p.arn: p for p in AccountAnalysis(load_gaad(g.data), default_catalog()).run().principals}
    assert reports[arn("role", "idle")].risk_score == reports[arn("role", "busy")].risk_score


def test_count_is_the_dangerous_held_actions_usage_calls_unused() -> None:
    catalog = default_catalog()
    g = _account()
    analysis = AccountAnalysis(load_gaad(g.data), catalog, usage={arn("role", "idle"): IDLE})
    analysis.run()
    perms = analysis.perms[arn("role", "idle")]
    dangerous = dangerous_mask(catalog)
    held = catalog.actions_of(perms.allowed_mask(catalog) & dangerous)
    usage = IDLE.seen_by(catalog.not_recorded)
    expected = sum(1 for a in held if usage.state(a) is ActionUse.UNUSED)
    assert expected > 0
    assert unused_dangerous(perms, catalog, usage, dangerous) == expected
    # s3:GetObject is Read: unused, but not dangerous; sqs:SendMessage was used.
    assert "s3:getobject" not in held and "sqs:sendmessage" in held
    assert unused_dangerous(perms, catalog, Usage(young=True), dangerous) == 0
