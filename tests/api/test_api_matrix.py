"""The API's access matrix, generated from the URL conf like the pages': every API route x HTTP method x
user, against real objects. Each API view declares the role each method needs (`roles`):

- no token: 401, whatever the method;
- a role below the lowest the view needs: 403, whatever the method;
- a method the view does not allow: 405;
- a method whose own role is above the user's: 403;
- otherwise the view answers (2xx, or 400/409 for an empty body or a refused action), never 404 or 5xx.

A second matrix: a user limited to the sandbox account gets 404 for every object of the prod account,
with every method, and list endpoints never show it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

import fakeaws
from accounts.models import LinkedAccount, Profile, SyncRun
from accounts.roles import Role
from api.auth import method_role
from findings.models import ChangeRequest, ChangeStatus, Finding
from tests.test_access_control import API_ROUTES

pytestmark = pytest.mark.django_db

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
USERS = ["anonymous", "nobody", "viewer", "reviewer", "approver", "admin"]
ROUTES = [(p.name, p) for _, p in API_ROUTES]


def expected(pattern: URLPattern, user: str, method: str) -> str:
    if user == "anonymous":
        return "unauthenticated"
    view = pattern.callback.cls
    role = Role.NONE if user == "nobody" else Role[user.upper()]
    if role < min(view.roles.values()):
        return "forbidden"
    need = method_role(view, method)
    if need is None:
        return "not allowed"
    return "forbidden" if role < need else "answers"


def outcome(response: Any) -> str:
    status = response.status_code
    names = {401: "unauthenticated", 403: "forbidden", 405: "not allowed", 404: "missing"}
    if status in names:
        return names[status]
    if status >= 500:
        return f"error {status}"
    if status in (200, 201, 202, 400, 409):
        return "answers"
    return f"status {status}"


@pytest.fixture
def world(
    imported: dict[str, LinkedAccount], suggestion: Any, pending_change: ChangeRequest
) -> dict[str, Any]:
    prod = imported["prod"]
    return {
        "account": prod,
        "sync": SyncRun.objects.create(account=prod, trigger="manual", status="succeeded"),
        "principal": suggestion.principal,
        "finding": Finding.objects.filter(account=prod).first(),
        "suggestion": suggestion,
        "change": pending_change,
    }


def url_for(name: str, pattern: URLPattern, world: dict[str, Any]) -> str:
    kwargs = {}
    if "pk" in pattern.pattern.converters:
        kwargs["pk"] = world[name.split("_")[1]].pk
    return reverse(name, kwargs=kwargs)


def test_the_matrix_covers_every_api_route_and_every_kind_of_cell() -> None:
    names = {n for n, _ in ROUTES}
    assert {"api_principal_detail", "api_change_apply", "api_account_sync", "api_audit_list"} <= names
    kinds = {expected(p, u, m) for _, p in ROUTES for u in USERS for m in METHODS}
    assert kinds == {"unauthenticated", "forbidden", "not allowed", "answers"}


@pytest.mark.parametrize(("name", "pattern"), ROUTES, ids=[n for n, _ in ROUTES])
def test_api_access_matrix(api_as: Any, world: dict[str, Any], name: str, pattern: URLPattern) -> None:
    assert world["finding"] is not None
    url = url_for(name, pattern, world)
    clients = {"anonymous": Client(), **{u: api_as(u) for u in USERS[1:]}}
    wrong: list[str] = []
    with fakeaws.mock():
        for user in USERS:
            for method in METHODS:
                response = clients[user].generic(method, url)
                want, got = expected(pattern, user, method), outcome(response)
                if got == "not allowed" and "OPTIONS" in response["Allow"]:
                    got = f"not allowed, yet Allow: {response['Allow']}"
                if want != got:
                    wrong.append(
                        f"{method} {url} as {user}: expected {want}, got {got} {response.content[:200]!r}"
                    )
    assert not wrong, "\n".join(wrong)
    # Empty bodies and a pending change: nothing was decided, applied or rolled back.
    assert ChangeRequest.objects.get(pk=world["change"].pk).status == ChangeStatus.PENDING


@pytest.fixture
def limited(api_as: Any, users: dict[str, Any], world: dict[str, Any]) -> Client:
    """An admin (so roles never get in the way) who may only see the sandbox account."""
    sandbox = LinkedAccount.objects.get(account_id="444455556666")
    Profile.objects.get_or_create(user=users["admin"])[0].accounts.set([sandbox])
    LinkedAccount.objects.filter(pk=world["account"].pk).update(name="hidden-prod-account")
    return api_as("admin")


OBJECT_ROUTES = [(n, p) for n, p in ROUTES if "pk" in p.pattern.converters]
LIST_ROUTES = [(n, p) for n, p in ROUTES if not p.pattern.converters and "GET" in p.callback.cls.roles]


@pytest.mark.parametrize(("name", "pattern"), OBJECT_ROUTES, ids=[n for n, _ in OBJECT_ROUTES])
def test_limited_user_gets_404_for_another_accounts_objects(
    limited: Client, world: dict[str, Any], name: str, pattern: URLPattern
) -> None:
    url = url_for(name, pattern, world)
    runs = SyncRun.objects.filter(account=world["account"]).count()
    for method in pattern.callback.cls.roles:
        body = {"approve": True, "version": 1, "digest": "x" * 64, "reason": "because"}
        response = limited.generic(method, url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    assert ChangeRequest.objects.get(pk=world["change"].pk).status == ChangeStatus.PENDING
    assert SyncRun.objects.filter(account=world["account"]).count() == runs


@pytest.mark.parametrize(("name", "pattern"), LIST_ROUTES, ids=[n for n, _ in LIST_ROUTES])
@pytest.mark.parametrize("query", ["", "?q=ci&status=all", "?account=PROD&status=all"])
def test_limited_user_never_sees_another_account_in_lists(
    limited: Client, world: dict[str, Any], name: str, pattern: URLPattern, query: str
) -> None:
    prod = world["account"]
    response = limited.get(reverse(name) + query.replace("PROD", str(prod.pk)))
    assert response.status_code == 200, response.content[:300]
    assert prod.account_id.encode() not in response.content, f"{name} shows the prod account"
    assert b"hidden-prod-account" not in response.content, f"{name} names the prod account"


def test_limited_user_sees_their_own_account(limited: Client) -> None:
    """The negative checks above would pass on empty lists."""
    for url in ["/api/v1/principals/?q=ci", "/api/v1/findings/?status=all", "/api/v1/accounts/"]:
        body = limited.get(url).json()
        assert body["count"] > 0, url
        assert all(row.get("aws_account_id", "444455556666") == "444455556666" for row in body["results"]), (
            url
        )


def test_limited_user_cannot_open_a_change_from_another_accounts_suggestion(
    limited: Client, world: dict[str, Any]
) -> None:
    body = json.dumps({"suggestion": world["suggestion"].pk, "reason": "tighten"})
    response = limited.post("/api/v1/changes/", body, content_type="application/json")
    assert response.status_code == 404
    assert ChangeRequest.objects.count() == 1
    triage = json.dumps({"action": "acknowledge", "findings": [world["finding"].pk]})
    assert (
        limited.post("/api/v1/findings/triage/", triage, content_type="application/json").json()["changed"]
        == 0
    )
