"""The change-request state machine: open, edit, decide, queue an apply or a rollback, expire, reap.

pending -> approved (enough approvals of this version, none by the requester) -> applying -> applied
       -> rolling_back -> rolled_back. An edit is a new version and resets approvals; an approval names the
version and the digest of the documents the approver saw, and is refused if they are no longer current.
Every transition is audited; nothing reaches AWS except through `findings.change_apply`, in a worker.
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
from core.jobs import job_claim, stale_rows
from findings.change_items import HANDLERS, ItemKind, items_digest
from findings.identity_center import PERMISSION_SET_KINDS, set_name_of
from findings.models import Approval, ChangeRequest, ChangeStatus, Suggestion
from findings.protection import protected_reason
from findings.signals import AWAITING_APPROVAL, FAILED, change_event, emit
from policy.catalog import default_catalog
from policy.evaluate import PrincipalContext, PrincipalPermissions
from policy.model import PolicyError, minified_length, parse_policy
from policy.tighten import grants_nothing_new

APPLY_TASK = "findings.tasks.change_request_apply"
ROLLBACK_TASK = "findings.tasks.change_request_rollback"

# Where a rollback may start: after an apply, after an apply that failed part-way (its steps are recorded),
# and again after a rollback that failed or was interrupted.
ROLLBACK_FROM = [ChangeStatus.APPLIED, ChangeStatus.FAILED, ChangeStatus.ROLLBACK_FAILED]


class ChangeError(Exception):
    """A change request action refused, with the reason in words."""


def _holds_nul(value: Any) -> bool:
    """PostgreSQL's jsonb cannot store a NUL character anywhere in a document."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def allowance_document(add_back: list[dict[str, str]]) -> dict[str, Any]:
    """What an add-back follow-up may grant beyond the current documents, as a policy."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": a["action"], "Resource": a["resource"] or "*"} for a in add_back
        ],
    }


def items_validate(
    items: list[dict[str, Any]],
    *,
    reference: list[dict[str, Any]] | None = None,
    add_back: list[dict[str, str]] | None = None,
) -> None:
    """Refuse items that are malformed, that do not match what they replace, or that grant anything the
    current documents do not (the engine's check; run on every version, not only the first). An add-back
    follow-up may also grant exactly what it adds back, nothing else."""
    catalog = default_catalog()
    if reference is not None and [(i.get("kind"), i.get("name"), i.get("arn", "")) for i in items] != [
        (r["kind"], r["name"], r.get("arn", "")) for r in reference
    ]:
        raise ChangeError("An edit may change the proposed documents only, not which policies are changed.")
    for n, item in enumerate(items):
        if reference is not None and item.get("original") != reference[n].get("original"):
            raise ChangeError(f"The current document of {item['name']} cannot be edited.")
        if item.get("kind") not in HANDLERS:
            raise ChangeError(f"{item.get('name')!r}: unknown kind of change {item.get('kind')!r}.")
        documents = item["proposed"]
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            raise ChangeError(
                f"The proposed document for {item['name']} must be a JSON policy object (or a list of them)."
            )
        if item["kind"] in (ItemKind.REPLACE, ItemKind.MANAGED, ItemKind.PS_REPLACE) and not documents:
            raise ChangeError(f"{item['name']}: an empty proposal detaches the policy; that is its own kind.")
        if _holds_nul(documents):
            raise ChangeError(f"The proposed document for {item['name']} holds a NUL character (\\u0000).")
        originals = [parse_policy(item["original"], item["name"])]
        if add_back:
            originals.append(parse_policy(allowance_document(add_back), "add-back"))
        try:
            proposed = [parse_policy(d, item["name"]) for d in documents]
        except PolicyError as exc:
            raise ChangeError(
                f"The proposed document for {item['name']} is not valid: {exc.problem}"
            ) from exc
        problems = grants_nothing_new(originals, proposed, catalog)
        if problems:
            raise ChangeError(
                f"The proposed document for {item['name']} grants more than the current one: {problems[0]}"
            )


def items_recount(cr: ChangeRequest, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item's removed and kept actions and size, computed again from its (edited) documents."""
    catalog = default_catalog()
    ctx = PrincipalContext(cr.principal_arn, cr.principal_name, cr.principal_kind, cr.account.account_id)

    def allowed(documents: list[Any], name: str) -> frozenset[str]:
        docs = [parse_policy(d, name) for d in documents]
        return PrincipalPermissions.build(ctx, docs, catalog).allowed_actions()

    out = []
    for item in items:
        before, after = allowed([item["original"]], item["name"]), allowed(item["proposed"], item["name"])
        out.append(
            {
                **item,
                "removed_actions": sorted(catalog.name(a) for a in before - after),
                "kept_actions": len(after),
                "size": sum(minified_length(d) for d in item["proposed"]),
            }
        )
    return out


def _summary(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"kind": i["kind"], "name": i["name"], "proposed": i["proposed"]} for i in items]


def change_request_open(
    *,
    actor: AbstractBaseUser,
    suggestion: Suggestion,
    reason: str,
    items: list[dict[str, Any]] | None = None,
    staged: bool = False,
) -> ChangeRequest:
    """`staged`: the items are the first stage of a plan `findings.change_stages` derived from the
    suggestion (they change the same policies, to intermediate documents)."""
    if not has_role(actor, Role.REVIEWER):
        raise ChangeError("Opening a change request needs the reviewer role.")
    if not reason.strip():
        raise ChangeError("Say why this change should be made.")
    if suggestion.stale:
        raise ChangeError(
            "This suggestion is stale: the principal's policies or usage changed. Open the new one."
        )
    blocked = suggestion.blocked_reason or protected_reason(suggestion.principal)
    if blocked:
        raise ChangeError(f"This suggestion cannot be applied: {blocked}")
    items = items if items is not None else suggestion.items
    items_validate(items, reference=None if staged else suggestion.items)
    principal = suggestion.principal
    if set_name_of(principal) and not all(i.get("kind") in PERMISSION_SET_KINDS for i in items):
        raise ChangeError("An IAM Identity Center role is changed only through its permission set.")
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
            after={"items": _summary(items), "digest": items_digest(items)},
        )
        emit(change_event, change=cr, event=AWAITING_APPROVAL, detail={"version": cr.version})
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
    """A new version of the proposed documents, checked like the first; approvals start over."""
    expire_due(change)
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        if cr.requested_by_id != actor.pk:
            raise ChangeError("Only the requester may edit the proposed documents.")
        if cr.status not in (ChangeStatus.PENDING, ChangeStatus.APPROVED):
            raise ChangeError(f"A request that is {cr.get_status_display().lower()} cannot be edited.")
        if not reason.strip():
            raise ChangeError("Say why the documents changed.")
        items_validate(items, reference=cr.items, add_back=cr.add_back)
        items = items_recount(cr, items)
        before = {"items": _summary(cr.items), "version": cr.version, "digest": items_digest(cr.items)}
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
            after={"items": _summary(items), "version": cr.version, "digest": items_digest(items)},
        )
        emit(change_event, change=cr, event=AWAITING_APPROVAL, detail={"version": cr.version})
        return cr


def change_request_decide(
    *,
    actor: AbstractBaseUser,
    change: ChangeRequest,
    approve: bool,
    comment: str,
    version: int | None,
    digest: str,
) -> ChangeRequest:
    """Sign off or reject the version the approver saw (`version` and the `digest` of its documents).
    Rows are locked, so two approvers at once are counted once each."""
    expire_due(change)
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        refusal = _refusal(cr, actor, approve, comment, version, digest)
        if refusal:
            audit_record(
                actor=actor,
                action="change.decide_refused",
                obj=cr,
                account_id=cr.account.account_id,
                summary=f"Refused a decision on change #{cr.pk}: {refusal}",
            )
        else:
            return _decide(cr, actor, approve, comment)
    raise ChangeError(refusal)


def _refusal(
    cr: ChangeRequest, actor: AbstractBaseUser, approve: bool, comment: str, version: int | None, digest: str
) -> str:
    if not has_role(actor, Role.APPROVER):
        return "Approving needs the approver role."
    if cr.requested_by_id == actor.pk:
        return "A requester never approves their own request."
    if cr.status != ChangeStatus.PENDING:
        return f"This request is {cr.get_status_display().lower()}; there is nothing to decide."
    if version != cr.version or digest != items_digest(cr.items):
        return (
            f"The documents changed since you opened this page (you saw version {version}, the request is "
            f"now at version {cr.version}). Review the current version and decide again."
        )
    if Approval.objects.filter(change_request=cr, approver=actor, version=cr.version).exists():
        return "You already decided on this version of the documents."
    if not approve and not comment.strip():
        return "Say why you reject it."
    return ""


def _decide(cr: ChangeRequest, actor: AbstractBaseUser, approve: bool, comment: str) -> ChangeRequest:
    digest = items_digest(cr.items)
    Approval.objects.create(
        change_request=cr,
        approver=actor,
        approve=approve,
        comment=comment.strip(),
        version=cr.version,
        digest=digest,
    )
    before = cr.status
    if not approve:
        cr.status = ChangeStatus.REJECTED
    elif approvals_count(cr) >= cr.required_approvals:
        cr.status = ChangeStatus.APPROVED
    cr.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="change.approve" if approve else "change.reject",
        obj=cr,
        account_id=cr.account.account_id,
        summary=f"{'Approved' if approve else 'Rejected'} version {cr.version} of change #{cr.pk}"
        + (f": {comment.strip()[:200]}" if comment.strip() else ""),
        before={"status": before},
        after={"status": cr.status, "version": cr.version, "digest": digest},
    )
    return cr


def approvals_count(cr: ChangeRequest) -> int:
    """Approvals of the current version and documents, by people other than the requester."""
    return (
        Approval.objects.filter(
            change_request=cr, version=cr.version, digest=items_digest(cr.items), approve=True
        )
        .exclude(approver_id=cr.requested_by_id)
        .values("approver_id")
        .distinct()
        .count()
    )


def change_request_queue_apply(*, actor: AbstractBaseUser, change: ChangeRequest) -> ChangeRequest:
    """Approved -> applying, for exactly one caller; the apply itself runs in a worker."""
    if not has_role(actor, Role.APPROVER):
        raise ChangeError("Applying needs the approver role.")
    expire_due(change)
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        if not job_claim(
            ChangeRequest.objects,
            pk=cr.pk,
            status=ChangeStatus.APPROVED,
            to=ChangeStatus.APPLYING,
            step="Queued",
            progress=0,
            applied_by=actor,
        ):
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
        jobs.enqueue(APPLY_TASK, cr.pk)
    cr.refresh_from_db()
    return cr


def change_request_queue_rollback(
    *, actor: AbstractBaseUser | None, change: ChangeRequest, reason: str
) -> ChangeRequest:
    """Applied (or failed part-way, or a rollback that failed) -> rolling back, for exactly one caller;
    the rollback runs in a worker with its progress on the page, and can be retried."""
    if actor is not None and not has_role(actor, Role.APPROVER):
        raise ChangeError("Rolling back needs the approver role.")
    if not reason.strip():
        raise ChangeError("Say why the change is rolled back.")
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        later = [c for c in ChangeRequest.objects.filter(parent=cr) if _writes_in_place(c)]
        if later:
            raise ChangeError(
                f"Stage {later[0].stage} of this plan (change #{later[0].pk}) is still in place: roll it back "
                "first, so each stage is undone from the documents it wrote over."
            )
        if all(step.get("undone") for step in cr.steps) or not job_claim(
            ChangeRequest.objects,
            pk=cr.pk,
            status=ROLLBACK_FROM,
            to=ChangeStatus.ROLLING_BACK,
            step="Rollback queued",
            progress=0,
            error="",
        ):
            raise ChangeError(
                "Only a change with writes to AWS still in place (applied, or failed part-way) can be rolled "
                f"back; this one is {cr.get_status_display().lower()}"
                + (" and every write it made is already undone." if cr.steps else ".")
            )
        audit_record(
            actor=actor,
            action="change.rollback_start",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Started rolling back change #{cr.pk} ({len(cr.steps)} steps): {reason.strip()[:200]}",
            after={"steps": cr.steps},
        )
        jobs.enqueue(ROLLBACK_TASK, cr.pk)
    cr.refresh_from_db()
    return cr


def _writes_in_place(cr: ChangeRequest) -> bool:
    if cr.status in (ChangeStatus.APPLYING, ChangeStatus.ROLLING_BACK):
        return True
    return cr.status in ROLLBACK_FROM and not all(step.get("undone") for step in cr.steps)


def change_requests_expire() -> int:
    count = 0
    for cr in ChangeRequest.objects.filter(
        status__in=[ChangeStatus.PENDING, ChangeStatus.APPROVED], expires_at__lte=timezone.now()
    ):
        with transaction.atomic():
            count += int(_expire_if_due(ChangeRequest.objects.select_for_update().get(pk=cr.pk)))
    return count


def change_requests_reap_stale(*, now: datetime | None = None) -> int:
    """Applies and rollbacks whose worker died. An apply that wrote nothing fails ("nothing changed"); one
    that wrote something is rolled back by a new rollback job, so no change stays half-applied; a rollback
    that stopped fails and can be retried."""
    count = 0
    for cr in stale_rows(ChangeRequest.objects, status=ChangeStatus.APPLYING, now=now):
        wrote = bool(cr.steps)
        message = (
            f"{jobs.INTERRUPTED} The apply stopped after writing to AWS: what it wrote is being rolled back."
            if wrote
            else f"{jobs.INTERRUPTED} Nothing was written to AWS; approve a new request to try again."
        )
        if _reap(
            cr,
            status=ChangeStatus.APPLYING,
            to=ChangeStatus.FAILED,
            message=message,
            action="change.apply_fail",
            roll_back=wrote,
        ):
            count += 1
    for cr in stale_rows(ChangeRequest.objects, status=ChangeStatus.ROLLING_BACK, now=now):
        message = f"{jobs.INTERRUPTED} The rollback stopped part-way; roll back again to finish it."
        count += _reap(
            cr,
            status=ChangeStatus.ROLLING_BACK,
            to=ChangeStatus.ROLLBACK_FAILED,
            message=message,
            action="change.rollback_fail",
        )
    return count


def _reap(
    cr: ChangeRequest, *, status: str, to: str, message: str, action: str, roll_back: bool = False
) -> bool:
    """Fail a row the reaper found stale, unless it moved on meanwhile (a conditional update); audited.
    `roll_back`: the interrupted apply wrote to AWS, and its rollback is queued in the same transaction (a
    reaper stopped in between left a failed change with its writes in place and nothing to undo them);
    when a rollback cannot be queued, the change says why and what to do."""
    with transaction.atomic():  # failed and audited together, as every end of a job is
        if not ChangeRequest.objects.filter(pk=cr.pk, status=status).update(
            status=to, step="Failed", error=message
        ):
            return False
        if roll_back:
            try:
                with transaction.atomic():
                    change_request_queue_rollback(actor=None, change=cr, reason="the apply was interrupted")
            except ChangeError as exc:
                message = (
                    f"{jobs.INTERRUPTED} The apply stopped after writing to AWS, and its writes could not be "
                    f"rolled back on their own: {exc} Then roll this change back."
                )
                ChangeRequest.objects.filter(pk=cr.pk).update(error=message)
        audit_record(
            actor=None,
            action=action,
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Change #{cr.pk}: {message}",
        )
    cr.status, cr.error = to, message
    what = "rollback" if action == "change.rollback_fail" else "apply"
    emit(change_event, change=cr, event=FAILED, detail={"what": what, "error": message})
    return True
