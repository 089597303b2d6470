"""The weekly review as reviewers live it: dashboard figures that match their lists, a review that can be
finished at any point, CSVs that say who suppressed what, a page and comments per finding."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount, Profile
from core.models import AuditEvent
from findings import lifecycle
from findings.models import Comment, Finding, FindingStatus, Principal

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


FIGURE = re.compile(r'<a class="figure" href="([^"]+)"><strong>([\d,]+)</strong><span>([^<]+)')


def test_every_dashboard_figure_counts_what_its_link_opens(
    client_as: Any, imported: dict[str, LinkedAccount]
) -> None:
    Principal.objects.filter(name="alice").update(risk_score=85)  # one critical, so the bands differ
    Principal.objects.filter(name="bob").update(risk_score=65)
    viewer = client_as("viewer")
    figures = FIGURE.findall(text(viewer.get("/")))
    labels = {label.strip(): (html.unescape(href), int(n.replace(",", ""))) for href, n, label in figures}
    assert "unused permissions" not in labels  # single actions after expanding wildcards: not actionable
    assert {"high-risk principals", "principals with unused permissions"} <= set(labels)
    assert labels["high-risk principals"][1] == Principal.objects.filter(risk_score__gte=60).count() >= 4
    for label, (href, n) in labels.items():
        assert href.split("?")[0] in ("/principals/", "/findings/", "/keys/", "/changes/"), href
        opened = viewer.get(href).context["page"].paginator.count
        assert opened == n, f"{label}: the figure says {n}, its link {href} opens {opened}"


def _review_card(client: Any, query: str = "") -> int | None:
    current = client.get(f"/findings/review/{query}").context["current"]
    return current.pk if current else None


def test_a_skipped_card_does_not_come_back_after_a_triage(
    client_as: Any, imported: dict[str, LinkedAccount]
) -> None:
    reviewer = client_as("reviewer")
    first = _review_card(reviewer)
    second = _review_card(reviewer, f"?skip={first}")
    assert first and second and second != first
    # Acknowledging redirects to the review without any query: the skipped card stays skipped.
    reviewer.post(
        "/findings/bulk/", {"finding": second, "action": "acknowledge", "review": "1"}, HTTP_HX_REQUEST="true"
    )
    shown = [_review_card(reviewer) for _ in range(2)]
    assert first not in shown and second not in shown


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain-form"])
def test_a_triage_from_the_review_returns_to_the_review(
    client_as: Any, imported: dict[str, LinkedAccount], htmx: bool
) -> None:
    """A key pressed before htmx has bound a freshly swapped card submits it as a plain form: it must land
    on the next card, not on the findings list."""
    reviewer = client_as("reviewer")
    first = _review_card(reviewer)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = reviewer.post(
        "/findings/bulk/", {"finding": first, "action": "acknowledge", "review": "1"}, **headers
    )
    assert response.status_code == 302 and response["Location"] == "/findings/review/"
    assert Finding.objects.get(pk=first).status == FindingStatus.ACKNOWLEDGED
    missing = reviewer.post("/findings/bulk/", {"action": "acknowledge", "review": "1"}, **headers)
    assert missing["Location"] == "/findings/review/"
    plain = reviewer.post(
        "/findings/bulk/", {"finding": first, "action": "acknowledge", "next": "status=all"}
    )
    assert plain["Location"] == "/findings/?status=all"


def test_the_review_can_be_marked_done_at_any_point(
    client_as: Any, users: dict[str, Any], imported: dict[str, LinkedAccount]
) -> None:
    reviewer = client_as("reviewer")
    page = text(reviewer.get("/findings/review/"))
    assert 'id="review-done"' in page  # offered on a card, not only once every card is done
    first = _review_card(reviewer)
    second = _review_card(reviewer, f"?skip={first}")
    reviewer.post("/findings/bulk/", {"finding": second, "action": "acknowledge", "review": "1"})
    open_new = Finding.objects.filter(status=FindingStatus.OPEN).count()
    response = reviewer.post("/findings/review/done/")
    assert response.status_code == 302
    profile = Profile.objects.get(user=users["reviewer"])
    assert profile.last_review_at is not None
    event = AuditEvent.objects.get(action="review.done")
    assert event.actor_name == "reviewer" and event.before == {"last_review_at": None}
    assert event.after["skipped"] == [first] and second in event.after["triaged"]
    assert first in event.after["seen"] and second in event.after["seen"]
    assert event.after["left_count"] == open_new - 1  # every open one but the skipped (seen) card
    assert "not reached" in event.summary
    # A new review starts empty: nothing is new since now, and the old skips are forgotten.
    assert _review_card(reviewer) is None


def test_findings_csv_says_why_who_and_until_when(
    client_as: Any, users: dict[str, Any], imported: dict[str, LinkedAccount]
) -> None:
    finding = Finding.objects.filter(account=imported["prod"]).first()
    until = timezone.now() + timedelta(days=10)
    lifecycle.findings_suppress(
        actor=users["reviewer"], findings=[finding], reason="owner agreed", until=until
    )
    rows = list(
        csv.DictReader(io.StringIO(text(client_as("viewer").get("/findings/export.csv?status=suppressed"))))
    )
    assert len(rows) == 1
    assert rows[0]["suppression_reason"] == "owner agreed"
    assert rows[0]["suppressed_by"] == "reviewer"
    assert rows[0]["suppressed_until"] == until.isoformat()


def test_audit_csv_before_and_after_are_json(client_as: Any, users: dict[str, Any], imported: Any) -> None:
    finding = Finding.objects.first()
    lifecycle.findings_acknowledge(actor=users["reviewer"], findings=[finding])
    rows = list(
        csv.DictReader(io.StringIO(text(client_as("reviewer").get("/audit/export.csv?action=finding."))))
    )
    assert rows
    before, after = json.loads(rows[0]["before"]), json.loads(rows[0]["after"])
    assert before["status"] == "open" and after["status"] == "acknowledged" and after["assignee"] is None


def test_profile_audit_records_the_real_before_value(client_as: Any, users: dict[str, Any]) -> None:
    viewer = client_as("viewer")
    Profile.objects.get_or_create(user=users["viewer"])
    Profile.objects.filter(user=users["viewer"]).update(digest_frequency="weekly")
    response = viewer.post(
        "/settings/",
        {"email": "v@example.com", "digest_frequency": "daily", "digest_min_severity": "high"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="profile.digest")
    assert event.before["frequency"] == "weekly" and event.after["frequency"] == "daily"
    assert event.after["min_severity"] == "high"


def test_finding_page_shows_its_history_and_takes_comments(
    client_as: Any, users: dict[str, Any], imported: dict[str, LinkedAccount]
) -> None:
    finding = Finding.objects.filter(account=imported["prod"]).first()
    lifecycle.findings_acknowledge(actor=users["reviewer"], findings=[finding])
    reviewer, viewer = client_as("reviewer"), client_as("viewer")
    response = reviewer.post(f"/findings/{finding.pk}/comment/", {"body": "Owner is the data team"})
    assert response.status_code == 302
    assert viewer.post(f"/findings/{finding.pk}/comment/", {"body": "not allowed"}).status_code == 403
    assert reviewer.post(f"/findings/{finding.pk}/comment/", {"body": "   "}).status_code == 302
    assert list(Comment.objects.values_list("body", flat=True)) == ["Owner is the data team"]
    event = AuditEvent.objects.get(action="comment.add")
    assert event.object_type == "Finding" and event.object_id == str(finding.pk)
    page = viewer.get(f"/findings/{finding.pk}/")
    history = [e.what for e in page.context["history"]]
    assert history == ["first seen", "acknowledge", "comment"]
    body = text(page)
    assert "Owner is the data team" in body and 'id="comment-body"' not in body  # a viewer reads only
    assert 'id="comment-body"' in text(reviewer.get(f"/findings/{finding.pk}/"))


def test_change_requests_take_comments(client_as: Any, pending_change: Any) -> None:
    reviewer = client_as("reviewer")
    reviewer.post(f"/changes/{pending_change.pk}/comment/", {"body": "Checked with the owner"})
    assert (
        client_as("viewer").post(f"/changes/{pending_change.pk}/comment/", {"body": "x"}).status_code == 403
    )
    body = text(client_as("viewer").get(f"/changes/{pending_change.pk}/"))
    assert "Checked with the owner" in body
    assert AuditEvent.objects.filter(action="comment.add", object_type="ChangeRequest").count() == 1
