"""Which evidence rows may narrow `Resource`: the rows `policy.scope` reads to decide, per action, whether
the resources CloudTrail's LookupEvents recorded are every resource the action was used on.

Access Advisor (and IAM Access Analyzer's generated policies) report an action's use without its resource.
Such a row would stop the action from ever being narrowed, although the same call is usually in the
LookupEvents rows with its resource. A row of those sources is left out of the scoping evidence (it is
"explained" by LookupEvents) only when all of these hold; otherwise it stays, and the action keeps its
resources as written:
- LookupEvents recorded the action for the principal, and its newest record is no older than Access
  Advisor's last use (one hour's leeway for the two clocks); for a generated policy's row (which says
  "used within the generation's window", not when), the sweeps read up to the end of that window;
- Access Advisor's last use was in the region the sweeps read (LookupEvents answers per region);
- the account's LookupEvents sweeps reach back over the principal's whole window (they read 90 days at
  most: a window longer than that is never covered, so nothing is narrowed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from findings.evidence_models import EvidenceJob, EvidenceJobKind, EvidenceJobStatus
from findings.facts import group_members
from findings.models import LastAccessed, Principal
from findings.review_window import review_window
from policy.evidence import Evidence, EvidenceSource

CLOCKS = timedelta(hours=1)
# A sweep started a moment before the window's start still covers it.
SLACK = timedelta(days=1)


def swept_region(principal: Principal) -> str:
    """The region the account's LookupEvents sweeps read (its session's, `accounts.services.aws_target`)."""
    return str((principal.account.regions or [settings.AWS_DEFAULT_REGION])[0])


def lookup_coverage(principal: Principal) -> tuple[datetime, datetime] | None:
    """From when to when the account's successful LookupEvents sweeps have read CloudTrail; None: never."""
    found = EvidenceJob.objects.filter(
        account=principal.account, kind=EvidenceJobKind.LOOKUP, status=EvidenceJobStatus.SUCCEEDED
    ).aggregate(start=Min("window_start"), end=Max("window_end"))
    start, end = found["start"], found["end"]
    return (start, end) if isinstance(start, datetime) and isinstance(end, datetime) else None


def scoping_evidence(
    principal: Principal, rows: Sequence[Evidence], *, now: datetime | None = None
) -> list[Evidence]:
    """`rows` without the resource-less rows that LookupEvents explains (see the module's docstring)."""
    seen: dict[str, datetime] = {}
    for r in rows:
        if r.source == EvidenceSource.CLOUDTRAIL_LOOKUP and r.resource:
            seen[r.action] = max(seen.get(r.action, r.last_seen), r.last_seen)
    if not seen:
        return list(rows)
    coverage = lookup_coverage(principal)
    window_start = (now or timezone.now()) - timedelta(days=review_window(principal).unused_days)
    if coverage is None or coverage[0] > window_start + SLACK:
        return list(rows)  # the sweeps do not reach back over the window: nothing is explained
    until = coverage[1]
    whose = group_members(principal) if principal.kind == "group" else [principal]
    regions = {
        f"{service}:{action.lower()}": region
        for service, action, region in LastAccessed.objects.filter(principal__in=whose)
        .exclude(action="")
        .values_list("service", "action", "region")
    }
    region = swept_region(principal)
    out = []
    for r in rows:
        newest = seen.get(r.action)
        when = until if r.source == EvidenceSource.CLOUDTRAIL_GENERATION else newest
        explained = (
            newest is not None
            and when is not None
            and not r.resource
            and not r.service_level
            and r.source != EvidenceSource.CLOUDTRAIL_LOOKUP
            and r.last_seen <= when + CLOCKS
            and regions.get(r.action, "") in ("", region)
        )
        if not explained:
            out.append(r)
    return out
