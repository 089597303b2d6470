"""Risk score 0-100 per principal, with how much each finding contributed (docs/risk-score.md).

The score ranks like an attacker: where a principal stands towards administrator sets its band (already
one, or one step away with nothing else needed; several steps; only if a resource exists or a request
meets conditions; not at all), and its findings place it within the band.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from policy.kinds import SEVERITIES

# Points a finding of this kind and severity brings on its own; see docs/risk-score.md.
SEVERITY_POINTS = {s.id: s.points for s in SEVERITIES}
KIND_POINTS = {"admin": 70.0}


@dataclass(frozen=True, slots=True)
class Tier:
    rank: int
    low: int  # the band's lowest score ...
    high: int  # ... and its highest
    label: str


# Bands by standing towards administrator: every band sits above the next, so a principal that reaches
# administrator always outranks one that cannot, whatever else either holds.
TIER_ADMIN = Tier(4, 85, 100, "administrator, or one step from it with nothing else needed")
TIER_MULTI_HOP = Tier(3, 75, 84, "reaches administrator in several steps")
TIER_NEEDS = Tier(2, 65, 74, "reaches administrator if a resource exists or the request meets conditions")
TIER_NONE = Tier(0, 0, 64, "does not reach administrator")
STANDING = "reaches-admin"  # the explanation's entry for the band (not a finding kind)

# Weights of what makes a principal easier to use, beyond what its policies grant (points on their own).
EXPOSURE_POINTS = {
    "access-keys": 10.0,  # long-lived keys: stolen once, usable until rotated
    "console-without-mfa": 10.0,  # a password alone opens the console
    "unused-dangerous": 8.0,  # dangerous permissions nobody uses: pure attack surface
}


@dataclass(frozen=True, slots=True)
class Contribution:
    kind: str
    severity: str
    points: float  # what it added to the score, after the findings ranked above it
    reason: str


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    contributions: tuple[Contribution, ...]

    def explanation(self) -> list[dict[str, object]]:
        return [
            {"kind": c.kind, "severity": c.severity, "points": round(c.points, 1), "reason": c.reason}
            for c in self.contributions
        ]


def finding_points(kind: str, severity: str) -> float:
    return KIND_POINTS.get(kind, SEVERITY_POINTS.get(severity, 0.0))


def _combine(
    findings: Iterable[tuple[str, str, str]], overrides: Mapping[str, float]
) -> tuple[float, list[Contribution]]:
    """Each finding takes its share of what is left below 100, the heaviest first; a second finding of a
    kind counts at half weight, later ones not at all."""
    ranked = sorted(
        ((overrides.get(k, finding_points(k, s)), k, s, r) for k, s, r in findings), key=lambda t: -t[0]
    )
    seen: dict[str, int] = {}
    total = 0.0
    contributions = []
    for points, kind, severity, reason in ranked:
        count = seen.get(kind, 0)
        seen[kind] = count + 1
        weight = points if count == 0 else points / 2 if count == 1 else 0.0
        added = weight * (100.0 - total) / 100.0
        total += added
        if added > 0:
            contributions.append(Contribution(kind, severity, added, reason))
    return total, contributions


def principal_risk_score(
    findings: Iterable[tuple[str, str, str]],
    *,
    tier: Tier | None = None,
    standing: str = "",
    overrides: Mapping[str, float] | None = None,
) -> Score:
    """`findings` as (kind, severity, reason), exposures included. Without a tier, the findings' combined
    points (as before tiers existed); with one, the band of the tier holds the score and the findings place
    it within the band. `overrides` sets the points of a kind (an escalation to a weak target)."""
    total, contributions = _combine(findings, overrides or {})
    if tier is None:
        return Score(min(100, round(total)), tuple(contributions))
    width = tier.high - tier.low
    if tier.rank == TIER_NONE.rank:
        scale = 1.0 if total <= tier.high else tier.high / total
        scaled = [Contribution(c.kind, c.severity, c.points * scale, c.reason) for c in contributions]
        return Score(min(tier.high, round(total)), tuple(scaled))
    head = Contribution(
        STANDING, "critical" if tier.rank >= 3 else "high", float(tier.low), standing or tier.label
    )
    scaled = [Contribution(c.kind, c.severity, c.points * width / 100.0, c.reason) for c in contributions]
    value = min(tier.high, round(tier.low + total * width / 100.0))
    return Score(value, (head, *scaled))
