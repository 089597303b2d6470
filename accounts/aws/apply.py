"""Reading and writing IAM policies for approved changes. boto3 only; every write is one small function so
the caller can record exactly what it did, and undo it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from accounts.aws.client import AwsAccessError, explain
from accounts.aws.evidence import event_action, event_resources

MAX_VERSIONS = 5


def _doc(raw: Any) -> Any:
    if isinstance(raw, str):
        return json.loads(urllib.parse.unquote(raw) if raw.lstrip().startswith("%7B") else raw)
    return raw


def _call(doing: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "LimitExceeded":
            raise AwsAccessError(
                f"AWS refused {doing}: {exc.response['Error'].get('Message', '')} The document is over an IAM size "
                "limit; edit the request to split it, or apply it as a customer-managed policy."
            ) from exc
        raise AwsAccessError(explain(exc, doing)) from exc


_INLINE = {
    "role": ("get_role_policy", "put_role_policy", "delete_role_policy", "RoleName"),
    "user": ("get_user_policy", "put_user_policy", "delete_user_policy", "UserName"),
    "group": ("get_group_policy", "put_group_policy", "delete_group_policy", "GroupName"),
}
_ATTACH = {
    "role": ("attach_role_policy", "detach_role_policy", "list_attached_role_policies", "RoleName"),
    "user": ("attach_user_policy", "detach_user_policy", "list_attached_user_policies", "UserName"),
    "group": ("attach_group_policy", "detach_group_policy", "list_attached_group_policies", "GroupName"),
}


def read_inline(iam: Any, kind: str, name: str, policy_name: str) -> Any | None:
    get, _, _, key = _INLINE[kind]
    try:
        return _doc(getattr(iam, get)(**{key: name, "PolicyName": policy_name})["PolicyDocument"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise AwsAccessError(explain(exc, f"reading inline policy {policy_name} of {name}")) from exc


def put_inline(iam: Any, kind: str, name: str, policy_name: str, document: Any) -> None:
    _, put, _, key = _INLINE[kind]
    _call(
        f"writing inline policy {policy_name} of {name}",
        getattr(iam, put),
        **{key: name, "PolicyName": policy_name, "PolicyDocument": json.dumps(document)},
    )


def delete_inline(iam: Any, kind: str, name: str, policy_name: str) -> None:
    _, _, delete, key = _INLINE[kind]
    _call(
        f"deleting inline policy {policy_name} of {name}",
        getattr(iam, delete),
        **{key: name, "PolicyName": policy_name},
    )


def read_managed_default(iam: Any, arn: str) -> tuple[str, Any]:
    policy = _call(f"reading policy {arn}", iam.get_policy, PolicyArn=arn)["Policy"]
    version = policy["DefaultVersionId"]
    document = _call(
        f"reading policy {arn} {version}", iam.get_policy_version, PolicyArn=arn, VersionId=version
    )
    return version, _doc(document["PolicyVersion"]["Document"])


def create_default_version(iam: Any, arn: str, document: Any) -> dict[str, Any]:
    """New default version; when 5 versions exist, the oldest non-default one is deleted first (and its
    document returned, so that a rollback can say what was lost)."""
    versions = _call(f"listing versions of {arn}", iam.list_policy_versions, PolicyArn=arn)["Versions"]
    deleted = None
    if len(versions) >= MAX_VERSIONS:
        oldest = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])[0]
        old_doc = _call(
            f"reading {arn} {oldest['VersionId']}",
            iam.get_policy_version,
            PolicyArn=arn,
            VersionId=oldest["VersionId"],
        )
        _call(
            f"deleting version {oldest['VersionId']} of {arn}",
            iam.delete_policy_version,
            PolicyArn=arn,
            VersionId=oldest["VersionId"],
        )
        deleted = {"version": oldest["VersionId"], "document": _doc(old_doc["PolicyVersion"]["Document"])}
    created = _call(
        f"creating a version of {arn}",
        iam.create_policy_version,
        PolicyArn=arn,
        PolicyDocument=json.dumps(document),
        SetAsDefault=True,
    )
    return {"version": created["PolicyVersion"]["VersionId"], "deleted": deleted}


def set_default_version(iam: Any, arn: str, version: str) -> None:
    _call(
        f"restoring version {version} of {arn}",
        iam.set_default_policy_version,
        PolicyArn=arn,
        VersionId=version,
    )


def delete_version(iam: Any, arn: str, version: str) -> None:
    _call(f"deleting version {version} of {arn}", iam.delete_policy_version, PolicyArn=arn, VersionId=version)


def create_policy(iam: Any, name: str, document: Any, description: str) -> str:
    created = _call(
        f"creating policy {name}",
        iam.create_policy,
        PolicyName=name,
        PolicyDocument=json.dumps(document),
        Description=description[:1000],
    )
    return str(created["Policy"]["Arn"])


def versions(iam: Any, arn: str) -> list[str]:
    return [
        v["VersionId"]
        for v in _call(f"listing versions of {arn}", iam.list_policy_versions, PolicyArn=arn)["Versions"]
    ]


def policy_exists(iam: Any, arn: str) -> bool:
    try:
        iam.get_policy(PolicyArn=arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return False
        raise AwsAccessError(explain(exc, f"reading policy {arn}")) from exc
    return True


def delete_policy(iam: Any, arn: str) -> None:
    versions = _call(f"listing versions of {arn}", iam.list_policy_versions, PolicyArn=arn)["Versions"]
    for v in versions:
        if not v["IsDefaultVersion"]:
            delete_version(iam, arn, v["VersionId"])
    _call(f"deleting policy {arn}", iam.delete_policy, PolicyArn=arn)


def attach(iam: Any, kind: str, name: str, arn: str) -> None:
    fn, _, _, key = _ATTACH[kind]
    _call(f"attaching {arn} to {name}", getattr(iam, fn), **{key: name, "PolicyArn": arn})


def detach(iam: Any, kind: str, name: str, arn: str) -> None:
    _, fn, _, key = _ATTACH[kind]
    _call(f"detaching {arn} from {name}", getattr(iam, fn), **{key: name, "PolicyArn": arn})


def attached(iam: Any, kind: str, name: str) -> list[str]:
    _, _, fn, key = _ATTACH[kind]
    return [
        p["PolicyArn"]
        for p in _call(f"listing policies of {name}", getattr(iam, fn), **{key: name})["AttachedPolicies"]
    ]


INCOMPLETE = (
    "IAM Access Analyzer's {call} answered without a result (the response was incomplete); the check was "
    "not made: try again."
)


def validate(analyzer: Any, document: Any) -> dict[str, Any]:
    """Access Analyzer's ValidatePolicy; {"available": False} where the account does not have it."""
    try:
        findings = analyzer.validate_policy(
            policyDocument=json.dumps(document), policyType="IDENTITY_POLICY"
        ).get("findings")
    except (ClientError, BotoCoreError) as exc:
        return {"available": False, "reason": explain(exc, "ValidatePolicy")}
    if not isinstance(findings, list):  # an answer cut short is no answer: never "no findings"
        return {"available": False, "reason": INCOMPLETE.format(call="ValidatePolicy")}
    return {
        "available": True,
        "findings": [
            {"type": f.get("findingType"), "code": f.get("issueCode"), "detail": f.get("findingDetails")}
            for f in findings
        ],
    }


def check_no_new_access(analyzer: Any, new: Any, existing: Any) -> dict[str, Any]:
    try:
        result = analyzer.check_no_new_access(
            newPolicyDocument=json.dumps(new),
            existingPolicyDocument=json.dumps(existing),
            policyType="IDENTITY_POLICY",
        )
    except (ClientError, BotoCoreError) as exc:
        return {"available": False, "reason": explain(exc, "CheckNoNewAccess")}
    if result.get("result") not in ("PASS", "FAIL"):  # an answer cut short is never a pass: a refusal
        return {
            "available": True,
            "result": "INCOMPLETE",
            "message": INCOMPLETE.format(call="CheckNoNewAccess"),
        }
    return {
        "available": True,
        "result": result.get("result"),
        "message": result.get("message", ""),
        "reasons": [r.get("description", "") for r in result.get("reasons", [])],
    }


DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)


def caller_matches(identity: dict[str, Any], principal_arn: str) -> bool:
    """Whether a CloudTrail `userIdentity` is this principal: a user by its ARN; a role by the issuer of
    the session (CloudTrail writes `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`), never by a prefix that
    a role whose name merely starts with NAME would also match."""
    if identity.get("arn") == principal_arn:
        return True
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    if issuer:
        return bool(issuer == principal_arn)
    if ":role/" not in principal_arn:
        return False
    account = principal_arn.split(":")[4]
    name = principal_arn.rsplit("/", 1)[-1]
    return str(identity.get("arn", "")).startswith(f"arn:aws:sts::{account}:assumed-role/{name}/")


def denied_resource(detail: dict[str, Any], listed: list[dict[str, Any]] | None = None) -> str:
    """The resource a refused call was for: the event's resources or request parameters
    (`accounts.aws.evidence.event_resources`), else the error message's "on resource: ARN" (AWS names it
    there when the action has one); "" when neither says."""
    found = event_resources(detail, listed)
    if found:
        return found[0]
    message = str(detail.get("errorMessage") or "")
    if " on resource: " in message:
        return message.split(" on resource: ", 1)[1].split(" ", 1)[0]
    return ""


def access_denied_events(
    cloudtrail: Any, principal_arn: str, since: Any, *, max_pages: int = 20
) -> list[dict[str, Any]]:
    """AccessDenied events of a principal since a time, from CloudTrail's management events
    (LookupEvents, newest first, `max_pages` of 50). Raises AwsAccessError when CloudTrail cannot be read:
    "could not look" must never read as "nothing refused"."""
    found: list[dict[str, Any]] = []
    token = None
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"StartTime": since, "MaxResults": 50}
        if token:
            kwargs["NextToken"] = token
        page = _call(
            "reading CloudTrail events (cloudtrail:LookupEvents)", cloudtrail.lookup_events, **kwargs
        )
        for e in page.get("Events", []):
            detail = json.loads(e.get("CloudTrailEvent") or "{}")
            if detail.get("errorCode") in DENIED_CODES and caller_matches(
                detail.get("userIdentity", {}), principal_arn
            ):
                found.append(
                    {
                        "time": str(e.get("EventTime")),
                        "action": event_action(
                            str(e.get("EventSource", "")).split(".")[0], str(e.get("EventName"))
                        ),
                        "error": detail.get("errorCode"),
                        "resource": denied_resource(detail, e.get("Resources")),
                    }
                )
        token = page.get("NextToken")
        if not token:
            break
    return found
