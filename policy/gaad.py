"""Reads a `get-account-authorization-details` document into principals and managed policies.

The whole file is checked first (policy/gaad_check.py): a file the product could not store is refused
with one GaadError naming the place. A policy only IAM would refuse never stops the reading of an account:
the principal keeps its other policies and the problem is recorded on it, to be reported as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from policy.gaad_check import GaadError as GaadError
from policy.gaad_check import gaad_check
from policy.model import PolicyDocument, PolicyError, Statement, parse_policy

AWS_MANAGED_PREFIXES = (
    "arn:aws:iam::aws:policy/",
    "arn:aws-us-gov:iam::aws:policy/",
    "arn:aws-cn:iam::aws:policy/",
)


def is_aws_managed(arn: str) -> bool:
    return arn.startswith(AWS_MANAGED_PREFIXES)


@dataclass
class ManagedPolicy:
    arn: str
    name: str
    document: PolicyDocument | None
    default_version: str = "v1"
    versions: dict[str, Any] = field(default_factory=dict)  # version id -> raw document
    error: str = ""

    @property
    def aws_managed(self) -> bool:
        return is_aws_managed(self.arn)


@dataclass
class InlinePolicy:
    name: str
    document: PolicyDocument


@dataclass
class PrincipalRecord:
    arn: str
    name: str
    kind: str  # "user" | "role" | "group"
    account_id: str
    inline: list[InlinePolicy] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)  # managed policy ARNs
    groups: list[str] = field(default_factory=list)  # users: group names
    boundary_arn: str = ""
    trust: PolicyDocument | None = None  # roles
    tags: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    created: str = ""
    role_last_used: str = ""
    errors: list[str] = field(default_factory=list)
    raw_trust: Any = None


@dataclass
class AccountDetails:
    account_id: str
    principals: dict[str, PrincipalRecord]  # by ARN
    policies: dict[str, ManagedPolicy]  # by ARN
    groups_by_name: dict[str, PrincipalRecord]
    errors: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[PrincipalRecord]:
        return [p for p in self.principals.values() if p.kind == kind]


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class _DocumentParser:
    """Parses the documents of one file. A document repeated verbatim (most trust policies are) is parsed
    once: the others share its statements, which are immutable."""

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[tuple[Statement, ...], str] | str] = {}

    def parse(self, document: Any, name: str) -> PolicyDocument:
        if not isinstance(document, dict):
            return parse_policy(document, name)
        try:
            key = orjson.dumps(document)
        except TypeError:  # not plain JSON (orjson.JSONEncodeError is a TypeError)
            return parse_policy(document, name)
        hit = self._seen.get(key)
        if hit is None:
            try:
                parsed = parse_policy(document, name)
            except PolicyError as exc:
                self._seen[key] = exc.problem
                raise
            self._seen[key] = (parsed.statements, parsed.version)
            return parsed
        if isinstance(hit, str):
            raise PolicyError(name, hit)
        return PolicyDocument(name=name, statements=hit[0], version=hit[1], raw=document)

    def parse_safely(
        self, document: Any, name: str, record: PrincipalRecord | None, errors: list[str]
    ) -> PolicyDocument | None:
        try:
            return self.parse(document, name)
        except PolicyError as exc:
            (record.errors if record is not None else errors).append(str(exc))
            return None

    def inline(self, record: PrincipalRecord, items: Any, errors: list[str]) -> None:
        for item in items or []:
            name = str(item.get("PolicyName", "inline"))
            doc = self.parse_safely(item.get("PolicyDocument"), f"{record.name}/{name}", record, errors)
            if doc is not None:
                record.inline.append(InlinePolicy(name, doc))


def _tags(items: Any) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value", "")) for t in items or [] if isinstance(t, dict)}


def load_gaad(data: Any, account_id: str = "") -> AccountDetails:
    """Accept the AWS CLI's output shape (and one page or merged pages of the API's), once `gaad_check`
    found nothing the product could not store: it raises GaadError otherwise."""
    gaad_check(data)
    errors: list[str] = []
    parser = _DocumentParser()
    principals: dict[str, PrincipalRecord] = {}
    policies: dict[str, ManagedPolicy] = {}
    groups_by_name: dict[str, PrincipalRecord] = {}

    for item in data.get("Policies") or []:
        arn = str(item.get("Arn", ""))
        if not arn:
            errors.append("a managed policy has no Arn; skipped")
            continue
        name = str(item.get("PolicyName") or arn.rsplit("/", 1)[-1])
        default_id = str(item.get("DefaultVersionId") or "")
        versions: dict[str, Any] = {}
        default_doc: Any = None
        for v in item.get("PolicyVersionList") or []:
            vid = str(v.get("VersionId", ""))
            versions[vid] = v.get("Document")
            if v.get("IsDefaultVersion") or vid == default_id:
                default_doc = v.get("Document")
                default_id = vid
        policy = ManagedPolicy(
            arn=arn, name=name, document=None, default_version=default_id, versions=versions
        )
        if default_doc is None:
            policy.error = f"managed policy {name!r}: no default version in the file"
        else:
            try:
                policy.document = parser.parse(default_doc, name)
            except PolicyError as exc:
                policy.error = str(exc)
        policies[arn] = policy

    def base(item: dict[str, Any], kind: str, name_key: str) -> PrincipalRecord:
        arn = str(item.get("Arn", ""))
        name = str(item.get(name_key, arn.rsplit("/", 1)[-1]))
        record = PrincipalRecord(
            arn=arn,
            name=name,
            kind=kind,
            account_id=_account_of(arn) or account_id,
            attached=[
                str(a.get("PolicyArn"))
                for a in item.get("AttachedManagedPolicies") or []
                if a.get("PolicyArn")
            ],
            tags=_tags(item.get("Tags")),
            path=str(item.get("Path", "/")),
            created=str(item.get("CreateDate", "")),
        )
        boundary = item.get("PermissionsBoundary") or {}
        record.boundary_arn = str(boundary.get("PermissionsBoundaryArn", ""))
        return record

    for item in data.get("GroupDetailList") or []:
        record = base(item, "group", "GroupName")
        parser.inline(record, item.get("GroupPolicyList"), errors)
        principals[record.arn] = record
        groups_by_name[record.name] = record

    for item in data.get("UserDetailList") or []:
        record = base(item, "user", "UserName")
        parser.inline(record, item.get("UserPolicyList"), errors)
        record.groups = [str(g) for g in item.get("GroupList") or []]
        principals[record.arn] = record

    for item in data.get("RoleDetailList") or []:
        record = base(item, "role", "RoleName")
        parser.inline(record, item.get("RolePolicyList"), errors)
        record.raw_trust = item.get("AssumeRolePolicyDocument")
        if record.raw_trust is not None:
            record.trust = parser.parse_safely(
                record.raw_trust, f"{record.name}/trust-policy", record, errors
            )
        last_used = item.get("RoleLastUsed") or {}
        record.role_last_used = str(last_used.get("LastUsedDate", "") or "")
        principals[record.arn] = record

    if not account_id:
        account_id = next((p.account_id for p in principals.values() if p.account_id), "")
        if not account_id:
            account_id = next(
                (_account_of(a) for a in policies if not is_aws_managed(a) and _account_of(a)), "000000000000"
            )
    return AccountDetails(account_id, principals, policies, groups_by_name, errors)


def principal_documents(account: AccountDetails, record: PrincipalRecord) -> list[PolicyDocument]:
    """Inline and attached policies of a principal and, for a user, of its groups."""
    docs: list[PolicyDocument] = [p.document for p in record.inline]
    for arn in record.attached:
        policy = account.policies.get(arn)
        if policy is not None and policy.document is not None:
            docs.append(policy.document)
    for group_name in record.groups:
        group = account.groups_by_name.get(group_name)
        if group is None:
            continue
        docs.extend(p.document for p in group.inline)
        for arn in group.attached:
            policy = account.policies.get(arn)
            if policy is not None and policy.document is not None:
                docs.append(policy.document)
    return docs


def attached_policy_arns(account: AccountDetails, record: PrincipalRecord) -> list[str]:
    arns = list(record.attached)
    for group_name in record.groups:
        group = account.groups_by_name.get(group_name)
        if group is not None:
            arns.extend(group.attached)
    return arns
