"""IAM Access Analyzer policy generation: StartPolicyGeneration, GetGeneratedPolicy, ListPolicyGenerations
and CancelPolicyGeneration, from the CloudTrail events recorded with `record_event`.

As the real feature behaves:
- the window is at most 90 days; one job runs at a time per account (ConflictException) and at most 50 are
  started per account per day (ServiceQuotaExceededException); the caller needs iam:PassRole on the access
  role, which must exist and trust access-analyzer.amazonaws.com, and the trail must exist (else the job
  fails with AUTHORIZATION_ERROR or RESOURCE_NOT_FOUND_ERROR);
- a job is IN_PROGRESS until polled `generation_polls_before_complete` times and
  `generation_seconds_before_complete` seconds have passed (`fakeaws.faults()`);
- the generated policy lists actions for the services policy generation covers at action level, and only
  from management events (data events such as s3:GetObject never show per action); every other service
  the principal used appears only in the service-level template (`service:*`), and only when asked for
  with includeServiceLevelTemplate. Resources are `*`, or `${...}` placeholders when asked for with
  includeResourcePlaceholders (`"arn:aws:s3:::${BucketName}"`): that is all the API reference documents
  for GetGeneratedPolicy, so the generated policies never name the ARNs the calls touched; the resources
  come from LookupEvents (`fakeaws.cloudtrail`).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fakeaws.errors import FakeAwsError
from fakeaws.state import STATE, faults

MAX_WINDOW = timedelta(days=90)
DAILY_QUOTA = 50
# Services for which policy generation identifies actions (a subset of AWS's list, which holds the
# common services); every other service is reported at service level only.
ACTION_LEVEL_SERVICES = frozenset(
    {
        "cloudformation",
        "cloudtrail",
        "cloudwatch",
        "dynamodb",
        "ec2",
        "ecs",
        "iam",
        "kms",
        "lambda",
        "logs",
        "rds",
        "s3",
        "secretsmanager",
        "sns",
        "sqs",
        "ssm",
        "sts",
    }
)
ACCESS_ANALYZER_SERVICE = "access-analyzer.amazonaws.com"


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _trusts_access_analyzer(role: Any) -> bool:
    try:
        trust = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return False
    statements = trust.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        service = (st.get("Principal") or {}).get("Service", [])
        services = service if isinstance(service, list) else [service]
        if st.get("Effect") == "Allow" and ACCESS_ANALYZER_SERVICE in services:
            return True
    return False


def _trail_exists(account: str, arn: str) -> bool:
    from moto.cloudtrail.models import cloudtrail_backends

    for backend in cloudtrail_backends[account].values():
        if any(t.arn == arn for t in backend.trails.values()):
            return True
    return False


def start(account: str, params: dict[str, Any]) -> str:
    """A new job's id; raises what AWS raises for a bad request, a second job, or the daily quota."""
    from moto.iam.models import iam_backends

    principal = (params.get("policyGenerationDetails") or {}).get("principalArn", "")
    details = params.get("cloudTrailDetails")
    if not details:
        raise FakeAwsError("ValidationException", "cloudTrailDetails is required to generate a policy.")
    backend = iam_backends[account]["aws"]
    kind, _, name = principal.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    try:
        {"role": backend.get_role, "user": backend.get_user}[kind](name)
    except Exception as exc:
        raise FakeAwsError("ValidationException", f"Invalid principal ARN: {principal}.") from exc
    start_time = _when(details["startTime"])
    end_time = _when(details.get("endTime") or _now())
    # Timestamps travel at second precision or as floats: a window of exactly 90 days is allowed.
    if end_time <= start_time or end_time - start_time > MAX_WINDOW + timedelta(seconds=1):
        raise FakeAwsError("ValidationException", "The time range must be positive and at most 90 days.")
    token = params.get("clientToken")
    now = _now()
    with STATE.lock:
        jobs = [j for j in STATE.policy_generations.values() if j["account"] == account]
        if token:
            same = next((j for j in jobs if j["token"] == token), None)
            if same is not None:
                return str(same["jobId"])
        running = next((j for j in jobs if j["status"] == "IN_PROGRESS"), None)
        if running is not None:
            raise FakeAwsError(
                "ConflictException",
                f"A policy generation job ({running['jobId']}) is already in progress for this account.",
            )
        if sum(1 for j in jobs if now - j["startedOn"] < timedelta(days=1)) >= DAILY_QUOTA:
            raise FakeAwsError(
                "ServiceQuotaExceededException",
                f"You can generate at most {DAILY_QUOTA} policies per account per day.",
            )
        job_id = str(uuid.uuid4())
        STATE.policy_generations[job_id] = {
            "jobId": job_id,
            "account": account,
            "token": token,
            "principalArn": principal,
            "status": "IN_PROGRESS",
            "startedOn": now,
            "polls": 0,
            "trails": details.get("trails") or [],
            "accessRole": details.get("accessRole", ""),
            "startTime": start_time,
            "endTime": end_time,
            "error": None,
        }
    return job_id


def _job(account: str, job_id: str) -> dict[str, Any]:
    job = STATE.policy_generations.get(job_id)
    if job is None or job["account"] != account:
        raise FakeAwsError("ValidationException", f"Invalid job id: {job_id}.")
    return job


def _finish(job: dict[str, Any]) -> None:
    """Complete an IN_PROGRESS job once it has been polled and waited on enough."""
    from moto.iam.models import iam_backends

    injected = faults()
    job["polls"] += 1
    if job["status"] != "IN_PROGRESS":
        return
    waited = (_now() - job["startedOn"]).total_seconds()
    if job["polls"] <= injected.generation_polls_before_complete or (
        waited < injected.generation_seconds_before_complete
    ):
        return
    backend = iam_backends[job["account"]]["aws"]
    role_name = job["accessRole"].rsplit("/", 1)[-1]
    try:
        role = backend.get_role(role_name)
    except Exception:
        role = None
    if injected.generation_fails_with:
        job["error"] = {"code": injected.generation_fails_with, "message": "The job failed."}
    elif role is None or not _trusts_access_analyzer(role):
        job["error"] = {
            "code": "AUTHORIZATION_ERROR",
            "message": f"IAM Access Analyzer cannot assume {job['accessRole']}: check its trust policy.",
        }
    elif not job["trails"] or not all(
        _trail_exists(job["account"], t["cloudTrailArn"]) for t in job["trails"]
    ):
        job["error"] = {"code": "RESOURCE_NOT_FOUND_ERROR", "message": "The CloudTrail trail was not found."}
    job["status"] = "FAILED" if job["error"] else "SUCCEEDED"
    job["completedOn"] = _now()


def _used(job: dict[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    """(service -> action names seen at action level, services seen only at service level)."""
    from fakeaws.cloudtrail import is_data_event
    from fakeaws.iamdb import iam_database

    db = iam_database()
    account, principal = job["account"], job["principalArn"]
    name = principal.rsplit("/", 1)[-1]
    session_prefix = f"arn:aws:sts::{account}:assumed-role/{name}/"
    actions: dict[str, set[str]] = {}
    service_level: set[str] = set()
    with STATE.lock:
        events = list(STATE.events.get(account, []))
        usage = dict(STATE.usage.get(principal, {}))
    for event in events:
        who = event["principal"]
        if who != principal and not who.startswith(session_prefix):
            continue
        if event["error"] or not job["startTime"] <= event["time"] <= job["endTime"]:
            continue
        service = event["action"].split(":", 1)[0].lower()
        info = db.actions.get(event["action"].lower())
        if service in ACTION_LEVEL_SERVICES and info is not None and not is_data_event(event["action"]):
            actions.setdefault(service, set()).add(info.name)
        else:
            service_level.add(service)
    # The service-level template also comes from service last accessed data.
    for service, use in usage.items():
        if job["startTime"] <= use.last_used <= job["endTime"]:
            service_level.add(service.lower())
    return actions, service_level - set(actions)


def _placeholder(action: str) -> str:
    from fakeaws.iamdb import iam_database

    info = iam_database().actions.get(action.lower())
    if info is None or not info.resource_types:
        return "*"
    service = action.split(":", 1)[0].lower()
    kind = sorted(info.resource_types)[0]
    if service == "s3":
        return "arn:${Partition}:s3:::${BucketName}" + ("/${ObjectName}" if "object" in kind else "")
    return f"arn:${{Partition}}:{service}:${{Region}}:${{Account}}:{kind}/${{{kind.title()}Name}}"


def generated(account: str, job_id: str, placeholders: bool, service_level: bool) -> dict[str, Any]:
    """GetGeneratedPolicy's answer (the job advances one poll)."""
    with STATE.lock:
        job = _job(account, job_id)
    _finish(job)
    details: dict[str, Any] = {"jobId": job_id, "status": job["status"], "startedOn": job["startedOn"]}
    if job.get("completedOn"):
        details["completedOn"] = job["completedOn"]
    if job["error"]:
        details["jobError"] = job["error"]
    properties: dict[str, Any] = {
        "isComplete": job["status"] == "SUCCEEDED",
        "principalArn": job["principalArn"],
        "cloudTrailProperties": {
            "trailProperties": [
                {
                    "cloudTrailArn": t["cloudTrailArn"],
                    "regions": list(t.get("regions") or []),
                    "allRegions": bool(t.get("allRegions", not t.get("regions"))),
                }
                for t in job["trails"]
            ],
            "startTime": job["startTime"],
            "endTime": job["endTime"],
        },
    }
    result: dict[str, Any] = {"properties": properties}
    if job["status"] == "SUCCEEDED":
        actions, services = _used(job)
        statements: list[dict[str, Any]] = []
        for service in sorted(actions):
            names = sorted(actions[service])
            if placeholders:
                by_resource: dict[str, list[str]] = {}
                for action in names:
                    by_resource.setdefault(_placeholder(action), []).append(action)
                statements += [
                    {"Effect": "Allow", "Action": acts, "Resource": res}
                    for res, acts in sorted(by_resource.items())
                ]
            else:
                statements.append({"Effect": "Allow", "Action": names, "Resource": "*"})
        if service_level:
            statements += [{"Effect": "Allow", "Action": f"{s}:*", "Resource": "*"} for s in sorted(services)]
        if statements:
            result["generatedPolicies"] = [
                {"policy": json.dumps({"Version": "2012-10-17", "Statement": statements})}
            ]
    return {"jobDetails": details, "generatedPolicyResult": result}


def listed(account: str, principal: str | None, size: int, token: str | None) -> dict[str, Any]:
    with STATE.lock:
        jobs = [
            j
            for j in STATE.policy_generations.values()
            if j["account"] == account and (not principal or j["principalArn"] == principal)
        ]
    jobs.sort(key=lambda j: j["startedOn"], reverse=True)
    offset = int(token or 0)
    page = jobs[offset : offset + size]
    out: dict[str, Any] = {
        "policyGenerations": [
            {
                "jobId": j["jobId"],
                "principalArn": j["principalArn"],
                "status": j["status"],
                "startedOn": j["startedOn"],
                **({"completedOn": j["completedOn"]} if j.get("completedOn") else {}),
            }
            for j in page
        ]
    }
    if offset + size < len(jobs):
        out["nextToken"] = str(offset + size)
    return out


def cancel(account: str, job_id: str) -> None:
    with STATE.lock:
        job = _job(account, job_id)
        if job["status"] == "IN_PROGRESS":
            job["status"] = "CANCELED"
            job["completedOn"] = _now()
