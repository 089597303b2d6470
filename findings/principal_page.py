"""Everything the principal page shows, built from the stored snapshot with the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from findings.models import LastAccessed, ManagedPolicy, Principal
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.model import PolicyDocument, PolicyError, parse_policy

RISKY_ACTION_WORDS = ("iam:", "sts:assumerole", "passrole", "kms:decrypt", "secretsmanager:getsecretvalue")


@dataclass
class StatementView:
    effect: str
    actions: list[str]
    resources: list[str]
    conditions: list[str]
    not_actions: bool
    not_resources: bool
    risky: list[str] = field(default_factory=list)


@dataclass
class PolicyView:
    name: str
    source: str  # "inline" | "managed" | "group:<name>" | "boundary"
    arn: str
    statements: list[StatementView]
    document: Any
    aws_managed: bool = False
    error: str = ""


@dataclass
class ServiceUse:
    service: str
    actions: list[tuple[str, datetime | None, str]]  # (action, last used, state)
    last_used: datetime | None
    state: str  # used | unused | not-tracked | too-young | no-data


def _statement_views(doc: PolicyDocument) -> list[StatementView]:
    views = []
    for st in doc.statements:
        patterns = list(st.not_actions if st.not_actions is not None else st.actions)
        resources = list(st.not_resources if st.not_resources is not None else st.resources)
        risky = []
        if st.is_allow:
            if "*" in patterns or st.not_actions is not None:
                risky.append("grants every action" if "*" in patterns else "NotAction grants everything else")
            if any(p.endswith(":*") for p in patterns):
                risky.append("service-wide wildcard")
            if any(w in p for p in patterns for w in RISKY_ACTION_WORDS):
                risky.append("identity or secret actions")
            if "*" in resources and st.not_resources is None and patterns:
                risky.append("on every resource")
            if len(risky) == 1 and risky[0] == "on every resource":
                risky = []  # read-only grants on * are the norm; flag only with another reason
        views.append(
            StatementView(
                effect=st.effect,
                actions=patterns,
                resources=resources,
                conditions=[f"{c.operator} {c.key} {', '.join(c.values)}" for c in st.conditions],
                not_actions=st.not_actions is not None,
                not_resources=st.not_resources is not None,
                risky=risky,
            )
        )
    return views


def _parse(document: Any, name: str) -> tuple[PolicyDocument | None, str]:
    try:
        return parse_policy(document, name), ""
    except PolicyError as exc:
        return None, str(exc)


def policies_of(principal: Principal) -> list[PolicyView]:
    views: list[PolicyView] = []
    for inline in principal.inline_policies.select_related("document"):
        doc, error = _parse(inline.document.document, inline.name)
        views.append(
            PolicyView(
                inline.name,
                "inline",
                "",
                _statement_views(doc) if doc else [],
                inline.document.document,
                error=error,
            )
        )
    wanted = [*principal.attached_policy_arns, *([principal.boundary_arn] if principal.boundary_arn else [])]
    managed = {
        p.arn: p
        for p in ManagedPolicy.objects.filter(account=principal.account, arn__in=wanted).select_related(
            "document"
        )
    }
    for arn in principal.attached_policy_arns:
        policy = managed.get(arn)
        if policy is None or policy.document is None:
            continue
        doc, error = _parse(policy.document.document, policy.name)
        views.append(
            PolicyView(
                policy.name,
                "managed",
                arn,
                _statement_views(doc) if doc else [],
                policy.document.document,
                aws_managed=policy.aws_managed,
                error=error,
            )
        )
    if principal.kind == "user" and principal.groups:
        for group in Principal.objects.filter(
            account=principal.account, kind="group", name__in=principal.groups
        ):
            for view in policies_of(group):
                view.source = f"group:{group.name}"
                views.append(view)
    if (
        principal.boundary_arn
        and principal.boundary_arn in managed
        and managed[principal.boundary_arn].document
    ):
        policy = managed[principal.boundary_arn]
        doc, error = _parse(policy.document.document, policy.name)  # type: ignore[union-attr]
        views.append(
            PolicyView(
                policy.name,
                "boundary",
                policy.arn,
                _statement_views(doc) if doc else [],
                policy.document.document,
                aws_managed=policy.aws_managed,
                error=error,
            )
        )  # type: ignore[union-attr]
    return views


def permissions_of(principal: Principal, policies: list[PolicyView]) -> PrincipalPermissions:
    docs = [parse_policy(p.document, p.name) for p in policies if p.source != "boundary" and not p.error]
    boundary = next(
        (parse_policy(p.document, p.name) for p in policies if p.source == "boundary" and not p.error), None
    )
    ctx = PrincipalContext(principal.arn, principal.name, principal.kind, principal.account.account_id)
    return PrincipalPermissions.build(ctx, docs, default_catalog(), boundary=boundary)


def service_usage(principal: Principal, perms: PrincipalPermissions) -> list[ServiceUse]:
    catalog = default_catalog()
    window = principal.account.unused_days
    now = timezone.now()
    cutoff = now - timedelta(days=window)
    young = principal.aws_created_at is not None and principal.aws_created_at > cutoff
    rows = list(LastAccessed.objects.filter(principal=principal))
    services = {r.service: r for r in rows if not r.action}
    actions = {(r.service, r.action.lower()): r for r in rows if r.action}
    granted: dict[str, list[str]] = {}
    for a in perms.allowed_actions():
        granted.setdefault(a.split(":", 1)[0], []).append(a)
    out = []
    for service in sorted(granted):
        row = services.get(service)
        if young:
            state = "too-young"
        elif not rows:
            state = "no-data"
        elif row is None or not row.tracked:
            state = "not-tracked"
        elif row.last_accessed_at is None or row.last_accessed_at < cutoff:
            state = "unused"
        else:
            state = "used"
        action_rows = []
        for a in sorted(granted[service]):
            tracked = actions.get((service, a.split(":", 1)[1]))
            if tracked is None:
                a_state = (
                    state if state in ("unused", "too-young", "no-data", "not-tracked") else "service-used"
                )
                action_rows.append((catalog.name(a), None, a_state))
            else:
                used = tracked.last_accessed_at is not None and tracked.last_accessed_at >= cutoff
                a_state = "used" if used else ("too-young" if young else "unused")
                action_rows.append((catalog.name(a), tracked.last_accessed_at, a_state))
        out.append(ServiceUse(service, action_rows, row.last_accessed_at if row else None, state))
    order = {"unused": 0, "used": 1, "not-tracked": 2, "too-young": 3, "no-data": 4}
    return sorted(out, key=lambda s: (order.get(s.state, 5), s.service))
