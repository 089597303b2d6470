"""Suggestions and change requests: build, open, edit, approve, apply, roll back. Every state change is
audited; nothing reaches AWS without an approved request whose approver is not its requester."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.aws import apply as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.roles import Role, has_role
from findings.audit import audit_record
from findings.models import (
    Approval,
    ChangeRequest,
    ChangeStatus,
    LastAccessed,
    ManagedPolicy,
    Principal,
    Suggestion,
)
from findings.selectors import with_list_item
from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from policy.model import PolicyError, parse_policy
from policy.tighten import Usage, grants_nothing_new, tighten_policy

logger = logging.getLogger(__name__)


# Permission-only actions that never appear in last-accessed data: never removed as "unused".
NOT_RECORDED_BY_ACCESS_ADVISOR = frozenset({"iam:passrole"})


class ChangeError(Exception):
    """A change request action refused, with the reason in words."""


def _usage(principal: Principal) -> tuple[Usage, dict[str, str]]:
    cutoff = timezone.now() - timedelta(days=principal.account.unused_days)
    rows = list(LastAccessed.objects.filter(principal=principal))
    action_level = {r.service for r in rows if r.action}
    used_services = {
        r.service for r in rows if not r.action and r.last_accessed_at and r.last_accessed_at >= cutoff
    }
    # Services AWS does not track are kept whole: we cannot know they are unused.
    tracked = {r.service for r in rows if not r.action}
    used_actions = {
        f"{r.service}:{r.action}".lower()
        for r in rows
        if r.action and r.last_accessed_at and r.last_accessed_at >= cutoff
    }
    last_used = {
        r.service: r.last_accessed_at.date().isoformat() for r in rows if not r.action and r.last_accessed_at
    }

    class KeepUntracked(Usage):
        def is_used(self, action: str) -> bool:
            if action in NOT_RECORDED_BY_ACCESS_ADVISOR:
                return True
            service = action.split(":", 1)[0]
            if service not in tracked:
                return True
            return super().is_used(action)

    return KeepUntracked.of(
        actions=used_actions, services=used_services, action_level_services=action_level
    ), last_used


def _basis(principal: Principal) -> str:
    rows = (
        LastAccessed.objects.filter(principal=principal)
        .order_by("service", "action")
        .values_list("service", "action", "last_accessed_at")
    )
    payload = [principal.documents_hash, [list(map(str, r)) for r in rows]]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _managed_name(principal: Principal, policy_name: str) -> str:
    return f"iamreview-{principal.name}-{policy_name}"[:128]


def suggestion_build(*, principal: Principal, analyzer: Any = None) -> Suggestion | None:
    """A tightened policy set for the principal, or None when nothing would be removed. Earlier suggestions
    made from other documents or usage are marked stale."""
    basis = _basis(principal)
    current = principal.suggestions.filter(basis_hash=basis, stale=False).first()
    if current is not None:
        return current
    principal.suggestions.filter(stale=False).update(stale=True)
    usage, last_used = _usage(principal)
    if not last_used and not usage.used_actions:
        return None  # no usage data: nothing can be called unused
    catalog = default_catalog()
    kind = f"inline-{principal.kind}"
    items: list[dict[str, Any]] = []
    originals = []
    proposed_docs = []
    for inline in principal.inline_policies.select_related("document"):
        try:
            doc = parse_policy(inline.document.document, inline.name)
        except PolicyError:
            continue
        result = tighten_policy(doc, usage, catalog, kind=kind)
        if result.unchanged:
            continue
        originals.append(doc)
        proposed_docs += [parse_policy(d, f"{inline.name}-new") for d in result.documents]
        items.append(
            {
                "kind": "inline",
                "name": inline.name,
                "arn": "",
                "original": inline.document.document,
                "proposed": result.documents,
                "removed_actions": result.removed_actions,
                "kept_actions": len(result.kept_actions),
                "size": result.size,
                "limit": result.limit,
                "warnings": result.warnings,
            }
        )
    for policy in ManagedPolicy.objects.filter(
        account=principal.account, arn__in=principal.attached_policy_arns
    ).select_related("document"):
        if policy.document is None:
            continue
        # A new version changes the policy for everyone it is attached to: only when this principal is the
        # only one. Otherwise (and always for AWS managed policies) a policy of its own replaces it.
        shared = (
            len(
                with_list_item(
                    Principal.objects.filter(account=principal.account), "attached_policy_arns", policy.arn
                )
            )
            > 1
        )
        replace = policy.aws_managed or shared
        try:
            doc = parse_policy(policy.document.document, policy.name)
        except PolicyError:
            continue
        result = tighten_policy(doc, usage, catalog, kind="managed")
        if result.unchanged:
            continue
        originals.append(doc)
        proposed_docs += [parse_policy(d, f"{policy.name}-new") for d in result.documents]
        items.append(
            {
                "kind": "replace" if replace else "managed",
                "name": policy.name,
                "arn": policy.arn,
                "aws_managed": policy.aws_managed,
                "replacement_name": _managed_name(principal, policy.name) if replace else "",
                "original": policy.document.document,
                "proposed": result.documents,
                "removed_actions": result.removed_actions,
                "kept_actions": len(result.kept_actions),
                "size": result.size,
                "limit": result.limit,
                "warnings": result.warnings,
            }
        )
    if not items:
        return None
    for item in items:
        item["removed_services"] = sorted({a.split(":")[0] for a in item["removed_actions"]})
        item["last_used"] = {s: last_used.get(s.lower(), "never") for s in item["removed_services"]}
        if analyzer is not None:
            item["validation"] = [aws.validate(analyzer, d) for d in item["proposed"]]
            item["no_new_access"] = [
                aws.check_no_new_access(analyzer, d, item["original"]) for d in item["proposed"]
            ]
    problems = grants_nothing_new(originals, proposed_docs, catalog)
    suggestion = Suggestion.objects.create(
        principal=principal,
        basis_hash=basis,
        items=items,
        removed_count=sum(len(i["removed_actions"]) for i in items),
        risk_before=principal.risk_score,
        risk_after=_risk_after(principal, items),
        engine_problems=problems,
    )
    return suggestion


def _risk_after(principal: Principal, items: list[dict[str, Any]]) -> int:
    """The principal's score with the proposed documents, judged on its own rules (no cross-principal graph)."""
    replaced = {(i["kind"], i["name"]): i for i in items}
    inline = []
    for p in principal.inline_policies.select_related("document"):
        item = replaced.get(("inline", p.name))
        docs = item["proposed"] if item else [p.document.document]
        inline += [{"PolicyName": f"{p.name}-{n}", "PolicyDocument": d} for n, d in enumerate(docs)]
    policies, attached = [], []
    for mp in ManagedPolicy.objects.filter(
        account=principal.account, arn__in=principal.attached_policy_arns
    ).select_related("document"):
        item = replaced.get(("managed", mp.name)) or replaced.get(("replace", mp.name))
        docs = item["proposed"] if item else ([mp.document.document] if mp.document else [])
        for n, d in enumerate(docs):
            arn = f"{mp.arn}-{n}"
            attached.append({"PolicyArn": arn, "PolicyName": mp.name})
            policies.append(
                {
                    "Arn": arn,
                    "PolicyName": mp.name,
                    "DefaultVersionId": "v1",
                    "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": d}],
                }
            )
    key = {
        "user": ("UserDetailList", "UserName", "UserPolicyList"),
        "role": ("RoleDetailList", "RoleName", "RolePolicyList"),
        "group": ("GroupDetailList", "GroupName", "GroupPolicyList"),
    }[principal.kind]
    entry = {
        "Arn": principal.arn,
        key[1]: principal.name,
        key[2]: inline,
        "AttachedManagedPolicies": attached,
    }
    details = load_gaad({key[0]: [entry], "Policies": policies}, principal.account.account_id)
    report = AccountAnalysis(details, default_catalog()).run()
    return next((p.risk_score for p in report.principals if p.arn == principal.arn), principal.risk_score)


# -- change requests ---------------------------------------------------------------------------------


def _holds_nul(value: Any) -> bool:
    """PostgreSQL's jsonb cannot store a NUL character anywhere in a document."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _validate_items(items: list[dict[str, Any]]) -> None:
    catalog = default_catalog()
    for item in items:
        documents = item["proposed"]
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            raise ChangeError(
                f"The proposed document for {item['name']} must be a JSON policy object (or a list of them)."
            )
        if _holds_nul(documents):
            raise ChangeError(f"The proposed document for {item['name']} holds a NUL character (\\u0000).")
        originals = [parse_policy(item["original"], item["name"])]
        try:
            proposed = [parse_policy(d, item["name"]) for d in item["proposed"]]
        except PolicyError as exc:
            raise ChangeError(
                f"The proposed document for {item['name']} is not valid: {exc.problem}"
            ) from exc
        problems = grants_nothing_new(originals, proposed, catalog)
        if problems:
            raise ChangeError(
                f"The proposed document for {item['name']} grants more than the current one: {problems[0]}"
            )


def change_request_open(
    *, actor: AbstractBaseUser, suggestion: Suggestion, reason: str, items: list[dict[str, Any]] | None = None
) -> ChangeRequest:
    if not has_role(actor, Role.REVIEWER):
        raise ChangeError("Opening a change request needs the reviewer role.")
    if not reason.strip():
        raise ChangeError("Say why this change should be made.")
    if suggestion.stale:
        raise ChangeError(
            "This suggestion is stale: the principal's policies or usage changed. Open the new one."
        )
    items = items if items is not None else suggestion.items
    _validate_items(items)
    principal = suggestion.principal
    with transaction.atomic():
        cr = ChangeRequest.objects.create(
            account=principal.account,
            principal=principal,
            principal_arn=principal.arn,
            principal_kind=principal.kind,
            principal_name=principal.name,
            suggestion=suggestion,
            requested_by=actor,
            reason=reason.strip(),
            items=items,
            required_approvals=settings.IAMREVIEW_REQUIRED_APPROVALS,
            expires_at=timezone.now() + timedelta(days=settings.IAMREVIEW_CHANGE_EXPIRY_DAYS),
        )
        audit_record(
            actor=actor,
            action="change.request",
            obj=cr,
            account_id=principal.account.account_id,
            summary=f"Requested tightening of {principal.arn}: {reason.strip()[:200]}",
            after={"items": [{"name": i["name"], "proposed": i["proposed"]} for i in items]},
        )
    return cr


def _expire_if_due(cr: ChangeRequest) -> bool:
    if cr.status in (ChangeStatus.PENDING, ChangeStatus.APPROVED) and cr.expires_at <= timezone.now():
        before = cr.status
        cr.status = ChangeStatus.EXPIRED
        cr.save(update_fields=["status"])
        audit_record(
            actor=None,
            action="change.expire",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Change request #{cr.pk} expired",
            before={"status": before},
            after={"status": cr.status},
        )
        return True
    return False


def expire_due(change: ChangeRequest) -> None:
    """Expiry is recorded in its own transaction, so that it stands even when the action asked for fails."""
    with transaction.atomic():
        _expire_if_due(ChangeRequest.objects.select_for_update().get(pk=change.pk))


def change_request_edit(
    *, actor: AbstractBaseUser, change: ChangeRequest, items: list[dict[str, Any]], reason: str
) -> ChangeRequest:
    expire_due(change)
    with transaction.atomic():
        return _edit(actor, change, items, reason)


def _edit(
    actor: AbstractBaseUser, change: ChangeRequest, items: list[dict[str, Any]], reason: str
) -> ChangeRequest:
    cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    if cr.requested_by_id != actor.pk:
        raise ChangeError("Only the requester may edit the proposed documents.")
    if cr.status not in (ChangeStatus.PENDING, ChangeStatus.APPROVED):
        raise ChangeError(f"A request that is {cr.get_status_display().lower()} cannot be edited.")
    if not reason.strip():
        raise ChangeError("Say why the documents changed.")
    _validate_items(items)
    before = {
        "items": [{"name": i["name"], "proposed": i["proposed"]} for i in cr.items],
        "version": cr.version,
    }
    cr.items = items
    cr.version += 1
    cr.status = ChangeStatus.PENDING  # approvals were for the old documents
    cr.save(update_fields=["items", "version", "status"])
    audit_record(
        actor=actor,
        action="change.edit",
        obj=cr,
        account_id=cr.account.account_id,
        summary=f"Edited the documents of change #{cr.pk} (approvals reset): {reason.strip()[:200]}",
        before=before,
        after={
            "items": [{"name": i["name"], "proposed": i["proposed"]} for i in items],
            "version": cr.version,
        },
    )
    return cr


def change_request_decide(
    *, actor: AbstractBaseUser, change: ChangeRequest, approve: bool, comment: str
) -> ChangeRequest:
    """Sign off or reject. Rows are locked, so two approvers at once are counted once each."""
    expire_due(change)
    with transaction.atomic():
        return _decide(actor, change, approve, comment)


def _decide(actor: AbstractBaseUser, change: ChangeRequest, approve: bool, comment: str) -> ChangeRequest:
    cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    if not has_role(actor, Role.APPROVER):
        raise ChangeError("Approving needs the approver role.")
    if cr.requested_by_id == actor.pk:
        raise ChangeError("A requester never approves their own request.")
    if cr.status != ChangeStatus.PENDING:
        raise ChangeError(f"This request is {cr.get_status_display().lower()}; there is nothing to decide.")
    if Approval.objects.filter(change_request=cr, approver=actor, version=cr.version).exists():
        raise ChangeError("You already decided on this version of the documents.")
    if not approve and not comment.strip():
        raise ChangeError("Say why you reject it.")
    Approval.objects.create(
        change_request=cr, approver=actor, approve=approve, comment=comment.strip(), version=cr.version
    )
    before = cr.status
    if not approve:
        cr.status = ChangeStatus.REJECTED
    elif (
        Approval.objects.filter(change_request=cr, version=cr.version, approve=True).count()
        >= cr.required_approvals
    ):
        cr.status = ChangeStatus.APPROVED
    cr.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="change.approve" if approve else "change.reject",
        obj=cr,
        account_id=cr.account.account_id,
        summary=f"{'Approved' if approve else 'Rejected'} change #{cr.pk}"
        + (f": {comment.strip()[:200]}" if comment.strip() else ""),
        before={"status": before},
        after={"status": cr.status},
    )
    return cr


def change_request_queue_apply(*, actor: AbstractBaseUser, change: ChangeRequest) -> ChangeRequest:
    """Approved -> applying, for exactly one caller; the apply itself runs in a worker."""
    from findings.tasks import apply_change

    if not has_role(actor, Role.APPROVER):
        raise ChangeError("Applying needs the approver role.")
    expire_due(change)
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        claimed = ChangeRequest.objects.filter(pk=cr.pk, status=ChangeStatus.APPROVED).update(
            status=ChangeStatus.APPLYING,
            step="Queued",
            progress=0,
            applied_by=actor,
            heartbeat_at=timezone.now(),
        )
        if claimed != 1:
            raise ChangeError(
                f"Only an approved request can be applied; this one is {cr.get_status_display().lower()}."
            )
        audit_record(
            actor=actor,
            action="change.apply_start",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Started applying change #{cr.pk} to {cr.principal_arn}",
        )
        transaction.on_commit(lambda: apply_change.delay(cr.pk))
    cr.refresh_from_db()
    return cr


def _progress(cr: ChangeRequest, step: str, progress: int, log: str | None = None) -> None:
    if log:
        cr.log = [*cr.log, {"at": timezone.now().isoformat(), "step": log}]
    cr.step, cr.progress = step, progress
    ChangeRequest.objects.filter(pk=cr.pk).update(
        step=step, progress=progress, log=cr.log, heartbeat_at=timezone.now()
    )


def _record_done(cr: ChangeRequest, previous: list[Any], done: list[dict[str, Any]]) -> None:
    """Write down each step as soon as AWS accepted it, so a failed or interrupted apply can be rolled back."""
    cr.previous = [*previous, {"done": list(done)}]
    ChangeRequest.objects.filter(pk=cr.pk).update(previous=cr.previous, heartbeat_at=timezone.now())


def _session(cr: ChangeRequest, session_factory: Any) -> Any:
    from accounts.sync import aws_target

    return (session_factory or AwsSession)(aws_target(cr.account, apply=True))


def change_request_apply(*, change_id: int, session_factory: Any = None) -> ChangeRequest:
    """Re-read the live policies, stop on drift, then write; records the exact previous state first."""
    cr = ChangeRequest.objects.select_related("account").get(pk=change_id)
    if cr.status != ChangeStatus.APPLYING:
        return cr
    if cr.previous:
        # A redelivered task: a worker began writing and died. Never write twice; say how to recover.
        wrote = any(p.get("done") for p in cr.previous)
        return _apply_failed(
            cr,
            "The apply was interrupted (its worker stopped) "
            + (
                "after it began writing to AWS. What it wrote is recorded: roll back to restore the previous "
                "policies, then open a new request."
                if wrote
                else "before it wrote anything to AWS. Nothing changed; approve a new request to try again."
            ),
        )
    # Defence in depth: the request must carry enough approvals by people other than its requester.
    approvers = set(
        Approval.objects.filter(change_request=cr, version=cr.version, approve=True)
        .exclude(approver_id=cr.requested_by_id)
        .values_list("approver_id", flat=True)
    )
    if len(approvers) < cr.required_approvals:
        return _apply_failed(cr, "Refused: the request does not carry the approvals it needs.")
    kind, name = cr.principal_kind, cr.principal_name
    try:
        session = _session(cr, session_factory)
        iam = session.client("iam")
        _progress(cr, "Re-reading the live policies", 10, "re-read live policies")
        previous = []
        for item in cr.items:
            if item["kind"] == "inline":
                live = aws.read_inline(iam, kind, name, item["name"])
                previous.append({"kind": "inline", "name": item["name"], "document": live})
            else:
                version, live = aws.read_managed_default(iam, item["arn"])
                previous.append(
                    {
                        "kind": item["kind"],
                        "name": item["name"],
                        "arn": item["arn"],
                        "version": version,
                        "document": live,
                    }
                )
            if live != item["original"]:
                return _apply_failed(
                    cr,
                    f"Stopped before any change: {item['name']} was edited in AWS since this suggestion "
                    "was made (drift). Sync the account and review the new suggestion.",
                    previous=[],
                )
        done: list[dict[str, Any]] = []
        _record_done(cr, previous, done)
        total = len(cr.items)
        for n, item in enumerate(cr.items, start=1):
            pct = 20 + int(70 * n / total)
            if item["kind"] == "inline":
                if item["proposed"]:
                    aws.put_inline(iam, kind, name, item["name"], item["proposed"][0])
                    for extra_n, extra in enumerate(item["proposed"][1:], start=2):
                        aws.put_inline(iam, kind, name, f"{item['name']}-{extra_n}", extra)
                        done.append({"kind": "inline-extra", "name": f"{item['name']}-{extra_n}"})
                        _record_done(cr, previous, done)
                else:
                    aws.delete_inline(iam, kind, name, item["name"])
                done.append({"kind": "inline", "name": item["name"]})
                _record_done(cr, previous, done)
                _progress(cr, f"Wrote inline policy {item['name']}", pct, f"put inline policy {item['name']}")
            elif item["kind"] == "managed":
                if not item["proposed"]:
                    aws.detach(iam, kind, name, item["arn"])
                    done.append({"kind": "detached", "arn": item["arn"]})
                    _record_done(cr, previous, done)
                    _progress(
                        cr, f"Detached {item['name']} (nothing in it is used)", pct, f"detached {item['arn']}"
                    )
                    continue
                result = aws.create_default_version(iam, item["arn"], item["proposed"][0])
                done.append({"kind": "managed", "arn": item["arn"], **result})
                _record_done(cr, previous, done)
                _progress(
                    cr,
                    f"New default version {result['version']} of {item['name']}",
                    pct,
                    f"created version {result['version']} of {item['arn']}"
                    + (f" (deleted oldest {result['deleted']['version']})" if result["deleted"] else ""),
                )
            else:  # replace an AWS managed or shared policy: create and attach ours first, then detach it
                created = []
                for part, document in enumerate(item["proposed"], start=1):
                    suffix = "" if part == 1 else f"-{part}"
                    arn = aws.create_policy(
                        iam,
                        f"{item['replacement_name']}{suffix}"[:128],
                        document,
                        f"Tightened from {item['name']} by iamreview change #{cr.pk}",
                    )
                    created.append(arn)
                    step = {"kind": "replace", "arn": item["arn"], "created": created, "detached": False}
                    _record_done(cr, previous, [*done, step])
                    aws.attach(iam, kind, name, arn)
                aws.detach(iam, kind, name, item["arn"])
                done.append({"kind": "replace", "arn": item["arn"], "created": created, "detached": True})
                _record_done(cr, previous, done)
                _progress(
                    cr,
                    f"Replaced {item['name']}",
                    pct,
                    f"attached {', '.join(created)} then detached {item['arn']}",
                )
        ChangeRequest.objects.filter(pk=cr.pk).update(
            status=ChangeStatus.APPLIED,
            applied_at=timezone.now(),
            step="Applied",
            progress=100,
            previous=[*previous, {"done": done}],
        )
        cr.refresh_from_db()
        audit_record(
            actor=cr.applied_by,
            action="change.apply",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Applied change #{cr.pk} to {cr.principal_arn}",
            before={"previous": previous},
            after={"items": [{"name": i["name"], "proposed": i["proposed"]} for i in cr.items], "done": done},
        )
        return cr
    except AwsAccessError as exc:
        return _apply_failed(cr, str(exc))


def _apply_failed(cr: ChangeRequest, message: str, previous: list[Any] | None = None) -> ChangeRequest:
    ChangeRequest.objects.filter(pk=cr.pk).update(status=ChangeStatus.FAILED, error=message, step="Failed")
    cr.refresh_from_db()
    audit_record(
        actor=cr.applied_by,
        action="change.apply_fail",
        obj=cr,
        account_id=cr.account.account_id,
        summary=f"Applying change #{cr.pk} failed: {message[:300]}",
    )
    return cr


def change_request_rollback(
    *, actor: AbstractBaseUser, change: ChangeRequest, session_factory: Any = None
) -> ChangeRequest:
    """Restore the exact previous documents and attachments of an applied (or partly applied) change."""
    if not has_role(actor, Role.APPROVER):
        raise ChangeError("Rolling back needs the approver role.")
    claimed = (
        ChangeRequest.objects.filter(pk=change.pk, status__in=[ChangeStatus.APPLIED, ChangeStatus.FAILED])
        .exclude(previous=[])
        .update(status=ChangeStatus.ROLLING_BACK)
    )
    if claimed != 1:
        raise ChangeError("Only an applied change (or one that failed part-way) can be rolled back.")
    cr = ChangeRequest.objects.select_related("account").get(pk=change.pk)
    kind, name = cr.principal_kind, cr.principal_name
    previous = [p for p in cr.previous if "done" not in p]
    done = next((p["done"] for p in cr.previous if "done" in p), [])
    try:
        iam = _session(cr, session_factory).client("iam")
        for step in reversed(done):
            if step["kind"] == "detached":
                aws.attach(iam, kind, name, step["arn"])
            elif step["kind"] == "inline-extra":
                aws.delete_inline(iam, kind, name, step["name"])
            elif step["kind"] == "managed":
                before = next(p for p in previous if p.get("arn") == step["arn"])
                aws.set_default_version(iam, step["arn"], before["version"])
                aws.delete_version(iam, step["arn"], step["version"])
            elif step["kind"] == "replace":
                if step.get("detached", True):
                    aws.attach(iam, kind, name, step["arn"])
                for arn in step["created"]:
                    if arn in aws.attached(iam, kind, name):
                        aws.detach(iam, kind, name, arn)
                    aws.delete_policy(iam, arn)
        for p in previous:
            if p["kind"] == "inline":
                if p["document"] is None:
                    aws.delete_inline(iam, kind, name, p["name"])
                else:
                    aws.put_inline(iam, kind, name, p["name"], p["document"])
    except AwsAccessError as exc:
        ChangeRequest.objects.filter(pk=cr.pk).update(
            status=ChangeStatus.FAILED, error=f"Rollback failed: {exc}"
        )
        audit_record(
            actor=actor,
            action="change.rollback_fail",
            obj=cr,
            account_id=cr.account.account_id,
            summary=str(exc)[:500],
        )
        cr.refresh_from_db()
        return cr
    ChangeRequest.objects.filter(pk=cr.pk).update(
        status=ChangeStatus.ROLLED_BACK, rolled_back_at=timezone.now(), step="Rolled back"
    )
    cr.refresh_from_db()
    audit_record(
        actor=actor,
        action="change.rollback",
        obj=cr,
        account_id=cr.account.account_id,
        summary=f"Rolled back change #{cr.pk} on {cr.principal_arn}",
        after={"restored": previous},
    )
    return cr


def change_requests_reap_stale(*, now: Any = None) -> int:
    """Fail applies whose worker died (no heartbeat for IAMREVIEW_STALE_SECONDS); what they wrote stays recorded."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.IAMREVIEW_STALE_SECONDS)
    count = 0
    for cr in ChangeRequest.objects.filter(
        status=ChangeStatus.APPLYING, heartbeat_at__lt=now - stale_after
    ).select_related("account"):
        wrote = any(p.get("done") for p in cr.previous)
        _apply_failed(
            cr,
            "The apply stopped (its worker was lost) "
            + (
                "after writing to AWS. Roll back to restore the previous policies, then open a new request."
                if wrote
                else "before writing anything to AWS. Nothing changed; approve a new request to try again."
            ),
        )
        count += 1
    return count


def change_requests_expire() -> int:
    count = 0
    for cr in ChangeRequest.objects.filter(
        status__in=[ChangeStatus.PENDING, ChangeStatus.APPROVED], expires_at__lte=timezone.now()
    ):
        count += int(_expire_if_due(cr))
    return count


def access_denied_since_apply(*, change: ChangeRequest, session_factory: Any = None) -> list[dict[str, Any]]:
    if change.status != ChangeStatus.APPLIED or change.applied_at is None:
        return []
    if change.applied_at < timezone.now() - timedelta(days=settings.IAMREVIEW_WATCH_DAYS):
        return []
    try:
        session = _session(change, session_factory)
        return aws.access_denied_events(session.client("cloudtrail"), change.principal_arn, change.applied_at)
    except AwsAccessError:
        return []
