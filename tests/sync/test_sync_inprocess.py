"""A whole sync against fakeaws (in-process), stored in PostgreSQL: counts, snapshot, calls per principal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from fakeaws.scenario import READ_ROLE, seed_account
from findings.ingest import sync_run_execute
from findings.models import AccessKey, AnalyzerFinding, CredentialReportRow, Finding, LastAccessed, Principal
from findings.usage_rows import principal_usage_rows
from tests.scenarios import ACCOUNT, small_company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def aws() -> Any:
    with fakeaws.mock():
        yield


@pytest.fixture
def account(aws: Any) -> LinkedAccount:
    seed_account(ACCOUNT, small_company())
    return LinkedAccount.objects.create(
        account_id=ACCOUNT,
        name="prod",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}",
        regions=["us-east-1"],
    )


def run_sync(account: LinkedAccount) -> SyncRun:
    run = SyncRun.objects.create(account=account, trigger="manual")
    with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20):
        finished = sync_run_execute(run_id=run.pk)
    assert finished is not None
    return finished


def test_sync_stores_the_whole_snapshot(account: LinkedAccount) -> None:
    run = run_sync(account)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert run.progress == 100 and run.finished_at is not None
    names = set(Principal.objects.filter(account=account).values_list("name", flat=True))
    assert {"admin", "app", "old-batch", "ci", "alice", "old-admin", "escalator", "devs"} <= names
    assert run.counts["principals"] == len(names)
    old_admin = Principal.objects.get(account=account, name="old-admin")
    assert old_admin.is_admin and old_admin.risk_score >= 70
    escalator = Principal.objects.get(account=account, name="escalator")
    assert [p["path_id"] for p in escalator.escalation_paths] == ["iam-007"]
    assert AccessKey.objects.filter(principal=old_admin).count() == 2
    assert CredentialReportRow.objects.filter(account=account, user="alice").exists()
    app = Principal.objects.get(account=account, name="app")
    # Access Advisor's rows, as every reader gets them (used ones are `LastAccessed` rows, never-used ones
    # one `NeverUsed` list per principal).
    app_rows = principal_usage_rows(app.pk)
    assert {"lambda", "sqs"} <= {r.service for r in app_rows if not r.action}
    (get_function,) = [r for r in app_rows if (r.service, r.action) == ("lambda", "GetFunction")]
    assert get_function.last_accessed_at is not None
    # As in AWS, data events never appear at action level, though alice used s3:GetObject yesterday:
    # only the service's own row shows that s3 was used.
    alice = Principal.objects.get(account=account, name="alice")
    alice_rows = principal_usage_rows(alice.pk)
    (s3,) = [r for r in alice_rows if (r.service, r.action) == ("s3", "")]
    assert s3.last_accessed_at is not None
    assert any(r.service == "s3" and r.action for r in alice_rows)
    everyone = [r for p in Principal.objects.filter(account=account) for r in principal_usage_rows(p.pk)]
    assert not [r for r in everyone if r.action == "GetObject"]
    assert LastAccessed.objects.filter(principal=alice, service="s3", action="").exists()  # used: a row
    assert AnalyzerFinding.objects.filter(account=account, finding_type="UnusedIAMRole").count() == 1
    assert Finding.objects.filter(account=account, kind="admin").exists()


def test_api_calls_are_counted_and_bounded(account: LinkedAccount) -> None:
    run = run_sync(account)
    assert run.api_calls["sts:AssumeRole"] == 1
    assert run.api_calls["iam:GetAccountAuthorizationDetails"] >= 1
    principals = run.counts["principals"]
    per_principal = (run.total_api_calls - 12) / principals  # a constant handful per account
    assert per_principal <= 3, run.api_calls
    assert run.counts["api_calls"] == run.total_api_calls


def test_assume_role_denied_fails_with_a_clear_message_and_keeps_the_snapshot(account: LinkedAccount) -> None:
    first = run_sync(account)
    assert first.status == SyncStatus.SUCCEEDED
    before = Principal.objects.filter(account=account).count()
    fakeaws.faults().deny_assume.add(account.role_arn)
    second = run_sync(account)
    assert second.status == SyncStatus.FAILED
    assert "AccessDenied" in second.error and "ExternalId" in second.error
    assert Principal.objects.filter(account=account).count() == before


def test_one_account_failing_does_not_stop_another(account: LinkedAccount) -> None:
    seed_account(
        "222222222222",
        {
            "roles": [
                {
                    "name": "only",
                    "inline": {
                        "p": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
                            ],
                        }
                    },
                }
            ]
        },
    )
    other = LinkedAccount.objects.create(
        account_id="222222222222", name="sandbox", role_arn=f"arn:aws:iam::222222222222:role/{READ_ROLE}"
    )
    fakeaws.faults().deny_assume.add(account.role_arn)
    assert run_sync(account).status == SyncStatus.FAILED
    assert run_sync(other).status == SyncStatus.SUCCEEDED
    assert Principal.objects.filter(account=other, name="only").exists()


def test_throttling_bursts_are_retried(account: LinkedAccount) -> None:
    fakeaws.faults().throttle_next["GetAccountAuthorizationDetails"] = 2
    fakeaws.faults().server_error_next["GetCredentialReport"] = 2
    run = run_sync(account)
    assert run.status == SyncStatus.SUCCEEDED, run.error


def test_throttling_past_retries_fails_clearly(account: LinkedAccount) -> None:
    fakeaws.faults().throttle_next["GetAccountAuthorizationDetails"] = 100
    with override_settings(AWS_MAX_ATTEMPTS=2):
        run = run_sync(account)
    assert run.status == SyncStatus.FAILED
    assert "throttling" in run.error.lower()


def test_a_job_that_never_completes_is_reported_not_fatal(account: LinkedAccount) -> None:
    fakeaws.faults().never_complete_jobs = True
    with override_settings(IAMREVIEW_ADVISOR_MAX_WAIT=1):
        run = run_sync(account)
    assert run.status == SyncStatus.SUCCEEDED
    assert any("Access Advisor data missing" in w for w in run.warnings)
    assert not LastAccessed.objects.filter(principal__account=account).exists()


def test_malformed_credential_report_fails_without_storing(
    account: LinkedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts.aws import collect

    original = collect.parse_credential_report

    def broken(content: Any) -> Any:
        text = content.decode() if isinstance(content, bytes) else content
        return original(text + "\nalice,arn:aws:iam::1:user/alice,cut-short\n")

    monkeypatch.setattr(collect, "parse_credential_report", broken)
    run = run_sync(account)
    assert run.status == SyncStatus.FAILED
    assert "malformed" in run.error and "line" in run.error
    assert not Principal.objects.filter(account=account).exists()


def test_claim_is_atomic(account: LinkedAccount) -> None:
    from accounts.sync import sync_run_claim

    run = SyncRun.objects.create(account=account)
    assert sync_run_claim(run.pk) is not None
    assert sync_run_claim(run.pk) is None


def test_one_active_run_per_account(account: LinkedAccount) -> None:
    from accounts.sync import sync_run_request

    first, created = sync_run_request(account=account, trigger="manual")
    second, created_again = sync_run_request(account=account, trigger="manual")
    assert created and not created_again and first.pk == second.pk


def test_resync_records_changes(account: LinkedAccount) -> None:
    from fakeaws.scenario import account_clients
    from findings.models import SnapshotChange

    run_sync(account)
    iam = account_clients(ACCOUNT)["iam"]
    iam.delete_role_policy(RoleName="new-role", PolicyName="n")
    iam.delete_role(RoleName="new-role")
    iam.put_role_policy(
        RoleName="app",
        PolicyName="extra",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}',
    )
    iam.create_user(UserName="bob")
    second = run_sync(account)
    assert second.counts["added"] == 1 and second.counts["removed"] == 1 and second.counts["changed"] == 1
    kinds = {
        (c.kind, c.principal_arn.rsplit("/", 1)[-1]) for c in SnapshotChange.objects.filter(sync_run=second)
    }
    assert kinds == {
        ("principal_added", "bob"),
        ("principal_removed", "new-role"),
        ("policy_changed", "app"),
        ("permission_granted", "app"),
    }
    granted = SnapshotChange.objects.get(sync_run=second, kind="permission_granted")
    assert granted.detail["actions"] == ["kms:Decrypt"]


def test_a_run_the_reaper_failed_stores_nothing(
    account: LinkedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reaper took the worker for dead, but it was only slow: its snapshot must not land."""
    from accounts.sync import sync_runs_reap_stale
    from core.jobs import stale_after
    from findings import ingest

    run = SyncRun.objects.create(account=account, trigger="manual")
    real_refresh = ingest.findings_refresh

    def reaped_meanwhile(**kwargs: Any) -> Any:
        import threading

        from django.db import connection
        from django.utils import timezone

        reaped: list[int] = []

        def reaper() -> None:  # beat's reaper: another process, another connection, its own commit
            try:
                stale = timezone.now() - stale_after() * 2
                SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
                reaped.append(sync_runs_reap_stale())
            finally:
                connection.close()

        thread = threading.Thread(target=reaper)
        thread.start()
        thread.join()
        assert reaped == [1]
        return real_refresh(**kwargs)

    monkeypatch.setattr(ingest, "findings_refresh", reaped_meanwhile)
    with override_settings(AWS_ENDPOINT_URL="", IAMREVIEW_POLL_MS=20):
        finished = sync_run_execute(run_id=run.pk)
    assert finished is not None and finished.status == SyncStatus.FAILED
    assert "worker stopped" in finished.error
    assert not Principal.objects.filter(account=account).exists(), "nothing of the reaped run was stored"


def test_a_failed_sync_and_its_audit_entry_are_written_together(
    account: LinkedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed between failing a sync and auditing it left a failed sync the audit log never heard
    of (found by the fault campaign). Both ends, the worker's and the reaper's, write them together: a
    crash at the audit entry leaves the run as it was, for the reaper's next pass."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import sync
    from core.jobs import stale_after
    from core.models import AuditEvent

    stale = timezone.now() - stale_after() * 2
    run = SyncRun.objects.create(
        account=account, trigger="manual", status=SyncStatus.RUNNING, started_at=stale, heartbeat_at=stale
    )

    def killed(**_: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(sync, "audit_record", killed)
    for end in (lambda: sync.sync_run_fail(run=run, message="AWS said no"), sync.sync_runs_reap_stale):
        with pytest.raises(RuntimeError):
            end()
        run.refresh_from_db()
        assert run.status == SyncStatus.RUNNING and not run.error
    monkeypatch.undo()
    assert sync.sync_runs_reap_stale() == 1
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    assert AuditEvent.objects.filter(action="sync.fail", object_id=str(run.pk)).count() == 1
    assert run.finished_at is not None and run.finished_at >= stale - timedelta(seconds=1)
