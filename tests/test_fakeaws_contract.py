"""Every response fakeaws adds to moto matches botocore's output shape, member types and enum values."""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
import pytest
from botocore.model import Shape

import fakeaws
from fakeaws.accessanalyzer import add_finding
from fakeaws.scenario import APPLY_ROLE, READ_ROLE, account_clients, seed_account
from tests.scenarios import ACCOUNT, small_company

PY_TYPES = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "timestamp": datetime.datetime,
    "double": float,
    "float": float,
    "blob": bytes,
}


def conform(value: Any, shape: Shape, where: str) -> list[str]:
    problems = []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        for key, member in value.items():
            if key == "ResponseMetadata":
                continue
            if key not in shape.members:
                problems.append(f"{where}.{key}: not in the {shape.name} shape")
            else:
                problems += conform(member, shape.members[key], f"{where}.{key}")
        problems += [f"{where}.{k}: required but missing" for k in shape.required_members if k not in value]
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        for n, item in enumerate(value):
            problems += conform(item, shape.member, f"{where}[{n}]")
    elif kind == "map":
        for k, v in value.items():
            problems += conform(v, shape.value, f"{where}[{k}]")
    elif shape.name == "policyDocumentType" and isinstance(value, dict):
        pass  # botocore's own customisation decodes IAM policy documents into objects on the client
    else:
        expected = PY_TYPES.get(kind)
        if expected and not isinstance(value, expected):
            problems.append(f"{where}: {type(value).__name__} where the model says {kind}")
        enum = shape.enum if kind == "string" else []
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} is not one of {enum}")
    return problems


@pytest.fixture
def clients() -> Any:
    with fakeaws.mock():
        arns = seed_account(ACCOUNT, small_company())
        yield account_clients(ACCOUNT), arns


def assumed(role_arn: str) -> boto3.Session:
    """A session with credentials for the role, as the product gets them."""
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role_arn, RoleSessionName="contract"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def check(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    method = getattr(client, botocore.xform_name(operation))
    response = method(**kwargs)
    model = client.meta.service_model.operation_model(operation)
    problems = conform(response, model.output_shape, operation)
    assert problems == [], problems
    return response  # type: ignore[no-any-return]


def test_access_advisor_responses(clients: Any) -> None:
    (c, arns) = clients
    for granularity in ("SERVICE_LEVEL", "ACTION_LEVEL"):
        job = check(c["iam"], "GenerateServiceLastAccessedDetails", Arn=arns["app"], Granularity=granularity)[
            "JobId"
        ]
        page = check(c["iam"], "GetServiceLastAccessedDetails", JobId=job, MaxItems=1)
        assert page["JobStatus"] == "COMPLETED" and page["IsTruncated"] and page["Marker"]
        check(c["iam"], "GetServiceLastAccessedDetails", JobId=job, Marker=page["Marker"])
    fakeaws.faults().never_complete_jobs = True
    job = check(c["iam"], "GenerateServiceLastAccessedDetails", Arn=arns["app"])["JobId"]
    assert check(c["iam"], "GetServiceLastAccessedDetails", JobId=job)["JobStatus"] == "IN_PROGRESS"


def test_paginated_authorization_details(clients: Any) -> None:
    (c, _) = clients
    first = check(c["iam"], "GetAccountAuthorizationDetails", MaxItems=3)
    assert (
        first["IsTruncated"]
        and sum(len(first[k]) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"))
        == 3
    )
    check(c["iam"], "GetAccountAuthorizationDetails", Marker=first["Marker"])


def test_access_analyzer_responses(clients: Any) -> None:
    (c, arns) = clients
    aa = c["accessanalyzer"]
    analyzers = check(aa, "ListAnalyzers")["analyzers"]
    arn = analyzers[0]["arn"]
    add_finding(
        arn,
        {
            "findingType": "UnusedPermission",
            "resource": arns["app"],
            "findingDetails": [
                {
                    "unusedPermissionDetails": {
                        "serviceNamespace": "s3",
                        "actions": [{"action": "s3:DeleteObject"}],
                    }
                }
            ],
        },
    )
    findings = check(aa, "ListFindingsV2", analyzerArn=arn)["findings"]
    for f in findings:
        check(aa, "GetFindingV2", analyzerArn=arn, id=f["id"])
    doc = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Nope", "Resource": "*"}]}
    )
    assert check(aa, "ValidatePolicy", policyDocument=doc, policyType="IDENTITY_POLICY")["findings"]
    check(aa, "ValidatePolicy", policyDocument="{broken", policyType="IDENTITY_POLICY")
    wide = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    narrow = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    assert (
        check(
            aa,
            "CheckNoNewAccess",
            newPolicyDocument=wide,
            existingPolicyDocument=narrow,
            policyType="IDENTITY_POLICY",
        )["result"]
        == "FAIL"
    )
    assert (
        check(
            aa,
            "CheckNoNewAccess",
            newPolicyDocument=narrow,
            existingPolicyDocument=wide,
            policyType="IDENTITY_POLICY",
        )["result"]
        == "PASS"
    )


def test_cloudtrail_access_denied(clients: Any) -> None:
    (_c, arns) = clients
    fakeaws.record_access_denied(
        ACCOUNT, arns["app"], "s3:PutBucketPolicy", datetime.datetime.now(tz=datetime.UTC)
    )
    trail = assumed(f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}").client("cloudtrail")
    events = check(
        trail, "LookupEvents", StartTime=datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=1)
    )["Events"]
    assert events and json.loads(events[0]["CloudTrailEvent"])["errorCode"] == "AccessDenied"


def test_policy_checks_answer_in_the_real_shapes(clients: Any) -> None:
    (c, _) = clients
    aa = c["accessanalyzer"]
    passrole = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
        }
    )
    found = check(aa, "ValidatePolicy", policyDocument=passrole, policyType="IDENTITY_POLICY")["findings"]
    assert [(f["findingType"], f["issueCode"]) for f in found] == [
        ("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE")
    ]
    assert found[0]["locations"][0]["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Resource"}]
    unknown = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["access-analyzer:ListFindingsV2", "zzz:Get"], "Resource": "*"}
            ],
        }
    )
    codes = [
        f["issueCode"]
        for f in check(aa, "ValidatePolicy", policyDocument=unknown, policyType="IDENTITY_POLICY")["findings"]
    ]
    assert codes == ["INVALID_ACTION", "INVALID_SERVICE_IN_ACTION"]
    for actions, expected in ((["iam:PassRole"], "FAIL"), (["iam:CreateUser"], "PASS")):
        answer = check(
            aa,
            "CheckAccessNotGranted",
            policyDocument=passrole,
            access=[{"actions": actions}],
            policyType="IDENTITY_POLICY",
        )
        assert answer["result"] == expected


def test_refused_calls_carry_the_real_error_codes(clients: Any) -> None:
    apply_role = assumed(f"arn:aws:iam::{ACCOUNT}:role/{APPLY_ROLE}")
    with pytest.raises(botocore.exceptions.ClientError) as iam_error:
        apply_role.client("iam").put_role_policy(
            RoleName=APPLY_ROLE,
            PolicyName="more",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
    error = iam_error.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{APPLY_ROLE}/contract is not authorized to perform: "
        f"iam:PutRolePolicy on resource: arn:aws:iam::{ACCOUNT}:role/{APPLY_ROLE} "
        "with an explicit deny in an identity-based policy"
    )
    with pytest.raises(botocore.exceptions.ClientError) as json_error:
        apply_role.client("cloudtrail").lookup_events()
    assert json_error.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "because no identity-based policy allows the cloudtrail:LookupEvents action" in str(
        json_error.value
    )


def test_identity_center_responses(clients: Any) -> None:
    """What fakeaws adds to moto's sso-admin: provisioning across accounts and its status."""
    from fakeaws.identity_center import seed_identity_center, sso_admin_client

    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }
    made = seed_identity_center(
        ACCOUNT, [{"name": "Ops", "inline": document, "accounts": [ACCOUNT, "444455556666"]}]
    )
    sso = sso_admin_client(ACCOUNT)
    ref = {"InstanceArn": made["Ops"]["instance_arn"], "PermissionSetArn": made["Ops"]["arn"]}
    accounts = check(sso, "ListAccountsForProvisionedPermissionSet", **ref)["AccountIds"]
    assert sorted(accounts) == sorted([ACCOUNT, "444455556666"])
    started = check(sso, "ProvisionPermissionSet", **ref, TargetType="ALL_PROVISIONED_ACCOUNTS")
    assert started["PermissionSetProvisioningStatus"]["Status"] == "IN_PROGRESS"
    request = started["PermissionSetProvisioningStatus"]["RequestId"]
    done = check(
        sso,
        "DescribePermissionSetProvisioningStatus",
        InstanceArn=ref["InstanceArn"],
        ProvisionPermissionSetRequestId=request,
    )
    assert done["PermissionSetProvisioningStatus"]["Status"] == "SUCCEEDED"
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sso.get_permissions_boundary_for_permission_set(**ref)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
