"""What the account analysis reports: findings, escalation paths, and a report per principal and account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy.catalog_gaps import CatalogGap
from policy.gaad import PrincipalRecord
from policy.kinds import kind
from policy.matching import arn_matches


@dataclass
class Exclusions:
    """Principals and actions to leave out of the analysis, passed in (never a global)."""

    principals: tuple[str, ...] = ()  # ARN or name patterns with * and ?
    actions: tuple[str, ...] = ()  # lower-cased action patterns

    def excludes_principal(self, record: PrincipalRecord) -> bool:
        return any(arn_matches(p, record.arn) or arn_matches(p, record.name) for p in self.principals)


@dataclass
class Finding:
    kind: str
    severity: str
    actions: list[str]
    resources: list[str]
    detail: str
    action_count: int = 0

    @classmethod
    def of(
        cls,
        kind_id: str,
        actions: list[str],
        resources: list[str],
        detail: str,
        action_count: int = 0,
        *,
        severity: str = "",
    ) -> Finding:
        """A finding of a registered kind, at its usual severity or another one the registry allows."""
        registered = kind(kind_id)
        severity = severity or registered.severity
        if severity not in registered.allowed_severities():
            raise ValueError(f"{kind_id} findings are not {severity}")
        return cls(kind_id, severity, actions, resources, detail, action_count)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "actions": self.actions,
            "resources": self.resources,
            "detail": self.detail,
            "action_count": self.action_count or len(self.actions),
        }


@dataclass
class Escalation:
    path_id: str
    category: str
    actions: list[str]
    via: list[str]  # ARNs passed through, the last one being what is gained; empty for self-escalation
    target: str
    conditional: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "path_id": self.path_id,
            "category": self.category,
            "actions": self.actions,
            "via": self.via,
            "target": self.target,
            "conditional": self.conditional,
        }


@dataclass(frozen=True, slots=True)
class AdminHop:
    """One hop of a chain to an administrator: `source` uses `actions` (path `path_id`) to become `target`
    (itself for a principal that rewrites its own permissions)."""

    path_id: str
    source: str
    target: str
    actions: tuple[str, ...]
    conditional: bool = False  # depends on the request (a condition the snapshot cannot decide)
    needs: tuple[str, ...] = ()  # what the snapshot cannot show: an instance, a function, a password

    def to_json(self) -> dict[str, Any]:
        return {
            "path_id": self.path_id,
            "from": self.source,
            "to": self.target,
            "actions": list(self.actions),
            "conditional": self.conditional,
            "needs": list(self.needs),
        }


@dataclass(frozen=True, slots=True)
class AdminPath:
    """The shortest chain to an administrator (no hop for an administrator itself)."""

    hops: tuple[AdminHop, ...] = ()

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for h in self.hops for n in h.needs))

    @property
    def conditional(self) -> bool:
        return any(h.conditional for h in self.hops)

    def to_json(self) -> dict[str, Any]:
        return {
            "hops": [h.to_json() for h in self.hops],
            "steps": len(self.hops),
            "conditional": self.conditional,
            "needs": list(self.needs),
        }


@dataclass
class PrincipalReport:
    arn: str
    name: str
    kind: str
    account_id: str
    is_admin: bool = False
    admin_reason: str = ""  # why it counts as an administrator (every action, or can grant itself any)
    admin_path: AdminPath | None = None  # None when it cannot reach administrator
    risk_score: int = 0
    score_explanation: list[dict[str, object]] = field(default_factory=list)
    privilege_escalation: list[Escalation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def reaches_admin(self) -> bool:
        return self.is_admin or self.admin_path is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "type": self.kind,
            "account_id": self.account_id,
            "risk_score": self.risk_score,
            "is_admin": self.is_admin,
            "admin_reason": self.admin_reason,
            "reaches_admin": self.reaches_admin,
            "admin_path": self.admin_path.to_json() if self.admin_path is not None else None,
            "score_explanation": self.score_explanation,
            "privilege_escalation": [e.to_json() for e in self.privilege_escalation],
            "findings": [f.to_json() for f in self.findings],
            "warnings": self.warnings,
        }


@dataclass
class AccountReport:
    account_id: str
    principals: list[PrincipalReport]
    errors: list[str]
    # AWS managed policies naming actions the catalog does not know (the catalog is older than AWS):
    # reported once here, not as a finding on every principal they are attached to.
    catalog_gaps: dict[str, list[str]] = field(default_factory=dict)
    # The same by action: which managed policies name it and how many principals hold them.
    catalog_gap_actions: list[CatalogGap] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        for p in self.principals:
            by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
        return {
            "account_id": self.account_id,
            "principals": len(self.principals),
            "by_type": by_kind,
            "admins": sum(p.is_admin for p in self.principals),
            "reach_admin": sum(p.reaches_admin for p in self.principals),
            "with_privilege_escalation": sum(bool(p.privilege_escalation) for p in self.principals),
            "high_risk": sum(p.risk_score >= 70 for p in self.principals),
            "findings": sum(len(p.findings) for p in self.principals),
            "errors": self.errors,
            "catalog_gaps": len(self.catalog_gaps),  # AWS managed policies; listed in the report's own key
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "principals": [p.to_json() for p in self.principals],
            "stats": self.stats(),
            "catalog_gaps": self.catalog_gaps,
            "catalog_gap_actions": [g.to_json() for g in self.catalog_gap_actions],
        }
