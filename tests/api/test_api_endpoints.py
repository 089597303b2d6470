"""The API through Django's test client with bearer tokens: lists filter and paginate like the pages,
details carry what the pages show, and every action goes through the pages' services with their rules."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from accounts.models import LinkedAccount, Profile, SyncRun
from core.models import AuditEvent
from findings.change_items import items_digest
from findings.models import ChangeRequest, ChangeStatus, Finding, FindingStatus, Principal, Suggestion

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_principals_filter_sort_and_paginate_like_the_page(api_as: Any, imported: Any, settings: Any) -> None:
    api = api_as("viewer")
    everyone = api.get("/api/v1/principals/?page_size=500").json()
    total = Principal.objects.count()
    assert everyone["count"] == total and len(everyone["results"]) == total
    scores = [p["risk_score"] for p in everyone["results"]]
    assert scores == sorted(scores, reverse=True), "riskiest first, as on the page"

    first = api.get("/api/v1/principals/?page_size=4&sort=name").json()
    assert first["count"] == total and len(first["results"]) == 4 and first["previous"] is None
    assert "page=2" in first["next"] and "sort=name" in first["next"]
    second = api.get(first["next"]).json()
    names = [p["name"] for p in first["results"] + second["results"]]
    assert names == sorted(names) and len(set(p["id"] for p in first["results"] + second["results"])) == 8
    assert api.get("/api/v1/principals/?page=999").status_code == 404

    settings.IAMREVIEW_API_MAX_PAGE_SIZE = 3
    assert len(api.get("/api/v1/principals/?page_size=100").json()["results"]) == 3

    roles = api.get(f"/api/v1/principals/?type=role&account={imported['prod'].pk}").json()
    assert roles["filters"] == {"type": "role", "account": str(imported["prod"].pk)}
    assert roles["count"] == Principal.objects.filter(kind="role", account=imported["prod"]).count() > 0
    assert {p["kind"] for p in roles["results"]} == {"role"}
    assert {p["aws_account_id"] for p in roles["results"]} == {"210987654321"}

    ignored = api.get("/api/v1/principals/?tag==oops").json()
    assert ignored["problems"] and "tag" in ignored["problems"][0] and "tag" not in ignored["filters"]


def test_principal_detail_has_score_reasons_and_paths(api_as: Any, imported: Any) -> None:
    admin_role = Principal.objects.get(account=imported["prod"], name="admin")
    body = api_as("viewer").get(f"/api/v1/principals/{admin_role.pk}/").json()
    assert body["risk_score"] == admin_role.risk_score and body["is_admin"] is True
    assert body["reasons"] == admin_role.score_explanation and body["reasons"]
    assert body["paths"] == admin_role.escalation_paths
    assert body["risk_band"] in ("critical", "high", "medium", "low", "none")
    assert api_as("viewer").get("/api/v1/principals/999999/").status_code == 404


def test_findings_filter_and_triage_with_audit(api_as: Any, imported: Any, users: Any) -> None:
    api = api_as("reviewer")
    live = api.get("/api/v1/findings/?page_size=500").json()
    assert live["filters"]["status"] == "live" and live["count"] > 0
    severity = live["results"][0]["severity"]
    only = api.get(f"/api/v1/findings/?severity={severity}").json()
    assert (
        only["count"]
        == Finding.objects.filter(
            severity=severity, status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]
        ).count()
    )
    assert api.get("/api/v1/findings/?since=yesterday-ish").json()["problems"]

    target = live["results"][0]["id"]
    response = post(api, "/api/v1/findings/triage/", {"action": "acknowledge", "findings": [target]})
    assert response.status_code == 200 and response.json() == {"action": "acknowledge", "changed": 1}
    assert Finding.objects.get(pk=target).status == FindingStatus.ACKNOWLEDGED
    event = AuditEvent.objects.get(action="finding.acknowledge")
    assert event.actor_name == "reviewer" and event.object_id == str(target)
    assert api.get(f"/api/v1/findings/{target}/").json()["status"] == "acknowledged"

    until = (timezone.localdate() + timedelta(days=10)).isoformat()
    refused = post(
        api, "/api/v1/findings/triage/", {"action": "suppress", "findings": [target], "until": until}
    )
    assert refused.status_code == 409 and "reason" in refused.json()["detail"]
    done = post(
        api,
        "/api/v1/findings/triage/",
        {"action": "suppress", "findings": [target], "until": until, "reason": "accepted risk"},
    )
    assert done.json()["changed"] == 1 and Finding.objects.get(pk=target).status == FindingStatus.SUPPRESSED
    assign = post(
        api, "/api/v1/findings/triage/", {"action": "assign", "findings": [target], "assignee": "approver"}
    )
    assert assign.json()["changed"] == 1 and Finding.objects.get(pk=target).assignee == users["approver"]
    assert (
        post(api, "/api/v1/findings/triage/", {"action": "delete", "findings": [target]}).status_code == 400
    )
    assert (
        post(
            api_as("viewer"), "/api/v1/findings/triage/", {"action": "reopen", "findings": [target]}
        ).status_code
        == 403
    )


def test_triage_never_touches_a_finding_of_an_account_you_cannot_see(
    api_as: Any, imported: Any, users: Any
) -> None:
    Profile.objects.get_or_create(user=users["reviewer"])[0].accounts.set([imported["sandbox"]])
    hidden = Finding.objects.filter(account=imported["prod"], status=FindingStatus.OPEN).first()
    assert hidden is not None
    response = post(
        api_as("reviewer"), "/api/v1/findings/triage/", {"action": "acknowledge", "findings": [hidden.pk]}
    )
    assert response.json()["changed"] == 0
    assert Finding.objects.get(pk=hidden.pk).status == FindingStatus.OPEN


def test_change_request_from_suggestion_to_apply_with_the_pages_rules(
    api_as: Any, suggestion: Suggestion, django_capture_on_commit_callbacks: Any
) -> None:
    assert (
        post(api_as("viewer"), "/api/v1/changes/", {"suggestion": suggestion.pk, "reason": "x"}).status_code
        == 403
    )
    no_reason = post(api_as("approver"), "/api/v1/changes/", {"suggestion": suggestion.pk, "reason": " "})
    assert no_reason.status_code == 409 and "why" in no_reason.json()["detail"]

    # An approver may open a request, but never approve it: someone else must.
    mine = api_as("approver")
    created = post(mine, "/api/v1/changes/", {"suggestion": suggestion.pk, "reason": "least privilege"})
    assert created.status_code == 201, created.content
    cr = created.json()
    assert cr["status"] == "pending" and cr["requested_by"] == "approver" and cr["version"] == 1
    assert cr["digest"] == items_digest(suggestion.items)
    bound = {"version": cr["version"], "digest": cr["digest"]}
    own = post(mine, f"/api/v1/changes/{cr['id']}/decide/", {"approve": True, **bound})
    assert own.status_code == 409 and "own request" in own.json()["detail"]
    assert AuditEvent.objects.filter(action="change.decide_refused", actor_name="approver").exists()

    other = api_as("admin")
    stale = post(
        other, f"/api/v1/changes/{cr['id']}/decide/", {"approve": True, "version": 1, "digest": "0" * 64}
    )
    assert stale.status_code == 409 and "changed since" in stale.json()["detail"]
    assert post(other, f"/api/v1/changes/{cr['id']}/apply/").status_code == 409, "not approved yet"
    assert ChangeRequest.objects.get(pk=cr["id"]).status == ChangeStatus.PENDING

    approved = post(other, f"/api/v1/changes/{cr['id']}/decide/", {"approve": True, "comment": "ok", **bound})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["approvals"][0]["approver"] == "admin"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        applying = post(other, f"/api/v1/changes/{cr['id']}/apply/")
    assert applying.status_code == 202 and applying.json()["status"] == "applying"
    assert len(queued) == 1, "the apply is queued for a worker"
    assert post(other, f"/api/v1/changes/{cr['id']}/apply/").status_code == 409, "applied once only"
    actions = list(
        AuditEvent.objects.filter(object_type="ChangeRequest", object_id=str(cr["id"]))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "change.request",
        "change.decide_refused",
        "change.decide_refused",
        "change.approve",
        "change.apply_start",
    ]

    listing = api_as("viewer").get("/api/v1/changes/?status=applying").json()
    assert [c["id"] for c in listing["results"]] == [cr["id"]]
    assert api_as("viewer").get("/api/v1/changes/?status=pending").json()["count"] == 0


def test_rollback_needs_a_reason_and_an_applied_change(
    api_as: Any, pending_change: ChangeRequest, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_as("approver")
    url = f"/api/v1/changes/{pending_change.pk}/rollback/"
    assert post(api, url, {"reason": "broke prod"}).status_code == 409
    ChangeRequest.objects.filter(pk=pending_change.pk).update(
        status=ChangeStatus.APPLIED, steps=[{"op": "put", "name": "deploy"}]
    )
    assert post(api, url, {"reason": ""}).status_code == 409
    assert post(api_as("reviewer"), url, {"reason": "broke prod"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(api, url, {"reason": "broke prod"})
    assert response.status_code == 202 and response.json()["status"] == "rolling_back" and len(queued) == 1
    assert AuditEvent.objects.get(action="change.rollback_start").actor_name == "approver"


def test_reject_needs_a_comment(api_as: Any, pending_change: ChangeRequest) -> None:
    bound = {"version": pending_change.version, "digest": items_digest(pending_change.items)}
    api = api_as("approver")
    url = f"/api/v1/changes/{pending_change.pk}/decide/"
    assert post(api, url, {"approve": False, **bound}).status_code == 409
    assert post(api, url, {"approve": "maybe", **bound}).status_code == 400
    rejected = post(api, url, {"approve": False, "comment": "too broad", **bound})
    assert rejected.json()["status"] == "rejected"


def test_start_a_sync_once(api_as: Any, imported: Any, django_capture_on_commit_callbacks: Any) -> None:
    account = imported["prod"]
    api = api_as("reviewer")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = post(api, f"/api/v1/accounts/{account.pk}/sync/")
    assert first.status_code == 202 and first.json()["status"] == "queued" and len(queued) == 1
    again = post(api, f"/api/v1/accounts/{account.pk}/sync/")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert SyncRun.objects.filter(account=account, status="queued").count() == 1
    assert AuditEvent.objects.get(action="sync.request").actor_name == "reviewer"
    runs = api_as("viewer").get(f"/api/v1/sync-runs/?account={account.pk}&status=queued").json()
    assert [r["id"] for r in runs["results"]] == [first.json()["id"]]
    assert api_as("viewer").get(f"/api/v1/sync-runs/{first.json()['id']}/").json()["trigger"] == "manual"
    accounts = api_as("viewer").get("/api/v1/accounts/").json()
    assert {a["account_id"] for a in accounts["results"]} == set(
        LinkedAccount.objects.values_list("account_id", flat=True)
    )


def test_suggestions_and_audit_log(api_as: Any, suggestion: Suggestion, users: Any) -> None:
    api = api_as("reviewer")
    body = api.get(f"/api/v1/suggestions/?principal={suggestion.principal_id}").json()
    assert [s["id"] for s in body["results"]] == [suggestion.pk]
    assert body["results"][0]["items"][0]["removed_actions"] == ["s3:DeleteObject"]
    Suggestion.objects.filter(pk=suggestion.pk).update(stale=True)
    assert api.get("/api/v1/suggestions/").json()["count"] == 0
    assert api.get("/api/v1/suggestions/?stale=1").json()["count"] == 1
    refused = post(api, "/api/v1/changes/", {"suggestion": suggestion.pk, "reason": "x"})
    assert refused.status_code == 409 and "stale" in refused.json()["detail"]
    audit = api.get("/api/v1/audit/?action=api_token").json()
    assert audit["count"] >= 1 and all(e["action"].startswith("api_token") for e in audit["results"])
    assert audit["filters"] == {"action": "api_token"}


def test_schema_is_valid_openapi_and_lists_every_route(api_as: Any, client_as: Any, client: Client) -> None:
    from drf_spectacular.validation import validate_schema

    from tests.test_access_control import API_ROUTES

    response = api_as("viewer").get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from the API tokens page.",
    }
    paths = set(schema["paths"])
    for route, pattern in API_ROUTES:
        if pattern.name != "api_schema":
            assert "/" + route.replace("<int:pk>", "{id}") in paths, route
    assert "post" in schema["paths"]["/api/v1/changes/{id}/decide/"]
    assert "delete" not in schema["paths"]["/api/v1/changes/{id}/"]
    # The reference page reads the schema with its session; anonymous callers get nothing.
    assert client_as("viewer").get("/api/v1/schema/?format=json").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 401
    assert client_as("nobody").get("/api/v1/schema/").status_code == 403


def test_reference_page_uses_our_own_static_files(client_as: Any) -> None:
    page = client_as("viewer").get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/static/js/api-docs.js" in page and "<script>" not in page
    assert "https://" not in page and "http://" not in page, "no CDN"
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert finders.find("js/api-docs.js")


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/findings/triage/", {"action": "acknowledge", "findings": [10**30]}),
        (
            "/api/v1/findings/triage/",
            {"action": "suppress", "findings": [1], "reason": "a\x00b", "until": "2099-01-01"},
        ),
        ("/api/v1/findings/triage/", {"action": "assign", "findings": [1], "assignee": "\x00"}),
        ("/api/v1/changes/", {"suggestion": 10**30, "reason": "x"}),
        ("/api/v1/changes/", {"suggestion": "SUGGESTION", "reason": "why\x00"}),
        ("/api/v1/changes/CHANGE/decide/", {"approve": True, "version": 10**30, "digest": "x"}),
        (
            "/api/v1/changes/CHANGE/decide/",
            {"approve": False, "version": 1, "digest": "x", "comment": "\x00"},
        ),
        ("/api/v1/changes/CHANGE/rollback/", {"reason": ["not", "text"]}),
        ("/api/v1/changes/99999999999999999999999/apply/", {}),
        ("/api/v1/principals/99999999999999999999999/", None),
        ("/api/v1/findings/?principal=99999999999999999999999&account=-1&page=-3", None),
    ],
)
def test_hostile_input_is_refused_cleanly(
    api_as: Any, suggestion: Suggestion, pending_change: ChangeRequest, url: str, body: Any
) -> None:
    """Out-of-range ids, NUL characters (PostgreSQL cannot store them), wrong types: 4xx, never 5xx,
    and nothing changed."""
    url = url.replace("CHANGE", str(pending_change.pk))
    if body is not None and body.get("suggestion") == "SUGGESTION":
        body["suggestion"] = suggestion.pk
    api = api_as("admin")
    response = api.get(url) if body is None else post(api, url, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert ChangeRequest.objects.get(pk=pending_change.pk).status == ChangeStatus.PENDING
    assert ChangeRequest.objects.count() == 1


def test_a_body_that_is_not_json_is_refused(api_as: Any, pending_change: ChangeRequest) -> None:
    ChangeRequest.objects.filter(pk=pending_change.pk).update(
        status=ChangeStatus.APPLIED, steps=[{"op": "x"}]
    )
    response = api_as("admin").post(f"/api/v1/changes/{pending_change.pk}/rollback/", {"reason": "form data"})
    assert response.status_code in (400, 415), response.content
    assert ChangeRequest.objects.get(pk=pending_change.pk).status == ChangeStatus.APPLIED
    deep = "[" * 100000 + "]" * 100000
    response = api_as("admin").post("/api/v1/changes/", deep, content_type="application/json")
    assert response.status_code == 400


def test_lists_cost_the_same_queries_for_one_row_or_fifty(api_as: Any, pending_change: ChangeRequest) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_as("viewer")
    urls = ["/api/v1/changes/", "/api/v1/findings/?status=all", "/api/v1/principals/", "/api/v1/sync-runs/"]

    def queries() -> dict[str, int]:
        counts = {}
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(url).status_code == 200
            counts[url] = len(ctx.captured_queries)
        return counts

    api.get("/api/v1/accounts/")  # the first call records the token's use and makes the user's profile
    before = queries()
    for _ in range(49):
        pending_change.pk = None
        pending_change.save()
        SyncRun.objects.create(account=pending_change.account, status="failed")
    after = queries()
    assert after == before, (before, after)
