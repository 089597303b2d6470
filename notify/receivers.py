"""Receivers of the findings app's signals: each records an Event in the sender's transaction (so it
exists exactly when the change it reports committed) and, for changes, queues its dispatch on commit.
A receiver works in a savepoint and never raises: a notification problem must not undo a sync or an apply.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from findings import signals
from findings.models import ChangeRequest, Finding
from notify.dispatch import event_queue
from notify.messages import change_message
from notify.models import Event, EventKind
from policy.kinds import SEVERITY_RANK

logger = logging.getLogger(__name__)


def on_findings_opened(*, account: Any, findings: list[Finding], **_: Any) -> None:
    ids = [f.pk for f in findings if f.severity_rank <= SEVERITY_RANK["high"] and f.pk is not None]
    if not ids:
        return
    try:
        with transaction.atomic():
            Event.objects.create(kind=EventKind.FINDING_NEW, account=account, data={"findings": ids})
    except Exception:
        logger.exception("could not record the new findings of account %s for notification", account.pk)


def on_change_event(*, change: ChangeRequest, event: str, detail: dict[str, Any], **_: Any) -> None:
    try:
        with transaction.atomic():
            recorded = Event.objects.create(
                kind=EventKind(event),
                account=change.account,
                data={
                    "change": change.pk,
                    "requested_by": change.requested_by_id,
                    "message": change_message(change, event, detail),
                },
            )
            event_queue(recorded.pk)
    except Exception:
        logger.exception("could not record event %s of change %s for notification", event, change.pk)


def connect() -> None:
    signals.findings_opened.connect(on_findings_opened, dispatch_uid="notify-findings-opened")
    signals.change_event.connect(on_change_event, dispatch_uid="notify-change-event")
