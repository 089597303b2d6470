"""Everything the principal page shows, built from the stored snapshot with the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.paging import page_of
from findings.facts import Layers, PrincipalUsage, evidence_age, principal_layers, principal_usage
from findings.identity_center import permission_set_context
from findings.models import AccessKey, ChangeRequest, Principal, ScoreHistory, Suggestion
from findings.principal_lists import findings_page, service_actions_page, services_page
from findings.protection import protected_reason
from findings.selectors import risk_band, with_list_item
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.model import PolicyDocument, PolicyError, parse_policy
from policy.rules import SEVERITY_OF_PATH_CATEGORY
from policy.scp import ScpCap

INLINE_JSON_SIZE = 3000
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
    sha256: str = ""
    size: int = 0  # characters without whitespace, as AWS counts them

    @property
    def json_inline(self) -> bool:
        """Small documents are shown on the page; larger ones (ReadOnlyAccess pretty-printed is 120 KB)
        load when opened."""
        return self.size <= INLINE_JSON_SIZE


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
                sha256=inline.document.sha256,
                size=inline.document.size,
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
                sha256=policy.document.sha256,
                size=policy.document.size,
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
                sha256=boundary.document.sha256,
                size=boundary.document.size,
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


def no_suggestion_reason(principal: Principal, usage: PrincipalUsage | None = None) -> str:
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
    usage = usage or principal_usage(principal)
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


def principal_page_context(principal: Principal, *, pages: dict[str, int] | None = None) -> dict[str, Any]:
    """What the principal page shows, read once: its policies and effective permissions, usage per service,
    score history, live findings, escalation chains, SCP caps, keys, members (a group), the suggestion
    offered or why there is none, the age of its evidence, and the AccessDenied watch of its last change.
    Services, policies and findings are one page each (`pages`: list name -> page number, default 1)."""
    pages = pages or {}
    policies = policies_of(principal)
    perms = permissions_of(principal, policies)
    usage = principal_usage(principal) if principal.kind != "group" else None
    services, unused_services = (
        services_page(perms, usage, pages.get("services", 1)) if usage is not None else (None, 0)
    )
    history = list(
        ScoreHistory.objects.filter(principal=principal)
        .order_by("recorded_at")
        .values_list("recorded_at", "score")
    )
    suggested = list(Suggestion.objects.filter(principal=principal, stale=False).order_by("-created_at")[:1])
    return {
        "principal": principal,
        "band": risk_band(principal.risk_score),
        "policies": page_of(policies, pages.get("policies", 1)),
        "services": services,
        "unused_services": unused_services,
        "keys": AccessKey.objects.filter(principal=principal).order_by("created_at"),
        "findings": findings_page(principal, pages.get("findings", 1)),
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
        "no_suggestion_reason": "" if suggested else no_suggestion_reason(principal, usage),
        "evidence_age": evidence_age(principal) if principal.kind != "group" else None,
        # The latest applied change, whose AccessDenied watch (run by a worker) the page shows.
        "watch": ChangeRequest.objects.filter(principal=principal, status="applied")
        .select_related("account")
        .order_by("-applied_at")
        .first(),
    }


def principal_list_context(principal: Principal, part: str, number: int) -> dict[str, Any]:
    """One page of one of the principal page's long lists ("services", "policies", "findings"), for the
    htmx request of its "show more" control: only what that list needs is read."""
    context: dict[str, Any] = {"principal": principal}
    if part == "findings":
        context["findings"] = findings_page(principal, number)
        return context
    policies = policies_of(principal)
    if part == "policies":
        context["policies"] = page_of(policies, number)
        return context
    perms = permissions_of(principal, policies)
    context["services"], context["unused_services"] = services_page(perms, principal_usage(principal), number)
    return context


def principal_actions_context(principal: Principal, service: str, number: int) -> dict[str, Any] | None:
    """One page of the actions the principal is granted in one service; None when it is granted none."""
    if principal.kind == "group":
        return None
    perms = permissions_of(principal, policies_of(principal))
    actions = service_actions_page(perms, principal_usage(principal), service, number)
    if actions is None:
        return None
    return {"principal": principal, "service": service, "actions": actions}


def principal_document_context(principal: Principal, sha256: str) -> dict[str, Any] | None:
    """One of the documents the principal's permissions depend on, by hash (for its "JSON" on demand);
    None when it depends on no such document."""
    policy = next((p for p in policies_of(principal) if p.sha256 == sha256), None)
    return None if policy is None else {"principal": principal, "policy": policy}
