"""The dashboard's account-wide figures come from the cache, and a triage shows at once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import LinkedAccount
from findings import figures_cache, lifecycle
from findings.models import Finding, FindingStatus

pytestmark = pytest.mark.django_db
LIVE = [FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]


def _critical_on_dashboard(client: Any) -> int:
    return int(client.get("/").context["totals"]["by_severity"].get("critical", 0))


def _critical_in_db() -> int:
    return Finding.objects.filter(severity="critical", status__in=LIVE).count()


def test_figures_are_cached_and_a_triage_refreshes_them(
    client_as: Any,
    users: dict[str, Any],
    imported: dict[str, LinkedAccount],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.IAMREVIEW_FIGURES_CACHE_SECONDS = 60
    # A version no earlier test used, so nothing cached before counts. Never cache.clear(): in a shared
    # Redis that would flush other tests' (or a deployment's) queued Celery tasks.
    cache.set(figures_cache.VERSION_KEY, 10**9 + uuid.uuid4().int % 10**9, timeout=None)
    viewer = client_as("viewer")
    first = _critical_on_dashboard(viewer)
    assert first == _critical_in_db() >= 2

    # A write that bypasses the product (no version bump) is not seen: the figures are cached.
    one, other = Finding.objects.filter(severity="critical", status=FindingStatus.OPEN)[:2]
    Finding.objects.filter(pk=one.pk).update(status=FindingStatus.RESOLVED)
    assert _critical_on_dashboard(viewer) == first

    # A triage through the product bumps the version when it commits: the dashboard recounts.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.findings_suppress(
            actor=users["reviewer"],
            findings=[other],
            reason="accepted",
            until=timezone.now() + timedelta(days=3),
        )
    assert _critical_on_dashboard(viewer) == _critical_in_db() == first - 2

    # Paginated lists count through the cache too: the second view of a page does not count again.
    counted: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(Finding.objects.all()), "count", lambda self: counted.append(1) or 0)
        viewer.get("/principals/?sort=name")
        assert counted, "the first listing counted its rows"
        counted.clear()
        viewer.get("/principals/?sort=name")
    assert not counted, "the second listing took its row count from the cache"


class Down:
    def get(self, *a: Any, **k: Any) -> Any:
        raise ConnectionError("cache down")

    set = incr = get


def test_an_unreachable_cache_costs_time_not_pages(
    client_as: Any, imported: dict[str, LinkedAccount], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.IAMREVIEW_FIGURES_CACHE_SECONDS = 60
    monkeypatch.setattr(figures_cache, "cache", Down())
    viewer = client_as("viewer")
    assert _critical_on_dashboard(viewer) == _critical_in_db()
    assert viewer.get("/principals/").status_code == 200
    figures_cache.figures_changed()  # logs, does not raise
