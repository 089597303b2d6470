"""The window and margin a principal's suggestions are built with: its own (`PrincipalWindow`, set by a
reviewer on the principal page, audited) or its account's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import LinkedAccount
from core import jobs
from core.audit import audit_record
from findings.models import Principal
from findings.window_models import PrincipalWindow

# The most a window can be: Access Advisor's history.
MAX_DAYS = 400


@dataclass(frozen=True)
class ReviewWindow:
    unused_days: int
    periodic_days: int
    own_unused: bool = False  # set for this principal, not the account's
    own_periodic: bool = False
    reason: str = ""

    @property
    def overridden(self) -> bool:
        return self.own_unused or self.own_periodic


def review_window(principal: Principal) -> ReviewWindow:
    return _window(principal.account, PrincipalWindow.objects.filter(principal=principal).first())


def review_windows(principals: Sequence[Principal]) -> dict[int, ReviewWindow]:
    """`review_window` of each principal by id, in two queries whatever their number (their own windows,
    their accounts): a group's members, a permission set's roles."""
    own = {
        w.principal_id: w for w in PrincipalWindow.objects.filter(principal__in=[p.pk for p in principals])
    }
    accounts = LinkedAccount.objects.in_bulk({p.account_id for p in principals})
    return {p.pk: _window(accounts[p.account_id], own.get(p.pk)) for p in principals}


def _window(account: LinkedAccount, own: PrincipalWindow | None) -> ReviewWindow:
    if own is None:
        return ReviewWindow(account.unused_days, account.periodic_days)
    return ReviewWindow(
        own.unused_days or account.unused_days,
        own.periodic_days or account.periodic_days,
        own.unused_days is not None,
        own.periodic_days is not None,
        own.reason,
    )


def _days(value: Any, label: str) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None  # follow the account
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise ValueError(f"{label} must be a whole number of days from 1 to {MAX_DAYS}, or empty.")
    return int(text)


def principal_window_set(
    *, principal: Principal, actor: Any, unused_days: Any, periodic_days: Any, reason: str = ""
) -> ReviewWindow:
    """Set (or, with both empty, clear) the principal's own window and margin; the account's suggestions
    are rebuilt with it. Raises ValueError with a sentence for a bad value."""
    window = _days(unused_days, "The window")
    margin = _days(periodic_days, "The margin")
    reason = (reason or "").strip()[:500]
    effective_window = window or principal.account.unused_days
    effective_margin = margin or principal.account.periodic_days
    if effective_margin < effective_window:
        raise ValueError(
            f"The margin ({effective_margin} days) must be at least the window ({effective_window} days): "
            "it is how far back a use older than the window still counts as periodic."
        )
    before = review_window(principal)
    if window is None and margin is None and not before.overridden:
        return before  # nothing set, nothing to clear: no change to record
    with transaction.atomic():
        if window is None and margin is None:
            PrincipalWindow.objects.filter(principal=principal).delete()
        else:
            PrincipalWindow.objects.update_or_create(
                principal=principal,
                defaults={
                    "unused_days": window,
                    "periodic_days": margin,
                    "reason": reason,
                    "updated_by": actor,
                },
            )
        after = review_window(principal)
        audit_record(
            actor=actor,
            action="principal.window_set",
            obj=principal,
            account_id=principal.account.account_id,
            before={"unused_days": before.unused_days, "periodic_days": before.periodic_days},
            after={"unused_days": after.unused_days, "periodic_days": after.periodic_days},
            summary=(
                f"Window of {principal.arn}: {before.unused_days} -> {after.unused_days} days, margin "
                f"{before.periodic_days} -> {after.periodic_days} days"
                + ("" if after.overridden else " (the account's)")
                + (f"; reason: {reason}" if reason else "")
            ),
        )
        jobs.enqueue("findings.tasks.suggestions_build_for_account", principal.account_id)
    return after
