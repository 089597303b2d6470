"""Tightened-policy suggestions: per principal, from its observed use, checked, sized, and scored.

A suggestion is built from the principal's policy layers and usage as `findings.facts` reads them, never
offers what cannot be applied (a part over its size limit, too many attached policies, a principal AWS or
Identity Center owns: `blocked_reason` says why), and predicts the risk score the next sync will compute
after the apply by analysing the whole account again with the proposed documents in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from accounts.aws import apply as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.models import LinkedAccount
from accounts.services import aws_target
from findings.analysis import engine_inputs
from findings.change_items import ItemKind, part_name
from findings.facts import PrincipalUsage, account_gaad, principal_layers, principal_usage
from findings.models import LastAccessed, ManagedPolicy, Principal, Suggestion
from findings.selectors import with_list_item
from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from policy.model import PolicyError, minified_length, parse_policy
from policy.tighten import SIZE_LIMITS, grants_nothing_new, tighten_policy

logger = logging.getLogger(__name__)

# Managed policies attached per principal: AWS's default quota (reference/aws-facts.md).
MAX_ATTACHED = 10


def protected_reason(principal: Principal) -> str:
    """Why a principal is never changed directly, or "" when it may be."""
    if principal.path.startswith("/aws-service-role/"):
        return "it is a service-linked role: AWS owns its policies and refuses changes to them."
    if principal.name.startswith("AWSReservedSSO_"):
        return (
            "IAM Identity Center created this role and reverts changes to it: tighten its permission set "
            "in Identity Center instead."
        )
    return ""


def _basis(principal: Principal) -> str:
    rows = (
        LastAccessed.objects.filter(principal=principal)
        .order_by("service", "action")
        .values_list("service", "action", "last_accessed_at", "tracked")
    )
    payload = [principal.documents_hash, [list(map(str, r)) for r in rows]]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def replacement_name(principal: Principal, policy_name: str) -> str:
    return f"iamreview-{principal.name}-{policy_name}"[:128]


def _shared(policy: ManagedPolicy, principal: Principal) -> bool:
    """Used by anyone else, as an attached policy or as a permissions boundary (that is sharing too)."""
    others = Principal.objects.filter(account=principal.account).exclude(pk=principal.pk)
    return (
        bool(with_list_item(others, "attached_policy_arns", policy.arn))
        or others.filter(boundary_arn=policy.arn).exists()
        or principal.boundary_arn == policy.arn
    )


def _item(
    kind: str, name: str, arn: str, original: Any, result: Any, usage: PrincipalUsage
) -> dict[str, Any]:
    removed_services = sorted({a.split(":")[0] for a in result.removed_actions})
    return {
        "kind": kind,
        "name": name,
        "arn": arn,
        "original": original,
        "proposed": result.documents,
        "removed_actions": result.removed_actions,
        "kept_actions": len(result.kept_actions),
        "unknown_actions": list(result.unknown_actions),
        "size": result.size,
        "limit": result.limit,
        "fits": result.fits,
        "warnings": list(result.warnings),
        "removed_services": removed_services,
        "last_used": {
            s: (d.date().isoformat() if (d := usage.service_last_used(s.lower())) else "never")
            for s in removed_services
        },
    }


def _blocked(principal: Principal, items: list[dict[str, Any]], inline_sizes: dict[str, int]) -> str:
    """Why these items cannot be applied as they are, or ""."""
    for item in items:
        if not item["fits"] or any(minified_length(d) > item["limit"] for d in item["proposed"]):
            return f"the tightened {item['name']} does not fit {item['limit']:,} characters per document."
    total = sum(inline_sizes.values())
    limit = SIZE_LIMITS[f"inline-{principal.kind}"]
    if total > limit:
        return (
            f"the {principal.kind}'s inline policies would hold {total:,} characters together, over the "
            f"{limit:,} AWS allows; move a policy to a customer-managed one first."
        )
    attached = len(principal.attached_policy_arns) + sum(
        len(i["proposed"]) - (0 if i["kind"] == ItemKind.REPLACE else 1)
        for i in items
        if i["kind"] in (ItemKind.MANAGED, ItemKind.REPLACE, ItemKind.DETACH)
    )
    if attached > MAX_ATTACHED:
        return f"it would need {attached} attached managed policies, over the {MAX_ATTACHED} AWS allows."
    return ""


def suggestion_build(*, principal: Principal, analyzer: Any = None) -> Suggestion | None:
    """A tightened policy set for the principal, or None when nothing would be removed. Earlier suggestions
    made from other documents or usage are marked stale."""
    basis = _basis(principal)
    current = principal.suggestions.filter(basis_hash=basis, stale=False).first()
    if current is not None:
        return current
    principal.suggestions.filter(stale=False).update(stale=True)
    usage = principal_usage(principal)
    if usage.status != "analyzed":
        return None  # too young, no data or stale data: nothing can be called unused
    catalog = default_catalog()
    layers = principal_layers(principal)
    items: list[dict[str, Any]] = []
    originals, proposed_docs = [], []
    inline_sizes = {p.name: minified_length(p.document.document) for p in layers.inline}
    for inline in layers.inline:
        try:
            doc = parse_policy(inline.document.document, inline.name)
        except PolicyError:
            continue
        result = tighten_policy(doc, usage.usage, catalog, kind=f"inline-{principal.kind}")
        if result.unchanged:
            continue
        originals.append(doc)
        proposed_docs += [parse_policy(d, f"{inline.name}-new") for d in result.documents]
        inline_sizes[inline.name] = sum(minified_length(d) for d in result.documents)
        items.append(_item(ItemKind.INLINE, inline.name, "", inline.document.document, result, usage))
    for policy in layers.managed:
        if policy.document is None:
            continue
        try:
            doc = parse_policy(policy.document.document, policy.name)
        except PolicyError:
            continue
        result = tighten_policy(doc, usage.usage, catalog, kind="managed")
        if result.unchanged:
            continue
        # A new version changes the policy for everyone who uses it: only when this principal is the only
        # one. Otherwise (and always for AWS managed policies) a policy of its own replaces it.
        replace = policy.aws_managed or _shared(policy, principal)
        kind = ItemKind.DETACH if not result.documents else ItemKind.REPLACE if replace else ItemKind.MANAGED
        originals.append(doc)
        proposed_docs += [parse_policy(d, f"{policy.name}-new") for d in result.documents]
        item = _item(kind, policy.name, policy.arn, policy.document.document, result, usage)
        item["aws_managed"] = policy.aws_managed
        item["replacement_name"] = (
            replacement_name(principal, policy.name) if kind != ItemKind.MANAGED else ""
        )
        items.append(item)
    if not items:
        return None
    if analyzer is not None:
        for item in items:
            item["validation"] = [aws.validate(analyzer, d) for d in item["proposed"]]
            item["no_new_access"] = [
                aws.check_no_new_access(analyzer, d, item["original"]) for d in item["proposed"]
            ]
    return Suggestion.objects.create(
        principal=principal,
        basis_hash=basis,
        items=items,
        removed_count=sum(len(i["removed_actions"]) for i in items),
        risk_before=principal.risk_score,
        risk_after=predicted_score(principal, items),
        engine_problems=grants_nothing_new(originals, proposed_docs, catalog),
        blocked_reason=protected_reason(principal) or _blocked(principal, items, inline_sizes),
    )


def predicted_score(principal: Principal, items: list[dict[str, Any]]) -> int:
    """The principal's risk score once `items` are applied: the whole account analysed again (escalation
    paths cross principals) from the stored snapshot with this principal's documents replaced."""
    account = principal.account
    by_name = {(i["kind"], i["name"]): i for i in items}
    inline = []
    for row in principal_layers(principal).inline:
        item = by_name.get((ItemKind.INLINE, row.name))
        parts = item["proposed"] if item else [row.document.document]
        inline += [(part_name(row.name, n), d) for n, d in enumerate(parts, start=1)]
    attached = list(principal.attached_policy_arns)
    extra: dict[str, tuple[str, Any]] = {}
    prefix = f"arn:aws:iam::{account.account_id}:policy/"
    for item in items:
        if item["kind"] == ItemKind.INLINE:
            continue
        if item["kind"] == ItemKind.MANAGED:
            extra[item["arn"]] = (item["name"], item["proposed"][0])
            new_parts = list(enumerate(item["proposed"][1:], start=2))
        else:
            attached.remove(item["arn"])
            new_parts = list(enumerate(item["proposed"], start=1))
        base = item.get("replacement_name") or replacement_name(principal, item["name"])
        for n, document in new_parts:
            arn = prefix + part_name(base, n)
            extra[arn] = (part_name(base, n), document)
            attached.append(arn)
    gaad = account_gaad(
        account,
        inline_override={principal.arn: inline},
        attached_override={principal.arn: attached},
        extra_policies=extra,
    )
    report = AccountAnalysis(
        load_gaad(gaad, account.account_id), default_catalog(), **engine_inputs(account)
    ).run()
    return next((p.risk_score for p in report.principals if p.arn == principal.arn), principal.risk_score)


def suggestions_build_for_account(*, account_id: int, session_factory: Any = None) -> int:
    """A suggestion for every principal with unused permissions; Access Analyzer checks where available."""
    account = LinkedAccount.objects.get(pk=account_id)
    analyzer = None
    try:
        session = (session_factory or AwsSession)(aws_target(account))
        analyzer = session.client("accessanalyzer")
    except AwsAccessError as exc:
        logger.info("suggestions for %s without Access Analyzer checks: %s", account.account_id, exc)
    built = 0
    for principal in Principal.objects.filter(account=account, unused_count__gt=0).exclude(kind="group"):
        if suggestion_build(principal=principal, analyzer=analyzer) is not None:
            built += 1
    return built
