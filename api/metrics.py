"""/metrics in Prometheus's text format, computed from the database at scrape time (a few grouped
queries, no per-row work): syncs per account, the Celery queue, open findings, applies and rollbacks.

Off (404) unless IAMREVIEW_METRICS_TOKEN (sent as `Authorization: Bearer …`) or
IAMREVIEW_METRICS_ALLOWED_ADDRESSES (addresses or networks) is set; anything else answers 401/403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, OuterRef, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from accounts.models import ACTIVE_SYNC_STATUSES, FINISHED_SYNC_STATUSES, LinkedAccount, SyncRun
from core.client import client_address
from core.models import AuditEvent
from findings.models import ChangeRequest, Finding, FindingStatus
from policy.kinds import SEVERITY_IDS

logger = logging.getLogger(__name__)

# The audit actions that end an apply or a rollback, and the outcome each stands for.
CHANGE_OUTCOMES = {
    "change.apply": ("applies", "succeeded"),
    "change.apply_fail": ("applies", "failed"),
    "change.rollback": ("rollbacks", "succeeded"),
    "change.rollback_fail": ("rollbacks", "failed"),
}
OPEN_STATUSES = (FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED)


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


def sync_metrics(accounts: dict[int, str]) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "iamreview_sync_runs", "Finished sync runs by account and outcome", labels=["account", "status"]
    )
    durations = SummaryMetricFamily(
        "iamreview_sync_duration_seconds",
        "Time from a worker claiming a sync run to its end, by account and outcome",
        labels=["account", "status"],
    )
    last_success = GaugeMetricFamily(
        "iamreview_sync_last_success_timestamp_seconds",
        "When the account's newest successful sync ended (Unix time)",
        labels=["account"],
    )
    finished = (
        SyncRun.objects.filter(status__in=FINISHED_SYNC_STATUSES)
        .values("account_id", "status")
        .annotate(
            n=Count("*"),
            timed=Count("id", filter=Q(started_at__isnull=False, finished_at__isnull=False)),
            seconds=Sum(_duration(), filter=Q(started_at__isnull=False, finished_at__isnull=False)),
            last=Max("finished_at"),
        )
    )
    for row in finished:
        account = accounts.get(row["account_id"], "")
        runs.add_metric([account, row["status"]], row["n"])
        seconds = row["seconds"].total_seconds() if row["seconds"] is not None else 0.0
        durations.add_metric([account, row["status"]], row["timed"], seconds)
        if row["status"] == "succeeded" and row["last"] is not None:
            last_success.add_metric([account], row["last"].timestamp())
    yield from (runs, durations, last_success)

    last = GaugeMetricFamily(
        "iamreview_sync_last_duration_seconds",
        "Duration of the account's newest finished sync run",
        labels=["account", "status"],
    )
    newest = (
        SyncRun.objects.filter(account=OuterRef("pk"), status__in=FINISHED_SYNC_STATUSES)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    for run in SyncRun.objects.filter(
        pk__in=Subquery(LinkedAccount.objects.annotate(run=Subquery(newest)).values("run"))
    ).only("account_id", "status", "started_at", "finished_at"):
        if run.duration_seconds is not None:
            last.add_metric([accounts.get(run.account_id, ""), run.status], run.duration_seconds)
    yield last

    active = GaugeMetricFamily(
        "iamreview_sync_runs_active", "Sync runs queued or running, by account", labels=["account", "status"]
    )
    counts = {
        (r["account_id"], r["status"]): r["n"]
        for r in SyncRun.objects.filter(status__in=ACTIVE_SYNC_STATUSES)
        .values("account_id", "status")
        .annotate(n=Count("*"))
    }
    for pk, account in accounts.items():
        for status in ACTIVE_SYNC_STATUSES:
            active.add_metric([account, str(status)], counts.get((pk, status), 0))
    yield active


def finding_metrics(accounts: dict[int, str]) -> Iterator[Metric]:
    open_findings = GaugeMetricFamily(
        "iamreview_findings_open",
        "Open and acknowledged findings (not suppressed, not resolved), by account and severity",
        labels=["account", "severity"],
    )
    counts = {
        (r["account_id"], r["severity"]): r["n"]
        for r in Finding.objects.filter(status__in=OPEN_STATUSES)
        .values("account_id", "severity")
        .annotate(n=Count("*"))
    }
    for pk, account in accounts.items():
        for severity in SEVERITY_IDS:
            open_findings.add_metric([account, severity], counts.get((pk, severity), 0))
    yield open_findings


def change_metrics() -> Iterator[Metric]:
    families = {
        "applies": CounterMetricFamily(
            "iamreview_change_applies",
            "Applies of change requests that ended, by outcome",
            labels=["outcome"],
        ),
        "rollbacks": CounterMetricFamily(
            "iamreview_change_rollbacks",
            "Rollbacks of change requests that ended, by outcome",
            labels=["outcome"],
        ),
    }
    counts = dict(
        AuditEvent.objects.filter(object_type="ChangeRequest", action__in=list(CHANGE_OUTCOMES))
        .order_by()
        .values("action")
        .annotate(n=Count("*"))
        .values_list("action", "n")
    )
    for action, (family, outcome) in CHANGE_OUTCOMES.items():
        families[family].add_metric([outcome], counts.get(action, 0))
    yield from families.values()
    requests = GaugeMetricFamily("iamreview_change_requests", "Change requests by status", labels=["status"])
    by_status = dict(
        ChangeRequest.objects.order_by().values("status").annotate(n=Count("*")).values_list("status", "n")
    )
    for status in ChangeRequest._meta.get_field("status").choices or []:
        requests.add_metric([status[0]], by_status.get(status[0], 0))
    yield requests


def queue_metrics() -> Iterator[Metric]:
    """The length of each Celery queue in Redis; iamreview_celery_broker_up 0 when they cannot be read."""
    queues = sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *(q.name for q in settings.CELERY_TASK_QUEUES)})
    up = GaugeMetricFamily("iamreview_celery_broker_up", "1 when the broker's queue lengths could be read")
    length = GaugeMetricFamily(
        "iamreview_celery_queue_length", "Tasks waiting in the queue", labels=["queue"]
    )
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        up.add_metric([], 0)
        yield up
        return
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                pipe.llen(queue)
            for queue, waiting in zip(queues, pipe.execute(), strict=True):
                length.add_metric([queue], waiting)
        finally:
            client.close()
    except redis.RedisError as exc:
        logger.warning("metrics: the broker's queue lengths could not be read: %s", type(exc).__name__)
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield from (up, length)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        accounts = dict(LinkedAccount.objects.values_list("pk", "account_id"))
        yield from sync_metrics(accounts)
        yield from finding_metrics(accounts)
        yield from change_metrics()
        yield from queue_metrics()
        yield GaugeMetricFamily(
            "iamreview_metrics_scrape_seconds",
            "Time this scrape took to compute",
            value=time.monotonic() - started,
        )


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token: str = settings.IAMREVIEW_METRICS_TOKEN
    networks: list[Any] = settings.IAMREVIEW_METRICS_ALLOWED_ADDRESSES
    if not token and not networks:
        return HttpResponse(
            "Metrics are off: set IAMREVIEW_METRICS_TOKEN.", status=404, content_type="text/plain"
        )
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    address = client_address(request)
    if networks and address and any(ipaddress.ip_address(address) in net for net in networks):
        return None
    response = HttpResponse(
        "A metrics token or an allowed address is needed.", status=401, content_type="text/plain"
    )
    if token:
        response["WWW-Authenticate"] = 'Bearer realm="iamreview metrics"'
    return response


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
