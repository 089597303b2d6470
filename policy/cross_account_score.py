"""Reaching an administrator of another account: the finding it raises and the score it gives (the
administrator band, or the conditional one when every such path depends on the request), computed from the
reach the app gathered across linked accounts. Pure: the app only collects the paths and stores the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.report import Finding, PrincipalReport
from policy.score import TIER_ADMIN, TIER_NEEDS, principal_risk_score
from policy.standing import EXPOSURE_OVERRIDES, tier_of

MAX_CHAINS_SHOWN = 5


@dataclass(frozen=True)
class CrossAccountScore:
    finding: Finding
    risk_score: int  # the principal's score once the finding counts (never lower than before)
    score_explanation: list[dict[str, object]]  # the explanation that goes with `risk_score`


def cross_account_admin_score(
    report: PrincipalReport, paths: Sequence[Mapping[str, Any]]
) -> CrossAccountScore:
    """`paths`: the administrator roles of other accounts the principal can assume, each with its `target`,
    `chain` (ARNs from the principal to the role) and whether it is `conditional`. Becoming an
    administrator of another account is reaching an administrator: its band, unless the principal already
    stands higher in its own account. The report is not changed."""
    conditional = all(bool(p["conditional"]) for p in paths)
    chains = "; ".join(" → ".join(p["chain"]) for p in paths[:MAX_CHAINS_SHOWN])
    finding = Finding.of(
        "cross-account-admin",
        ["sts:AssumeRole"],
        [str(p["target"]) for p in paths],
        f"Can assume an administrator role in another account: {chains}"
        + (" (under conditions)" if conditional else ""),
        severity="high" if conditional else "",
    )
    tier, standing = tier_of(report)
    reach = TIER_NEEDS if conditional else TIER_ADMIN
    if reach.rank > tier.rank:
        tier, standing = reach, f"Reaches an administrator of another account: {chains}."
    scored = [(f.kind, f.severity, f.detail) for f in [*report.findings, finding]]
    score = principal_risk_score(scored, tier=tier, standing=standing, overrides=EXPOSURE_OVERRIDES)
    if score.value >= report.risk_score:
        return CrossAccountScore(finding, score.value, score.explanation())
    return CrossAccountScore(finding, report.risk_score, report.score_explanation)
