"""Every page at 1280 px and 1920 px wide: nothing overflows sideways, checkboxes are boxes (not 2 px bars),
the bulk-action bar takes at most two rows, the current Keys tab is marked, the digest checkbox does not
cover its help text, and MFA "no" is red only for users who can sign in to the console.

IAMREVIEW_LAYOUT_SHOTS=<folder> keeps a screenshot of every page at both widths there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from fakeaws.scenario import seed_account
from findings import suggestions
from findings.ingest import sync_run_execute
from findings.models import Finding, Principal
from tests.browser.conftest import login
from tests.conftest import PASSWORD
from tests.scenarios import ACCOUNT, small_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1280, 1920)


def _pages(account: LinkedAccount) -> list[str]:
    user = Principal.objects.get(name="old-admin")
    role = Principal.objects.get(name="app")
    finding = Finding.objects.filter(principal=user).order_by("severity_rank").first()
    suggestion = role.suggestions.first()
    run = SyncRun.objects.filter(account=account).first()
    return [
        "/",
        "/principals/",
        f"/principals/{user.pk}/",
        f"/principals/{role.pk}/",
        "/findings/",
        f"/findings/{finding.pk}/",
        "/findings/review/",
        "/keys/",
        "/keys/?state=old",
        "/changes/",
        f"/suggestions/{suggestion.pk}/",
        "/trends/",
        "/drift/",
        "/settings/",
        "/audit/",
        "/accounts/",
        f"/accounts/{account.pk}/",
        f"/accounts/runs/{run.pk}/",
        "/accounts/link/",
    ]


OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
SMALL_BOXES = """() => [...document.querySelectorAll('input[type=checkbox]')]
  .filter(b => b.offsetParent !== null)
  .map(b => b.getBoundingClientRect())
  .filter(r => r.width < 12 || r.height < 12)
  .map(r => `${r.width}x${r.height}`)"""


def test_every_page_at_two_widths(
    live_server: Any, browser: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    shots = Path(os.environ.get("IAMREVIEW_LAYOUT_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with fakeaws.mock():
        spec = small_company()
        # A user with an access key and no console password: MFA does not apply to it.
        spec["users"].append(
            {"name": "svc-bot", "created_days": 400, "keys": [{"age_days": 200, "last_used_days": 3}]}
        )
        seed_account(ACCOUNT, spec)
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )
        with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
            sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        suggestions.suggestion_build(principal=Principal.objects.get(name="app"))
    pages = _pages(account)
    problems: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 1000})
        page = context.new_page()
        login(page, live_server.url, "admin", PASSWORD)
        for path in pages:
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "dashboard"
            page.screenshot(
                path=str(shots / f"{width}-{name}.png"),
                full_page=bool(os.environ.get("IAMREVIEW_LAYOUT_FULL")),
            )
            if (overflow := page.evaluate(OVERFLOW)) > 0:
                problems.append(f"{width}px {path}: {overflow}px wider than the window")
            if small := page.evaluate(SMALL_BOXES):
                problems.append(f"{width}px {path}: checkboxes drawn as {small}")
        page.goto(live_server.url + "/findings/")
        bar, button = page.locator("#bulk-actions"), page.locator("#bulk-actions button").first
        rows = bar.bounding_box()["height"] / button.bounding_box()["height"]
        if rows > 2.6:
            problems.append(f"{width}px: the bulk-action bar takes {rows:.1f} button heights")
        page.goto(live_server.url + "/keys/?state=old")
        current = page.locator(".tab-links a[aria-current=page]")
        assert current.inner_text().startswith("Older than")
        weight = current.evaluate("a => getComputedStyle(a).fontWeight")
        assert int(weight) >= 700, f"the current Keys tab is not marked ({weight})"
        page.goto(live_server.url + "/keys/")
        mfa = {
            row.locator("td").nth(1).locator("a").inner_text(): row.locator("td.mfa")
            for row in page.locator("#key-table tbody tr").all()
        }
        assert mfa["old-admin"].locator(".sev-high").count() == 1  # console password, no MFA: red
        assert (
            mfa["svc-bot"].locator(".sev-high").count() == 0
            and "no console password" in mfa["svc-bot"].inner_text()
        )
        page.goto(live_server.url + "/settings/")
        box = page.locator("#field-digest_all_clear label").bounding_box()
        help_box = page.locator("#field-digest_all_clear small.help").bounding_box()
        assert help_box["y"] >= box["y"] + box["height"] - 1, "the all-clear help text overlaps its checkbox"
        context.close()
    assert not problems, "\n".join(problems)
