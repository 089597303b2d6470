"""A page per finding (what it is, its history: first seen, triage, comments) and the comment forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.roles import ACTION, Role, has_role, role_required
from findings import reads
from findings.comments import CommentError, comment_add
from findings.models import Finding


@dataclass
class Event:
    when: datetime
    who: str
    what: str
    text: str
    comment: bool = False


def _finding(request: HttpRequest, pk: int) -> Finding:
    return reads.finding_for(user=request.user, pk=pk)


def finding_history(finding: Finding) -> list[Event]:
    """First seen, every triage and lifecycle entry of the audit log, and the comments, oldest first."""
    events = [Event(finding.first_seen, "iamreview", "first seen", "found by the sync")]
    for e in reads.audit_history(obj=finding, exclude_actions=("comment.add",)):
        events.append(Event(e.created_at, e.actor_name, e.action.removeprefix("finding."), e.summary))
    for c in finding.comments.all():
        events.append(Event(c.created_at, c.author_name, "comment", c.body, comment=True))
    if finding.resolved_at is not None:
        events.append(Event(finding.resolved_at, "iamreview", "resolved", "no longer seen by a sync"))
    return sorted(events, key=lambda e: e.when)


@role_required(Role.VIEWER)
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk)
    context: dict[str, Any] = {
        "finding": finding,
        "history": finding_history(finding),
        "can_comment": has_role(request.user, Role.REVIEWER),
        "default_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "back_query": urlencode({"q": finding.principal_arn}),
    }
    return render(request, "findings/finding_detail.html", context)


@role_required(Role.REVIEWER, ACTION)
def finding_comment(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk)
    try:
        comment_add(actor=request.user, finding=finding, body=request.POST.get("body", ""))
    except CommentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Comment added.")
    return redirect("finding_detail", pk=finding.pk)


@role_required(Role.REVIEWER, ACTION)
def change_comment(request: HttpRequest, pk: int) -> HttpResponse:
    cr = reads.change_for(user=request.user, pk=pk)
    try:
        comment_add(actor=request.user, change_request=cr, body=request.POST.get("body", ""))
    except CommentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Comment added.")
    return redirect("change_detail", pk=cr.pk)
