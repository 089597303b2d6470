"""fakeaws's evidence APIs: CloudTrail LookupEvents over recorded events, Access Analyzer policy generation
and IAM's policy simulator, in botocore's shapes, called as the product's read role (enforcement on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

import fakeaws
from accounts.product_roles import ACCESS_ROLE_NAME, READ_ROLE_NAME
from fakeaws.scenario import account_clients, seed_account, trail_arn
from tests.scenarios import ACCOUNT, lambda_trust, small_company
from tests.test_fakeaws_contract import assumed, check

NOW = datetime.now(tz=UTC)
ACCESS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ACCESS_ROLE_NAME}"


def spec() -> dict[str, Any]:
    out = small_company()
    out["trail"] = True
    out["events"] = {
        "app": [
            {
                "action": "lambda:GetFunction",
                "days": 2,
                "resources": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"],
            },
            {
                "action": "lambda:UpdateFunctionCode",
                "days": 1,
                "resources": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"],
            },
            {
                "action": "s3:GetObject",
                "days": 1,
                "resources": ["arn:aws:s3:::uploads/a.png"],
            },  # a data event
            {"action": "ecr:GetAuthorizationToken", "days": 3},  # not covered at action level
            {"action": "lambda:DeleteFunction", "days": 1, "error": "AccessDenied"},  # refused: not use
            {"action": "lambda:ListFunctions", "days": 120},  # outside the window
        ],
        "app-runner": [{"action": "sqs:ListQueues", "days": 1}],
    }
    out["roles"].append(
        {
            "name": "app-runner",
            "inline": {
                "q": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
                }
            },
        }
    )
    return out


@pytest.fixture
def read() -> Iterator[tuple[Any, dict[str, str]]]:
    with fakeaws.mock():
        arns = seed_account(ACCOUNT, spec())
        yield assumed(f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE_NAME}"), arns


def start(aa: Any, principal: str, **extra: Any) -> str:
    return str(
        check(
            aa,
            "StartPolicyGeneration",
            policyGenerationDetails={"principalArn": principal},
            cloudTrailDetails={
                "trails": [{"cloudTrailArn": trail_arn(ACCOUNT), "allRegions": True}],
                "accessRole": extra.pop("role", ACCESS_ROLE),
                "startTime": NOW - timedelta(days=90),
                "endTime": NOW,
            },
            **extra,
        )["jobId"]
    )


def test_lookup_events_returns_management_events_in_cloudtrail_format(read: Any) -> None:
    session, arns = read
    trail = session.client("cloudtrail")
    events = check(trail, "LookupEvents", StartTime=NOW - timedelta(days=90))["Events"]
    names = [e["EventName"] for e in events]
    assert "GetObject" not in names  # data events never reach LookupEvents
    assert names[0] in ("UpdateFunctionCode", "DeleteFunction", "ListQueues")  # newest first
    update = next(json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "UpdateFunctionCode")
    assert update["userIdentity"]["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/")
    assert update["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == arns["app"]
    # Lambda's records name the function in requestParameters only; LookupEvents lists it by name.
    assert update["requestParameters"] == {"functionName": "orders"} and "resources" not in update
    listed = next(e for e in events if e["EventName"] == "UpdateFunctionCode")["Resources"]
    assert listed == [{"ResourceType": "AWS::Lambda::Function", "ResourceName": "orders"}]
    one = check(trail, "LookupEvents", MaxResults=1)
    assert len(one["Events"]) == 1 and one["NextToken"]
    by_name = check(
        trail,
        "LookupEvents",
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListQueues"}],
    )
    assert [e["EventName"] for e in by_name["Events"]] == ["ListQueues"]
    check(trail, "GetTrail", Name=trail_arn(ACCOUNT))


def test_policy_generation_in_progress_then_action_level_where_aws_covers_it(read: Any) -> None:
    session, arns = read
    aa = session.client("accessanalyzer")
    fakeaws.faults().generation_polls_before_complete = 2
    job = start(aa, arns["app"])
    with pytest.raises(botocore.exceptions.ClientError) as second:
        start(aa, arns["admin"])
    assert second.value.response["Error"]["Code"] == "ConflictException"
    statuses = [check(aa, "GetGeneratedPolicy", jobId=job)["jobDetails"]["status"] for _ in range(3)]
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]
    done = check(aa, "GetGeneratedPolicy", jobId=job, includeServiceLevelTemplate=True)
    policy = json.loads(done["generatedPolicyResult"]["generatedPolicies"][0]["policy"])
    actions = sorted(
        a
        for st in policy["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    )
    # Management events of covered services, per action; the rest only as a service-level template;
    # refused calls and calls outside the window are not use; the other role's calls are not this one's.
    assert "lambda:GetFunction" in actions and "lambda:UpdateFunctionCode" in actions
    assert "ecr:*" in actions and "s3:*" in actions and "s3:GetObject" not in actions
    assert "lambda:DeleteFunction" not in actions and "lambda:ListFunctions" not in actions
    assert not any(a.startswith("sqs:List") for a in actions)
    assert all(st["Resource"] == "*" for st in policy["Statement"])
    placeholders = check(aa, "GetGeneratedPolicy", jobId=job, includeResourcePlaceholders=True)
    text = placeholders["generatedPolicyResult"]["generatedPolicies"][0]["policy"]
    assert "${" in text
    listed = check(aa, "ListPolicyGenerations", principalArn=arns["app"])["policyGenerations"]
    assert [(g["jobId"], g["status"]) for g in listed] == [(job, "SUCCEEDED")]
    check(aa, "CancelPolicyGeneration", jobId=job)


def test_policy_generation_quota_cancel_and_failures(read: Any) -> None:
    session, arns = read
    aa = session.client("accessanalyzer")
    fakeaws.faults().generation_polls_before_complete = 100
    job = start(aa, arns["app"])
    check(aa, "CancelPolicyGeneration", jobId=job)
    assert check(aa, "GetGeneratedPolicy", jobId=job)["jobDetails"]["status"] == "CANCELED"
    fakeaws.faults().generation_polls_before_complete = 0
    # The access role no longer trusts Access Analyzer: the job fails, as AWS reports it.
    account_clients(ACCOUNT)["iam"].update_assume_role_policy(
        RoleName=ACCESS_ROLE_NAME, PolicyDocument=json.dumps(lambda_trust())
    )
    bad = start(aa, arns["app"])
    details = check(aa, "GetGeneratedPolicy", jobId=bad)["jobDetails"]
    assert details["status"] == "FAILED" and details["jobError"]["code"] == "AUTHORIZATION_ERROR"
    for _ in range(48):
        check(aa, "GetGeneratedPolicy", jobId=start(aa, arns["app"]))
    with pytest.raises(botocore.exceptions.ClientError) as quota:
        start(aa, arns["app"])
    assert quota.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_starting_a_generation_needs_pass_role_on_the_access_role(read: Any) -> None:
    session, arns = read
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        start(session.client("accessanalyzer"), arns["app"], role=f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole" in str(refused.value)


def test_simulators_answer_in_the_real_shape(read: Any) -> None:
    session, arns = read
    iam = session.client("iam")
    scoped = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
        }
    )
    results = check(
        iam,
        "SimulateCustomPolicy",
        PolicyInputList=[scoped],
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::b/k", "arn:aws:s3:::c/k"],
    )["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("s3:GetObject", "arn:aws:s3:::b/k", "allowed"),
        ("s3:GetObject", "arn:aws:s3:::c/k", "implicitDeny"),
        ("s3:PutObject", "arn:aws:s3:::b/k", "implicitDeny"),
        ("s3:PutObject", "arn:aws:s3:::c/k", "implicitDeny"),
    ]
    principal = check(
        iam,
        "SimulatePrincipalPolicy",
        PolicySourceArn=arns["app"],
        ActionNames=["lambda:GetFunction", "iam:CreateUser"],
    )
    assert [r["EvalDecision"] for r in principal["EvaluationResults"]] == ["allowed", "implicitDeny"]
    with pytest.raises(botocore.exceptions.ClientError):
        iam.simulate_custom_policy(PolicyInputList=["{broken"], ActionNames=["s3:GetObject"])


def test_every_action_the_evidence_roles_name_exists() -> None:
    from accounts.product_roles import access_role_policy, read_policy
    from fakeaws.iamdb import iam_database

    db = iam_database()
    named = [
        a for doc in (read_policy(), access_role_policy()) for st in doc["Statement"] for a in st["Action"]
    ]
    assert "access-analyzer:StartPolicyGeneration" in named and "iam:PassRole" in named
    assert [a for a in named if not db.exists(a)] == []
