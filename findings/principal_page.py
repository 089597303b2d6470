"""Everything the principal page shows, built from the stored snapshot with the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from findings.facts import Layers, evidence_age, principal_layers, principal_usage
from findings.identity_center import permission_set_context
from findings.models import (
    AccessKey,
    ChangeRequest,
    Finding,
    FindingStatus,
    Principal,
    ScoreHistory,
    Suggestion,
)
from findings.protection import protected_reason
from findings.selectors import risk_band, with_list_item
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.model import PolicyDocument, PolicyError, parse_policy
from policy.rules import SEVERITY_OF_PATH_CATEGORY
from policy.scp import ScpCap
from policy.usage import ActionUse

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


def _views(layers: Layers, source: str) -> list[PolicyView]:
    views: list[PolicyView] = []
    for inline in layers.inline:
        doc, error = _parse(inline.document.document, inline.name)
        views.append(
            PolicyView(
                inline.name,
                "inline" if source == "own" else source,
                "",
                _statement_views(doc) if doc else [],
                inline.document.document,
                error=error,
            )
        )
    for policy in layers.managed:
        if policy.document is None:
            continue
        doc, error = _parse(policy.document.document, policy.name)
        views.append(
            PolicyView(
                policy.name,
                "managed" if source == "own" else source,
                policy.arn,
                _statement_views(doc) if doc else [],
                policy.document.document,
                aws_managed=policy.aws_managed,
                error=error,
            )
        )
    return views


def policies_of(principal: Principal) -> list[PolicyView]:
    """Every policy the principal's permissions depend on, as `findings.facts.principal_layers` reads them."""
    layers = principal_layers(principal)
    views = _views(layers, "own")
    for group in layers.groups:
        views += _views(group, f"group:{group.principal.name}")
    boundary = layers.boundary
    if boundary is not None and boundary.document is not None:
        doc, error = _parse(boundary.document.document, boundary.name)
        views.append(
            PolicyView(
                boundary.name,
                "boundary",
                boundary.arn,
                _statement_views(doc) if doc else [],
                boundary.document.document,
                aws_managed=boundary.aws_managed,
                error=error,
            )
        )
    return views


def permissions_of(principal: Principal, policies: list[PolicyView]) -> PrincipalPermissions:
    docs = [parse_policy(p.document, p.name) for p in policies if p.source != "boundary" and not p.error]
    boundary = next(
        (parse_policy(p.document, p.name) for p in policies if p.source == "boundary" and not p.error), None
    )
    ctx = PrincipalContext(principal.arn, principal.name, principal.kind, principal.account.account_id)
    return PrincipalPermissions.build(ctx, docs, default_catalog(), boundary=boundary)


def service_usage(principal: Principal, perms: PrincipalPermissions) -> list[ServiceUse]:
    """Every granted service with its last use, and each action's state as `findings.facts` reads usage:
    "kept" marks what Access Advisor cannot see (data-plane actions of a used service): never unused."""
    catalog = default_catalog()
    usage = principal_usage(principal)
    granted: dict[str, list[str]] = {}
    for a in perms.allowed_actions():
        granted.setdefault(a.split(":", 1)[0], []).append(a)
    out = []
    for service in sorted(granted):
        if usage.status in ("too-young", "no-data"):
            state = usage.status
        elif not usage.service_tracked(service):
            state = "not-tracked"
        elif service in usage.usage.used_services:
            state = "used"
        else:
            state = "unused"
        action_rows = []
        for a in sorted(granted[service]):
            answer = usage.state(a)
            if answer is ActionUse.USED:
                a_state = "used"
            elif answer is ActionUse.UNUSED:
                a_state = "unused"
            else:
                a_state = state if state in ("too-young", "no-data", "not-tracked") else "service-used"
            action_rows.append((catalog.name(a), usage.action_last_used(a), a_state))
        out.append(ServiceUse(service, action_rows, usage.service_last_used(service), state))
    order = {"unused": 0, "used": 1, "not-tracked": 2, "too-young": 3, "no-data": 4}
    return sorted(out, key=lambda s: (order.get(s.state, 5), s.service))


def no_suggestion_reason(principal: Principal) -> str:
    """Why the principal page offers no tightened policy, in words."""
    if principal.kind == "group":
        return "groups are not tightened directly: their members' use is what counts, so tighten each member."
    protected = protected_reason(principal)
    if protected:
        return protected
    open_change = (
        ChangeRequest.objects.filter(principal=principal, status__in=["pending", "approved", "applying"])
        .order_by("-created_at")
        .first()
    )
    if open_change is not None:
        return f"change #{open_change.pk} for it is {open_change.get_status_display().lower()}."
    usage = principal_usage(principal)
    if usage.status == "too-young":
        return "it is younger than the usage window: nothing it holds can be called unused yet."
    if usage.status in ("no-data", "stale"):
        return "there is no current Access Advisor data for it (the last sync could not read its usage)."
    applied = (
        ChangeRequest.objects.filter(principal=principal, status="applied").order_by("-applied_at").first()
    )
    if principal.unused_count == 0:
        done = f" since change #{applied.pk} was applied" if applied is not None else ""
        return f"everything it is granted that AWS tracks was used in the window{done}."
    return (
        "its unused permissions come from policies it cannot change alone (a group's or the permissions "
        "boundary), or the suggestion is built after the next sync."
    )


def principal_page_context(principal: Principal) -> dict[str, Any]:
    """What the principal page shows, read once: its policies and effective permissions, usage per service,
    score history, live findings, escalation chains, SCP caps, keys, members (a group), the suggestion
    offered or why there is none, the age of its evidence, and the AccessDenied watch of its last change."""
    policies = policies_of(principal)
    perms = permissions_of(principal, policies)
    usage = service_usage(principal, perms) if principal.kind != "group" else []
    history = list(
        ScoreHistory.objects.filter(principal=principal)
        .order_by("recorded_at")
        .values_list("recorded_at", "score")
    )
    suggested = list(Suggestion.objects.filter(principal=principal, stale=False).order_by("-created_at")[:1])
    return {
        "principal": principal,
        "band": risk_band(principal.risk_score),
        "policies": policies,
        "usage": usage,
        "unused_services": sum(1 for s in usage if s.state == "unused"),
        "keys": AccessKey.objects.filter(principal=principal).order_by("created_at"),
        "findings": list(
            Finding.objects.filter(principal=principal)
            .exclude(status=FindingStatus.RESOLVED)
            .order_by("severity_rank", "kind", "subject")
        ),
        "escalations": [
            {
                "path": p,
                "chain": [principal.arn, *p.get("via", [])]
                if p.get("via")
                else [principal.arn, principal.arn],
                "severity": SEVERITY_OF_PATH_CATEGORY.get(p.get("category", ""), "high"),
            }
            for p in principal.escalation_paths
        ],
        "scp_caps": [ScpCap(**c).sentence() for c in principal.scp_caps],
        "protected": protected_reason(principal),
        "permission_set": permission_set_context(principal),
        "score_history": {
            "labels": [d.strftime("%Y-%m-%d %H:%M") for d, _ in history],
            "scores": [s for _, s in history],
        },
        # Filtered in the database (the account may hold thousands of users), not in Python.
        "members": with_list_item(
            Principal.objects.filter(account=principal.account, kind="user"), "groups", principal.name
        )
        if principal.kind == "group"
        else [],
        "suggestions": suggested,
        "no_suggestion_reason": "" if suggested else no_suggestion_reason(principal),
        "evidence_age": evidence_age(principal) if principal.kind != "group" else None,
        # The latest applied change, whose AccessDenied watch (run by a worker) the page shows.
        "watch": ChangeRequest.objects.filter(principal=principal, status="applied")
        .select_related("account")
        .order_by("-applied_at")
        .first(),
    }
