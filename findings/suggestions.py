"""Tightened-policy suggestions: per principal, from its observed use, checked, sized, and scored.

A suggestion is built from the principal's policy layers and usage as `findings.facts` reads them, never
offers what cannot be applied (a part over its size limit, too many attached policies, a principal AWS or
Identity Center owns: `blocked_reason` says why), and predicts the risk score the next sync will compute
after the apply by analysing the whole account again with the proposed documents in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from django.db.models import Q

from accounts.aws import apply as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.models import LinkedAccount
from accounts.services import aws_target
from findings.analysis import engine_inputs, engine_inputs_read_once
from findings.change_items import ItemKind, part_name
from findings.facts import (
    PrincipalUsage,
    account_gaad,
    group_members,
    group_usage,
    principal_evidence,
    principal_layers,
    principal_usage,
)
from findings.identity_center import permission_set_for, set_managed_policies, set_roles, set_usage
from findings.models import ManagedPolicy, PermissionSet, Principal, Suggestion
from findings.organization import engine_levels, policy_levels
from findings.protection import protected_reason as protected_reason
from findings.review_window import review_window
from findings.scoping import scoping_evidence
from findings.selectors import with_list_item
from findings.usage_rows import principals_usage_rows
from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.evidence import Evidence
from policy.gaad import load_gaad
from policy.model import PolicyError, minified_length, parse_policy
from policy.scope import harden, regions_seen, scope_documents
from policy.tighten import SIZE_LIMITS, grants_nothing_new, tighten_policy

logger = logging.getLogger(__name__)

# Managed policies attached per principal: AWS's default quota (reference/aws-facts.md).
MAX_ATTACHED = 10


def _basis(principal: Principal, evidence: Sequence[Evidence], permission_set: PermissionSet | None) -> str:
    """What a suggestion was made from: the documents and the usage (a group's: its members'; an Identity
    Center role's: its permission set's and the use of every role of the set)."""
    whose = group_members(principal) if principal.kind == "group" else [principal]
    if permission_set is not None:
        whose = set_roles(permission_set) or [principal]
    held = principals_usage_rows([p.pk for p in whose])
    rows = sorted(
        (
            (p.pk, r.service, r.action, r.last_accessed_at, r.tracked)
            for p in whose
            for r in held.get(p.pk, [])
        ),
        key=lambda row: row[:3],
    )
    seen = sorted(map(repr, evidence))
    window = review_window(principal)
    payload = [
        principal.documents_hash,
        [list(map(str, r)) for r in rows],
        seen,
        [window.unused_days, window.periodic_days],
    ]
    if permission_set is not None:
        payload.append(
            [permission_set.arn, permission_set.inline_policy, permission_set.managed_policies]  # type: ignore[list-item]
        )
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


def _never_used(result: Any, usage: PrincipalUsage) -> str:
    """When nothing this policy grants was seen used (every service it keeps actions of is unused in the
    window, or not reported), the evidence in words; else ""."""
    used = usage.usage.used_services
    if not result.removed_actions or any(a.split(":")[0].lower() in used for a in result.kept_actions):
        return ""
    services = sorted({a.split(":")[0] for a in result.removed_actions})
    kept = result.kept_actions
    return (
        f"Nothing this policy grants was used in the last {usage.window_days} days: Access Advisor reports "
        f"{len(services)} of its services and none of them used (last use: "
        + ", ".join(f"{s} {_last(usage, s)}" for s in services[:5])
        + (", …" if len(services) > 5 else "")
        + ")."
        + (
            f" Kept only what Access Advisor cannot see ({len(kept)}: {', '.join(kept[:5])}"
            + (", …" if len(kept) > 5 else "")
            + "); detach it if the principal needs none of that."
            if kept
            else " Detached."
        )
    )


def _last(usage: PrincipalUsage, service: str) -> str:
    when = usage.service_last_used(service.lower())
    return when.date().isoformat() if when else "never"


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
        "last_used": {s: _last(usage, s) for s in removed_services},
        "never_used": _never_used(result, usage),
        "narrowed": result.narrowed,
        "stages": result.stages,
        "scope_left": result.scope_left,
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


def _tightened(doc: Any, usage: PrincipalUsage, catalog: Any, kind: str, evidence: Sequence[Evidence]) -> Any:
    """The policy tightened (actions), then narrowed to the resources the evidence shows used, unless the
    narrowed documents would not fit where the tightened ones do."""
    result = tighten_policy(doc, usage.usage, catalog, kind=kind)
    # A staged change drops unused services first, then unused actions, then narrows resources.
    services = tighten_policy(doc, usage.usage.services_only(), catalog, kind=kind)
    result.stages = {"services": services.documents, "actions": list(result.documents)}
    if not evidence or not result.documents:
        return result
    scoped = scope_documents(result.documents, evidence, catalog, doc.name)
    if scoped.narrowed and all(minified_length(d) <= result.limit for d in scoped.documents):
        result.documents = scoped.documents
        result.size = sum(minified_length(d) for d in scoped.documents)
        result.narrowed = [
            {"action": n.action, "before": list(n.before), "after": list(n.after)} for n in scoped.narrowed
        ]
    result.scope_left = scoped.left
    return result


def suggestion_build(
    *, principal: Principal, analyzer: Any = None, evidence: Sequence[Evidence] | None = None
) -> Suggestion | None:
    """A tightened policy set for the principal, or None when nothing would be removed. Earlier suggestions
    made from other documents or usage are marked stale. `evidence`: what CloudTrail shows the principal
    used (by default, as stored for it)."""
    permission_set = permission_set_for(principal)
    if evidence is None:
        # A permission set's roles are one grant: what any of them was seen using counts.
        whose = (set_roles(permission_set) or [principal]) if permission_set is not None else [principal]
        evidence = [e for p in whose for e in principal_evidence(p)]
    evidence = list(evidence)
    basis = _basis(principal, evidence, permission_set)
    current = principal.suggestions.filter(basis_hash=basis, stale=False).first()
    if current is not None:
        protected = protected_reason(principal)
        if protected and current.blocked_reason != protected:
            # The organisation's protection settings changed since it was made.
            current.blocked_reason = protected
            current.save(update_fields=["blocked_reason"])
        return current
    principal.suggestions.filter(stale=False).update(stale=True)
    # A group's policies are tightened from the use of all its members together; a permission set's from
    # that of its roles in every account.
    if permission_set is not None:
        usage = set_usage(permission_set, principal)
    else:
        usage = group_usage(principal) if principal.kind == "group" else principal_usage(principal)
    if usage.status != "analyzed":
        return None  # too young, no data or stale data: nothing can be called unused
    usage = dataclasses.replace(usage, usage=usage.usage.with_evidence(evidence))
    # Only the rows that may narrow resources (Access Advisor's resource-less rows that LookupEvents
    # explains are left out): `findings.scoping`.
    scoping = scoping_evidence(principal, evidence)
    catalog = default_catalog()
    if permission_set is not None:
        return _permission_set_suggestion(principal, permission_set, basis, usage, evidence, analyzer)
    layers = principal_layers(principal)
    items: list[dict[str, Any]] = []
    originals, proposed_docs = [], []
    inline_sizes = {p.name: minified_length(p.document.document) for p in layers.inline}
    for inline in layers.inline:
        try:
            doc = parse_policy(inline.document.document, inline.name)
        except PolicyError:
            continue
        result = _tightened(doc, usage, catalog, f"inline-{principal.kind}", scoping)
        if result.unchanged and not result.narrowed:
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
        result = _tightened(doc, usage, catalog, "managed", scoping)
        if result.unchanged and not result.narrowed:
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
    return _suggestion_create(
        principal,
        basis,
        items,
        analyzer,
        evidence,
        risk_after=predicted_score(principal, items),
        engine_problems=grants_nothing_new(originals, proposed_docs, catalog),
        blocked_reason=protected_reason(principal) or _blocked(principal, items, inline_sizes),
    )


def _suggestion_create(
    principal: Principal,
    basis: str,
    items: list[dict[str, Any]],
    analyzer: Any,
    evidence: Sequence[Evidence],
    **values: Any,
) -> Suggestion:
    _offer_hardening(items, evidence)
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
        **values,
    )


def _permission_set_suggestion(
    principal: Principal,
    permission_set: PermissionSet,
    basis: str,
    usage: PrincipalUsage,
    evidence: Sequence[Evidence],
    analyzer: Any,
) -> Suggestion | None:
    """An Identity Center role's suggestion: its permission set tightened (the set's inline policy; each
    managed policy of the set replaced by its used part in the inline policy, or detached), from the use of
    the set's roles in every account."""
    catalog = default_catalog()
    common = {
        "permission_set": permission_set.name,
        "permission_set_arn": permission_set.arn,
        "instance_arn": permission_set.instance_arn,
        "identity_center_account": permission_set.account.account_id,
        "stages": {},  # one step: a set is provisioned as a whole
    }
    sources: list[tuple[str, str, str, Any, bool]] = []
    if permission_set.inline_policy:
        name = f"{permission_set.name} inline policy"
        sources.append((ItemKind.PS_INLINE, name, permission_set.arn, permission_set.inline_policy, False))
    for policy in set_managed_policies(permission_set, principal):
        if policy.document is not None:
            sources.append(("managed", policy.name, policy.arn, policy.document.document, policy.aws_managed))
    items: list[dict[str, Any]] = []
    originals, proposed_docs = [], []
    inline_size = 0
    for kind, name, arn, document, aws_managed in sources:
        try:
            doc = parse_policy(document, name)
        except PolicyError:
            continue
        # Actions only: resources are not narrowed from evidence, which may not cover every account the
        # set is provisioned to (an account without a trail would lose what its role uses).
        result = _tightened(
            doc, usage, catalog, "inline-role" if kind == ItemKind.PS_INLINE else "managed", []
        )
        if result.unchanged and not result.narrowed:
            inline_size += minified_length(document) if kind == ItemKind.PS_INLINE else 0
            continue
        if kind != ItemKind.PS_INLINE:
            kind = ItemKind.PS_REPLACE if result.documents else ItemKind.PS_DETACH
        originals.append(doc)
        proposed_docs += [parse_policy(d, f"{name}-new") for d in result.documents]
        inline_size += sum(minified_length(d) for d in result.documents)
        item = {**_item(kind, name, arn, document, result, usage), **common}
        if kind != ItemKind.PS_INLINE:
            item["aws_managed"] = aws_managed
        items.append(item)
    if not items:
        return None
    limit = SIZE_LIMITS["inline-role"]
    blocked = (
        f"the permission set's inline policy would hold {inline_size:,} characters, over the {limit:,} its "
        "roles' inline policy may hold; keep a managed policy attached instead."
        if inline_size > limit
        else ""
    )
    return _suggestion_create(
        principal,
        basis,
        items,
        analyzer,
        evidence,
        risk_after=predicted_score(principal, _as_role_items(principal, items)),
        engine_problems=grants_nothing_new(originals, proposed_docs, catalog),
        blocked_reason=blocked,
    )


def _as_role_items(principal: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A permission set's items as the role's own, for the predicted score: once provisioned, the role's
    inline policy is the set's, and its managed policies the set's."""
    inline = {
        json.dumps(row.document.document, sort_keys=True): row.name
        for row in principal_layers(principal).inline
    }
    out = []
    for item in items:
        if item["kind"] == ItemKind.PS_INLINE:
            name = inline.get(json.dumps(item["original"], sort_keys=True))
            if name:
                out.append({**item, "kind": ItemKind.INLINE, "name": name})
        elif item["arn"] in principal.attached_policy_arns:
            kind = ItemKind.REPLACE if item["kind"] == ItemKind.PS_REPLACE else ItemKind.DETACH
            out.append({**item, "kind": kind})
    return out


def _offer_hardening(items: list[dict[str, Any]], evidence: Sequence[Evidence]) -> None:
    """The conditions people forget, as an optional version of each item's documents the reviewer may
    tick: TLS only, and (when the evidence names regions) the regions seen."""
    regions = regions_seen(evidence)
    for item in items:
        if item["proposed"]:
            item["hardening"] = {
                "regions": regions,
                "proposed": harden(item["proposed"], regions=regions),
            }


def with_hardening(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with the hardening conditions the reviewer ticked (where one is offered)."""
    return [{**i, "proposed": i["hardening"]["proposed"]} if i.get("hardening") else i for i in items]


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
    # With the same SCP levels and credential facts as the sync's analysis, so the prediction is the next
    # sync's score.
    scps, _ = engine_levels(policy_levels(account.account_id))
    report = AccountAnalysis(
        load_gaad(gaad, account.account_id), default_catalog(), scps=scps, **engine_inputs(account)
    ).run()
    return next((p.risk_score for p in report.principals if p.arn == principal.arn), principal.risk_score)


def suggestions_build_for_account(*, account_id: int, session_factory: Any = None) -> int:
    """A suggestion for every principal with unused permissions; Access Analyzer checks where available.
    An account removed after its build was queued has nothing to build: 0."""
    account = LinkedAccount.objects.filter(pk=account_id).first()
    if account is None:
        logger.info("suggestions not built: account %s was removed after the build was queued", account_id)
        return 0
    analyzer = None
    try:
        session = (session_factory or AwsSession)(aws_target(account))
        analyzer = session.client("accessanalyzer")
    except AwsAccessError as exc:
        logger.info("suggestions for %s without Access Analyzer checks: %s", account.account_id, exc)
    # Nothing unused any more (a tightened policy applied, usage caught up): nothing to offer.
    Suggestion.objects.filter(principal__account=account, principal__unused_count=0, stale=False).update(
        stale=True
    )
    built = 0
    # Groups carry no usage of their own (their members' is read): each is considered.
    candidates = Principal.objects.filter(account=account).filter(Q(unused_count__gt=0) | Q(kind="group"))
    with engine_inputs_read_once():
        for principal in candidates.order_by("id"):
            if suggestion_build(principal=principal, analyzer=analyzer) is not None:
                built += 1
    return built
