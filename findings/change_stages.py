"""Staged tightening: a plan of stages instead of one step from broad to minimal.

A suggestion carries, per policy, the documents of each stage: unused services dropped ("services"), then
unused actions ("actions"), then resources narrowed to what CloudTrail shows used ("resources", the
suggestion's own proposal). `change_plan_open` opens the first stage as an ordinary change request (same
approvals, apply, rollback and AccessDenied watch) and keeps the later stages in its `plan`; every stage's
documents are checked like any change's before anything is opened. Once a stage is applied its watch
runs; `stage_promote` opens the next stage as a request of its own, carrying the approvals of the plan,
and queues its apply: by an approver once the watch has read CloudTrail and seen no AccessDenied, or by
the worker (`stages_promote_due`, from beat) once the watch stayed clean for IAMREVIEW_STAGE_WATCH_HOURS.
Each stage is rolled back alone (the latest first: an earlier stage waits until the later ones are
undone); a rolled-back or failed stage ends the plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role, has_role
from core import jobs
from core.audit import audit_record
from core.jobs import job_claim
from findings.change_items import ItemKind, items_digest
from findings.change_requests import ChangeError, change_request_open, items_validate
from findings.models import Approval, ChangeRequest, ChangeStatus, Suggestion
from policy.model import PolicyError, parse_policy

STAGES = (
    ("services", "Drop unused services"),
    ("actions", "Drop unused actions"),
    ("resources", "Narrow resources to those used"),
)
LABELS = dict(STAGES)
# The next stage is applied by the same worker task as any change (`findings.change_requests.APPLY_TASK`).
APPLY_TASK = "findings.tasks.change_request_apply"


def _same(a: list[Any], b: list[Any]) -> bool:
    """The same documents, as IAM reads them (spelling and layout aside)."""
    if len(a) != len(b):
        return False
    try:
        return all(
            (x.version, x.statements) == (y.version, y.statements)
            for x, y in zip((parse_policy(d, "a") for d in a), (parse_policy(d, "b") for d in b), strict=True)
        )
    except PolicyError:
        return a == b


def _docs_by_stage(item: dict[str, Any]) -> dict[str, list[Any]]:
    """The item's documents at each stage; an item that cannot be staged changes in one step, at the
    stage where it first changes (a split document, or a policy detached in the end)."""
    stages = item.get("stages") or {}
    final = item["proposed"]
    docs = {
        "services": stages.get("services", final),
        "actions": stages.get("actions", final),
        "resources": final,
    }
    parts = [d for d in docs.values() if len(d) > 1]
    if parts or not final or item["kind"] == ItemKind.DETACH:
        first = next((k for k, _ in STAGES if not _same(docs[k], [item["original"]])), "resources")
        return {
            k: (final if STAGES_INDEX[k] >= STAGES_INDEX[first] else [item["original"]]) for k, _ in STAGES
        }
    return docs


STAGES_INDEX = {k: i for i, (k, _) in enumerate(STAGES)}


def plan_stages(suggestion: Suggestion, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stages that change something, each with the change items that take the principal from the
    stage before it to this one. A policy replaced for this principal alone is replaced at its first
    stage; later stages write new versions of the replacement."""
    account_id = suggestion.principal.account.account_id
    progress: dict[int, tuple[dict[str, Any], list[Any]] | None] = {n: None for n in range(len(items))}
    plan = []
    for key, label in STAGES:
        stage_items = []
        for n, item in enumerate(items):
            docs = _docs_by_stage(item)[key]
            held = progress[n]
            before = [item["original"]] if held is None else held[1]
            if _same(docs, before):
                continue
            if held is None:
                step = {**item, "proposed": docs}
                if not docs and item["kind"] in (ItemKind.MANAGED, ItemKind.REPLACE):
                    step["kind"] = ItemKind.DETACH
                written = dict(step)
                if item["kind"] == ItemKind.REPLACE:
                    arn = f"arn:aws:iam::{account_id}:policy/{item['replacement_name']}"
                    written = {**step, "kind": ItemKind.MANAGED, "arn": arn, "aws_managed": False}
            else:
                written = held[0]
                step = {**written, "original": before[0], "proposed": docs, "replacement_name": ""}
            step = {**step, "stage": key}
            stage_items.append(step)
            progress[n] = (written, docs)
        if stage_items:
            plan.append({"stage": key, "label": label, "items": stage_items})
    return plan


def change_plan_open(
    *, actor: AbstractBaseUser, suggestion: Suggestion, reason: str, items: list[dict[str, Any]] | None = None
) -> ChangeRequest:
    """The first stage of a staged change, as a change request that holds the later ones in its plan.
    With fewer than two stages that change anything, an ordinary change request."""
    items = items if items is not None else suggestion.items
    plan = plan_stages(suggestion, items)
    if len(plan) < 2:
        return change_request_open(actor=actor, suggestion=suggestion, reason=reason, items=items)
    for stage in plan:
        try:
            items_validate(stage["items"])
        except ChangeError as exc:
            raise ChangeError(f"Stage {stage['label'].lower()}: {exc}") from exc
    first, *rest = plan
    with transaction.atomic():
        cr = change_request_open(
            actor=actor, suggestion=suggestion, reason=reason, items=first["items"], staged=True
        )
        cr.stage, cr.stage_count, cr.stage_name, cr.plan = 1, len(plan), first["stage"], rest
        cr.save(update_fields=["stage", "stage_count", "stage_name", "plan"])
        audit_record(
            actor=actor,
            action="change.plan",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Change #{cr.pk} is stage 1 of {len(plan)}: " + "; ".join(s["label"] for s in plan),
            after={"stages": [{"stage": s["stage"], "digest": items_digest(s["items"])} for s in plan]},
        )
    return cr


def watch_clean_since(cr: ChangeRequest) -> str:
    """Why the stage's watch does not allow promotion yet, or ""."""
    if cr.watch_error:
        return f"the AccessDenied watch could not read CloudTrail ({cr.watch_error})"
    if cr.watch_events:
        return (
            f"the AccessDenied watch saw {len(cr.watch_events)} refused call(s): roll this stage back or "
            "add back what was denied"
        )
    if cr.watch_checked_at is None or cr.applied_at is None or cr.watch_checked_at < cr.applied_at:
        return "the AccessDenied watch has not read CloudTrail since the apply"
    return ""


def stage_promote(
    *, actor: AbstractBaseUser | None, change: ChangeRequest, now: datetime | None = None
) -> ChangeRequest:
    """Open the next stage of the plan, approved as the plan was, and queue its apply. An approver may
    promote once the watch has looked and seen nothing; the worker (actor None) only once the watch stayed
    clean for IAMREVIEW_STAGE_WATCH_HOURS."""
    if actor is not None and not has_role(actor, Role.APPROVER):
        raise ChangeError("Promoting a stage needs the approver role.")
    now = now or timezone.now()
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().select_related("account").get(pk=change.pk)
        if not cr.plan or cr.promoted_at is not None:
            raise ChangeError("This request has no stage left to promote.")
        if cr.status != ChangeStatus.APPLIED:
            raise ChangeError(
                f"Only an applied stage is promoted; this one is {cr.get_status_display().lower()}."
            )
        refusal = watch_clean_since(cr)
        hours = settings.IAMREVIEW_STAGE_WATCH_HOURS
        if not refusal and actor is None and cr.applied_at is not None:
            due = cr.applied_at + timedelta(hours=hours)
            if now < due or cr.watch_checked_at is None or cr.watch_checked_at < due:
                refusal = f"the watch has not yet stayed clean for {hours} hours"
        if refusal:
            raise ChangeError(f"Not promoted: {refusal}.")
        nxt, *rest = cr.plan
        child = ChangeRequest.objects.create(
            account=cr.account,
            principal=cr.principal,
            principal_arn=cr.principal_arn,
            principal_kind=cr.principal_kind,
            principal_name=cr.principal_name,
            suggestion=cr.suggestion,
            requested_by=cr.requested_by,
            reason=cr.reason,
            items=nxt["items"],
            required_approvals=cr.required_approvals,
            expires_at=now + timedelta(days=settings.IAMREVIEW_CHANGE_EXPIRY_DAYS),
            status=ChangeStatus.APPROVED,
            stage=cr.stage + 1,
            stage_count=cr.stage_count,
            stage_name=nxt["stage"],
            plan=rest,
            parent=cr,
        )
        digest = items_digest(child.items)
        approvers = {
            a.approver_id: a
            for a in Approval.objects.filter(change_request=cr, version=cr.version, approve=True)
        }
        for approver_id in approvers:
            Approval.objects.create(
                change_request=child,
                approver_id=approver_id,
                approve=True,
                comment=f"Approved with the plan of change #{cr.pk} (stage {child.stage} of {child.stage_count})",
                version=child.version,
                digest=digest,
            )
        cr.promoted_at = now
        cr.save(update_fields=["promoted_at"])
        by = "approver" if actor is not None else f"watch clean for {hours} h"
        audit_record(
            actor=actor,
            action="change.stage_promote",
            obj=child,
            account_id=cr.account.account_id,
            summary=f"Promoted change #{cr.pk} to stage {child.stage} of {child.stage_count} "
            f"({LABELS[child.stage_name].lower()}) as change #{child.pk} ({by})",
            after={"items_digest": digest, "parent": cr.pk},
        )
        if not job_claim(
            ChangeRequest.objects,
            pk=child.pk,
            status=ChangeStatus.APPROVED,
            to=ChangeStatus.APPLYING,
            step="Queued",
            progress=0,
            applied_by=actor if actor is not None else cr.applied_by,
        ):
            raise ChangeError("The next stage could not be queued.")
        jobs.enqueue(APPLY_TASK, child.pk)
    child.refresh_from_db()
    return child


def stages_promote_due(*, now: datetime | None = None) -> int:
    """Beat: promote every applied stage whose watch stayed clean for IAMREVIEW_STAGE_WATCH_HOURS."""
    now = now or timezone.now()
    due = now - timedelta(hours=settings.IAMREVIEW_STAGE_WATCH_HOURS)
    count = 0
    for cr in ChangeRequest.objects.filter(
        status=ChangeStatus.APPLIED, promoted_at__isnull=True, applied_at__lte=due
    ).exclude(plan=[]):
        try:
            stage_promote(actor=None, change=cr, now=now)
        except ChangeError:
            continue
        count += 1
    return count
