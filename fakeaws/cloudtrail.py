"""CloudTrail's LookupEvents over the events recorded with `record_event` / `record_access_denied`.

As AWS answers it: management events only (data events such as s3:GetObject or dynamodb:GetItem go to a
trail's S3 files when the trail logs them, never to LookupEvents), newest first, at most 50 a page with a
NextToken, filtered by StartTime, EndTime and one LookupAttribute. Each event's `CloudTrailEvent` is the
JSON record CloudTrail writes: a role's caller is its session (`arn:aws:sts::ACCOUNT:assumed-role/NAME/
SESSION`, with the role as `sessionContext.sessionIssuer`), a user is its IAM ARN. The resources a call
touched are where CloudTrail puts them: every event names them in `requestParameters` as the caller passed
them (`bucketName`, `tableName`, `functionName`, `queueUrl`, ...); only some services' records also carry a
`resources` block with ARNs (S3, KMS, STS AssumeRole); and LookupEvents' `Resources` list gives each one's
type and name (`AWS::S3::Bucket` / `app-uploads`, `AWS::DynamoDB::Table` / `orders`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from fakeaws.errors import FakeAwsError

_installed = False
PAGE = 50
# Event sources that are not `<prefix>.amazonaws.com`.
EVENT_SOURCES = {"monitoring": "monitoring.amazonaws.com", "cloudwatch": "monitoring.amazonaws.com"}
# The services whose records carry a `resources` block with ARNs; the others name the resource only in
# requestParameters (and LookupEvents' Resources list).
RESOURCE_BLOCK_SERVICES = frozenset({"s3", "kms", "sts"})


def is_data_event(action: str) -> bool:
    """Data events never reach LookupEvents, nor Access Analyzer's action-level policy generation."""
    from fakeaws.advisor import DATA_EVENTS
    from fakeaws.iamdb import iam_database

    service, _, name = action.lower().partition(":")
    if name in DATA_EVENTS.get(service, frozenset()):
        return True
    info = iam_database().actions.get(action.lower())
    return bool(
        service == "s3"
        and info is not None
        and info.resource_types
        and info.resource_types <= {"object", "accesspointobject"}
    )


def identity(account: str, principal: str, session: str) -> dict[str, Any]:
    """The `userIdentity` block CloudTrail writes for a user or a role's session."""
    if ":assumed-role/" in principal:  # recorded as the session already
        role_name, _, session = principal.split("assumed-role/", 1)[1].partition("/")
        principal = f"arn:aws:iam::{account}:role/{role_name}"
    name = principal.rsplit("/", 1)[-1]
    if ":role/" in principal:
        session = session or "1700000000000"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{hashlib.sha256(principal.encode()).hexdigest()[:16].upper()}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
            "accountId": account,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": principal,
                    "accountId": account,
                    "userName": name,
                }
            },
        }
    return {"type": "IAMUser", "arn": principal, "accountId": account, "userName": name}


def resource_type(arn: str) -> str:
    parts = arn.split(":", 5)
    service = parts[2] if len(parts) > 2 else ""
    rest = parts[5] if len(parts) > 5 else ""
    if service == "s3":
        return "AWS::S3::Object" if "/" in rest else "AWS::S3::Bucket"
    kind = rest.split("/", 1)[0].split(":", 1)[0] or "Resource"
    return f"AWS::{service.upper() if len(service) <= 3 else service.title()}::{kind.title()}"


def resource_name(arn: str) -> str:
    """The name LookupEvents lists a resource by: a bucket's, table's, function's, queue's or log group's
    name; the whole ARN for the rest (KMS keys, secrets, roles)."""
    parts = arn.split(":", 5)
    service, rest = (parts[2], parts[5]) if len(parts) == 6 else ("", arn)
    if service == "s3":
        return rest
    if service == "dynamodb" and rest.startswith("table/"):
        return rest.split("/")[1]
    if service in ("lambda", "logs"):
        return rest.split(":")[1] if ":" in rest else rest
    if service == "sqs":
        return rest
    return arn


def request_parameters(event: dict[str, Any], account: str) -> dict[str, Any] | None:
    """`requestParameters` as the SDK's call wrote them, from the first resource the event names."""
    if not event["resources"]:
        return None
    arn = event["resources"][0]
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service, region, owner, rest = parts[2], parts[3], parts[4] or account, parts[5]
    if event["action"].lower().startswith("sts:"):
        return {"roleArn": arn, "roleSessionName": "session"}
    if service == "s3":
        bucket, _, key = rest.partition("/")
        out: dict[str, Any] = {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com"}
        return {**out, "key": key} if key else out
    if service == "dynamodb" and rest.startswith("table/"):
        pieces = rest.split("/")
        out = {"tableName": pieces[1]}
        return {**out, "indexName": pieces[3]} if len(pieces) > 3 and pieces[2] == "index" else out
    if service == "lambda":
        return {"functionName": resource_name(arn)}
    if service == "sqs":
        return {"queueUrl": f"https://sqs.{region}.amazonaws.com/{owner}/{rest}"}
    if service == "logs":
        return {"logGroupName": resource_name(arn)}
    if service == "secretsmanager":
        return {"secretId": arn}
    if service == "kms":
        return {"keyId": arn}
    if service == "iam":
        kind, _, name = rest.partition("/")
        return {"policyArn": arn} if kind == "policy" else {f"{kind}Name": name.rsplit("/", 1)[-1]}
    return None


def _event_id(account: str, n: int, event: dict[str, Any]) -> str:
    digest = hashlib.sha256(
        f"{account}|{n}|{event['time'].isoformat()}|{event['action']}".encode()
    ).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def record(account: str, event: dict[str, Any], n: int) -> dict[str, Any]:
    """One recorded event as CloudTrail's JSON record."""
    service, _, name = event["action"].partition(":")
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity(account, event["principal"], event.get("session", "")),
        "eventTime": event["time"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": EVENT_SOURCES.get(service, f"{service}.amazonaws.com"),
        "eventName": name,
        "awsRegion": event.get("region", "us-east-1"),
        "eventID": _event_id(account, n, event),
        "readOnly": name.startswith(("Get", "List", "Describe", "Head")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "requestParameters": request_parameters(event, account),
        "responseElements": None,
    }
    if service in RESOURCE_BLOCK_SERVICES and event["resources"]:
        detail["resources"] = [
            {"ARN": arn, "accountId": account, "type": resource_type(arn)} for arn in event["resources"]
        ]
    if event.get("error"):
        detail["errorCode"] = event["error"]
        on = f" on resource: {event['resources'][0]}" if event["resources"] else ""
        detail["errorMessage"] = (
            f"User: {detail['userIdentity']['arn']} is not authorized to perform: {event['action']}{on} "
            "because no identity-based policy allows the action"
        )
    return detail


def management_events(account: str) -> list[tuple[int, dict[str, Any]]]:
    from fakeaws.state import STATE

    with STATE.lock:
        events = list(STATE.events.get(account, []))
    return [(n, e) for n, e in enumerate(events) if not is_data_event(e["action"])]


def _matches(attribute: dict[str, str], detail: dict[str, Any], event: dict[str, Any]) -> bool:
    key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
    if key == "EventName":
        return bool(detail["eventName"] == value)
    if key == "EventSource":
        return bool(detail["eventSource"] == value)
    if key == "Username":
        who = detail["userIdentity"]
        return value in (who.get("userName"), who["arn"].rsplit("/", 1)[-1])
    if key == "ResourceName":
        return value in event["resources"] or value in {resource_name(a) for a in event["resources"]}
    if key == "ReadOnly":
        return str(detail["readOnly"]).lower() == str(value).lower()
    if key == "EventId":
        return bool(detail["eventID"] == value)
    raise FakeAwsError("InvalidLookupAttributesException", f"Lookup attribute {key} is not supported here.")


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.cloudtrail.responses import CloudTrailResponse

    def lookup_events(self: Any) -> str:
        params = json.loads(self.body or "{}")
        start, end = _time(params.get("StartTime")), _time(params.get("EndTime"))
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise FakeAwsError("InvalidLookupAttributesException", "Only one lookup attribute is allowed.")
        size = min(int(params.get("MaxResults") or PAGE), PAGE)
        found = []
        for n, event in reversed(management_events(self.current_account)):
            when = event["time"].timestamp()
            if (start is not None and when < start) or (end is not None and when > end):
                continue
            detail = record(self.current_account, event, n)
            if attributes and not _matches(attributes[0], detail, event):
                continue
            found.append(
                {
                    "EventId": detail["eventID"],
                    "EventName": detail["eventName"],
                    "ReadOnly": str(detail["readOnly"]).lower(),
                    "EventTime": when,
                    "EventSource": detail["eventSource"],
                    "Username": detail["userIdentity"]["arn"].rsplit("/", 1)[-1],
                    "Resources": [
                        {"ResourceType": resource_type(arn), "ResourceName": resource_name(arn)}
                        for arn in event["resources"]
                    ],
                    "CloudTrailEvent": json.dumps(detail),
                }
            )
        offset = int(params.get("NextToken") or 0)
        page: dict[str, Any] = {"Events": found[offset : offset + size]}
        if offset + size < len(found):
            page["NextToken"] = str(offset + size)
        return json.dumps(page)

    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
