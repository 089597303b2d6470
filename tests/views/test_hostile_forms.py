"""Every form on hostile input: a clear answer, never a server error, nothing stored half-way.

Hypothesis posts generated values (unicode, control characters, huge and deeply nested text, wrong
types, formula prefixes, HTML, policy variables) to each form as the role that may use it. After each
post: no 5xx; if anything the product owns changed, an audit event was written for it; and a post that
was refused changed nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fakeaws
from accounts.forms import LinkedAccountForm
from accounts.models import LinkedAccount, Profile, SyncRun
from core.models import AuditEvent
from findings.models import Approval, ChangeRequest, ChangeStatus, Finding, Suggestion

pytestmark = pytest.mark.django_db

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "99999999999999999999999",
    "²",
    "١٢٣",
    "\x00",
    "\r\nSet-Cookie: a=b",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "${aws:username}",
    "../../../etc/passwd",
    "null",
    "[]",
    "{}",
    '{"Version": "2012-10-17", "Statement": []}',
    "[" * 3000 + "]" * 3000,
    "a" * 70_000,
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "approve",
    "reject",
    "arn:aws:iam::123456789012:role/x",
    "123456789012",
]
VALUE = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)
VALUES = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3))
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


ACCOUNT_FIELDS = list(LinkedAccountForm.Meta.fields)  # what the link and edit forms can set


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def state() -> str:
    """A fingerprint of everything a form can change."""
    return _digest(
        [
            list(LinkedAccount.objects.order_by("pk").values_list("pk", *ACCOUNT_FIELDS)),
            list(
                ChangeRequest.objects.order_by("pk").values_list("pk", "status", "version", "items", "reason")
            ),
            list(Approval.objects.order_by("pk").values_list("pk", "approve", "comment")),
            list(
                Finding.objects.order_by("pk").values_list("pk", "status", "assignee_id", "suppressed_until")
            ),
            list(
                Profile.objects.order_by("pk").values_list(
                    "pk", "digest_frequency", "digest_min_severity", "digest_all_clear"
                )
            ),
            list(SyncRun.objects.order_by("pk").values_list("pk", "status")),
        ]
    )


def post_and_check(client: Client, url: str, data: dict[str, Any]) -> Any:
    before, audits = state(), AuditEvent.objects.count()
    with fakeaws.mock():
        response = client.post(url, data)
    assert response.status_code < 500, f"{url} {data!r}: {response.status_code}"
    if state() != before:
        assert AuditEvent.objects.count() > audits, f"{url} changed data without an audit event: {data!r}"
    if holds_nul(data):  # PostgreSQL cannot store NUL: refused up front, with what to do
        assert response.status_code == 400  # the message is checked in test_nul_characters_are_refused
        assert state() == before
    return response


def holds_nul(data: dict[str, Any]) -> bool:
    values = [v for value in data.values() for v in (value if isinstance(value, list) else [value])]
    return any("\x00" in str(v) for v in [*data, *values])


@pytest.fixture(autouse=True)
def _profiles(users: dict[str, Any]) -> None:
    """Profiles are made on a user's first page view; make them first so they do not count as changes."""
    for user in users.values():
        Profile.objects.get_or_create(user=user)


@FUZZ
@given(st.fixed_dictionaries({}, optional={f: VALUES for f in ACCOUNT_FIELDS}))
def test_link_account_form(client_as: Any, data: dict[str, Any]) -> None:
    admin = client_as("admin")
    count = LinkedAccount.objects.count()
    response = post_and_check(admin, reverse("account_link"), data)
    if holds_nul(data):
        return
    if response.status_code == 200:  # the form again, with what to fix
        assert b"field-error" in response.content or b"message-error" in response.content
        assert LinkedAccount.objects.count() == count
    else:
        assert response.status_code == 302 and LinkedAccount.objects.count() == count + 1


@FUZZ
@given(st.fixed_dictionaries({}, optional={f: VALUES for f in ACCOUNT_FIELDS}))
def test_edit_account_form(client_as: Any, imported: dict[str, LinkedAccount], data: dict[str, Any]) -> None:
    account = imported["prod"]
    response = post_and_check(client_as("admin"), reverse("account_edit", args=[account.pk]), data)
    if holds_nul(data):
        return
    account.refresh_from_db()
    assert account.account_id == "210987654321", "the account id can never be edited"
    if response.status_code == 200:
        assert b"field-error" in response.content or b"message-error" in response.content


@FUZZ
@given(
    st.fixed_dictionaries(
        {"finding": st.lists(VALUE, max_size=3)},
        optional={f: VALUES for f in ["action", "assignee", "reason", "until", "next", "review"]},
    ),
    st.booleans(),
)
def test_bulk_triage_form(
    client_as: Any, imported: dict[str, LinkedAccount], data: dict[str, Any], real: bool
) -> None:
    if real:
        data["finding"] = [*data["finding"], str(Finding.objects.order_by("pk").first().pk)]
    response = post_and_check(client_as("reviewer"), reverse("finding_bulk"), data)
    if holds_nul(data):
        return
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].startswith("/findings/"), "the redirect stays on this site"


@FUZZ
@given(st.fixed_dictionaries({}, optional={"reason": VALUES}))
def test_accept_suggestion_form(client_as: Any, suggestion: Suggestion, data: dict[str, Any]) -> None:
    count = ChangeRequest.objects.count()
    response = post_and_check(client_as("reviewer"), reverse("suggestion_accept", args=[suggestion.pk]), data)
    if holds_nul(data):
        return
    reason = data.get("reason", "")
    reason = reason[-1] if isinstance(reason, list) else reason  # a repeated field: Django reads the last
    if not reason.strip():
        assert ChangeRequest.objects.count() == count
        assert response["Location"] == reverse("suggestion_detail", args=[suggestion.pk])


@FUZZ
@given(st.fixed_dictionaries({}, optional={"item_0": VALUES, "reason": VALUES}))
def test_edit_change_form(client_as: Any, pending_change: ChangeRequest, data: dict[str, Any]) -> None:
    before = ChangeRequest.objects.values_list("items", "version").get(pk=pending_change.pk)
    response = post_and_check(client_as("reviewer"), reverse("change_edit", args=[pending_change.pk]), data)
    if holds_nul(data):
        return
    after = ChangeRequest.objects.values_list("items", "version").get(pk=pending_change.pk)
    if response["Location"] == reverse("change_edit", args=[pending_change.pk]):  # refused, with a message
        assert after == before
    # Whatever was accepted never grants more than the original (the engine checks every edit).
    original = {a for a in pending_change.items[0]["original"]["Statement"][0]["Action"]}
    for doc in after[0][0]["proposed"]:
        for statement in doc.get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            assert set(actions) <= original


@FUZZ
@given(st.fixed_dictionaries({}, optional={"decision": VALUES, "comment": VALUES}))
def test_decide_form(client_as: Any, pending_change: ChangeRequest, data: dict[str, Any]) -> None:
    ChangeRequest.objects.filter(pk=pending_change.pk).update(status=ChangeStatus.PENDING)
    Approval.objects.all().delete()
    post_and_check(client_as("approver"), reverse("change_decide", args=[pending_change.pk]), data)
    status = ChangeRequest.objects.get(pk=pending_change.pk).status
    decision = data.get("decision")
    if (decision[-1] if isinstance(decision, list) else decision) != "approve":
        assert status != ChangeStatus.APPROVED


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            f: VALUES
            for f in ["digest_frequency", "digest_accounts", "digest_min_severity", "digest_all_clear"]
        },
    )
)
def test_digest_settings_form(
    client_as: Any, imported: dict[str, LinkedAccount], data: dict[str, Any]
) -> None:
    response = post_and_check(client_as("viewer"), reverse("profile_settings"), data)
    if holds_nul(data):
        return
    assert response.status_code in (200, 302)


@FUZZ
@given(st.fixed_dictionaries({}, optional={"account_id": VALUES, "management": VALUES}), st.data())
def test_organization_forms(client_as: Any, data: dict[str, Any], more: st.DataObject) -> None:
    admin = client_as("admin")
    post_and_check(admin, reverse("organization_discover"), data)
    extra = {f"name_{v}": more.draw(VALUE) for v in data.get("account_id", []) if isinstance(v, str)}
    post_and_check(admin, reverse("organization_link"), {**data, **extra})
    for account in LinkedAccount.objects.all():
        assert account.account_id.isascii() and account.account_id.isdigit() and len(account.account_id) == 12


@FUZZ
@given(st.fixed_dictionaries({}, optional={"username": VALUES, "password": VALUES, "next": VALUES}))
def test_login_form(users: dict[str, Any], data: dict[str, Any]) -> None:
    client = Client()
    response = client.post(reverse("login"), data)
    assert response.status_code == (400 if holds_nul(data) else 200), "a wrong login shows the form again"
    assert "_auth_user_id" not in client.session


PARAMS = [
    "q",
    "account",
    "status",
    "severity",
    "kind",
    "sort",
    "page",
    "per_page",
    "days",
    "since",
    "principal",
    "skip",
    "start",
    "end",
    "chart",
    "band",
    "unused",
    "admin",
    "actor",
    "action",
    "management",
    "apply",
]
GET_ROUTES = [
    "dashboard",
    "principal_list",
    "finding_list",
    "finding_export",
    "finding_review",
    "key_list",
    "change_list",
    "trends",
    "trends_csv",
    "drift",
    "audit_list",
    "audit_export",
    "account_list",
    "profile_settings",
]


@FUZZ
@given(
    st.sampled_from(GET_ROUTES),
    st.fixed_dictionaries({}, optional={p: VALUES for p in PARAMS}),
    st.booleans(),
)
def test_list_pages_and_exports_take_any_query(
    client_as: Any, imported: dict[str, LinkedAccount], route: str, params: dict[str, Any], htmx: bool
) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client_as("admin").get(reverse(route), params, **headers)
    if holds_nul(params):
        assert response.status_code == 400 and b"NUL character" in response.content
        return
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.status_code == 400 and route.endswith("_export"):
        # An export never quietly holds more than was asked: a filter it cannot use is refused, saying why.
        named = [k for k in params if k.encode() in body.lower()]
        assert named, f"{route} {params!r}: refused without naming the parameter: {body[:200]!r}"
        return
    assert response.status_code in (200, 302), f"{route} {params!r}: {response.status_code}"
    assert b"<script>alert(1)</script>" not in body, "query text is escaped"


def test_nul_characters_are_refused_with_what_to_do(client_as: Any, suggestion: Suggestion) -> None:
    response = client_as("reviewer").post(
        reverse("suggestion_accept", args=[suggestion.pk]), {"reason": "a\x00b"}
    )
    assert response.status_code == 400 and b"NUL character" in response.content
    assert not ChangeRequest.objects.exists()
    assert client_as("viewer").get(reverse("principal_list"), {"q": "\x00"}).status_code == 400
    assert Client().get(reverse("principal_list"), {"q": "\x00"}).status_code == 302, "login comes first"
