"""No query string makes any GET route answer 5xx: every route of the URL conf, Django admin's included.

The routes come from the URL conf (filled with real objects, as in the access matrix), the parameter
names from every parser the views use plus made-up ones; hypothesis draws the values. Each filter that
cannot use a value says so (a message, or 400 for a CSV export) instead of failing or being misread as
an ORM lookup.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fakeaws
from accounts.models import AccountCheck, CheckKind, LinkedAccount, SyncRun
from findings.models import ChangeRequest, Finding, Principal, Suggestion
from tests.notify.helpers import make_channel
from tests.views.test_access_matrix import ROUTES, url_for
from tests.views.test_hostile_forms import NASTY, holds_nul

pytestmark = pytest.mark.django_db

# Every name a view or selector reads from request.GET (findings/selectors.py, findings/views.py,
# findings/trend_views.py, findings/change_views.py, accounts/views.py), and Django admin's.
PARAMS = [
    *("q", "account", "type", "band", "finding", "admin", "unused", "escalation", "tag", "sort", "page"),
    *("status", "severity", "kind", "assignee", "since", "principal", "skip", "state", "action", "actor"),
    *("object", "days", "chart", "from", "to", "apply", "management", "next"),
    *("services_page", "policies_page", "findings_page", "added_page", "edited_page", "first_seen_page"),
    *("o", "p", "e", "all", "_changelist_filters", "_to_field", "_popup", "id__in", "name__regex"),
]
HOSTILE = [
    *NASTY,
    "a__regex=(",
    "a__regex",
    "__regex=(",
    "tags__x=1",
    "=",
    "a=b=c",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31",
    "10000-01-01",
    "2026-13-45T99:99",
    "-1",
    "1.5",
    "%",
    "\\",
    "x" * 5000,
]
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
)
VALUES = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3))
# More examples than the forms get: one test covers every route, and a GET is cheap.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMES = st.one_of(st.sampled_from(PARAMS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=30))


@pytest.fixture
def routes(
    imported: dict[str, LinkedAccount],
    suggestion: Suggestion,
    pending_change: ChangeRequest,
    users: dict[str, Any],
) -> list[str]:
    """Every GET route, filled with real objects (as in the access matrix)."""
    run = SyncRun.objects.create(account=imported["prod"], trigger="manual", status="succeeded")
    world = {
        "account": imported["prod"],
        "run": run,
        "principal": suggestion.principal,
        "suggestion": suggestion,
        "change": pending_change,
        "finding": Finding.objects.filter(account=imported["prod"]).first(),
        "check": AccountCheck.objects.create(account=imported["prod"], kind=CheckKind.CONNECTION),
        "channels": {"admin": make_channel(users["admin"], "https://127.0.0.1:9/hook")[0]},
    }
    urls = [url_for(name, p, world) for name, p in ROUTES if "GET" in p.callback.allowed_methods]
    urls += ["/login/", "/healthz", "/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        urls += [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
    return urls


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@FUZZ
@given(more=st.data(), htmx=st.booleans())
def test_no_query_string_gives_a_server_error(
    client_as: Any, routes: list[str], more: st.DataObject, htmx: bool
) -> None:
    admin_client = client_as("admin")
    url = more.draw(st.sampled_from(routes))
    params = more.draw(st.dictionaries(NAMES, VALUES, max_size=6))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with fakeaws.mock():
        response = admin_client.get(url, params, **headers)
    assert response.status_code < 500, f"{url} {params!r}: {response.status_code}"
    if holds_nul(params) and not url.startswith(("/admin/", "/login/", "/healthz")):
        assert response.status_code == 400
    else:
        assert b"<script>alert(1)</script>" not in _body(response), "query text is escaped"


def test_every_route_takes_every_hostile_value_in_every_parameter(client_as: Any, routes: list[str]) -> None:
    """The sweep hypothesis is unlikely to draw: each hostile value in every known parameter at once."""
    admin_client = client_as("admin")
    failures = []
    # The query string of each value, encoded once as the test client would encode the dict for every
    # request (a 5,000-character value in every parameter took a seventh of this test's time to quote).
    queries = {value: urlencode(dict.fromkeys(PARAMS, value), doseq=True) for value in HOSTILE}
    with fakeaws.mock():
        for url in routes:
            for value in HOSTILE:
                if "\x00" in value:
                    continue  # refused up front (test_hostile_forms)
                response = admin_client.get(f"{url.partition('?')[0]}?{queries[value]}")
                if response.status_code >= 500:
                    failures.append(f"{url} every parameter={value[:40]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_every_get_route_is_fuzzed(client_as: Any, routes: list[str]) -> None:
    """Each route answers its plain GET, so the fuzzing above reaches every view."""
    admin_client = client_as("admin")
    assert len(routes) > 30
    with fakeaws.mock():
        for url in routes:
            assert admin_client.get(url).status_code in (200, 302), url


def test_tag_filter_takes_a_key_and_a_value_never_a_lookup(
    client_as: Any, imported: dict[str, LinkedAccount]
) -> None:
    viewer = client_as("viewer")
    assert viewer.get("/principals/", {"tag": "a__regex=("}).status_code == 200  # was a 500
    bob = Principal.objects.filter(account=imported["prod"], name="bob").get()
    bob.tags = {"team": "payments", "a__regex": "(", "0": "zero"}
    bob.save(update_fields=["tags"])

    def names(tag: str) -> set[str]:
        response = viewer.get("/principals/", {"tag": tag, "account": imported["prod"].pk})
        assert response.status_code == 200
        return {p.name for p in response.context["page"].object_list}

    assert names("team=payments") == {"bob"}
    assert names("team") == {"bob"}
    assert names("team=pay") == set(), "a value matches exactly"
    assert names("team__startswith=pay") == set(), "the key is a key, not a lookup"
    assert names("a__regex=(") == {"bob"}, "a key that looks like a lookup is still just a key"
    assert names("0=zero") == {"bob"}, "a key that looks like an index is still just a key"


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-45", "x" * 500]
)
def test_a_since_that_cannot_be_used_is_reported(
    client_as: Any, imported: dict[str, LinkedAccount], since: str
) -> None:
    viewer = client_as("viewer")
    response = viewer.get("/findings/", {"since": since}, follow=True)
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert any("since" in t for t in texts), texts
    assert len(response.context["page"].object_list) == min(Finding.objects.filter(status="open").count(), 50)
    export = viewer.get("/findings/export.csv", {"since": since})
    assert export.status_code == 400 and b"since" in export.content


def test_a_good_since_still_filters(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    viewer = client_as("viewer")
    assert Finding.objects.exists()
    for since in ("2999-01-01T00:00:00+00:00", "2999-01-01", "9999-12-31T23:59:59+00:00"):
        response = viewer.get("/findings/", {"since": since})
        assert response.status_code == 200 and not list(response.context["page"].object_list), since
        assert not [str(m) for m in response.context["messages"]]


def test_naive_since_is_read_as_utc(client_as: Any, imported: dict[str, LinkedAccount]) -> None:
    viewer = client_as("viewer")
    response = viewer.get("/findings/", {"since": "2000-01-01T00:00:00"})
    assert response.context["filters"]["since"] == "2000-01-01T00:00:00"
    assert len(response.context["page"].object_list) > 0
    assert Client().get("/findings/", {"since": "x"}).status_code == 302, "login comes first"
