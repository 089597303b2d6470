"""What happened in this app, for apps above it to act on (notifications): Django signals, sent by the
services here and received elsewhere, so that `findings` never imports the apps that listen.

Each is sent inside the transaction of the state change it reports; a receiver that writes does so in
that transaction (it commits or rolls back with the change) and must never raise into it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# findings_opened(account=LinkedAccount, findings=list[Finding]): findings a sync created or reopened.
findings_opened = Signal()
# change_event(change=ChangeRequest, event=str, detail=dict): a change request reached a state people want
# to hear about. `event` is one of CHANGE_EVENTS.
change_event = Signal()

AWAITING_APPROVAL = "change_awaiting_approval"
DONE = "change_done"  # applied, or rolled back
FAILED = "change_failed"  # an apply or a rollback failed
ACCESS_DENIED = "access_denied"  # the watch saw new AccessDenied events after an apply
CHANGE_EVENTS = (AWAITING_APPROVAL, DONE, FAILED, ACCESS_DENIED)


def emit(signal: Signal, **kwargs: Any) -> None:
    """Send `signal`; a receiver's error is logged, never raised into the service that sent it."""
    for receiver, result in signal.send_robust(sender=None, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "receiver %s of a findings signal failed: %r", getattr(receiver, "__name__", receiver), result
            )
