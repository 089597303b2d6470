"""A script drives a change end to end through the API against the local AWS: open it from a suggestion,
have someone else approve it, apply it (run here as the worker runs it), see AWS changed, roll it back,
see AWS restored; the audit log and /metrics tell the same story."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from findings import change_apply
from tests.changes.conftest import world  # noqa: F401  (the seeded local AWS, linked and synced)
from tests.changes.flow import live_inline, suggest


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_a_script_takes_a_change_from_suggestion_to_rollback(
    world: Any,  # noqa: F811
    api_as: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.IAMREVIEW_METRICS_TOKEN = "m" * 32
    before = live_inline(world, "app", "app")
    suggestion = suggest("app")
    reviewer, approver = api_as("reviewer"), api_as("approver")

    listed = reviewer.get(f"/api/v1/suggestions/?principal={suggestion.principal_id}").json()
    assert [s["id"] for s in listed["results"]] == [suggestion.pk]
    opened = post(reviewer, "/api/v1/changes/", {"suggestion": suggestion.pk, "reason": "quarterly review"})
    assert opened.status_code == 201, opened.content
    cr = opened.json()
    url = f"/api/v1/changes/{cr['id']}/"
    decided = post(
        approver, url + "decide/", {"approve": True, "version": cr["version"], "digest": cr["digest"]}
    )
    assert decided.json()["status"] == "approved" and decided.json()["approvals_count"] == 1

    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert post(approver, url + "apply/").status_code == 202
    assert len(queued) == 1
    change_apply.change_request_apply(change_id=cr["id"])  # what the queued task runs in the worker
    applied = reviewer.get(url).json()
    assert applied["status"] == "applied", applied["error"]
    assert applied["applied_by"] == "approver" and applied["steps"]
    assert live_inline(world, "app", "app") == applied["items"][0]["proposed"][0] != before

    with django_capture_on_commit_callbacks(execute=False):
        assert post(approver, url + "rollback/", {"reason": "AccessDenied seen"}).status_code == 202
    change_apply.change_request_rollback(change_id=cr["id"])
    assert reviewer.get(url).json()["status"] == "rolled_back"
    assert live_inline(world, "app", "app") == before

    audit = reviewer.get(f"/api/v1/audit/?object={cr['id']}&action=change.&page_size=100").json()
    actions = [e["action"] for e in reversed(audit["results"])]
    assert actions[:4] == ["change.request", "change.approve", "change.apply_start", "change.apply"]
    assert actions[4] == "change.rollback_start" and actions[-1] == "change.rollback"

    metrics = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {'m' * 32}").content.decode()
    assert 'iamreview_change_applies_total{outcome="succeeded"} 1.0' in metrics
    assert 'iamreview_change_rollbacks_total{outcome="succeeded"} 1.0' in metrics
    assert 'iamreview_change_requests{status="rolled_back"} 1.0' in metrics
