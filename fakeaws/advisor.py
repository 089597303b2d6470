"""Access Advisor in moto's IAM: GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails.

As AWS does, a job reports every service the principal's policies grant: with the last use recorded by
`record_usage`, or without `LastAuthenticated` when never used. At ACTION_LEVEL, the services AWS tracks per
action also list `TrackedActionsLastAccessed`, for their granted management actions only: data events
(s3:GetObject, dynamodb:GetItem, lambda:InvokeFunction, ...) and permissions that are not API calls
(iam:PassRole) never appear there, even when used; their use shows only in the service's row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

from fakeaws.errors import FakeAwsError
from fakeaws.iamdb import ActionInfo, iam_database
from fakeaws.iameval import Policy, PolicyInvalid, parse
from fakeaws.state import STATE, faults

# Services for which AWS reports action-level last-accessed data: a subset of AWS's list (which grows),
# enough for the demo's workloads. Every other service is reported at service level only.
ACTION_LEVEL_SERVICES = frozenset(
    {"s3", "ec2", "iam", "lambda", "sts", "dynamodb", "kms", "secretsmanager", "ssm"}
)
# Action-level data comes from CloudTrail management events: data events (object, item and invocation
# calls) never appear, however often they are made.
DATA_EVENTS = {
    "s3": frozenset(
        {"listbucket", "listbucketversions", "listbucketmultipartuploads", "listmultipartuploadparts"}
    ),
    "dynamodb": frozenset(
        {
            "getitem",
            "batchgetitem",
            "putitem",
            "batchwriteitem",
            "updateitem",
            "deleteitem",
            "query",
            "scan",
            "conditioncheckitem",
            "partiqlselect",
            "partiqlinsert",
            "partiqlupdate",
            "partiqldelete",
            "getrecords",
            "getshariterator",
            "getsharditerator",
        }
    ),
    "lambda": frozenset({"invokefunction", "invokefunctionurl", "invokeasync"}),
    "sqs": frozenset({"sendmessage", "receivemessage", "deletemessage", "changemessagevisibility"}),
    "sns": frozenset({"publish"}),
}
# Permissions AWS checks that are not API calls of their own: never in last-accessed data.
NOT_API_CALLS = frozenset(
    {
        "iam:passrole",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
        "s3:bypassgovernanceretention",
    }
)

_installed = False


def reported_at_action_level(info: ActionInfo) -> bool:
    """Whether Access Advisor can list this action in TrackedActionsLastAccessed."""
    service, _, name = info.name.lower().partition(":")
    if service not in ACTION_LEVEL_SERVICES or info.name.lower() in NOT_API_CALLS:
        return False
    if name in DATA_EVENTS.get(service, frozenset()):
        return False
    # S3 object-level calls are data events too (their only resources are objects).
    return not (
        service == "s3" and info.resource_types and info.resource_types <= {"object", "accesspointobject"}
    )


def _entity(backend: Any, arn: str) -> tuple[str, Any]:
    kind = arn.split(":", 5)[-1].split("/", 1)[0]
    name = arn.rsplit("/", 1)[-1]
    try:
        if kind == "user":
            return kind, backend.get_user(name)
        if kind == "role":
            return kind, backend.get_role(name)
        if kind == "group":
            return kind, backend.get_group(name)
    except Exception as exc:  # moto raises its own not-found types
        raise FakeAwsError("NoSuchEntity", f"The entity {arn} cannot be found.") from exc
    if kind == "policy":
        return kind, None
    raise FakeAwsError("InvalidInput", f"ARN {arn} is not a user, group, role or policy.")


def _default_document(policy: Any) -> Any:
    return next((v.document for v in policy.versions if v.is_default), None)


def _documents(backend: Any, kind: str, entity: Any) -> list[Policy]:
    raw: list[Any] = list(entity.policies.values())
    raw += [_default_document(p) for p in entity.managed_policies.values()]
    if kind == "user":
        for group in backend.get_groups_for_user(entity.name):
            raw += list(group.policies.values())
            raw += [_default_document(p) for p in group.managed_policies.values()]
    docs = []
    for document in raw:
        try:
            docs.append(parse(document))
        except PolicyInvalid:
            continue
    return docs


def granted_services(backend: Any, arn: str) -> dict[str, set[str]]:
    """Services the principal's policies grant, with their granted actions (lower-case names).

    As Access Advisor lists them: any Allow counts, whatever its resource or condition; only a Deny on
    every resource without a condition takes an action away.
    """
    kind, entity = _entity(backend, arn)
    db = iam_database()
    allowed: set[str] = set()
    denied: set[str] = set()
    for policy in _documents(backend, kind, entity):
        for st in policy.statements:
            named: set[str] = set()
            for pattern in st.actions:
                named |= db.matching(pattern)
            actions = set(db.actions) - named if st.not_action else named
            if st.effect == "Allow":
                allowed |= actions
            elif not st.conditions and not st.not_resource and "*" in st.resources:
                denied |= actions
    services: dict[str, set[str]] = {}
    for action in allowed - denied:
        services.setdefault(action.split(":", 1)[0], set()).add(action)
    return services


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    def generate_service_last_accessed_details(self: IamResponse) -> ActionResult:
        arn = self._get_param("Arn")
        granularity = self._get_param("Granularity") or "SERVICE_LEVEL"
        _entity(self.backend, arn)
        job_id = str(uuid.uuid4())
        with STATE.lock:
            STATE.jobs[job_id] = {
                "arn": arn,
                "granularity": granularity,
                "created": datetime.now(tz=UTC),
                "polls": 0,
            }
        return ActionResult({"JobId": job_id})

    def get_service_last_accessed_details(self: IamResponse) -> ActionResult:
        job_id = self._get_param("JobId")
        job = STATE.jobs.get(job_id)
        if job is None:
            raise FakeAwsError("NoSuchEntity", f"Job {job_id} not found.")
        job["polls"] += 1
        injected = faults()
        if injected.never_complete_jobs or job["polls"] <= injected.job_polls_before_complete:
            return ActionResult(
                {
                    "JobStatus": "IN_PROGRESS",
                    "JobType": job["granularity"],
                    "JobCreationDate": job["created"],
                    # Required by the service model even while the job runs.
                    "JobCompletionDate": job["created"],
                    "ServicesLastAccessed": [],
                }
            )
        services = granted_services(self.backend, job["arn"])
        db = iam_database()
        usage = STATE.usage.get(job["arn"], {})
        rows: list[dict[str, Any]] = []
        for namespace in sorted(services):
            used = usage.get(namespace)
            row: dict[str, Any] = {
                "ServiceName": namespace.upper() if len(namespace) <= 3 else namespace.title(),
                "ServiceNamespace": namespace,
                "TotalAuthenticatedEntities": 1 if used else 0,
            }
            if used is not None:
                row["LastAuthenticated"] = used.last_used
                row["LastAuthenticatedEntity"] = used.entity or job["arn"]
                row["LastAuthenticatedRegion"] = used.region
            if job["granularity"] == "ACTION_LEVEL" and namespace in ACTION_LEVEL_SERVICES:
                tracked = []
                for action in sorted(services[namespace]):
                    if not reported_at_action_level(db.actions[action]):
                        continue
                    name = db.actions[action].name.split(":", 1)[1]
                    entry: dict[str, Any] = {"ActionName": name}
                    when = used.actions.get(name) if used is not None else None
                    if when is not None:
                        entry["LastAccessedTime"] = when
                        entry["LastAccessedEntity"] = job["arn"]
                        entry["LastAccessedRegion"] = used.region if used is not None else "us-east-1"
                    tracked.append(entry)
                row["TrackedActionsLastAccessed"] = tracked
            rows.append(row)
        max_items = int(self._get_param("MaxItems") or 100)
        start = int(self._get_param("Marker") or 0)
        page = rows[start : start + max_items]
        result: dict[str, Any] = {
            "JobStatus": "COMPLETED",
            "JobType": job["granularity"],
            "JobCreationDate": job["created"],
            "JobCompletionDate": datetime.now(tz=UTC),
            "ServicesLastAccessed": page,
            "IsTruncated": start + max_items < len(rows),
        }
        if result["IsTruncated"]:
            result["Marker"] = str(start + max_items)
        return ActionResult(result)

    IamResponse.generate_service_last_accessed_details = generate_service_last_accessed_details  # type: ignore[attr-defined]
    IamResponse.get_service_last_accessed_details = get_service_last_accessed_details  # type: ignore[attr-defined]
