"""Risk score 0-100 per principal, with how much each finding contributed (docs/risk-score.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policy.kinds import SEVERITIES

# Points a finding of this kind and severity brings on its own; see docs/risk-score.md.
SEVERITY_POINTS = {s.id: s.points for s in SEVERITIES}
KIND_POINTS = {"admin": 70.0}


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


def principal_risk_score(findings: Iterable[tuple[str, str, str]]) -> Score:
    """`findings` as (kind, severity, reason). Each finding takes its share of what is left below 100, the
    heaviest first, so one critical path weighs more than many small grants and the score never passes 100.
    Several findings of one kind count once more at half weight (breadth), then not at all."""
    ranked = sorted(((finding_points(k, s), k, s, r) for k, s, r in findings), key=lambda t: -t[0])
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
    return Score(min(100, round(total)), tuple(contributions))
