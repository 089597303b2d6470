"""The weekly review in a real browser: log in, filter principals, open one, suppress a finding."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from findings.models import Finding, FindingStatus
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"


def test_review_flow(live_server: Any, page: Any, users: dict[str, Any], tmp_path: Path) -> None:
    call_command(
        "import_gaad",
        str(FIXTURE),
        "--account",
        "111122223333",
        "--name",
        "prod",
        stdout=io.StringIO(),
    )
    base = live_server.url
    login(page, base, "reviewer", PASSWORD)
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert screenshot(page, "dashboard", tmp_path).stat().st_size > 10_000

    page.click("nav >> text=Principals")
    page.select_option("select[name=type]", "user")
    page.wait_for_url("**/principals/?*type=user*")  # hx-push-url keeps a real URL
    rows = page.locator("#principal-table tbody tr")
    rows.first.wait_for()
    names = page.locator("#principal-table tbody tr td:nth-child(2) a").all_inner_texts()
    assert sorted(names) == ["alice", "bob"]

    page.click("#principal-table >> text=alice")
    page.wait_for_url("**/principals/*/")
    assert "iam-007" in page.content()
    assert screenshot(page, "principal", tmp_path).stat().st_size > 10_000

    page.click("nav >> text=Findings")
    page.locator("input[name=q]").press_sequentially("alice")
    page.wait_for_url("**/findings/?*q=alice*")
    page.locator("#finding-table input[name=finding]").first.check()
    page.fill("input[name=reason]", "reviewed with the owner")
    page.click("button[value=suppress]")
    page.wait_for_selector("text=Suppressed 1 finding(s)")
    assert (
        Finding.objects.filter(principal_arn__endswith="/alice", status=FindingStatus.SUPPRESSED).count() == 1
    )
