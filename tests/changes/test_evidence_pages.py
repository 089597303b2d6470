"""The evidence on the pages: the suggestion's evidence record (source, window, last use, confidence,
"periodic?") and each principal's evidence age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client, override_settings
from django.utils import timezone

import fakeaws
from accounts.models import SyncRun
from findings.ingest import sync_run_execute
from findings.models import Principal
from tests.changes.flow import suggest


def test_suggestion_page_shows_the_evidence_record_and_flags_periodic_use(world: Any) -> None:
    app = Principal.objects.get(name="app")
    long_ago = timezone.now() - timedelta(days=200)
    fakeaws.record_usage(app.arn, "lambda", long_ago, actions={"DeleteFunction": long_ago})
    run = SyncRun.objects.create(account=world["account"])
    with override_settings(IAMREVIEW_POLL_MS=20, IAMREVIEW_BUILD_SUGGESTIONS=False):
        assert sync_run_execute(run_id=run.pk).status == "succeeded"  # type: ignore[union-attr]
    suggestion = suggest("app")
    viewer = Client()
    viewer.force_login(world["viewer"])
    page = viewer.get(f"/suggestions/{suggestion.pk}/").content.decode()
    assert 'id="evidence-record"' in page and "the last 90 days" in page
    # Used 200 days ago, outside the 90-day window: whether removed or kept, the reviewer sees it may be
    # a periodic job.
    assert "used 200 days ago — periodic?" in page or "used 199 days ago — periodic?" in page
    assert "Access Advisor (action level)" in page and "Kept because used" in page
    principal_page = viewer.get(f"/principals/{app.pk}/").content.decode()
    assert 'id="evidence"' in principal_page and "Access Advisor</dt><dd>collected" in principal_page
    assert "CloudTrail policy generation</dt><dd>not configured" in principal_page
