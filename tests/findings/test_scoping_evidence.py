"""Which stored evidence may narrow `Resource` (`findings.scoping`): Access Advisor's and generated
policies' resource-less rows are left out only where the account's LookupEvents sweeps explain them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.evidence_models import EvidenceJob
from findings.models import LastAccessed, Principal
from findings.scoping import scoping_evidence
from policy.evidence import Evidence, EvidenceSource

NOW = timezone.now()
BUCKET = "arn:aws:s3:::app-uploads"
LOOKUP, ADVISOR, GENERATION = (
    EvidenceSource.CLOUDTRAIL_LOOKUP,
    EvidenceSource.ACCESS_ADVISOR_ACTION,
    EvidenceSource.CLOUDTRAIL_GENERATION,
)


def ago(days: float) -> Any:
    return NOW - timedelta(days=days)


@pytest.fixture
def app(db: None) -> Principal:
    account = LinkedAccount.objects.create(
        account_id="123456789012", name="prod", role_arn="arn:aws:iam::123456789012:role/read"
    )
    return Principal.objects.create(
        account=account, arn="arn:aws:iam::123456789012:role/app", kind="role", name="app"
    )


def swept(app: Principal, start_days: float = 90, end_days: float = 0) -> None:
    EvidenceJob.objects.create(
        account=app.account,
        kind="lookup",
        status="succeeded",
        window_start=ago(start_days),
        window_end=ago(end_days),
    )


def kept(app: Principal, rows: list[Evidence]) -> list[tuple[str, str]]:
    return [(r.action, r.source.value) for r in scoping_evidence(app, rows, now=NOW) if r.resource is None]


def test_advisor_rows_that_lookup_events_explain_are_left_out(app: Principal) -> None:
    swept(app)
    LastAccessed.objects.create(
        principal=app, service="sqs", action="GetQueueUrl", region="eu-west-1", collected_at=NOW
    )
    rows = [
        Evidence("s3:getbucketlocation", BUCKET, LOOKUP, ago(3)),
        Evidence("s3:getbucketlocation", None, ADVISOR, ago(3)),  # the same call: explained
        Evidence("lambda:getfunction", None, ADVISOR, ago(2)),  # LookupEvents never saw it
        Evidence("dynamodb:describetable", "arn:aws:dynamodb:us-east-1:1:table/t", LOOKUP, ago(5)),
        Evidence("dynamodb:describetable", None, ADVISOR, ago(1)),  # a newer use LookupEvents did not see
        Evidence("sqs:getqueueurl", "arn:aws:sqs:us-east-1:1:q", LOOKUP, ago(1)),
        Evidence("sqs:getqueueurl", None, ADVISOR, ago(1)),  # last used in a region the sweeps do not read
        Evidence("s3:getbucketlocation", None, GENERATION, ago(0)),  # the sweeps read up to its end
        Evidence("s3:*", None, EvidenceSource.ACCESS_ADVISOR_SERVICE, ago(1)),
    ]
    assert kept(app, rows) == [
        ("lambda:getfunction", "access_advisor_action"),
        ("dynamodb:describetable", "access_advisor_action"),
        ("sqs:getqueueurl", "access_advisor_action"),
        ("s3:*", "access_advisor_service"),
    ]


def test_nothing_is_explained_without_sweeps_over_the_whole_window(app: Principal) -> None:
    rows = [
        Evidence("s3:getbucketlocation", BUCKET, LOOKUP, ago(3)),
        Evidence("s3:getbucketlocation", None, ADVISOR, ago(3)),
    ]
    assert kept(app, rows) == [("s3:getbucketlocation", "access_advisor_action")]  # never swept
    swept(app, start_days=30)
    assert kept(app, rows) == [("s3:getbucketlocation", "access_advisor_action")]  # 30 of 90 days
    EvidenceJob.objects.all().delete()
    swept(app, start_days=90, end_days=10)
    generated = [*rows, Evidence("s3:getbucketlocation", None, GENERATION, ago(0))]
    # Access Advisor's use is explained now; the generation ran past the sweeps' end: not explained.
    assert kept(app, generated) == [("s3:getbucketlocation", "cloudtrail_generation")]
