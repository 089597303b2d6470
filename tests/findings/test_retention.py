"""Retention: history older than the cut is pruned or rolled up, what is young or still referenced is kept,
the trends are unchanged, the run leaves figures in the audit log, and a second run removes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun
from core.models import AuditEvent
from findings.models import (
    ChangeRequest,
    DailyMetric,
    InlinePolicy,
    OrganizationSnapshot,
    PolicyDocument,
    Principal,
    ScoreHistory,
    SnapshotChange,
    Suggestion,
)
from findings.retention import retention_prune
from findings.snapshot import document_hash

DAYS = 30


def doc(action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


def stored(action: str, age_days: int) -> PolicyDocument:
    document = doc(action)
    row = PolicyDocument.objects.create(sha256=document_hash(document), document=document, size=10)
    PolicyDocument.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return row


def aged(model: Any, row: Any, field: str, days: float) -> None:
    model.objects.filter(pk=row.pk).update(**{field: timezone.now() - timedelta(days=days)})


@pytest.fixture
def history(users: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    account = LinkedAccount.objects.create(account_id="121212121212", name="history")
    principal = Principal.objects.create(
        account=account, arn="arn:aws:iam::121212121212:role/app", kind="role", name="app"
    )
    # Scores: three a day 100 and 60 days ago (old: rolled up to the day's last), three 5 days ago (kept).
    for days, scores in ((100, [10, 20, 30]), (60, [40, 50, 60]), (5, [70, 80, 90])):
        day = (now - timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
        for n, score in enumerate(scores):
            ScoreHistory.objects.create(
                principal=principal, recorded_at=day + timedelta(hours=n), score=score
            )
    # Daily metrics, the trends page's roll-up: one a day for 90 days.
    for d in range(90):
        DailyMetric.objects.create(
            account=account, date=timezone.localdate() - timedelta(days=d), principals=10, admins=d % 4
        )
    # Sync runs: the first sync (old: the drift baseline), old ones, the newest success (old, every later
    # run failed), an old failure and a young one (the newest run).
    first = SyncRun.objects.create(account=account, status="succeeded", counts={"first_sync": True})
    old = [
        SyncRun.objects.create(account=account, status="succeeded", counts={"principals": 1})
        for _ in range(3)
    ]
    newest_success = SyncRun.objects.create(account=account, status="succeeded")
    old.append(SyncRun.objects.create(account=account, status="failed"))
    for run in (first, *old, newest_success):
        aged(SyncRun, run, "created_at", 200)
    young_run = SyncRun.objects.create(account=account, status="failed")
    aged(SyncRun, young_run, "created_at", 2)
    # Documents: one in use, orphans old and young, one a change request was made from, one named by a
    # young snapshot change, one named only by an old one.
    in_use = stored("s3:GetObject", 500)
    InlinePolicy.objects.create(principal=principal, name="in-use", document=in_use)
    orphan_old = stored("sqs:SendMessage", 500)
    orphan_young = stored("sns:Publish", 3)
    before_of_change = stored("iam:PassRole", 500)
    named_by_young_change = stored("kms:Decrypt", 500)
    named_by_old_change = stored("ec2:RunInstances", 500)
    change_old = SnapshotChange.objects.create(
        account=account,
        kind=SnapshotChange.Kind.POLICY_CHANGED,
        principal_arn=principal.arn,
        detail={"policies": {"before": {"inline:x": named_by_old_change.sha256}, "after": {}}},
    )
    aged(SnapshotChange, change_old, "created_at", 90)
    change_young = SnapshotChange.objects.create(
        account=account,
        kind=SnapshotChange.Kind.POLICY_CHANGED,
        principal_arn=principal.arn,
        detail={"policies": {"before": {"inline:y": named_by_young_change.sha256}, "after": {}}},
    )
    aged(SnapshotChange, change_young, "created_at", 1)
    # Suggestions: stale and old (removed), stale and old but a change request was made from it (kept).
    stale_old = Suggestion.objects.create(principal=principal, basis_hash="a", stale=True)
    stale_requested = Suggestion.objects.create(principal=principal, basis_hash="b", stale=True)
    for s in (stale_old, stale_requested):
        aged(Suggestion, s, "created_at", 120)
    change_request = ChangeRequest.objects.create(
        account=account,
        principal=principal,
        principal_arn=principal.arn,
        principal_kind="role",
        principal_name="app",
        suggestion=stale_requested,
        requested_by=users["reviewer"],
        reason="tighten",
        items=[
            {
                "kind": "inline",
                "name": "before",
                "original": before_of_change.document,
                "proposed": [doc("iam:GetRole")],
            }
        ],
        expires_at=now + timedelta(days=7),
        status="applied",
    )
    aged(ChangeRequest, change_request, "created_at", 300)
    # Organisation snapshots of a management account: two old ones, the newer kept.
    orgs = [
        OrganizationSnapshot.objects.create(
            account=account,
            organization_id="o-1",
            management_account_id="121212121212",
            digest=str(n),
            collected_at=now - timedelta(days=100 - n),
        )
        for n in range(2)
    ]
    return {
        "account": account,
        "principal": principal,
        "runs": {"first": first, "old": old, "newest_success": newest_success},
        "young_run": young_run,
        "docs": {
            "in_use": in_use,
            "orphan_old": orphan_old,
            "orphan_young": orphan_young,
            "before_of_change": before_of_change,
            "named_by_young_change": named_by_young_change,
            "named_by_old_change": named_by_old_change,
        },
        "changes": {"old": change_old, "young": change_young},
        "suggestions": {"old": stale_old, "requested": stale_requested},
        "change_request": change_request,
        "orgs": orgs,
    }


def exists(row: Any) -> bool:
    return bool(type(row).objects.filter(pk=row.pk).exists())


def test_old_rows_go_young_and_referenced_ones_stay(history: dict[str, Any], client_as: Any) -> None:
    viewer = client_as("viewer")
    trends_before = {
        c: viewer.get(f"/trends/data.csv?chart={c}&days=90").getvalue() for c in ("admins", "risk")
    }
    principal = history["principal"]

    figures = retention_prune(days=DAYS, batch=2)  # a small batch: several batches per table

    # Score history: the old days rolled up to their last score, the young day whole.
    assert sorted(ScoreHistory.objects.filter(principal=principal).values_list("score", flat=True)) == [
        30,
        60,
        70,
        80,
        90,
    ]
    # Sync runs: the baseline, the newest success and the newest run stay; the other old ones go.
    runs = history["runs"]
    assert exists(runs["first"]) and exists(runs["newest_success"])
    assert not any(exists(r) for r in runs["old"]) and exists(history["young_run"])
    # Drift history beyond the cut goes; documents nothing current names go with it.
    assert not exists(history["changes"]["old"]) and exists(history["changes"]["young"])
    docs = history["docs"]
    assert not exists(docs["orphan_old"]) and not exists(docs["named_by_old_change"])
    for kept in ("in_use", "orphan_young", "before_of_change", "named_by_young_change"):
        assert exists(docs[kept]), kept
    # The change request, its before and after, and the suggestion it was made from survive.
    change = ChangeRequest.objects.get(pk=history["change_request"].pk)
    assert change.items[0]["original"] == docs["before_of_change"].document
    assert exists(history["suggestions"]["requested"]) and not exists(history["suggestions"]["old"])
    assert [exists(o) for o in history["orgs"]] == [False, True]

    assert figures["deleted"] == {
        "score_history": 4,
        "snapshot_changes": 1,
        "sync_runs": 4,
        "organization_snapshots": 1,
        "suggestions": 1,
        "policy_documents": 2,
    }
    event = AuditEvent.objects.filter(action="retention.prune").latest("id")
    assert event.after["deleted"] == figures["deleted"] and "4 score history" in event.summary
    # The trends page draws the same figures from its daily roll-up.
    for chart, body in trends_before.items():
        assert viewer.get(f"/trends/data.csv?chart={chart}&days=90").getvalue() == body
    # The principal page still draws its chart: a point for each old day and each young score.
    page = viewer.get(f"/principals/{principal.pk}/").content.decode()
    assert '"scores": [30, 60, 70, 80, 90]' in page


def test_second_run_removes_nothing(history: dict[str, Any], client_as: Any) -> None:
    retention_prune(days=DAYS, batch=2)
    again = retention_prune(days=DAYS, batch=2)
    assert set(again["deleted"].values()) == {0}
    assert AuditEvent.objects.filter(action="retention.prune").count() == 2
    # Admins read each run's figures in the audit log.
    page = client_as("admin").get("/audit/?action=retention").content.decode()
    assert page.count("Retention (30 days") == 2 and "4 score history" in page


def test_nothing_younger_than_the_setting_goes(history: dict[str, Any], settings: Any) -> None:
    """The default (400 days, the setting) leaves this history alone, all but the 500-day-old orphan
    document; the other old documents are still named by a snapshot change younger than 400 days."""
    assert settings.IAMREVIEW_RETENTION_DAYS >= 400
    figures = retention_prune()
    assert {k: v for k, v in figures["deleted"].items() if v} == {"policy_documents": 1}
    assert not exists(history["docs"]["orphan_old"]) and exists(history["docs"]["named_by_old_change"])
    assert ScoreHistory.objects.count() == 9 and SyncRun.objects.count() == 7


def test_beat_runs_the_prune_daily() -> None:
    from iamreview.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "findings.tasks.retention_prune"]
    assert len(entries) == 1
    app.loader.import_default_modules()
    assert "findings.tasks.retention_prune" in app.tasks
