"""Retention: history older than `IAMREVIEW_RETENTION_DAYS` is pruned or rolled up, a batch at a time.

What each table keeps (everything younger than the cut is kept whole):
- score history: one row per principal per day (the day's last score), so the principal page's chart
  still draws every day it drew before;
- daily metrics: kept; they are the roll-up the trends page draws (one row per account per day);
- snapshot changes (the drift history): removed beyond the cut;
- sync runs: finished runs removed, except each account's newest run, its newest successful one and its
  first sync (the drift page's baseline, and how a sync knows it is not the first);
- organisation snapshots: removed, except each management account's newest;
- stale suggestions: removed unless a change request was made from them;
- policy documents: removed when nothing current references them: no managed policy, inline policy or
  trust policy, no kept snapshot change, and no change request's before or after document.
- last-accessed rows: only the newest reading of each current principal is stored (a sync replaces them,
  and they go with their principal), so there is no older history to prune; a principal's rows are never
  removed, however old, because they are its only evidence of use.
The audit log is never pruned.

Each batch is its own short transaction, so no table is locked for long; a run that stops half-way is
finished by the next one, and a second run finds nothing to do. A document unreferenced for the whole
retention period that a sync stores again at the very moment it is pruned fails that sync's commit (its
reference arrives after the delete); the sync is retried at its next turn with its previous snapshot intact.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Model, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from accounts.models import SyncRun, SyncStatus
from core.audit import audit_record
from findings.models import (
    ChangeRequest,
    InlinePolicy,
    ManagedPolicy,
    OrganizationSnapshot,
    PolicyDocument,
    Principal,
    ScoreHistory,
    SnapshotChange,
    Suggestion,
)
from findings.snapshot import document_hash

logger = logging.getLogger(__name__)


class RetentionPrune:
    """What the audit record of a prune is about: the retention policy itself, not one row."""

    pk = "retention"

    def __str__(self) -> str:
        return "retention"


def _delete_in_batches(queryset: QuerySet[Any], batch: int) -> int:
    """Delete the rows of `queryset` `batch` at a time, each batch in its own transaction; the number of
    rows of the queryset's model deleted (rows cascaded or set null elsewhere are not counted)."""
    model: type[Model] = queryset.model
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            _, per_model = model.objects.filter(pk__in=ids).delete()
        total += per_model.get(model._meta.label, 0)
        if len(ids) < batch:
            return total


PRINCIPALS_PER_PASS = 500


def score_history_rollup(*, cutoff: datetime, batch: int) -> int:
    """Beyond the cut, keep each principal's last score of each day; the number of rows removed. Ranked a
    few hundred principals at a time, so no pass reads the whole history."""
    day = TruncDate("recorded_at")
    old = ScoreHistory.objects.filter(recorded_at__lt=cutoff)
    whose = list(old.order_by("principal_id").values_list("principal_id", flat=True).distinct())
    deleted = 0
    for n in range(0, len(whose), PRINCIPALS_PER_PASS):
        extra = list(
            old.filter(principal_id__in=whose[n : n + PRINCIPALS_PER_PASS])
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("principal_id"), day],
                    order_by=[F("recorded_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__gt=1)
            .values_list("pk", flat=True)
        )
        for i in range(0, len(extra), batch):
            with transaction.atomic():
                deleted += ScoreHistory.objects.filter(pk__in=extra[i : i + batch]).delete()[0]
    return deleted


def _sync_runs_to_keep() -> Q:
    newest = SyncRun.objects.values("account_id").annotate(pk=Max("pk")).values("pk")
    newest_success = (
        SyncRun.objects.filter(status=SyncStatus.SUCCEEDED)
        .values("account_id")
        .annotate(pk=Max("pk"))
        .values("pk")
    )
    # By key, not `counts__first_sync=True` in an exclude: runs without the key would compare NULL.
    first_syncs = SyncRun.objects.filter(counts__first_sync=True).values("pk")
    return Q(pk__in=newest) | Q(pk__in=newest_success) | Q(pk__in=first_syncs)


def _documents_referenced(cutoff: datetime) -> set[str]:
    """Hashes of documents kept rows name by hash: snapshot changes younger than the cut and every change
    request's before and after documents (stored in the request itself, kept here too so a document the
    request was made from can still be shown side by side)."""
    hashes: set[str] = set()
    for detail in SnapshotChange.objects.filter(
        created_at__gte=cutoff, kind=SnapshotChange.Kind.POLICY_CHANGED
    ).values_list("detail", flat=True):
        for side in ((detail or {}).get("policies") or {}).values():
            hashes.update(h for h in (side or {}).values() if h)
    for lists in ChangeRequest.objects.values_list("items", "previous", "steps").iterator():
        for item in [entry for entries in lists if isinstance(entries, list) for entry in entries]:
            if not isinstance(item, dict):
                continue
            for key in ("original", "document", "previous"):
                if isinstance(item.get(key), dict):
                    hashes.add(document_hash(item[key]))
            for doc in item.get("proposed") or []:
                if isinstance(doc, dict):
                    hashes.add(document_hash(doc))
    return hashes


def _unreferenced(documents: QuerySet[PolicyDocument]) -> QuerySet[PolicyDocument]:
    """Documents no managed policy, inline policy or trust policy points at."""
    return (
        documents.exclude(pk__in=ManagedPolicy.objects.filter(document__isnull=False).values("document_id"))
        .exclude(pk__in=InlinePolicy.objects.values("document_id"))
        .exclude(pk__in=Principal.objects.filter(trust_document__isnull=False).values("trust_document_id"))
    )


def policy_documents_prune(*, cutoff: datetime, batch: int) -> int:
    """Old documents nothing current or kept names. Hashes named by kept rows are checked in Python, a
    batch at a time (a list of them in the query could outgrow PostgreSQL's parameter limit), and the
    references are checked again in the deleting statement, for a sync that stored one meanwhile."""
    referenced = _documents_referenced(cutoff)
    candidates = _unreferenced(PolicyDocument.objects.filter(created_at__lt=cutoff)).order_by("pk")
    deleted, after = 0, 0
    while True:
        rows = list(candidates.filter(pk__gt=after).values_list("pk", "sha256")[:batch])
        if not rows:
            return deleted
        after = rows[-1][0]
        ids = [pk for pk, digest in rows if digest not in referenced]
        if ids:
            with transaction.atomic():
                _, per_model = _unreferenced(PolicyDocument.objects.filter(pk__in=ids)).delete()
            deleted += per_model.get(PolicyDocument._meta.label, 0)


def retention_prune(
    *, days: int | None = None, batch: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Prune and roll up history older than `days` (default: the setting); the figures of the run, also
    logged and written to the audit log."""
    days = settings.IAMREVIEW_RETENTION_DAYS if days is None else days
    batch = settings.IAMREVIEW_RETENTION_BATCH if batch is None else batch
    if days < 1 or batch < 1:
        raise ValueError("retention days and batch size must be positive")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    started = time.monotonic()
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def step(name: str, queryset: QuerySet[Any] | None = None, work: Any = None) -> None:
        t = time.monotonic()
        rows[name] = work() if work is not None else _delete_in_batches(queryset, batch)  # type: ignore[arg-type]
        seconds[name] = round(time.monotonic() - t, 3)

    step("score_history", work=lambda: score_history_rollup(cutoff=cutoff, batch=batch))
    step("snapshot_changes", SnapshotChange.objects.filter(created_at__lt=cutoff).order_by("pk"))
    step(
        "sync_runs",
        SyncRun.objects.filter(created_at__lt=cutoff, status__in=[SyncStatus.SUCCEEDED, SyncStatus.FAILED])
        .exclude(_sync_runs_to_keep())
        .order_by("pk"),
    )
    newest_org = OrganizationSnapshot.objects.values("account_id").annotate(pk=Max("pk")).values("pk")
    step(
        "organization_snapshots",
        OrganizationSnapshot.objects.filter(collected_at__lt=cutoff)
        .exclude(pk__in=newest_org)
        .order_by("pk"),
    )
    step(
        "suggestions",
        Suggestion.objects.filter(stale=True, created_at__lt=cutoff)
        .exclude(pk__in=ChangeRequest.objects.filter(suggestion__isnull=False).values("suggestion_id"))
        .order_by("pk"),
    )
    # Last: the rows removed above may have been the last to name a document.
    step("policy_documents", work=lambda: policy_documents_prune(cutoff=cutoff, batch=batch))
    figures = {
        "cutoff": cutoff.isoformat(),
        "days": days,
        "deleted": rows,
        "seconds": seconds,
        "total_seconds": round(time.monotonic() - started, 3),
    }
    summary = (
        f"Retention ({days} days, before {cutoff:%Y-%m-%d}): "
        + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in rows.items())
        + f" removed in {figures['total_seconds']:.1f} s"
    )
    logger.info("%s", summary, extra={"retention": figures})
    audit_record(actor=None, action="retention.prune", obj=RetentionPrune(), summary=summary, after=figures)
    return figures
