"""Collectors: each reads one kind of IAM data and returns plain dicts and lists."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from accounts.aws.client import AwsAccessError, AwsSession, explain

NO_VALUE = {"N/A", "no_information", "not_supported", ""}


@dataclass
class Collected:
    """Everything one sync (or one import) brings, as plain data: the input of the ingest service."""

    gaad: dict[str, Any]
    credential_rows: list[dict[str, Any]] = field(default_factory=list)
    credential_generated_at: datetime | None = None
    access_keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user name -> keys
    last_accessed: dict[str, list[dict[str, Any]]] | None = None  # principal ARN -> ServicesLastAccessed
    analyzer_findings: list[dict[str, Any]] | None = None
    # The management (or delegated-admin) account only: see `organization`.
    organization: dict[str, Any] | None = None
    # The account that hosts IAM Identity Center only: see `accounts.aws.identity_center.permission_sets`
    # (None when not read: the stored permission sets stay as they were).
    identity_center: dict[str, Any] | None = None
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class CredentialReportError(ValueError):
    """The credential report could not be read; says which line and why."""


def authorization_details(iam: Any) -> dict[str, Any]:
    """GetAccountAuthorizationDetails, every page merged into the CLI's output shape."""
    merged: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    paginator = iam.get_paginator("get_account_authorization_details")
    try:
        for page in paginator.paginate(PaginationConfig={"PageSize": 1000}):
            for key in merged:
                merged[key].extend(page.get(key, []))
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(
            explain(exc, "reading authorization details (iam:GetAccountAuthorizationDetails)")
        ) from exc
    return merged


def _value(raw: str) -> str | bool | None:
    if raw in NO_VALUE:
        return None
    if raw in ("true", "false"):
        return raw == "true"
    return raw


def parse_credential_report(content: bytes | str) -> list[dict[str, Any]]:
    """Every column of every row; N/A, no_information and not_supported become None, true/false booleans.

    A row with the wrong number of cells raises CredentialReportError naming the line.
    """
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
    except UnicodeDecodeError as exc:
        raise CredentialReportError(f"the credential report is not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        try:
            header = next(reader)
        except StopIteration as exc:
            raise CredentialReportError("the credential report is empty") from exc
        if not header or header[0] != "user" or "arn" not in header or len(set(header)) != len(header):
            raise CredentialReportError(
                f"the credential report has an unexpected header: {','.join(header)[:200]!r}"
            )
        rows = []
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                raise CredentialReportError(
                    f"credential report line {reader.line_num} has {len(cells)} cells"
                    f" where the header has {len(header)}"
                )
            rows.append({name: _value(cell) for name, cell in zip(header, cells, strict=True)})
    except csv.Error as exc:
        raise CredentialReportError(
            f"credential report line {reader.line_num} is not valid CSV: {exc}"
        ) from exc
    return rows


def credential_report(
    iam: Any, *, poll_seconds: float = 2.0, timeout: float = 120.0
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Generate (AWS reuses one up to 4 hours old), wait for it, then read and parse it."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            state = iam.generate_credential_report().get("State")
            if state == "COMPLETE":
                break
            if time.monotonic() > deadline:
                raise AwsAccessError(
                    "the credential report was not ready in time; the next sync will try again"
                )
            time.sleep(poll_seconds)
        report = iam.get_credential_report()
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(explain(exc, "reading the credential report (iam:GetCredentialReport)")) from exc
    generated = report.get("GeneratedTime")
    return parse_credential_report(report["Content"]), generated


def access_keys(iam: Any, user_names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """ListAccessKeys for each user (one call each); last use comes from the credential report."""
    keys: dict[str, list[dict[str, Any]]] = {}
    for name in user_names:
        try:
            found = iam.list_access_keys(UserName=name).get("AccessKeyMetadata", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                continue  # deleted since the report was made
            raise AwsAccessError(explain(exc, f"listing access keys of {name}")) from exc
        keys[name] = [
            {
                "key_id": k["AccessKeyId"],
                "active": k.get("Status") == "Active",
                "created_at": k.get("CreateDate"),
            }
            for k in found
        ]
    return keys


@dataclass
class LastAccessedResult:
    services: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def _last_accessed_one(
    iam: Any, arn: str, *, granularity: str, poll: float, max_wait: float
) -> LastAccessedResult:
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
    delay = poll
    deadline = time.monotonic() + max_wait
    marker = None
    services: list[dict[str, Any]] = []
    while True:
        kwargs: dict[str, Any] = {"JobId": job, "MaxItems": 1000}
        if marker:
            kwargs["Marker"] = marker
        page = iam.get_service_last_accessed_details(**kwargs)
        status = page.get("JobStatus")
        if status == "FAILED":
            return LastAccessedResult(
                error=f"Access Advisor job failed: {page.get('Error', {}).get('Message', '')}"
            )
        if status == "IN_PROGRESS":
            if time.monotonic() > deadline:
                return LastAccessedResult(error=f"Access Advisor job did not finish within {max_wait:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)  # back off: AWS throttles these jobs
            continue
        services.extend(page.get("ServicesLastAccessed", []))
        if not page.get("IsTruncated"):
            return LastAccessedResult(services=services)
        marker = page.get("Marker")


def last_accessed(
    iam: Any,
    arns: list[str],
    *,
    granularity: str = "ACTION_LEVEL",
    concurrency: int = 4,
    poll: float = 1.0,
    max_wait: float = 120.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, LastAccessedResult]:
    """Access Advisor for every principal: bounded concurrency, polling with backoff, Marker pages.

    One principal's failure is recorded on its result and never stops the others; AccessDenied on the
    whole API stops the collection with an error that says which permission is missing.
    """
    results: dict[str, LastAccessedResult] = {}

    def one(arn: str) -> LastAccessedResult:
        try:
            return _last_accessed_one(iam, arn, granularity=granularity, poll=poll, max_wait=max_wait)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("AccessDenied", "AccessDeniedException"):
                raise AwsAccessError(
                    explain(exc, "reading Access Advisor data (iam:GenerateServiceLastAccessedDetails)")
                ) from exc
            return LastAccessedResult(error=explain(exc, f"reading Access Advisor data of {arn}"))
        except BotoCoreError as exc:
            return LastAccessedResult(error=explain(exc, f"reading Access Advisor data of {arn}"))

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="advisor") as pool:
        futures = {pool.submit(one, arn): arn for arn in arns}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(arns))
    return results


def analyzer_findings(analyzer_client: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Analyzers of the account (external and unused access), and the active findings of each.

    An account without Access Analyzer (AccessDenied, or the API not available in the region) gives empty
    lists: it is an optional source.
    """
    try:
        analyzers = []
        for page in analyzer_client.get_paginator("list_analyzers").paginate():
            analyzers.extend(page.get("analyzers", []))
    except (ClientError, BotoCoreError):
        return [], []
    findings: list[dict[str, Any]] = []
    for analyzer in analyzers:
        if analyzer.get("status") not in (None, "ACTIVE"):
            continue
        try:
            token = None
            while True:
                kwargs: dict[str, Any] = {
                    "analyzerArn": analyzer["arn"],
                    "filter": {"status": {"eq": ["ACTIVE"]}},
                }
                if token:
                    kwargs["nextToken"] = token
                page = analyzer_client.list_findings_v2(**kwargs)
                for summary in page.get("findings", []):
                    detail = analyzer_client.get_finding_v2(analyzerArn=analyzer["arn"], id=summary["id"])
                    detail.pop("ResponseMetadata", None)
                    detail["analyzerArn"] = analyzer["arn"]
                    detail["analyzerType"] = analyzer.get("type", "")
                    findings.append(detail)
                token = page.get("nextToken")
                if not token:
                    break
        except (ClientError, BotoCoreError):
            continue
    return analyzers, findings


MANAGEMENT_HINT = (
    " Run discovery from the organization's management account, with the management-account template "
    "deployed (tick “Management account” on the account's form: its template adds the organizations: "
    "read actions)."
)


def list_organization_accounts(org: Any) -> list[dict[str, Any]]:
    try:
        accounts = []
        for page in org.get_paginator("list_accounts").paginate():
            accounts.extend(page.get("Accounts", []))
        return accounts
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(
            explain(exc, "listing organization accounts (organizations:ListAccounts)") + MANAGEMENT_HINT
        ) from exc


ORGANIZATION_POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


def _pages(org: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in org.get_paginator(operation).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def organization(org: Any) -> dict[str, Any]:
    """The organisation as the management (or a delegated-admin) account sees it: the OU tree from each
    root down (every node's parent), its accounts, and every SCP and RCP with its document and targets.

    Plain data: {"id", "management_account_id", "nodes": {id: {"name", "kind", "parent"}},
    "enabled_types": [...], "policies": {id: {"name", "type", "aws_managed", "content", "targets"}}}.
    """
    step = "describing the organisation (organizations:DescribeOrganization)"
    try:
        described = org.describe_organization()["Organization"]
        step = "listing the organisation's roots (organizations:ListRoots)"
        roots = _pages(org, "list_roots", "Roots")
        nodes: dict[str, dict[str, Any]] = {}
        enabled: set[str] = set()
        pending = []
        for root in roots:
            nodes[root["Id"]] = {"name": root.get("Name", "Root"), "kind": "root", "parent": None}
            enabled |= {t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"}
            pending.append(root["Id"])
        while pending:
            parent = pending.pop()
            step = "walking the OU tree (organizations:ListOrganizationalUnitsForParent)"
            for ou in _pages(
                org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
            ):
                nodes[ou["Id"]] = {"name": ou.get("Name", ou["Id"]), "kind": "ou", "parent": parent}
                pending.append(ou["Id"])
            step = "listing the accounts of each OU (organizations:ListAccountsForParent)"
            for account in _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent):
                nodes[account["Id"]] = {"name": account.get("Name", ""), "kind": "account", "parent": parent}
        policies: dict[str, dict[str, Any]] = {}
        for policy_type in ORGANIZATION_POLICY_TYPES:
            if policy_type not in enabled:
                continue
            step = "listing the organisation's policies (organizations:ListPolicies)"
            for summary in _pages(org, "list_policies", "Policies", Filter=policy_type):
                step = "reading a policy (organizations:DescribePolicy)"
                content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
                step = "listing a policy's targets (organizations:ListTargetsForPolicy)"
                targets = _pages(org, "list_targets_for_policy", "Targets", PolicyId=summary["Id"])
                policies[summary["Id"]] = {
                    "name": summary.get("Name", summary["Id"]),
                    "type": policy_type,
                    "aws_managed": bool(summary.get("AwsManaged")),
                    "content": content,
                    "targets": sorted(t["TargetId"] for t in targets),
                }
    except (ClientError, BotoCoreError) as exc:
        raise AwsAccessError(
            explain(exc, step)
            + " Deploy the management-account template, or clear “Management account” on this account."
        ) from exc
    return {
        "id": described.get("Id", ""),
        "management_account_id": described.get("MasterAccountId", ""),
        "nodes": nodes,
        "enabled_types": sorted(enabled),
        "policies": policies,
    }


def test_connection(session_factory: Callable[[], AwsSession]) -> tuple[bool, str]:
    """Assume the role and make one read call; returns (ok, a sentence saying what happened)."""
    try:
        session = session_factory()
        identity = session.client("sts").get_caller_identity()
        session.client("iam").get_account_summary()
    except AwsAccessError as exc:
        return False, str(exc)
    except (ClientError, BotoCoreError) as exc:
        return False, explain(
            exc, "the test call (iam:GetAccountSummary)"
        ) + " Deploy the read-only role from the template on this page."
    return True, f"Connected as {identity['Arn']} in account {identity['Account']}; IAM is readable."


def describe_organization(org: Any) -> dict[str, Any]:
    """The organization this account belongs to (organizations:DescribeOrganization), or AwsAccessError
    saying why there is none to discover from."""
    try:
        return dict(org.describe_organization()["Organization"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AWSOrganizationsNotInUseException":
            raise AwsAccessError(
                "This account is not in an AWS Organization, so there are no member accounts to discover "
                "(organizations:ListAccounts needs the organization's management account). Link each "
                "account by hand, or link the management account and discover from it."
            ) from exc
        raise AwsAccessError(
            explain(exc, "reading the organization (organizations:DescribeOrganization)") + MANAGEMENT_HINT
        ) from exc
    except BotoCoreError as exc:
        raise AwsAccessError(
            explain(exc, "reading the organization (organizations:DescribeOrganization)")
        ) from exc
