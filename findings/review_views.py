"""The weekly review: the open findings new since the user's last review, one card at a time, and its end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from accounts.roles import ACTION, Role, role_required
from core.audit import audit_record
from core.htmx import render_page_or_fragment
from core.params import db_ids
from findings import reads, selectors

REVIEW_SESSION_KEY = "weekly-review"


def _review_state(request: HttpRequest, since: datetime | None) -> dict[str, Any]:
    """What this review has shown and skipped, kept in the session so a skipped card stays skipped after
    an acknowledge or a suppress (their redirect carries no query). A review since another date is new."""
    key = since.isoformat() if since else ""
    state = request.session.get(REVIEW_SESSION_KEY)
    if not isinstance(state, dict) or state.get("since") != key:
        state = {"since": key, "seen": [], "skipped": []}
    return state


@role_required(Role.VIEWER)
def finding_review(request: HttpRequest) -> HttpResponse:
    """Weekly review: the open findings new since the user's last review, one at a time."""
    profile = selectors.profile_of(request.user)
    since = profile.last_review_at if profile else None
    state = _review_state(request, since)
    skipped = [
        *state["skipped"],
        *(i for i in db_ids(request.GET.getlist("skip")) if i not in state["skipped"]),
    ]
    qs = reads.review_findings(user=request.user, since=since)
    remaining = qs.exclude(pk__in=skipped).order_by("severity_rank", "first_seen", "id")
    current = remaining.select_related("account", "principal").first()
    if current is not None and current.pk not in state["seen"]:
        state["seen"].append(current.pk)
    state["skipped"] = skipped
    request.session[REVIEW_SESSION_KEY] = state
    context = {
        "current": current,
        "left": remaining.count(),
        "skipped_count": len(skipped),
        "seen_count": len(state["seen"]),
        "since": since,
        "skip_query": f"skip={current.pk}" if current else "",
        "default_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    return render_page_or_fragment(
        request, "findings/finding_review.html", "findings/htmx/finding_review_card.html", context
    )


@role_required(Role.VIEWER, ACTION)
def finding_review_done(request: HttpRequest) -> HttpResponse:
    """End the review at any point: what was shown, what was skipped and what was never reached are
    recorded; the next review starts from now."""
    profile = selectors.profile_of(request.user)
    if profile is None:  # only anonymous users have none, and they never get here
        raise PermissionDenied
    since = profile.last_review_at
    state = _review_state(request, since)
    seen = set(state["seen"])
    left = sorted(
        pk
        for pk in reads.review_findings(user=request.user, since=since).values_list("pk", flat=True)
        if pk not in seen
    )
    handled = reads.triaged_among(ids=seen)
    before = since.isoformat() if since else None
    profile.last_review_at = timezone.now()
    profile.save(update_fields=["last_review_at"])
    audit_record(
        actor=request.user,
        action="review.done",
        obj=profile,
        summary=(
            f"Weekly review done: {len(seen)} seen ({len(handled)} triaged, "
            f"{len(state['skipped'])} skipped), {len(left)} not reached"
        ),
        before={"last_review_at": before},
        after={
            "last_review_at": profile.last_review_at.isoformat(),
            "seen": sorted(seen),
            "triaged": handled,
            "skipped": sorted(state["skipped"]),
            "left": left[:500],
            "left_count": len(left),
        },
    )
    request.session.pop(REVIEW_SESSION_KEY, None)
    messages.success(
        request,
        f"Review finished: {len(seen)} finding(s) seen, {len(left)} left for later. "
        "The dashboard now shows what is new since now.",
    )
    return redirect("dashboard")
