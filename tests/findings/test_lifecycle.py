"""Findings over successive syncs: appear, persist, resolve, reopen; triage; suppression rules and expiry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from core.models import AuditEvent
from fakeaws.scenario import account_clients, seed_account
from findings.ingest import sync_run_execute
from findings.lifecycle import (
    findings_acknowledge,
    findings_assign,
    findings_suppress,
    suppression_rule_create,
    suppressions_expire,
)
from findings.models import DailyMetric, Finding, FindingStatus, Principal
from tests.scenarios import ACCOUNT, small_company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account() -> Any:
    with fakeaws.mock():
        seed_account(ACCOUNT, small_company())
        yield LinkedAccount.objects.create(
            account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )


def sync(account: LinkedAccount) -> SyncRun:
    run = SyncRun.objects.create(account=account)
    with override_settings(IAMREVIEW_POLL_MS=20):
        done = sync_run_execute(run_id=run.pk)
    assert done is not None and done.status == SyncStatus.SUCCEEDED, done.error if done else ""
    return done


def finding(kind: str, name: str, subject: str | None = None) -> Finding:
    qs = Finding.objects.filter(kind=kind, principal_arn__endswith=f"/{name}")
    if subject is not None:
        qs = qs.filter(subject=subject)
    return qs.get()


def test_finding_appears_persists_resolves_and_reopens(account: LinkedAccount) -> None:
    sync(account)
    escalation = finding("privilege-escalation", "escalator")
    assert escalation.status == FindingStatus.OPEN and escalation.data["paths"][0]["path_id"] == "iam-007"
    first_seen = escalation.first_seen

    again = sync(account)
    escalation.refresh_from_db()
    assert escalation.status == FindingStatus.OPEN and escalation.first_seen == first_seen
    # Nothing moved the same day: the sync writes no finding, so last_seen is that of the last sync whose
    # inputs changed (at least one a day: the day is an input).
    assert again.counts["unchanged"] is True and escalation.last_seen == first_seen

    iam = account_clients(ACCOUNT)["iam"]
    iam.delete_user_policy(UserName="escalator", PolicyName="self")
    sync(account)
    escalation.refresh_from_db()
    assert escalation.status == FindingStatus.RESOLVED and escalation.resolved_at is not None

    iam.put_user_policy(
        UserName="escalator",
        PolicyName="self",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}],
            }
        ),
    )
    sync(account)
    escalation.refresh_from_db()
    assert escalation.status == FindingStatus.OPEN and escalation.reopened_count == 1
    assert escalation.first_seen == first_seen and escalation.last_seen > first_seen
    assert AuditEvent.objects.filter(action="finding.reopen", object_id=str(escalation.pk)).exists()
    assert AuditEvent.objects.filter(action="finding.resolve").exists()


def test_unused_and_credential_findings(account: LinkedAccount) -> None:
    sync(account)
    # dynamodb last used 200 days ago: unused service, and the role itself unused (merged with Access Analyzer)
    assert finding("unused-service", "old-batch", "dynamodb").status == FindingStatus.OPEN
    unused_role = finding("unused-role", "old-batch")
    assert set(unused_role.sources) == {"iamreview", "access-analyzer"}
    # app used lambda:GetFunction and UpdateFunctionCode but not DeleteFunction (action level); sqs is
    # used (service level)
    app_actions = finding("unused-actions", "app", "lambda")
    assert app_actions.data["actions"] == ["lambda:DeleteFunction"]
    assert not Finding.objects.filter(
        principal_arn__endswith="/app", kind="unused-service", subject="sqs"
    ).exists()
    # new-role is 10 days old: nothing is unused yet
    assert not Finding.objects.filter(principal_arn__endswith="/new-role", kind__startswith="unused").exists()
    # old-admin: a 700-day-old key unused for 400 days, a second never-used key, console without MFA
    old_keys = Finding.objects.filter(principal_arn__endswith="/old-admin", kind="key-old")
    assert old_keys.count() == 2 and {f.severity for f in old_keys} == {"high"}
    assert Finding.objects.filter(principal_arn__endswith="/old-admin", kind="key-unused").count() == 2
    assert finding("two-active-keys", "old-admin").status == FindingStatus.OPEN
    assert finding("no-mfa", "old-admin").severity == "high"
    assert finding("unused-password", "old-admin").status == FindingStatus.OPEN
    assert not Finding.objects.filter(principal_arn__endswith="/alice", kind="no-mfa").exists()
    app = Principal.objects.get(account=account, name="app")
    assert app.unused_count == 1
    metric = DailyMetric.objects.get(account=account, date=timezone.localdate())
    # admin, old-admin, and escalator (PutUserPolicy on itself: administrator-equivalent)
    assert metric.admins == 3 and metric.old_keys == 2 and metric.unused_permissions > 0
    assert metric.open_by_severity.get("critical", 0) >= 1


def test_triage_is_audited(account: LinkedAccount, users: dict[str, Any]) -> None:
    sync(account)
    reviewer = users["reviewer"]
    target = finding("admin", "old-admin")
    assert findings_acknowledge(actor=reviewer, findings=[target]) == 1
    assert findings_assign(actor=reviewer, findings=[target], assignee=users["approver"]) == 1
    target.refresh_from_db()
    assert target.status == FindingStatus.ACKNOWLEDGED and target.assignee == users["approver"]
    with pytest.raises(ValueError, match="reason"):
        findings_suppress(
            actor=reviewer, findings=[target], reason=" ", until=timezone.now() + timedelta(days=3)
        )
    with pytest.raises(ValueError, match="future"):
        findings_suppress(
            actor=reviewer, findings=[target], reason="break-glass", until=timezone.now() - timedelta(days=1)
        )
    assert (
        findings_suppress(
            actor=reviewer,
            findings=[target],
            reason="break-glass user",
            until=timezone.now() + timedelta(days=3),
        )
        == 1
    )
    actions = list(
        AuditEvent.objects.filter(object_type="Finding", object_id=str(target.pk))
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert actions == [
        ("finding.acknowledge", "reviewer"),
        ("finding.assign", "reviewer"),
        ("finding.suppress", "reviewer"),
    ]
    sync(account)  # a sync keeps a suppressed finding suppressed
    target.refresh_from_db()
    assert target.status == FindingStatus.SUPPRESSED


def test_suppression_with_expiry_reopens(account: LinkedAccount, users: dict[str, Any]) -> None:
    sync(account)
    target = finding("key-old", "old-admin", subject=Finding.objects.filter(kind="key-old").first().subject)  # type: ignore[union-attr]
    findings_suppress(
        actor=users["reviewer"],
        findings=[target],
        reason="rotating next week",
        until=timezone.now() + timedelta(hours=1),
    )
    assert suppressions_expire(now=timezone.now()) == 0
    assert suppressions_expire(now=timezone.now() + timedelta(hours=2)) == 1
    target.refresh_from_db()
    assert target.status == FindingStatus.OPEN
    assert AuditEvent.objects.filter(
        action="finding.reopen", object_id=str(target.pk), actor_name="system"
    ).exists()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"principal_pattern": "old-*"}, {"old-admin", "old-batch"}),
        ({"kind": "unused-role"}, {"old-batch"}),
        ({"principal_pattern": "*:role/app", "kind": "unused-actions"}, {"app"}),
        ({"tag_key": "team", "tag_value": "data"}, set()),
    ],
)
def test_suppression_rules_match_existing_and_new_findings(
    account: LinkedAccount, users: dict[str, Any], rule: dict[str, str], expected: set[str]
) -> None:
    sync(account)
    rule_row, count = suppression_rule_create(
        actor=users["reviewer"],
        reason="accepted risk",
        expires_at=timezone.now() + timedelta(days=30),
        **rule,
    )
    suppressed = {
        f.principal_arn.rsplit("/", 1)[-1] for f in Finding.objects.filter(status=FindingStatus.SUPPRESSED)
    }
    assert suppressed == expected
    assert count == Finding.objects.filter(status=FindingStatus.SUPPRESSED, suppression_rule=rule_row).count()


def test_reanalysis_is_skipped_when_nothing_changed(
    account: LinkedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(account)
    import findings.analysis as analysis_module

    calls = []
    original = analysis_module.AccountAnalysis.run

    def counting(self: Any) -> Any:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(analysis_module.AccountAnalysis, "run", counting)
    fakeaws.STATE.usage.clear()  # the same "no usage" answer twice in a row
    second = sync(account)
    third = sync(account)
    assert len(calls) == 1  # the second sync saw new usage data; the third saw nothing new
    assert third.counts["skipped"] > 0 and third.counts["analyzed"] == 0
    assert second.counts["analyzed"] > 0
    # admin, old-admin, and the administrator-equivalent escalator
    assert Finding.objects.filter(kind="admin", status=FindingStatus.OPEN).count() == 3
