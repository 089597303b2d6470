"""The evidence record of a suggestion: for every action it removes, and every use it keeps, where the
evidence comes from, the window it covers, the last use, and how far it can be trusted.

Confidence says how strong the evidence of NON-use is for a removed action: "high" when a source tracks
that very action (Access Advisor at action level, or CloudTrail policy generation for a service it covers
per action), "medium" when only the service is known to be unused (Access Advisor at service level), "low"
otherwise. A removed action last used between the window and the margin (`periodic_days`, 400 by
default, Access Advisor's history; the principal's own or its account's) is flagged "used N days ago — periodic?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from findings.facts import principal_evidence
from findings.models import Suggestion
from findings.review_window import review_window
from policy.evidence import Evidence, EvidenceSource

SOURCE_NAMES = {
    EvidenceSource.ACCESS_ADVISOR_SERVICE: "Access Advisor (service level)",
    EvidenceSource.ACCESS_ADVISOR_ACTION: "Access Advisor (action level)",
    EvidenceSource.CLOUDTRAIL_GENERATION: "CloudTrail (Access Analyzer policy generation)",
    EvidenceSource.CLOUDTRAIL_LOOKUP: "CloudTrail (LookupEvents)",
}


@dataclass
class Record:
    action: str
    decision: str  # "removed" | "kept"
    sources: list[str]
    last_used: datetime | None
    confidence: str  # high | medium | low (removed); "used" (kept)
    resources: list[str] = field(default_factory=list)
    periodic_days: int | None = None  # last used this many days ago, outside the window: periodic?
    count: int = 0


@dataclass
class EvidenceRecord:
    window_days: int
    periodic_days: int
    removed: list[Record]
    kept: list[Record]
    sources_present: list[str]


def _newest(rows: list[Evidence]) -> datetime | None:
    return max((r.last_seen for r in rows), default=None)


def _periodic(last: datetime | None, now: datetime, window: int, periodic: int) -> int | None:
    """Days since the last use when it lies between the window and the periodic horizon, else None."""
    days = (now - last).days if last else None
    return days if days is not None and window < days <= periodic else None


def evidence_record(suggestion: Suggestion, *, now: datetime | None = None) -> EvidenceRecord:
    now = now or timezone.now()
    principal = suggestion.principal
    window = review_window(principal)
    rows = principal_evidence(principal)
    by_action: dict[str, list[Evidence]] = {}
    by_service: dict[str, list[Evidence]] = {}
    for row in rows:
        (by_service if row.service_level else by_action).setdefault(row.action, []).append(row)
        if not row.service_level:
            by_service.setdefault(f"{row.service}:*", [])
    generation_services = {r.service for r in rows if r.source == EvidenceSource.CLOUDTRAIL_GENERATION}
    tracked_actions = {
        r.action for r in rows if r.source == EvidenceSource.ACCESS_ADVISOR_ACTION
    }  # used; unused tracked ones are not rows
    removed: list[Record] = []
    for item in suggestion.items:
        for action in item.get("removed_actions", []):
            name = action.lower()
            service = name.split(":", 1)[0]
            seen = by_action.get(name, []) + by_service.get(f"{service}:*", [])
            last = _newest(by_action.get(name, []))
            if name in tracked_actions or (service in generation_services and by_action.get(name) is None):
                confidence = "high"
            elif not by_service.get(f"{service}:*"):
                confidence = "medium"
            else:
                confidence = "low"
            removed.append(
                Record(
                    action=action,
                    decision="removed",
                    sources=sorted({SOURCE_NAMES[r.source] for r in seen})
                    or ["no use recorded by any source"],
                    last_used=last,
                    confidence=confidence,
                    periodic_days=_periodic(last, now, window.unused_days, window.periodic_days),
                )
            )
    kept = [
        Record(
            action=action,
            decision="kept",
            sources=sorted({SOURCE_NAMES[r.source] for r in found}),
            last_used=_newest(found),
            confidence="used",
            resources=sorted({r.resource for r in found if r.resource}),
            count=sum(r.count for r in found),
            periodic_days=_periodic(_newest(found), now, window.unused_days, window.periodic_days),
        )
        for action, found in sorted({**by_service, **by_action}.items())
        if found
    ]
    return EvidenceRecord(
        window_days=window.unused_days,
        periodic_days=window.periodic_days,
        removed=removed,
        kept=kept,
        sources_present=sorted({SOURCE_NAMES[r.source] for r in rows}),
    )
