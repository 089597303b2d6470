"""Reading evidence of use from CloudTrail, and asking IAM's simulator about it. boto3 only, plain data out.

- IAM Access Analyzer policy generation: start a job for one principal over a window of at most 90 days,
  then poll it; the generated policy names the actions used (per action for the services and events it
  covers, `service:*` otherwise), never the resources.
- CloudTrail LookupEvents: every management event of the account since a time, with the caller (a user,
  or the role behind an assumed-role session) and the ARNs of the resources the call touched: from the
  record's `resources` block where the service writes one, else built from its `requestParameters`
  (`bucketName`, `tableName`, `functionName`, `queueUrl`, ...), else LookupEvents' `Resources` entries
  that are ARNs. A parameter that does not make a whole ARN (a role's name, whose path is unknown) is
  left out: a resource is never guessed.
- SimulateCustomPolicy: decisions for (action, resource) requests against a set of policy documents.
Every failure raises AwsAccessError with a sentence a person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from accounts.aws.client import AwsAccessError, explain

# Event sources whose IAM prefix is not their first label.
EVENT_SOURCE_PREFIX = {
    "monitoring": "cloudwatch",
    "email": "ses",
    "elasticloadbalancing": "elasticloadbalancing",
}


# CloudTrail event names that are not the IAM action's name.
EVENT_ACTIONS = {
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
}
LAMBDA_VERSION = re.compile(r"20\d{6}(v\d+)?$")  # UpdateFunctionCode20150331v2 -> UpdateFunctionCode


def event_action(source: str, name: str) -> str:
    """The IAM action a CloudTrail event stands for."""
    prefix = EVENT_SOURCE_PREFIX.get(source, source)
    if prefix == "lambda":
        name = LAMBDA_VERSION.sub("", name)
    action = f"{prefix}:{name}"
    return EVENT_ACTIONS.get(action, action)


class GenerationRefused(AwsAccessError):
    """StartPolicyGeneration refused: another job runs in the account, or today's quota is used up."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _call(doing: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(explain(exc, doing)) from exc


def start_generation(
    analyzer: Any,
    *,
    principal_arn: str,
    trail_arn: str,
    access_role: str,
    start: datetime,
    end: datetime,
    token: str,
) -> str:
    try:
        answer = analyzer.start_policy_generation(
            policyGenerationDetails={"principalArn": principal_arn},
            cloudTrailDetails={
                "trails": [{"cloudTrailArn": trail_arn, "allRegions": True}],
                "accessRole": access_role,
                "startTime": start,
                "endTime": end,
            },
            clientToken=token,
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ConflictException", "ServiceQuotaExceededException"):
            raise GenerationRefused(code, explain(exc, "StartPolicyGeneration")) from exc
        raise AwsAccessError(explain(exc, "starting IAM Access Analyzer policy generation")) from exc
    except BotoCoreError as exc:
        raise AwsAccessError(explain(exc, "starting IAM Access Analyzer policy generation")) from exc
    return str(answer["jobId"])


@dataclass
class Generated:
    status: str  # IN_PROGRESS | SUCCEEDED | FAILED | CANCELED
    error: str = ""
    actions: set[str] = field(default_factory=set)  # as written: "service:Action" or "service:*"


def generation_result(analyzer: Any, job_id: str) -> Generated:
    answer = _call(
        "reading a generated policy (access-analyzer:GetGeneratedPolicy)",
        analyzer.get_generated_policy,
        jobId=job_id,
        includeServiceLevelTemplate=True,
    )
    details = answer["jobDetails"]
    result = Generated(details["status"])
    if details.get("jobError"):
        result.error = f"{details['jobError'].get('code')}: {details['jobError'].get('message')}"
    for generated in answer.get("generatedPolicyResult", {}).get("generatedPolicies", []):
        document = json.loads(generated["policy"])
        statements = document.get("Statement", [])
        for st in statements if isinstance(statements, list) else [statements]:
            if st.get("Effect") != "Allow":
                continue
            actions = st.get("Action", [])
            result.actions |= set(actions if isinstance(actions, list) else [actions])
    return result


def cancel_generation(analyzer: Any, job_id: str) -> None:
    _call("cancelling a policy generation", analyzer.cancel_policy_generation, jobId=job_id)


def _from_parameters(detail: dict[str, Any]) -> list[str]:
    """The ARNs an event's requestParameters name, where they make a whole ARN."""
    params = detail.get("requestParameters")
    if not isinstance(params, dict):
        return []
    who = str(detail.get("userIdentity", {}).get("arn", "arn:aws:"))
    partition = who.split(":")[1] if who.count(":") > 1 else "aws"
    region = str(detail.get("awsRegion") or "us-east-1")
    account = str(detail.get("recipientAccountId") or detail.get("userIdentity", {}).get("accountId", ""))

    def text(key: str) -> str:
        value = params.get(key)
        return value if isinstance(value, str) else ""

    out = [text(k) for k in ("roleArn", "policyArn", "secretId", "keyId") if text(k).startswith("arn:")]
    if text("bucketName"):
        key = text("key")
        out.append(f"arn:{partition}:s3:::{text('bucketName')}" + (f"/{key}" if key else ""))
    if text("tableName"):
        table = text("tableName")
        if not table.startswith("arn:"):
            table = f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
        out.append(table + (f"/index/{text('indexName')}" if text("indexName") else ""))
    if text("functionName"):
        name = text("functionName")
        out.append(
            name if name.startswith("arn:") else f"arn:{partition}:lambda:{region}:{account}:function:{name}"
        )
    queue = re.fullmatch(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/(\d{12})/([\w.-]+)", text("queueUrl"))
    if queue:
        out.append(f"arn:{partition}:sqs:{queue.group(1)}:{queue.group(2)}:{queue.group(3)}")
    if text("logGroupName"):
        group = f"arn:{partition}:logs:{region}:{account}:log-group:{text('logGroupName')}"
        stream = text("logStreamName")
        out.append(f"{group}:log-stream:{stream}" if stream else group)
    return out if account or all(":::" in a for a in out) else []


def event_resources(detail: dict[str, Any], listed: list[dict[str, Any]] | None = None) -> tuple[str, ...]:
    """The ARNs a CloudTrail event's call touched: the record's `resources` block, else its
    requestParameters, else LookupEvents' `Resources` entries that are ARNs; () when none shows one."""
    block = [str(r["ARN"]) for r in detail.get("resources") or [] if r.get("ARN")]
    if block:
        return tuple(dict.fromkeys(block))
    derived = _from_parameters(detail)
    if derived:
        return tuple(dict.fromkeys(derived))
    names = [str(r.get("ResourceName", "")) for r in listed or []]
    return tuple(dict.fromkeys(n for n in names if n.startswith("arn:")))


@dataclass(frozen=True)
class TrailEvent:
    caller: str  # the IAM user or role ARN (a role's sessions are the role)
    action: str  # "service:EventName"
    time: datetime
    resources: tuple[str, ...]
    error: str


def caller_arn(identity: dict[str, Any]) -> str:
    """The IAM principal behind a CloudTrail `userIdentity`: a user's ARN, or the role that issued the session."""
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
    if identity.get("type") == "AssumedRole" and issuer.get("arn"):
        return str(issuer["arn"])
    return str(identity.get("arn", ""))


def lookup_events(
    cloudtrail: Any, since: datetime, until: datetime, *, max_pages: int = 400
) -> Iterator[list[TrailEvent]]:
    """Management events between two times, a page (of at most 50) at a time."""
    token = None
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"StartTime": since, "EndTime": until, "MaxResults": 50}
        if token:
            kwargs["NextToken"] = token
        page = _call(
            "reading CloudTrail events (cloudtrail:LookupEvents)", cloudtrail.lookup_events, **kwargs
        )
        events = []
        for e in page.get("Events", []):
            detail = json.loads(e.get("CloudTrailEvent") or "{}")
            source = str(detail.get("eventSource") or e.get("EventSource", "")).split(".", 1)[0]
            events.append(
                TrailEvent(
                    caller=caller_arn(detail.get("userIdentity", {})),
                    action=event_action(source, str(detail.get("eventName") or e.get("EventName"))),
                    time=e["EventTime"],
                    resources=event_resources(detail, e.get("Resources")),
                    error=str(detail.get("errorCode") or ""),
                )
            )
        yield events
        token = page.get("NextToken")
        if not token:
            return


def simulate(
    iam: Any, documents: list[Any], boundary: Any | None, requests: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(action, resource) -> allowed | explicitDeny | implicitDeny, from IAM's SimulateCustomPolicy."""
    out: dict[tuple[str, str], str] = {}
    by_resource: dict[str, list[str]] = {}
    for action, resource in requests:
        by_resource.setdefault(resource, []).append(action)
    for resource, actions in by_resource.items():
        for n in range(0, len(actions), 100):
            kwargs: dict[str, Any] = {
                "PolicyInputList": [json.dumps(d) for d in documents],
                "ActionNames": actions[n : n + 100],
                "ResourceArns": [resource],
            }
            if boundary is not None:
                kwargs["PermissionsBoundaryPolicyInputList"] = [json.dumps(boundary)]
            marker = None
            while True:
                if marker:
                    kwargs["Marker"] = marker
                page = _call(
                    "simulating the new policies (iam:SimulateCustomPolicy)",
                    iam.simulate_custom_policy,
                    **kwargs,
                )
                for row in page["EvaluationResults"]:
                    out[(row["EvalActionName"], row.get("EvalResourceName", resource))] = row["EvalDecision"]
                marker = page.get("Marker") if page.get("IsTruncated") else None
                if not marker:
                    break
    return out
