"""The principal page of a principal granted 400 services: lists paged 25 at a time, "show more" through
htmx or plain links, actions loaded per service, the page's size and query count bounded."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import LinkedAccount, Profile
from findings.models import Finding, InlinePolicy, LastAccessed, PolicyDocument, Principal
from findings.principal_lists import _catalog_services
from policy.catalog import default_catalog

HX = {"HTTP_HX_REQUEST": "true"}
SERVICES = 400


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def service_rows(body: str) -> list[str]:
    return re.findall(r'<tr class="use-[a-z-]+"><td><code>([a-z0-9-]+)</code>', body)


def make_principal(account: LinkedAccount, name: str, services: list[str], findings: int) -> Principal:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": [f"{s}:*" for s in services], "Resource": "*"}],
    }
    stored = PolicyDocument.objects.create(sha256=f"{name:0>64}", document=document, size=len(str(document)))
    principal = Principal.objects.create(
        account=account, arn=f"arn:aws:iam::{account.account_id}:role/{name}", kind="role", name=name
    )
    InlinePolicy.objects.create(principal=principal, name="everything", document=stored)
    now = timezone.now()
    LastAccessed.objects.bulk_create(
        LastAccessed(
            principal=principal,
            service=s,
            service_name=s.upper(),
            last_accessed_at=now - timedelta(days=3) if n % 3 == 0 else None,
            collected_at=now,
        )
        for n, s in enumerate(services)
    )
    Finding.objects.bulk_create(
        Finding(
            fingerprint=f"{name}-{n}",
            account=account,
            principal=principal,
            principal_arn=principal.arn,
            kind="unused-service",
            severity="low",
            severity_rank=3,
            subject=services[n],
            title=f"{services[n]} granted but not used",
            first_seen=now,
            last_seen=now,
        )
        for n in range(findings)
    )
    return principal


@pytest.fixture
def wide(db: None) -> Principal:
    account = LinkedAccount.objects.create(account_id="111122223333", name="wide")
    services = _catalog_services(default_catalog())
    assert len(services) >= SERVICES
    return make_principal(account, "wide", services[:SERVICES], findings=30)


def test_first_page_shows_25_services_and_a_control_for_the_rest(client_as: Any, wide: Principal) -> None:
    body = text(client_as("viewer").get(f"/principals/{wide.pk}/"))
    first = service_rows(body)
    assert len(first) == 25
    assert f"({SERVICES} services," in body
    assert "Show more services (375 left)" in body
    # Without JavaScript the control is a plain link; with htmx it fetches the next page in place.
    assert f'href="/principals/{wide.pk}/?services_page=2#permissions"' in body
    assert f'hx-get="/principals/{wide.pk}/?services_page=2"' in body
    # Services of many actions list them on demand: ec2's ~700 action names are not on the page.
    assert "ec2:RunInstances" not in body and f"/principals/{wide.pk}/services/" in body
    assert "Show more findings (5 left)" in body
    assert len(body) < 150_000, len(body)


def test_show_more_returns_the_next_page(client_as: Any, wide: Principal) -> None:
    viewer = client_as("viewer")
    first = service_rows(text(viewer.get(f"/principals/{wide.pk}/")))
    fragment = text(viewer.get(f"/principals/{wide.pk}/?services_page=2", **HX))
    second = service_rows(fragment)
    assert "<html" not in fragment and len(second) == 25
    assert not set(first) & set(second)
    assert "Services 26\u201350 of 400" in fragment and "Show more services (350 left)" in fragment
    # Every page in turn: together they list each granted service once.
    seen = list(first)
    page = 2
    while True:
        body = text(viewer.get(f"/principals/{wide.pk}/?services_page={page}", **HX))
        seen += service_rows(body) if page > 2 else second
        if "Show more services" not in body:
            break
        page += 1
    assert page == SERVICES // 25 and sorted(seen) == sorted(set(seen)) and len(seen) == SERVICES
    # Without htmx the same parameter renders the whole page showing that part of the list.
    plain = text(viewer.get(f"/principals/{wide.pk}/?services_page=16"))
    assert "<html" in plain and "Services 376\u2013400 of 400" in plain and "Show more services" not in plain
    assert len(service_rows(plain)) == 25 and "Back to the first services" in plain


def test_findings_and_bad_page_numbers(client_as: Any, wide: Principal) -> None:
    viewer = client_as("viewer")
    fragment = text(viewer.get(f"/principals/{wide.pk}/?findings_page=2", **HX))
    assert fragment.count("granted but not used") == 5 and "Show more findings" not in fragment
    for bad in ("0", "-3", "abc", "99999999999"):
        body = text(viewer.get(f"/principals/{wide.pk}/?services_page={bad}"))
        assert len(service_rows(body)) == 25


def test_actions_of_one_service_a_page_at_a_time(client_as: Any, wide: Principal) -> None:
    viewer = client_as("viewer")
    fragment = text(viewer.get(f"/principals/{wide.pk}/services/ec2/", **HX))
    total = len(default_catalog().expand("ec2:*"))
    assert "<html" not in fragment and fragment.count("<li>") == 100
    assert f"Show more actions ({total - 100} left)" in fragment
    page = text(viewer.get(f"/principals/{wide.pk}/services/ec2/?page=2"))
    assert "<html" in page and f"Actions 101\u2013200 of {total}" in page
    assert viewer.get(f"/principals/{wide.pk}/services/not-a-service/").status_code == 404


def test_large_documents_load_when_opened(client_as: Any, wide: Principal) -> None:
    viewer = client_as("viewer")
    narrow = make_principal(wide.account, "narrow", ["s3"], findings=0)
    wide_doc = wide.inline_policies.get().document
    body = text(viewer.get(f"/principals/{wide.pk}/"))
    url = f"/principals/{wide.pk}/documents/{wide_doc.sha256}/"
    assert f'hx-get="{url}"' in body and "&quot;a4b:*&quot;" not in body
    fragment = text(viewer.get(url, **HX))
    assert "<html" not in fragment and "&quot;a4b:*&quot;" in fragment
    assert "<html" in text(viewer.get(url))
    # Only a document the principal depends on: another principal's is not found through it.
    narrow_doc = narrow.inline_policies.get().document
    assert viewer.get(f"/principals/{wide.pk}/documents/{narrow_doc.sha256}/").status_code == 404
    assert "&quot;s3:*&quot;" in text(viewer.get(f"/principals/{narrow.pk}/"))  # small: on the page


def test_page_work_does_not_grow_with_services(
    client_as: Any, wide: Principal, django_assert_max_num_queries: Any
) -> None:
    viewer = client_as("viewer")
    small = make_principal(wide.account, "narrow", _catalog_services(default_catalog())[:3], findings=2)
    counts = []
    for principal in (small, wide):
        with CaptureQueriesContext(connection) as page:
            text(viewer.get(f"/principals/{principal.pk}/"))
        counts.append(len(page.captured_queries))
        with django_assert_max_num_queries(12):
            text(viewer.get(f"/principals/{principal.pk}/?services_page=2", **HX))
    # No more queries for 400 services than for 3, and a bound on them (the page's own reads: the
    # principal, its layers, usage, evidence and its review window, keys, findings, history, the latest
    # change; the small principal's policies are short enough to be shown inline).
    assert counts[1] <= counts[0] <= 25, counts


def test_lists_are_scoped_to_visible_accounts(client_as: Any, users: dict[str, Any], wide: Principal) -> None:
    other = LinkedAccount.objects.create(account_id="999988887777", name="other")
    profile, _ = Profile.objects.get_or_create(user=users["reviewer"])
    profile.accounts.set([other])
    reviewer = client_as("reviewer")
    assert reviewer.get(f"/principals/{wide.pk}/?services_page=2", **HX).status_code == 404
    assert reviewer.get(f"/principals/{wide.pk}/services/ec2/", **HX).status_code == 404
    assert client_as("nobody").get(f"/principals/{wide.pk}/services/ec2/").status_code in (302, 403)
