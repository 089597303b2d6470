"""Access Advisor in moto's IAM: GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails.

As AWS does, a job reports every service the principal's policies grant: with the last use recorded by
`record_usage`, or without `LastAuthenticated` when never used. At ACTION_LEVEL, services AWS tracks per
action also list `TrackedActionsLastAccessed` for their granted actions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

from fakeaws.errors import FakeAwsError
from fakeaws.state import STATE, faults
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.model import PolicyDocument, PolicyError, parse_policy

# Services for which AWS reports action-level last-accessed data (a subset; AWS grows it over time).
ACTION_LEVEL_SERVICES = frozenset(
    {"s3", "ec2", "iam", "lambda", "sts", "dynamodb", "kms", "secretsmanager", "ssm"}
)

_installed = False


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


def _documents(backend: Any, kind: str, entity: Any) -> list[PolicyDocument]:
    raw: list[tuple[str, Any]] = list(entity.policies.items())
    raw += [(p.name, _default_document(p)) for p in entity.managed_policies.values()]
    if kind == "user":
        for group in backend.get_groups_for_user(entity.name):
            raw += list(group.policies.items())
            raw += [(p.name, _default_document(p)) for p in group.managed_policies.values()]
    docs = []
    for name, document in raw:
        try:
            docs.append(parse_policy(document, name))
        except PolicyError:
            continue
    return docs


def granted_services(backend: Any, arn: str) -> tuple[dict[str, set[str]], set[str]]:
    """Services granted to a principal, with their granted actions (lower-case names)."""
    kind, entity = _entity(backend, arn)
    catalog = default_catalog()
    docs = _documents(backend, kind, entity)
    perms = PrincipalPermissions.build(
        PrincipalContext(arn, arn.rsplit("/", 1)[-1], kind, arn.split(":")[4]), docs, catalog
    )
    services: dict[str, set[str]] = {}
    for action in perms.allowed_actions():
        services.setdefault(action.split(":", 1)[0], set()).add(action)
    return services, set()


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
        services, _ = granted_services(self.backend, job["arn"])
        catalog = default_catalog()
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
                    name = catalog.name(action).split(":", 1)[1]
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
