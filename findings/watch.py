"""The AccessDenied watch after an apply: a worker reads CloudTrail and stores what it saw, or why it could
not look; the principal and change pages show the stored answer and never call AWS themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.aws import apply as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.services import aws_target
from findings.facts import group_members
from findings.models import ChangeRequest, ChangeStatus
from findings.signals import ACCESS_DENIED, change_event, emit


def watch_change(*, change: ChangeRequest, session_factory: Any = None, now: datetime | None = None) -> None:
    """Look once for AccessDenied of the change's principal since the apply, with the read-only role."""
    now = now or timezone.now()
    # A group never calls AWS itself: its members' refused calls are the ones its change caused.
    arns = [change.principal_arn]
    if change.principal_kind == "group" and change.principal is not None:
        arns = [m.arn for m in group_members(change.principal)]
    try:
        session = (session_factory or AwsSession)(aws_target(change.account))
        cloudtrail = session.client("cloudtrail")
        events = [e for arn in arns for e in aws.access_denied_events(cloudtrail, arn, change.applied_at)]
    except AwsAccessError as exc:
        ChangeRequest.objects.filter(pk=change.pk).update(
            watch_checked_at=now, watch_error=f"Could not read CloudTrail: {exc}"
        )
        return
    ChangeRequest.objects.filter(pk=change.pk).update(
        watch_checked_at=now, watch_error="", watch_events=events
    )
    seen = {_event_key(e) for e in change.watch_events}
    new = [e for e in events if _event_key(e) not in seen]
    if new:
        change.watch_events = events
        emit(change_event, change=change, event=ACCESS_DENIED, detail={"new": new[:50], "total": len(events)})


def _event_key(event: dict[str, Any]) -> tuple[str, str, str]:
    return (str(event.get("time")), str(event.get("action")), str(event.get("error")))


def access_denied_watch(*, session_factory: Any = None, now: datetime | None = None) -> int:
    """Every applied change still inside its watch period (IAMREVIEW_WATCH_DAYS) is looked at once."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.IAMREVIEW_WATCH_DAYS)
    changes = ChangeRequest.objects.filter(status=ChangeStatus.APPLIED, applied_at__gte=since)
    count = 0
    for change in changes.select_related("account"):
        watch_change(change=change, session_factory=session_factory, now=now)
        count += 1
    return count
