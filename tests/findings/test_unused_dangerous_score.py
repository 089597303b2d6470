"""The sync's analysis passes what each principal used to the engine: two roles holding the same grants,
one of which left its dangerous permissions unused in the window, score differently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.analysis import account_analyze, account_usage
from findings.models import LastAccessed, Principal
from policy.gaad import load_gaad
from tests.policy.gaad_builder import ACCOUNT, Gaad, allow, arn, doc, trust_service

pytestmark = pytest.mark.django_db

GRANTS = doc(allow(["s3:PutBucketPolicy", "s3:GetObject", "dynamodb:DeleteTable", "sqs:SendMessage"]))


def _setup() -> tuple[LinkedAccount, Gaad]:
    account = LinkedAccount.objects.create(
        account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
    )
    g = Gaad()
    now = timezone.now()
    for name in ("idle", "busy"):
        g.role(name, trust=trust_service("lambda.amazonaws.com"), inline={"p": GRANTS})
        principal = Principal.objects.create(account=account, arn=arn("role", name), kind="role", name=name)
        # Both tracked by Access Advisor; only "busy" used s3 and dynamodb within the window.
        recent = now - timedelta(days=3) if name == "busy" else now - timedelta(days=400)
        for service in ("s3", "dynamodb"):
            LastAccessed.objects.create(
                principal=principal, service=service, last_accessed_at=recent, collected_at=now
            )
        LastAccessed.objects.create(
            principal=principal, service="sqs", last_accessed_at=now - timedelta(days=1), collected_at=now
        )
    return account, g


def test_unused_dangerous_permissions_raise_the_stored_score() -> None:
    account, g = _setup()
    usage = account_usage(account)
    assert set(usage) == {arn("role", "idle"), arn("role", "busy")}
    account_analyze(account=account, details=load_gaad(g.data))
    idle = Principal.objects.get(arn=arn("role", "idle"))
    busy = Principal.objects.get(arn=arn("role", "busy"))
    assert idle.risk_score > busy.risk_score
    kinds = [e["kind"] for e in idle.score_explanation]
    assert "unused-dangerous" in kinds
    assert "unused-dangerous" not in [e["kind"] for e in busy.score_explanation]


def test_a_principal_without_usage_rows_is_unknown_not_unused() -> None:
    account, _g = _setup()
    LastAccessed.objects.filter(principal__arn=arn("role", "idle")).delete()
    assert set(account_usage(account)) == {arn("role", "busy")}
