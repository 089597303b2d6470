"""The access-control matrix, generated from the URL conf: every route x HTTP method x role.

Each view records the role it needs and the methods it allows (`@role_required`), so a new view
joins the matrix by existing. For each cell the expectation is computed, not listed by hand:

- anonymous: redirected to the login page, whatever the method;
- a role below the view's: 403, whatever the method (nothing is learned about the view);
- a method the view does not allow: 405;
- otherwise the view answers (2xx or 3xx, or 400 for an empty form), never 401/403/404/405 or 5xx.

The routes are filled with real objects (an account, a sync run, a principal, a suggestion, a change
request) so that "answers" means the view ran, not that it 404ed on a missing row. A second matrix
does the same for a user limited to one account, against another account's objects: 404 everywhere,
and list pages, fragments, exports and search never show the other account.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, reverse

import fakeaws
from accounts.models import AccountCheck, CheckKind, LinkedAccount, Profile, SyncRun
from accounts.roles import Role
from findings.models import ChangeRequest, ChangeStatus, Finding, Principal, Suggestion
from tests.notify.helpers import make_channel
from tests.test_access_control import PROTECTED

pytestmark = pytest.mark.django_db

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
USERS = ["anonymous", "nobody", "viewer", "reviewer", "approver", "admin"]
ROUTES = [(p.name, p) for _, p in PROTECTED]


def expected(pattern: URLPattern, user: str, method: str) -> str:
    role = Role.NONE if user in ("anonymous", "nobody") else Role[user.upper()]
    if user == "anonymous":
        return "login"
    if role < pattern.callback.required_role:
        return "forbidden"
    if method not in pattern.callback.allowed_methods:
        return "not allowed"
    return "answers"


def outcome(response: Any) -> str:
    status = response.status_code
    if status == 302 and response["Location"].startswith("/login/"):
        return "login"
    if status == 403:
        return "forbidden"
    if status == 405:
        return "not allowed"
    if status == 404:
        return "missing"
    if status >= 500:
        return f"error {status}"
    if status in (200, 201, 204, 286, 301, 302, 303, 400):
        return "answers"
    return f"status {status}"


@pytest.fixture
def world(
    imported: dict[str, LinkedAccount], suggestion: Suggestion, pending_change: ChangeRequest
) -> dict[str, Any]:
    prod = imported["prod"]
    run = SyncRun.objects.create(account=prod, trigger="manual", status="succeeded")
    change = pending_change
    # Notification channels belong to their owner: each user is given one of their own (a refused
    # address, so "send a test" answers at once without the network).
    channels = {
        u.username: make_channel(u, "https://127.0.0.1:9/hook", name=f"{u.username}'s")[0]
        for u in User.objects.filter(username__in=USERS[2:])
    }
    return {
        "account": prod,
        "run": run,
        "check": AccountCheck.objects.create(account=prod, kind=CheckKind.CONNECTION, status="succeeded"),
        "principal": suggestion.principal,
        "suggestion": suggestion,
        "change": change,
        "channels": channels,
        "finding": Finding.objects.filter(account=prod).first(),
    }


def url_for(name: str, pattern: URLPattern, world: dict[str, Any], user: str = "admin") -> str:
    kwargs: dict[str, Any] = {}
    if "pk" in pattern.pattern.converters:
        owner = {"account_check_detail": "check"}.get(name) or {
            "account": "account",
            "sync": "run",
            "principal": "principal",
            "suggestion": "suggestion",
            "change": "change",
            "channel": "channels",
            "finding": "finding",
        }[name.split("_")[0]]
        obj = world[owner]
        kwargs["pk"] = (obj.get(user) or obj["admin"]).pk if owner == "channels" else obj.pk
    if "fmt" in pattern.pattern.converters:
        kwargs["fmt"] = "json"
    if "service" in pattern.pattern.converters:
        kwargs["service"] = "iam"  # a service the principal is granted (iam:PassRole)
    if "sha256" in pattern.pattern.converters:
        kwargs["sha256"] = world["principal"].inline_policies.first().document.sha256
    return reverse(name, kwargs=kwargs)


def test_every_route_is_in_the_matrix() -> None:
    names = {name for name, _ in ROUTES}
    assert {"dashboard", "principal_detail", "change_apply", "account_sync", "audit_export"} <= names
    for _, pattern in ROUTES:
        assert set(pattern.callback.allowed_methods) <= set(METHODS)


@pytest.mark.parametrize(("name", "pattern"), ROUTES, ids=[n for n, _ in ROUTES])
def test_access_matrix(client_as: Any, world: dict[str, Any], name: str, pattern: URLPattern) -> None:
    clients = {"anonymous": Client(), **{u: client_as(u) for u in USERS[1:]}}
    wrong: list[str] = []
    with fakeaws.mock():
        for user in USERS:
            url = url_for(name, pattern, world, user)
            for method in METHODS:
                response = clients[user].generic(method, url)
                want, got = expected(pattern, user, method), outcome(response)
                if want != got:
                    wrong.append(f"{method} {url} as {user}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_matrix_expectations_cover_every_kind_of_cell() -> None:
    """The matrix is only worth something if its cells are not all alike."""
    kinds = {expected(p, u, m) for _, p in ROUTES for u in USERS for m in METHODS}
    assert kinds == {"login", "forbidden", "not allowed", "answers"}


def test_post_without_csrf_token_is_refused_everywhere(users: dict[str, Any], world: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    for name, pattern in ROUTES:
        if "POST" in pattern.callback.allowed_methods:
            response = client.post(url_for(name, pattern, world), {})
            assert response.status_code == 403, f"{name} accepted a POST without a CSRF token"
    assert ChangeRequest.objects.get().status == ChangeStatus.PENDING


# Object-level: a user limited to the sandbox account, against the prod account's objects.

# Channels belong to a user, not an account: tests/notify/test_channel_pages.py checks that another user's
# channel is a 404 on every channel route.
OBJECT_ROUTES = [(n, p) for n, p in ROUTES if "pk" in p.pattern.converters and not n.startswith("channel")]
LIST_ROUTES = [(n, p) for n, p in ROUTES if not p.pattern.converters and "GET" in p.callback.allowed_methods]


@pytest.fixture
def limited(client_as: Any, users: dict[str, Any], world: dict[str, Any]) -> Client:
    """An admin (so roles never get in the way) who may only see the sandbox account."""
    sandbox = LinkedAccount.objects.get(account_id="444455556666")
    Profile.objects.get_or_create(user=users["admin"])[0].accounts.set([sandbox])
    LinkedAccount.objects.filter(pk=world["account"].pk).update(name="hidden-prod-account")
    return client_as("admin")


@pytest.mark.parametrize(("name", "pattern"), OBJECT_ROUTES, ids=[n for n, _ in OBJECT_ROUTES])
def test_limited_user_gets_404_for_another_accounts_objects(
    limited: Client, world: dict[str, Any], name: str, pattern: URLPattern
) -> None:
    url = url_for(name, pattern, world)
    runs = SyncRun.objects.filter(account=world["account"]).count()
    with fakeaws.mock():
        for method in pattern.callback.allowed_methods:
            response = limited.generic(method, url, HTTP_HX_REQUEST="true") if method == "GET" else None
            if response is not None:
                assert response.status_code == 404, f"htmx {method} {url}: {response.status_code}"
            response = limited.generic(method, url)
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    assert ChangeRequest.objects.get().status == ChangeStatus.PENDING
    assert SyncRun.objects.filter(account=world["account"]).count() == runs


@pytest.mark.parametrize(("name", "pattern"), LIST_ROUTES, ids=[n for n, _ in LIST_ROUTES])
@pytest.mark.parametrize("query", ["", "?q=ci&status=all", "?account=PROD&status=all&days=365"])
def test_limited_user_never_sees_another_account_in_lists(
    limited: Client, world: dict[str, Any], name: str, pattern: URLPattern, query: str
) -> None:
    prod = world["account"]
    url = reverse(name) + query.replace("PROD", str(prod.pk))
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = limited.get(url, **headers)
        assert response.status_code in (200, 302), f"{url}: {response.status_code}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert prod.account_id.encode() not in body, f"{url} shows the prod account"
        assert b"hidden-prod-account" not in body, f"{url} names the prod account"


def test_limited_user_sees_their_own_account(limited: Client) -> None:
    """The negative checks above would pass on empty pages; make sure the pages are not empty."""
    sandbox = LinkedAccount.objects.get(account_id="444455556666")
    for url in ["/principals/?q=ci", "/findings/export.csv?status=all", "/accounts/"]:
        response = limited.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert sandbox.account_id.encode() in body or sandbox.name.encode() in body, url
    sandbox_principal = Principal.objects.get(account=sandbox, name="ci")
    assert limited.get(f"/principals/{sandbox_principal.pk}/").status_code == 200


def test_limited_user_digest_never_includes_another_account(
    users: dict[str, Any], world: dict[str, Any]
) -> None:
    """Even when the digest preferences name the other account (a crafted POST, an old setting)."""
    from django.utils import timezone

    from findings.digest import digest_content

    sandbox = LinkedAccount.objects.get(account_id="444455556666")
    profile = Profile.objects.get_or_create(user=users["viewer"])[0]
    profile.accounts.set([sandbox])
    since = timezone.now() - timedelta(days=30)
    profile.last_digest_at = since
    profile.digest_accounts.set([world["account"], sandbox])
    content = digest_content(profile, timezone.now() + timedelta(seconds=1))
    assert content["new_count"] > 0
    assert [g["account"] for g in content["groups"]] == [sandbox.name]
    profile.digest_accounts.set([world["account"]])
    assert digest_content(profile, timezone.now() + timedelta(seconds=1))["new_count"] == 0


# Content Security Policy: every page carries it, and every page works under it (our own assets only).

ASSET = re.compile(r"<(script|link|img)\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def csp_problems(url: str, response: Any) -> list[str]:
    policy = response.get("Content-Security-Policy", "")
    directives = {}
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        directives[name] = value
    problems = []
    if directives.get("default-src") != "'self'" or directives.get("script-src") != "'self'":
        problems.append(f"{url}: CSP missing or wider than our own origin: {policy!r}")
    if "http" in policy or "*" in policy:
        problems.append(f"{url}: CSP names another host: {policy!r}")
    if not response.get("Content-Type", "").startswith("text/html"):
        return problems
    html = response.content.decode()
    for tag, attrs in ASSET.findall(html):
        src = re.search(r'\b(?:src|href)\s*=\s*"([^"]*)"', attrs)
        if tag.lower() == "link" and "stylesheet" not in attrs and "icon" not in attrs:
            continue
        data_block = 'type="application/json"' in attrs  # json_script: data, never executed
        if tag.lower() == "script" and src is None and not data_block:
            problems.append(f"{url}: an inline <script> (blocked by script-src 'self')")
        elif src is not None and not (src.group(1).startswith("/") or src.group(1).startswith("data:")):
            problems.append(f"{url}: <{tag}> loads {src.group(1)} from another origin")
    if INLINE_HANDLER.search(html):
        problems.append(f"{url}: an inline event handler (blocked by script-src 'self')")
    return problems


def test_every_page_carries_the_csp_and_loads_only_our_own_assets(
    client_as: Any, world: dict[str, Any]
) -> None:
    admin = client_as("admin")
    problems: list[str] = []
    pages = 0
    with fakeaws.mock():
        for name, pattern in ROUTES:
            if "GET" not in pattern.callback.allowed_methods:
                continue
            url = url_for(name, pattern, world)
            response = admin.get(url)
            pages += response.get("Content-Type", "").startswith("text/html")
            problems += csp_problems(url, response)
        login = Client().get("/login/")
        problems += csp_problems("/login/", login)
    assert pages >= 15, "the check must see the real pages"
    assert not problems, "\n".join(problems)


def test_csp_check_catches_what_the_policy_would_block() -> None:
    from django.http import HttpResponse

    from iamreview.middleware import CONTENT_SECURITY_POLICY

    def page(body: str, policy: str = CONTENT_SECURITY_POLICY) -> HttpResponse:
        response = HttpResponse(body, content_type="text/html")
        response["Content-Security-Policy"] = policy
        return response

    assert csp_problems("/ok", page('<script src="/static/htmx.min.js"></script>')) == []
    assert csp_problems("/ok", page('<script id="d" type="application/json">{"a": 1}</script>')) == []
    assert csp_problems("/x", page("<script>alert(1)</script>"))
    assert csp_problems("/x", page('<script src="https://cdn.example/x.js"></script>'))
    assert csp_problems("/x", page('<link rel="stylesheet" href="https://cdn.example/x.css">'))
    assert csp_problems("/x", page('<button onclick="go()">'))
    assert csp_problems("/x", page("", policy="default-src *"))
