"""Findings beyond the engine's rules: unused permissions, unused roles and passwords, credentials.

Each detector returns `FindingSpec`s keyed by a stable fingerprint (account, principal, kind, subject);
Access Analyzer's unused-access findings merge into ours when they name the same thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from accounts.models import LinkedAccount
from findings.facts import PrincipalUsage, usage_from_rows
from findings.models import AccessKey, AnalyzerFinding, CredentialReportRow, Principal
from findings.usage_rows import account_usage_rows
from policy.analyze import AccountAnalysis, PrincipalReport
from policy.kinds import kind
from policy.usage import ActionUse


@dataclass
class FindingSpec:
    principal_arn: str
    kind: str
    severity: str
    subject: str
    title: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=lambda: ["iamreview"])

    def __post_init__(self) -> None:
        # Every finding is of a registered kind, at a severity the registry allows for it.
        if self.severity not in kind(self.kind).allowed_severities():
            raise ValueError(f"{self.kind} findings are not {self.severity}")

    def fingerprint(self, account_id: str) -> str:
        key = "|".join([account_id, self.principal_arn, self.kind, self.subject])
        return hashlib.sha256(key.encode()).hexdigest()


def _when(value: Any) -> datetime | None:
    if value in (None, "", True, False):
        return None
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value).replace("Z", "+00:00"))
    return parsed


def engine_specs(reports: Iterable[PrincipalReport]) -> list[FindingSpec]:
    """The engine's rule findings, one per principal and kind (escalation paths carried in `data`)."""
    specs = []
    for report in reports:
        for f in report.findings:
            data: dict[str, Any] = {
                "actions": f.actions,
                "resources": f.resources,
                "action_count": f.action_count,
            }
            if f.kind == "privilege-escalation":
                data["paths"] = [e.to_json() for e in report.privilege_escalation]
            subject = f.kind if f.kind not in ("service-admin",) else ",".join(f.actions)
            specs.append(
                FindingSpec(
                    report.arn,
                    f.kind,
                    f.severity,
                    subject,
                    kind(f.kind).title,
                    f.detail,
                    data,
                )
            )
    return specs


MAX_SERVICE_FINDINGS = 10


@dataclass
class UnusedState:
    """What the unused analysis concluded for one principal, for the principal page."""

    status: str  # "analyzed" | "too-young" | "no-data" | "stale"
    unused_services: dict[str, list[str]] = field(default_factory=dict)
    unused_actions: dict[str, list[str]] = field(default_factory=dict)
    not_tracked: list[str] = field(default_factory=list)

    @property
    def unused_count(self) -> int:
        return sum(len(v) for v in self.unused_services.values()) + sum(
            len(v) for v in self.unused_actions.values()
        )


def unused_for_principal(*, allowed: frozenset[str], usage: PrincipalUsage, action_name: Any) -> UnusedState:
    """Granted services and actions not used within the window, as `findings.facts` reads usage: only what
    Access Advisor reports can be unused; a service it reports nothing for is "not tracked"; an action it
    cannot see (data-plane, permission-only) in a used service is kept, never unused."""
    if usage.status != "analyzed":
        return UnusedState(usage.status)
    granted: dict[str, list[str]] = {}
    for a in allowed:
        granted.setdefault(a.split(":", 1)[0], []).append(a)
    state = UnusedState("analyzed")
    plain = usage.usage
    used_prefixes = {a.split(":", 1)[0] for a in plain.used_actions}
    for service, service_actions in sorted(granted.items()):
        if not usage.service_tracked(service):
            state.not_tracked.append(service)
            continue
        if service not in plain.used_services and service not in used_prefixes:
            # A tracked service with no use at all: every action of it is unused but those Access Advisor
            # never records (`Usage.state`, without asking it action by action: a broad policy grants
            # thousands).
            picked = [a for a in service_actions if a.lower() not in plain.not_recorded]
        else:
            picked = [a for a in service_actions if usage.state(a) is ActionUse.UNUSED]
        unused = sorted(action_name(a) for a in picked)
        if not unused:
            continue
        if service in usage.usage.used_services:
            state.unused_actions[service] = unused
        else:
            state.unused_services[service] = unused
    return state


def unused_specs(
    *, account: LinkedAccount, analysis: AccountAnalysis, now: datetime, last_collected: datetime | None
) -> tuple[list[FindingSpec], dict[str, UnusedState]]:
    window = account.unused_days
    cutoff = now - timedelta(days=window)
    # Only what reading usage needs: the stored results (paths, explanations, tags) would hold an account's
    # worth of JSON in memory for nothing.
    principals = {
        p.arn: p
        for p in Principal.objects.filter(account=account)
        .exclude(kind="group")
        .only("pk", "arn", "kind", "aws_created_at", "last_used_at", "usage_collected_at")
    }
    rows_by_principal = account_usage_rows(account.pk)
    specs: list[FindingSpec] = []
    states: dict[str, UnusedState] = {}
    for arn, principal in principals.items():
        perms = analysis.perms.get(arn)
        if perms is None:
            continue
        usage = usage_from_rows(
            principal=principal,
            rows=rows_by_principal.get(principal.pk, []),
            window_days=window,
            now=now,
            last_collected=last_collected,
        )
        state = unused_for_principal(
            # What it holds matters only when its use can be read (a principal without Access Advisor
            # data, or too young, has nothing unused).
            # Not `perms.allowed_actions()`, which keeps the set on the permissions for the rest of the
            # analysis: one principal's set at a time.
            allowed=(
                analysis.catalog.actions_of(perms.allowed_mask(analysis.catalog))
                if usage.status == "analyzed"
                else frozenset()
            ),
            usage=usage,
            action_name=analysis.catalog.name,
        )
        states[arn] = state
        if len(state.unused_services) > MAX_SERVICE_FINDINGS:
            # Broad grants (administrators) leave hundreds of services unused: one finding says it better.
            total = sum(len(v) for v in state.unused_services.values())
            specs.append(
                FindingSpec(
                    arn,
                    "unused-service",
                    "medium",
                    "*",
                    f"{len(state.unused_services)} granted services not used in {window} days",
                    f"{total} action(s) in {len(state.unused_services)} services were granted and not used "
                    f"since {cutoff:%Y-%m-%d}.",
                    {"services": sorted(state.unused_services)[:400], "action_count": total},
                )
            )
        else:
            for service, names in state.unused_services.items():
                specs.append(
                    FindingSpec(
                        arn,
                        "unused-service",
                        "medium" if len(names) > 20 else "low",
                        service,
                        f"{service} granted but not used in {window} days",
                        f"{len(names)} {service} action(s) granted; the service was not used since "
                        f"{cutoff:%Y-%m-%d}.",
                        {"actions": names[:200], "action_count": len(names)},
                    )
                )
        for service, names in state.unused_actions.items():
            specs.append(
                FindingSpec(
                    arn,
                    "unused-actions",
                    "low",
                    service,
                    f"{len(names)} {service} action(s) not used in {window} days",
                    f"{service} is used, but these tracked actions were not since {cutoff:%Y-%m-%d}.",
                    {"actions": names[:200], "action_count": len(names)},
                )
            )
        young = principal.aws_created_at is not None and principal.aws_created_at > cutoff
        if (
            principal.kind == "role"
            and not young
            and (principal.last_used_at is None or principal.last_used_at < cutoff)
        ):
            last = f"last used {principal.last_used_at:%Y-%m-%d}" if principal.last_used_at else "never used"
            specs.append(
                FindingSpec(
                    arn,
                    "unused-role",
                    "medium",
                    "role",
                    f"Role not used in {window} days",
                    f"The role was {last}; delete it, or keep it documented if it is for emergencies.",
                    {"last_used_at": principal.last_used_at.isoformat() if principal.last_used_at else None},
                )
            )
    return specs, states


def credential_specs(*, account: LinkedAccount, now: datetime) -> list[FindingSpec]:
    max_age = timedelta(days=settings.IAMREVIEW_KEY_MAX_AGE_DAYS)
    unused_after = timedelta(days=settings.IAMREVIEW_KEY_UNUSED_DAYS)
    window = timedelta(days=account.unused_days)
    specs: list[FindingSpec] = []
    rows = list(CredentialReportRow.objects.filter(account=account))
    for row in rows:
        v = row.values
        if row.is_root:
            root = f"arn:aws:iam::{account.account_id}:root"
            if v.get("access_key_1_active") or v.get("access_key_2_active"):
                specs.append(
                    FindingSpec(
                        root,
                        "root-access-key",
                        "critical",
                        "root",
                        "The root user has an access key",
                        "Delete the root user's access keys; use IAM roles instead.",
                    )
                )
            used = [
                d
                for d in (
                    _when(v.get("password_last_used")),
                    _when(v.get("access_key_1_last_used_date")),
                    _when(v.get("access_key_2_last_used_date")),
                )
                if d
            ]
            if used and max(used) > now - window:
                specs.append(
                    FindingSpec(
                        root,
                        "root-used",
                        "high",
                        "root",
                        "The root user was used recently",
                        f"Last used {max(used):%Y-%m-%d}. Lock the root user away: MFA on, no keys.",
                    )
                )
            if not v.get("mfa_active"):
                specs.append(
                    FindingSpec(
                        root,
                        "no-mfa",
                        "critical",
                        "root",
                        "The root user has no MFA",
                        "Turn on MFA for the root user.",
                    )
                )
            continue
        if v.get("password_enabled"):
            if not v.get("mfa_active"):
                specs.append(
                    FindingSpec(
                        row.arn,
                        "no-mfa",
                        "high",
                        "console",
                        "Console user without MFA",
                        "This user can sign in to the console with a password alone.",
                    )
                )
            last = _when(v.get("password_last_used"))
            created = _when(v.get("user_creation_time"))
            if (last is None or last < now - window) and (created is None or created < now - window):
                specs.append(
                    FindingSpec(
                        row.arn,
                        "unused-password",
                        "medium",
                        "password",
                        f"Console password not used in {window.days} days",
                        f"Last used {last:%Y-%m-%d}." if last else "Never used. Remove the console password.",
                    )
                )
    keys = list(AccessKey.objects.filter(principal__account=account).select_related("principal"))
    active_by_user: dict[str, int] = {}
    for key in keys:
        if not key.active:
            continue
        arn = key.principal.arn
        active_by_user[arn] = active_by_user.get(arn, 0) + 1
        if key.created_at and key.created_at < now - max_age:
            age = (now - key.created_at).days
            specs.append(
                FindingSpec(
                    arn,
                    "key-old",
                    "high" if age > 365 else "medium",
                    key.key_id,
                    f"Access key {age} days old",
                    f"Rotate {key.key_id} (created {key.created_at:%Y-%m-%d}); better, replace it with a role.",
                    {"age_days": age},
                )
            )
        if (key.last_used_at is None and key.created_at and key.created_at < now - unused_after) or (
            key.last_used_at is not None and key.last_used_at < now - unused_after
        ):
            last = f"last used {key.last_used_at:%Y-%m-%d}" if key.last_used_at else "never used"
            specs.append(
                FindingSpec(
                    arn,
                    "key-unused",
                    "medium",
                    key.key_id,
                    f"Access key {last}",
                    f"{key.key_id} is active and {last}: deactivate it, then delete it.",
                )
            )
    for arn, count in active_by_user.items():
        if count >= 2:
            specs.append(
                FindingSpec(
                    arn,
                    "two-active-keys",
                    "low",
                    "keys",
                    "Two active access keys",
                    "Keep one active key per user; two are only for the minutes of a rotation.",
                )
            )
    return specs


_ANALYZER_KIND = {
    "UnusedIAMRole": ("unused-role", lambda f: "role"),
    "UnusedIAMUserPassword": ("unused-password", lambda f: "password"),
    "UnusedIAMUserAccessKey": (
        "key-unused",
        lambda f: next(
            (d.get("unusedIamUserAccessKeyDetails", {}).get("accessKeyId", "") for d in f.details), ""
        ),
    ),
    "UnusedPermission": (
        "unused-service",
        lambda f: next(
            (d.get("unusedPermissionDetails", {}).get("serviceNamespace", "") for d in f.details), ""
        ),
    ),
}


def merge_analyzer(specs: list[FindingSpec], *, account: LinkedAccount) -> list[FindingSpec]:
    """Access Analyzer's unused-access findings: merged into ours when they name the same thing, kept as
    their own finding otherwise. Either way the finding lists its sources."""
    index = {(s.principal_arn, s.kind, s.subject): s for s in specs}
    for f in AnalyzerFinding.objects.filter(account=account, status="ACTIVE"):
        mapping = _ANALYZER_KIND.get(f.finding_type)
        if mapping is None:
            continue
        kind_id, subject_of = mapping
        subject = subject_of(f) or kind_id
        key = (f.resource_arn, kind_id, subject)
        if key in index:
            if "access-analyzer" not in index[key].sources:
                index[key].sources.append("access-analyzer")
            continue
        spec = FindingSpec(
            f.resource_arn,
            kind_id,
            "medium" if kind_id != "unused-service" else "low",
            subject,
            f"Access Analyzer: {f.finding_type}",
            f"Reported by IAM Access Analyzer ({f.analyzer_arn}).",
            {"details": f.details},
            ["access-analyzer"],
        )
        specs.append(spec)
        index[key] = spec
    return specs
