"""Evidence of use from CloudTrail, collected by the worker against fakeaws with permission enforcement on:
policy generation one job at a time within the daily quota, fairly rotated; LookupEvents sweeps with
resources; failures and dead workers handled like every other job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, SyncRun
from accounts.product_roles import ACCESS_ROLE_NAME
from core.models import AuditEvent
from fakeaws.scenario import seed_account, trail_arn
from findings import evidence
from findings.evidence_models import EvidenceJob, EvidenceJobStatus, EvidenceRecord
from findings.facts import evidence_age, principal_evidence
from findings.ingest import sync_run_execute
from findings.models import Principal
from policy.evidence import EvidenceSource, resources_by_action
from tests.changes.flow import not_sent
from tests.scenarios import ACCOUNT, small_company

FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"


def spec() -> dict[str, Any]:
    out = small_company()
    out["trail"] = True
    out["events"] = {
        "app": [
            {"action": "lambda:GetFunction", "days": 2, "resources": [FUNCTION]},
            {"action": "lambda:GetFunction", "days": 1, "resources": [FUNCTION]},
            {"action": "lambda:UpdateFunctionCode", "days": 1, "resources": [FUNCTION]},
            {"action": "sqs:SendMessage", "days": 1, "resources": ["arn:aws:sqs:us-east-1:111111111111:q"]},
            {"action": "lambda:DeleteFunction", "days": 1, "error": "AccessDenied"},
        ],
    }
    return out


@pytest.fixture
def world(users: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    with fakeaws.mock(), override_settings(IAMREVIEW_POLL_MS=10, IAMREVIEW_GENERATION_POLLS=1):
        seed_account(ACCOUNT, spec())
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT,
            name="prod",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read",
            cloudtrail_trail_arn=trail_arn(ACCOUNT),
            policy_generation_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{ACCESS_ROLE_NAME}",
            cloudtrail_lookup=True,
        )
        run = SyncRun.objects.create(account=account)
        with override_settings(IAMREVIEW_BUILD_SUGGESTIONS=False):
            assert sync_run_execute(run_id=run.pk).status == "succeeded"  # type: ignore[union-attr]
        queued = not_sent(monkeypatch)
        yield {"account": account, "queued": queued, **users}
        assert fakeaws.STATE.refused == []  # the read role was allowed every call the worker made


def run_all(queued: list[tuple[str, tuple[Any, ...]]]) -> list[EvidenceJob]:
    done = [evidence.evidence_job_run(job_id=args[0]) for name, args in queued if name == evidence.RUN_TASK]
    queued.clear()
    return done


def test_generation_waits_for_aws_then_stores_the_actions_used(world: Any) -> None:
    fakeaws.faults().generation_polls_before_complete = 1
    first = evidence.evidence_tick()
    assert first == 2  # a generation and a lookup sweep
    generation = EvidenceJob.objects.get(kind="generation")
    assert evidence.evidence_tick() == 0  # one generation at a time per account
    jobs = {j.kind: j for j in run_all(world["queued"])}
    assert jobs["generation"].status == EvidenceJobStatus.WAITING and jobs["generation"].aws_job_id
    evidence.evidence_tick()  # polls what AWS has not finished
    assert [j.status for j in run_all(world["queued"])] == [EvidenceJobStatus.SUCCEEDED]
    generation.refresh_from_db()
    principal = generation.principal
    assert principal is not None
    rows = EvidenceRecord.objects.filter(principal=principal, source=EvidenceSource.CLOUDTRAIL_GENERATION)
    if principal.name == "app":
        assert {"lambda:getfunction", "lambda:updatefunctioncode"} <= {r.action for r in rows}
        assert "lambda:deletefunction" not in {r.action for r in rows}  # refused is not used
    assert evidence_age(principal).generation is not None
    assert AuditEvent.objects.filter(action="evidence.generation_done").exists()


def test_lookup_records_resources_and_adds_up_later_sweeps(world: Any) -> None:
    evidence.evidence_tick()
    run_all(world["queued"])
    app = Principal.objects.get(name="app")
    rows = principal_evidence(app)
    looked_up = [r for r in rows if r.source == EvidenceSource.CLOUDTRAIL_LOOKUP]
    assert resources_by_action(looked_up)["lambda:getfunction"] == frozenset({FUNCTION})
    get = next(r for r in looked_up if r.action == "lambda:getfunction")
    assert get.count == 2 and get.first_seen is not None and get.first_seen < get.last_seen
    assert not any(r.action == "lambda:deletefunction" for r in looked_up)
    # Access Advisor's rows are part of the same evidence.
    assert any(r.source == EvidenceSource.ACCESS_ADVISOR_SERVICE for r in rows)
    # A later sweep starts where the last one stopped and adds what is new.
    EvidenceJob.objects.filter(kind="lookup").update(window_end=timezone.now() - timedelta(hours=2))
    fakeaws.record_event(ACCOUNT, app.arn, "lambda:GetFunction", timezone.now(), resources=[FUNCTION])
    EvidenceJob.objects.filter(kind="generation").update(status=EvidenceJobStatus.FAILED)
    evidence.evidence_tick()
    run_all(world["queued"])
    assert (
        EvidenceRecord.objects.get(
            principal=app, action="lambda:getfunction", source="cloudtrail_lookup"
        ).count
        == 3
    )


def test_rotation_is_fair_and_the_daily_quota_holds(world: Any, settings: Any) -> None:
    settings.IAMREVIEW_GENERATION_DAILY_QUOTA = 3
    fakeaws.faults().generation_polls_before_complete = 0
    world["account"].cloudtrail_lookup = False
    world["account"].save()
    order = []
    for _ in range(5):
        evidence.evidence_tick()
        for job in run_all(world["queued"]):
            assert job.status == EvidenceJobStatus.SUCCEEDED, job.error
            order.append(job.principal_id)
    assert len(order) == 3 and len(set(order)) == 3  # three different principals, then the quota
    # The next day, the principal whose evidence is oldest goes first.
    EvidenceJob.objects.update(created_at=timezone.now() - timedelta(days=2))
    never = set(Principal.objects.filter(kind__in=["user", "role"]).values_list("pk", flat=True)) - set(order)
    evidence.evidence_tick()
    (job,) = run_all(world["queued"])
    assert job.principal_id in never


def test_a_role_not_allowed_to_generate_fails_the_job_with_the_reason(world: Any) -> None:
    world["account"].policy_generation_role_arn = f"arn:aws:iam::{ACCOUNT}:role/admin"
    world["account"].cloudtrail_lookup = False
    world["account"].save()
    evidence.evidence_tick()
    (job,) = run_all(world["queued"])
    assert job.status == EvidenceJobStatus.FAILED and "iam:PassRole" in job.error
    assert evidence_age(job.principal).error  # type: ignore[arg-type]
    fakeaws.STATE.refused.clear()


def test_a_dead_worker_is_reaped(world: Any, settings: Any) -> None:
    settings.IAMREVIEW_STALE_SECONDS = 10
    fakeaws.faults().generation_polls_before_complete = 5
    evidence.evidence_tick()
    world["queued"].clear()
    old = timezone.now() - timedelta(minutes=5)
    EvidenceJob.objects.filter(kind="generation").update(status="running", aws_job_id="x", heartbeat_at=old)
    EvidenceJob.objects.filter(kind="lookup").update(status="running", heartbeat_at=old)
    assert evidence.evidence_jobs_reap_stale() == 2
    assert EvidenceJob.objects.get(kind="generation").status == EvidenceJobStatus.WAITING
    lookup = EvidenceJob.objects.get(kind="lookup")
    assert lookup.status == EvidenceJobStatus.FAILED and "worker stopped" in lookup.error
    # A job no worker ever picked up does not hold the account's slot for ever.
    EvidenceJob.objects.filter(kind="generation").update(status="queued")
    EvidenceJob.objects.update(created_at=timezone.now() - timedelta(days=1))
    assert evidence.evidence_jobs_reap_stale() == 1
    assert EvidenceJob.objects.get(kind="generation").status == EvidenceJobStatus.FAILED


def test_cloudtrail_event_names_map_to_iam_actions() -> None:
    from accounts.aws.evidence import event_action

    assert event_action("lambda", "UpdateFunctionCode20150331v2") == "lambda:UpdateFunctionCode"
    assert event_action("monitoring", "PutMetricData") == "cloudwatch:PutMetricData"
    assert event_action("s3", "ListObjectsV2") == "s3:ListBucket"
    assert event_action("iam", "CreateUser") == "iam:CreateUser"
