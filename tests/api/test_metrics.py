"""/metrics: off until configured, then only for the bearer token or an allowed address; valid Prometheus
text computed from the database at scrape time (syncs, queue, findings, applies and rollbacks)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import LinkedAccount, SyncRun
from core.audit import audit_record
from findings.models import ChangeRequest, Finding, FindingStatus

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-" + "x" * 32


@pytest.fixture
def metrics_on(settings: Any) -> Any:
    settings.IAMREVIEW_METRICS_TOKEN = TOKEN
    settings.IAMREVIEW_METRICS_ALLOWED_ADDRESSES = []
    return settings


def scrape(
    client: Client | None = None, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}; fails unless the body is valid exposition text."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_off_until_configured_then_token_or_address_only(settings: Any) -> None:
    settings.IAMREVIEW_METRICS_TOKEN = ""
    settings.IAMREVIEW_METRICS_ALLOWED_ADDRESSES = []
    assert Client().get("/metrics").status_code == 404
    settings.IAMREVIEW_METRICS_TOKEN = TOKEN
    refused = Client().get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405

    import ipaddress

    settings.IAMREVIEW_METRICS_TOKEN = ""
    settings.IAMREVIEW_METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("10.0.0.0/8")]
    assert Client().get("/metrics").status_code == 401  # the test client is 127.0.0.1
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    settings.IAMREVIEW_METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("127.0.0.1/32")]
    assert Client().get("/metrics").status_code == 200


def test_a_user_session_or_api_token_is_not_a_metrics_token(
    metrics_on: Any, client_as: Any, api_as: Any
) -> None:
    assert client_as("admin").get("/metrics").status_code == 401
    assert api_as("admin").get("/metrics").status_code == 401


def test_sync_findings_and_change_figures_come_from_the_database(
    metrics_on: Any, imported: dict[str, LinkedAccount], pending_change: ChangeRequest
) -> None:
    prod = imported["prod"]
    SyncRun.objects.filter(account=prod).delete()  # the import's own run
    now = timezone.now()
    for seconds, status in ((30, "succeeded"), (90, "succeeded"), (5, "failed")):
        SyncRun.objects.create(
            account=prod,
            status=status,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    SyncRun.objects.create(account=prod, status="running", started_at=now)
    for action in ("change.apply", "change.apply", "change.apply_fail", "change.rollback_fail"):
        audit_record(
            actor=None, action=action, obj=pending_change, summary="test", account_id=prod.account_id
        )

    m = scrape()
    acct = prod.account_id
    assert m[("iamreview_sync_runs_total", (("account", acct), ("status", "succeeded")))] == 2
    assert m[("iamreview_sync_runs_total", (("account", acct), ("status", "failed")))] == 1
    assert m[("iamreview_sync_duration_seconds_count", (("account", acct), ("status", "succeeded")))] == 2
    assert m[
        ("iamreview_sync_duration_seconds_sum", (("account", acct), ("status", "succeeded")))
    ] == pytest.approx(120, abs=1)
    assert m[
        ("iamreview_sync_last_duration_seconds", (("account", acct), ("status", "failed")))
    ] == pytest.approx(5, abs=1)
    assert m[("iamreview_sync_last_success_timestamp_seconds", (("account", acct),))] == pytest.approx(
        now.timestamp(), abs=1
    )
    assert m[("iamreview_sync_runs_active", (("account", acct), ("status", "running")))] == 1
    assert m[("iamreview_sync_runs_active", (("account", acct), ("status", "queued")))] == 0

    for account in imported.values():
        live = Finding.objects.filter(
            account=account, status__in=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]
        )
        for severity in ("critical", "high", "medium", "low"):
            key = ("iamreview_findings_open", (("account", account.account_id), ("severity", severity)))
            assert m[key] == live.filter(severity=severity).count(), key
    assert sum(v for (name, _), v in m.items() if name == "iamreview_findings_open") > 0
    Finding.objects.filter(account=prod, severity="critical").update(status=FindingStatus.SUPPRESSED)
    assert scrape()[("iamreview_findings_open", (("account", acct), ("severity", "critical")))] == 0

    assert m[("iamreview_change_applies_total", (("outcome", "succeeded"),))] == 2
    assert m[("iamreview_change_applies_total", (("outcome", "failed"),))] == 1
    assert m[("iamreview_change_rollbacks_total", (("outcome", "succeeded"),))] == 0
    assert m[("iamreview_change_rollbacks_total", (("outcome", "failed"),))] == 1
    assert m[("iamreview_change_requests", (("status", "pending"),))] == 1


def test_queue_depth_is_read_from_the_redis_broker(metrics_on: Any) -> None:
    queue = f"metrics-test-{uuid.uuid4().hex}"
    metrics_on.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    try:
        broker.rpush(queue, "a", "b", "c")
        m = scrape()
        assert m[("iamreview_celery_queue_length", (("queue", queue),))] == 3
        assert m[("iamreview_celery_broker_up", ())] == 1
        broker.lpop(queue)
        assert scrape()[("iamreview_celery_queue_length", (("queue", queue),))] == 2
    finally:
        broker.delete(queue)
        broker.close()
    metrics_on.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    m = scrape()
    assert m[("iamreview_celery_broker_up", ())] == 0
    assert not any(name == "iamreview_celery_queue_length" for name, _ in m)


def test_a_scrape_costs_a_few_queries_whatever_the_data(
    metrics_on: Any, imported: dict[str, LinkedAccount], django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        SyncRun.objects.create(
            account=imported["prod"], status="failed", started_at=timezone.now(), finished_at=timezone.now()
        )
    with django_assert_max_num_queries(10):
        scrape()
