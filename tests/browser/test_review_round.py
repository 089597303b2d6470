"""The flows a walkthrough found broken, in a browser: a dashboard figure opens a list of as many rows, a
skipped card stays skipped after a triage, the review is marked done half-way, a finding's page takes a
comment, drift downloads as CSV."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from core.models import AuditEvent
from findings.models import Comment, Finding, FindingStatus, Principal
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"


def test_review_round(live_server: Any, page: Any, users: dict[str, Any]) -> None:
    call_command(
        "import_gaad", str(FIXTURE), "--account", "111122223333", "--name", "prod", stdout=io.StringIO()
    )
    Principal.objects.filter(name="alice").update(risk_score=90)  # critical and high both count as high risk
    base = live_server.url
    login(page, base, "reviewer", PASSWORD)

    # 1. The high-risk figure opens a list of exactly that many principals.
    figure = page.locator("a.figure", has_text="high-risk principals")
    shown = int(figure.locator("strong").inner_text())
    assert shown == Principal.objects.filter(risk_score__gte=60).count() > 1
    figure.click()
    page.wait_for_url("**/principals/?band=*")
    assert page.locator("#principal-table tbody tr").count() == shown

    # 2. The weekly review: skip one, acknowledge the next, the skipped one does not come back.
    page.goto(f"{base}/findings/review/")
    first = int(page.locator("#review-card article").get_attribute("data-finding"))
    page.keyboard.press("n")
    page.locator(f"#review-card article:not([data-finding='{first}'])").wait_for()
    second = int(page.locator("#review-card article").get_attribute("data-finding"))
    page.keyboard.press("a")
    page.locator(f"#review-card article:not([data-finding='{second}'])").wait_for()
    third = int(page.locator("#review-card article").get_attribute("data-finding"))
    assert third not in (first, second)
    assert Finding.objects.get(pk=second).status == FindingStatus.ACKNOWLEDGED
    assert "1 skipped" in page.locator("#review-card header").inner_text()
    # ... and is finished half-way.
    page.click("#review-done")
    page.wait_for_url(f"{base}/")
    assert "left for later" in page.content()
    done = AuditEvent.objects.get(action="review.done")
    assert (
        done.after["skipped"] == [first]
        and done.after["triaged"] == [second]
        and done.after["left_count"] > 0
    )

    # 3. A finding's page: its history and a comment.
    page.goto(f"{base}/findings/?status=all")
    page.locator("#finding-table tbody tr").first.locator("td:nth-child(3) a").click()
    page.wait_for_url(re.compile(r".*/findings/\d+/$"))
    assert "first seen" in page.locator("#finding-history").inner_text()
    page.fill("#comment-body", "The platform team owns this role")
    page.click("#comment-submit")
    page.wait_for_selector("text=Comment added.")
    assert "The platform team owns this role" in page.locator("#finding-history").inner_text()
    assert Comment.objects.get().author_name == "reviewer"

    # 4. Drift as CSV: the first sync's principals are first seen, not added.
    page.goto(f"{base}/drift/")
    assert "Principals added (0)" in page.content()
    with page.expect_download() as download:
        page.click("#drift-csv")
    text = Path(download.value.path()).read_text()
    assert text.startswith("when,account_id,account,change,principal,detail") and ",first seen," in text
