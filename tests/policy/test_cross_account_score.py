"""Reaching an administrator of another account, scored by the engine from the reach the app gathered."""

from __future__ import annotations

import copy

from policy.cross_account_score import cross_account_admin_score
from policy.score import TIER_ADMIN, TIER_NEEDS
from tests.policy.gaad_builder import ADMIN_ARN, Gaad, allow, arn, doc, trust_account

OTHER_ADMIN = "arn:aws:iam::999988887777:role/admin"


def _report(*statements: dict) -> object:  # type: ignore[type-arg]
    g = Gaad()
    g.role("boss", trust=trust_account(), attached=[ADMIN_ARN])
    me = g.user("me", inline={"p": doc(*statements)})
    return g.analyze()[me]


def _path(conditional: bool) -> dict[str, object]:
    return {"target": OTHER_ADMIN, "chain": [arn("user", "me"), OTHER_ADMIN], "conditional": conditional}


def test_a_sure_path_puts_a_weak_principal_in_the_administrator_band_without_changing_the_report() -> None:
    report = _report(allow("s3:GetObject", arn("role", "nothing")))
    before = copy.deepcopy(report)
    scored = cross_account_admin_score(report, [_path(False)])
    assert TIER_ADMIN.low <= scored.risk_score <= TIER_ADMIN.high
    assert report.risk_score < TIER_NEEDS.low
    assert scored.finding.kind == "cross-account-admin" and scored.finding.severity == "critical"
    assert scored.finding.resources == [OTHER_ADMIN]
    assert scored.score_explanation[0]["reason"].startswith("Reaches an administrator of another account")
    assert report == before  # pure: the app stores the result


def test_paths_all_under_conditions_give_the_conditional_band() -> None:
    report = _report(allow("s3:GetObject", arn("role", "nothing")))
    scored = cross_account_admin_score(report, [_path(True)])
    assert TIER_NEEDS.low <= scored.risk_score <= TIER_NEEDS.high
    assert scored.finding.severity == "high" and "(under conditions)" in scored.finding.detail


def test_a_principal_already_standing_higher_keeps_its_band_and_never_loses_points() -> None:
    report = _report(allow("sts:AssumeRole"))  # one clean step to `boss` in its own account
    assert report.risk_score >= TIER_ADMIN.low
    scored = cross_account_admin_score(report, [_path(True)])
    assert scored.risk_score >= report.risk_score
    assert not scored.score_explanation[0]["reason"].startswith("Reaches an administrator of another")
