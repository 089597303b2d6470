"""The resources a CloudTrail event names, read the way CloudTrail writes them: a `resources` block (S3,
KMS, STS), else `requestParameters`, else LookupEvents' `Resources` entries that are ARNs; and what
fakeaws's LookupEvents returns for the same calls reads back to the ARNs recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import fakeaws
from accounts.aws.apply import denied_resource
from accounts.aws.evidence import event_resources, lookup_events
from fakeaws.scenario import READ_ROLE, seed_account
from tests.scenarios import ACCOUNT, small_company
from tests.test_fakeaws_contract import assumed

WHO = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s", "accountId": ACCOUNT}


def record(**extra: Any) -> dict[str, Any]:
    return {"userIdentity": WHO, "awsRegion": "eu-west-1", "recipientAccountId": ACCOUNT, **extra}


@pytest.mark.parametrize(
    ("detail", "listed", "expected"),
    [
        # S3 writes a resources block; it wins over the parameters.
        (
            record(
                requestParameters={"bucketName": "app-uploads", "Host": "app-uploads.s3.amazonaws.com"},
                resources=[{"ARN": "arn:aws:s3:::app-uploads", "type": "AWS::S3::Bucket"}],
            ),
            [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "app-uploads"}],
            ("arn:aws:s3:::app-uploads",),
        ),
        # DynamoDB names the table (and index) in its parameters, in the event's region and account.
        (
            record(requestParameters={"tableName": "orders", "indexName": "by-date"}),
            [{"ResourceType": "AWS::DynamoDB::Table", "ResourceName": "orders"}],
            (f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders/index/by-date",),
        ),
        (
            record(requestParameters={"queueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/jobs"}),
            None,
            (f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs",),
        ),
        (
            record(requestParameters={"functionName": "orders-handler"}),
            None,
            (f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders-handler",),
        ),
        (
            record(requestParameters={"logGroupName": "/aws/orders", "logStreamName": "x"}),
            None,
            (f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/orders:log-stream:x",),
        ),
        # A role's name without its path does not make an ARN: nothing is guessed.
        (record(requestParameters={"roleName": "ci"}), [{"ResourceName": "ci"}], ()),
        # A secret named by its name only: its ARN has a random suffix nobody can know.
        (record(requestParameters={"secretId": "prod/orders"}), None, ()),
        # Nothing in the record: LookupEvents' list helps only where it holds ARNs.
        (
            record(requestParameters=None),
            [{"ResourceName": "key"}, {"ResourceName": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k"}],
            (f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k",),
        ),
    ],
)
def test_event_resources(detail: dict[str, Any], listed: Any, expected: tuple[str, ...]) -> None:
    assert event_resources(detail, listed) == expected


def test_a_refused_call_names_its_resource_from_the_parameters() -> None:
    detail = record(requestParameters={"tableName": "orders"}, errorCode="AccessDenied", errorMessage="no")
    assert denied_resource(detail) == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"


def test_fakeaws_lookup_events_read_back_to_the_resources_recorded() -> None:
    now = datetime.now(UTC)
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-jobs"
    spec = small_company()
    spec["events"] = {
        "app": [
            {"action": "s3:GetBucketLocation", "days": 1, "resources": ["arn:aws:s3:::acme-orders"]},
            {"action": "dynamodb:DescribeTable", "days": 1, "resources": [table]},
            {"action": "sqs:GetQueueAttributes", "days": 1, "resources": [queue]},
            {"action": "iam:ListRoles", "days": 1},
        ]
    }
    with fakeaws.mock():
        seed_account(ACCOUNT, spec)
        trail = assumed(f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}").client("cloudtrail")
        events = [e for page in lookup_events(trail, now - timedelta(days=2), now) for e in page]
    found = {e.action: e.resources for e in events}
    assert found == {
        "s3:GetBucketLocation": ("arn:aws:s3:::acme-orders",),
        "dynamodb:DescribeTable": (table,),
        "sqs:GetQueueAttributes": (queue,),
        "iam:ListRoles": (),
    }
