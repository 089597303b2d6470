"""No query string makes a GET of the API answer 5xx: every API route, the page parameters and the
pages' filters, with the hostile values the pages' fuzzing uses, drawn by hypothesis and swept."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import LinkedAccount, SyncRun
from findings.models import ChangeRequest, Finding, Suggestion
from tests.api.test_api_matrix import ROUTES, url_for
from tests.views.test_hostile_forms import holds_nul
from tests.views.test_hostile_queries import FUZZ, HOSTILE, NAMES, PARAMS, VALUES

# Fewer examples than the pages' fuzzing: the sweep below covers every value in every parameter anyway.
API_FUZZ = settings(FUZZ, max_examples=100)

pytestmark = pytest.mark.django_db
API_PARAMS = [*PARAMS, "page_size", "format", "stale"]


@pytest.fixture
def routes(
    imported: dict[str, LinkedAccount], suggestion: Suggestion, pending_change: ChangeRequest
) -> list[str]:
    prod = imported["prod"]
    world = {
        "account": prod,
        "sync": SyncRun.objects.create(account=prod, trigger="manual", status="succeeded"),
        "principal": suggestion.principal,
        "finding": Finding.objects.filter(account=prod).first(),
        "suggestion": suggestion,
        "change": pending_change,
    }
    return [url_for(name, p, world) for name, p in ROUTES if "GET" in p.callback.cls.roles]


@API_FUZZ
@given(more=st.data())
def test_no_query_string_gives_a_server_error(api_as: Any, routes: list[str], more: st.DataObject) -> None:
    api = api_as("admin")
    url = more.draw(st.sampled_from(routes))
    params = more.draw(st.dictionaries(st.one_of(NAMES, st.sampled_from(API_PARAMS)), VALUES, max_size=6))
    response = api.get(url, params)
    assert response.status_code < 500, f"{url} {params!r}: {response.status_code}"
    if holds_nul(params):
        assert response.status_code == 400
    elif response.status_code == 200 and url != "/api/v1/schema/":
        assert response["Content-Type"] == "application/json"


def test_every_api_route_takes_every_hostile_value_in_every_parameter(api_as: Any, routes: list[str]) -> None:
    api = api_as("admin")
    assert len(routes) >= 13
    failures = []
    for url in routes:
        assert api.get(url).status_code == 200, url
        for value in HOSTILE:
            if "\x00" in value:
                continue  # refused up front, 400
            response = api.get(url, dict.fromkeys(API_PARAMS, value))
            if response.status_code >= 500:
                failures.append(f"{url} every parameter={value[:40]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)
