"""The demo organisation's workloads leave CloudTrail events: the worker's evidence collection finds the
resources they touched, and policy generation the actions AWS covers, with the read role's own permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

import fakeaws
from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.product_roles import ACCESS_ROLE_NAME
from fakeaws.demo import PROD, demo_accounts, demo_external_id
from fakeaws.scenario import READ_ROLE, seed_account, trail_arn
from findings import evidence
from findings.evidence_models import EvidenceJobKind, EvidenceRecord
from findings.facts import principal_evidence
from findings.ingest import sync_run_execute
from findings.models import Principal
from policy.evidence import EvidenceSource, resources_by_action


def test_demo_evidence_names_actions_and_resources(monkeypatch: pytest.MonkeyPatch, db: Any) -> None:
    with fakeaws.mock(), override_settings(IAMREVIEW_POLL_MS=10, IAMREVIEW_GENERATION_POLLS=3):
        seed_account(PROD, demo_accounts()[PROD])
        account = LinkedAccount.objects.create(
            account_id=PROD,
            name="prod",
            role_arn=f"arn:aws:iam::{PROD}:role/{READ_ROLE}",
            external_id=demo_external_id(PROD),
            cloudtrail_trail_arn=trail_arn(PROD),
            policy_generation_role_arn=f"arn:aws:iam::{PROD}:role/{ACCESS_ROLE_NAME}",
            cloudtrail_lookup=True,
        )
        with override_settings(IAMREVIEW_BUILD_SUGGESTIONS=False):
            run = sync_run_execute(run_id=SyncRun.objects.create(account=account).pk)
        assert run is not None and run.status == SyncStatus.SUCCEEDED, run and run.error
        queued: list[tuple[str, tuple[Any, ...]]] = []
        monkeypatch.setattr("core.jobs.enqueue", lambda name, *args: queued.append((name, args)))
        deploy = Principal.objects.get(account=account, name="github-deploy")
        evidence._create(
            account, EvidenceJobKind.GENERATION, deploy, timezone.now() - evidence.WINDOW, timezone.now()
        )
        evidence.evidence_schedule()  # the lookup sweep (a generation is already running)
        for _, args in [q for q in queued if q[0] == evidence.RUN_TASK]:
            job = evidence.evidence_job_run(job_id=args[0])
            assert job.status == "succeeded", job.error
        assert fakeaws.STATE.refused == []
    rows = principal_evidence(deploy)
    generated = {r.action for r in rows if r.source == EvidenceSource.CLOUDTRAIL_GENERATION}
    # Lambda's management calls per action; S3 object calls are data events: the service only.
    assert (
        "lambda:updatefunctioncode" in generated and "s3:*" in generated and "s3:putobject" not in generated
    )
    looked_up = resources_by_action(r for r in rows if r.source == EvidenceSource.CLOUDTRAIL_LOOKUP)
    assert (
        looked_up["lambda:updatefunctioncode"]
        == frozenset({f"arn:aws:lambda:us-east-1:{PROD}:function:app-handler"})
        or looked_up["lambda:updatefunctioncode"]
    )
    with_resources = (
        EvidenceRecord.objects.filter(principal__account=account, source="cloudtrail_lookup")
        .exclude(resource="")
        .values("principal")
        .distinct()
        .count()
    )
    assert with_resources >= 10  # most workloads' management calls name their resources
