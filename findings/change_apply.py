"""Applying an approved change to AWS, and rolling it back: both run in a worker, as job rows.

An apply re-reads every live policy first and stops, writing nothing, if one changed since the suggestion
(drift). Then it writes item by item, recording each write as a step the moment AWS accepts it. It either
completes every item or undoes what it wrote: a change is never left half-applied. A rollback undoes the
recorded steps newest first; each undone step is recorded too, so a rollback that fails or is interrupted
is retried from where it stopped.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.aws import apply as aws
from accounts.aws.client import AwsAccessError, AwsSession
from accounts.services import aws_target
from core.audit import audit_record
from core.jobs import job_progress
from findings.change_items import Target, Writer, handler_for, items_digest, undo_step
from findings.change_requests import allowance_document, approvals_count
from findings.evidence_check import check_used_access
from findings.identity_center import identity_center_client, is_permission_set_change
from findings.models import ChangeRequest, ChangeStatus, Suggestion
from findings.review_window import review_window
from findings.signals import DONE, FAILED, change_event, emit

logger = logging.getLogger(__name__)


def _iam(cr: ChangeRequest, session_factory: Any) -> Any:
    """The client a change writes with: IAM with the account's apply role, or sso-admin with the apply role
    of the account hosting Identity Center for a change to a permission set."""
    if is_permission_set_change(cr.items):
        return identity_center_client(cr.items, session_factory)
    return (session_factory or AwsSession)(aws_target(cr.account, apply=True)).client("iam")


def _log(cr: ChangeRequest, step: str, progress: int, line: str) -> None:
    cr.log = [*cr.log, {"at": timezone.now().isoformat(), "step": line}]
    job_progress(cr, step, progress, log=cr.log)


def _fail(cr: ChangeRequest, message: str, *, action: str = "change.apply_fail") -> ChangeRequest:
    status = ChangeStatus.ROLLBACK_FAILED if action == "change.rollback_fail" else ChangeStatus.FAILED
    with transaction.atomic():  # the status and its audit entry together, as for every end of a job
        ChangeRequest.objects.filter(pk=cr.pk).update(status=status, error=message, step="Failed")
        cr.refresh_from_db()
        audit_record(
            actor=cr.applied_by if action == "change.apply_fail" else None,
            action=action,
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Change #{cr.pk}: {message[:400]}",
        )
    what = "rollback" if action == "change.rollback_fail" else "apply"
    emit(change_event, change=cr, event=FAILED, detail={"what": what, "error": message})
    return cr


def _statements(document: Any) -> list[Any]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return list(statements) if isinstance(statements, list) else [statements]


def _new_access_by_access_analyzer(cr: ChangeRequest, session_factory: Any) -> list[str]:
    """CheckNoNewAccess on exactly the version being applied, with the read role, where the account has
    Access Analyzer: a second check beside the engine's (which ran on this version when it was saved).
    Where it is not available the engine's check stands, and the log says so."""
    try:
        analyzer = (session_factory or AwsSession)(aws_target(cr.account)).client("accessanalyzer")
    except AwsAccessError as exc:
        _log(
            cr,
            "Checking with Access Analyzer",
            15,
            f"Access Analyzer not available ({exc}): engine check only",
        )
        return []
    refusals, unavailable = [], 0
    for item in cr.items:
        for document in item["proposed"]:
            existing = item["original"]
            if cr.add_back:  # a follow-up may grant exactly what it adds back
                existing = {
                    "Version": "2012-10-17",
                    "Statement": _statements(item["original"]) + allowance_document(cr.add_back)["Statement"],
                }
            answer = aws.check_no_new_access(analyzer, document, existing)
            if not answer.get("available"):
                unavailable += 1
            elif answer.get("result") != "PASS":
                refusals.append(
                    f"{item['name']}: {answer.get('message') or ', '.join(answer.get('reasons', []))}"
                )
    line = "CheckNoNewAccess: " + (
        f"{len(refusals)} refused"
        if refusals
        else "unavailable"
        if unavailable
        else "PASS for every document"
    )
    _log(cr, "Checking with Access Analyzer", 15, line)
    return refusals


def window_of(cr: ChangeRequest) -> int:
    return review_window(cr.principal).unused_days if cr.principal else cr.account.unused_days


def _used_access_kept(cr: ChangeRequest, session_factory: Any) -> list[str]:
    """Every use in the evidence still allowed? The engine's answer, and IAM's simulator's where the read
    role may call it; the log says what was checked. Returns what the change would deny."""
    try:
        iam = (session_factory or AwsSession)(aws_target(cr.account)).client("iam")
    except AwsAccessError:
        iam = None
    result = check_used_access(cr, iam)
    line = (
        f"Evidence check: {result.checked} recorded use(s), {len(result.denied)} denied after the change; "
        f"IAM simulator: {result.simulator}"
        + (
            f"; {len(result.older)} older use(s) removed: {', '.join(result.older)[:300]}"
            if result.older
            else ""
        )
    )
    _log(cr, "Checking the evidence of use", 17, line)
    return result.denied


def change_request_apply(*, change_id: int, session_factory: Any = None) -> ChangeRequest:
    """Write an approved change (status `applying`, claimed by the request that queued it)."""
    cr = ChangeRequest.objects.select_related("account").get(pk=change_id)
    if cr.status != ChangeStatus.APPLYING:
        return cr
    if cr.steps:
        # A redelivered task: a worker began writing and died. Never write twice: undo what it wrote.
        _fail(cr, "The apply was interrupted after it began writing to AWS; what it wrote is rolled back.")
        return change_request_rollback(change_id=cr.pk, session_factory=session_factory, claim=False)
    if cr.previous:
        return _fail(cr, "The apply was interrupted before it wrote anything. Nothing changed; apply again.")
    # Defence in depth: the request must carry enough approvals of exactly these documents.
    if approvals_count(cr) < cr.required_approvals:
        return _fail(cr, "Refused: the request does not carry the approvals its current documents need.")
    target = Target(cr.principal_kind, cr.principal_name)
    try:
        iam = _iam(cr, session_factory)
        _log(cr, "Re-reading the live policies", 10, "re-read live policies")
        live = [handler_for(item).read_live(iam, target, item) for item in cr.items]
        for item, now in zip(cr.items, live, strict=True):
            if now["document"] != item["original"]:
                return _fail(
                    cr,
                    f"Stopped before any change: {item['name']} was edited in AWS since this suggestion was "
                    "made (drift). Sync the account and review the new suggestion.",
                )
        ChangeRequest.objects.filter(pk=cr.pk).update(previous=live)
        cr.previous = live
    except AwsAccessError as exc:
        return _fail(cr, f"Stopped before any change: {exc}")
    refusals = _new_access_by_access_analyzer(cr, session_factory)
    if refusals:
        return _fail(
            cr,
            "Stopped before any change: IAM Access Analyzer's CheckNoNewAccess says the approved documents "
            f"grant access the current ones do not ({'; '.join(refusals)[:400]}). Open a new request.",
        )
    denied = _used_access_kept(cr, session_factory)
    if denied:
        return _fail(
            cr,
            f"Stopped before any change: the new policies would deny {len(denied)} use(s) the evidence "
            f"shows within the last {window_of(cr)} days: {'; '.join(denied)[:1500]}. "
            "Edit the request to keep them, or open a new one.",
        )

    steps: list[dict[str, Any]] = []

    def record(step: dict[str, Any]) -> None:
        steps.append(step)
        ChangeRequest.objects.filter(pk=cr.pk).update(steps=steps, heartbeat_at=timezone.now())

    writer = Writer(iam, target, record, cr.pk)
    total = len(cr.items)
    try:
        for n, (item, before) in enumerate(zip(cr.items, live, strict=True), start=1):
            done = handler_for(item).apply(writer, item, before)
            _log(cr, f"{n} of {total}: {done}", 20 + int(70 * n / total), done)
    except AwsAccessError as exc:
        cr.steps = steps
        _fail(cr, f"AWS refused a write ({exc}); undoing the {len(steps)} write(s) already made.")
        return change_request_rollback(change_id=cr.pk, session_factory=session_factory, claim=False)
    # Marked applied and audited together: a worker killed in between leaves neither (the reaper then
    # rolls the recorded writes back), never an applied change without its audit entry.
    with transaction.atomic():
        ChangeRequest.objects.filter(pk=cr.pk).update(
            status=ChangeStatus.APPLIED, applied_at=timezone.now(), step="Applied", progress=100, steps=steps
        )
        # Applied: the suggestion is no longer offered (the next sync builds a new one if anything is left).
        Suggestion.objects.filter(pk=cr.suggestion_id).update(stale=True)
        cr.refresh_from_db()
        audit_record(
            actor=cr.applied_by,
            action="change.apply",
            obj=cr,
            account_id=cr.account.account_id,
            summary=f"Applied change #{cr.pk} (version {cr.version}) to {cr.principal_arn}",
            before={"previous": live},
            after={"digest": items_digest(cr.items), "steps": steps},
        )
    emit(change_event, change=cr, event=DONE, detail={"what": "apply"})
    return cr


def change_request_rollback(
    *, change_id: int, session_factory: Any = None, claim: bool = True
) -> ChangeRequest:
    """Undo the recorded steps, newest first, skipping those already undone; every step is audited.

    Runs on a request in `rolling_back` (queued by `change_request_queue_rollback` or the reaper), or, with
    `claim=False`, straight after a failed apply in the same worker.
    """
    cr = ChangeRequest.objects.select_related("account").get(pk=change_id)
    if claim and cr.status != ChangeStatus.ROLLING_BACK:
        return cr
    if not claim:
        ChangeRequest.objects.filter(pk=cr.pk).update(status=ChangeStatus.ROLLING_BACK, error=cr.error)
    failed_apply = cr.applied_at is None
    target = Target(cr.principal_kind, cr.principal_name)
    steps = [dict(s) for s in cr.steps]
    pending = [n for n in range(len(steps) - 1, -1, -1) if not steps[n].get("undone")]
    try:
        iam = _iam(cr, session_factory)
        for done, n in enumerate(pending, start=1):
            line = undo_step(iam, target, steps[n])
            steps[n]["undone"] = timezone.now().isoformat()
            with transaction.atomic():  # a step marked undone has its audit entry
                ChangeRequest.objects.filter(pk=cr.pk).update(steps=steps)
                audit_record(
                    actor=None,
                    action="change.rollback_step",
                    obj=cr,
                    account_id=cr.account.account_id,
                    summary=f"Rollback of change #{cr.pk}: {line}",
                    before={"step": {k: v for k, v in steps[n].items() if k != "undone"}},
                )
            _log(cr, f"Rolling back: {line}", int(100 * done / max(len(pending), 1)), f"rollback: {line}")
    except AwsAccessError as exc:
        return _fail(
            cr,
            f"Rollback failed ({exc}). What was undone is recorded; roll back again to finish.",
            action="change.rollback_fail",
        )
    with transaction.atomic():  # the end state and its audit entry together
        if failed_apply:
            # The apply failed and its writes are undone: the request stays failed, with why it failed.
            ChangeRequest.objects.filter(pk=cr.pk).update(
                status=ChangeStatus.FAILED, step="Failed; every write undone", rolled_back_at=timezone.now()
            )
            summary = f"Undid the {len(pending)} write(s) of failed change #{cr.pk}"
        else:
            ChangeRequest.objects.filter(pk=cr.pk).update(
                status=ChangeStatus.ROLLED_BACK,
                rolled_back_at=timezone.now(),
                step="Rolled back",
                progress=100,
            )
            summary = f"Rolled back change #{cr.pk} on {cr.principal_arn}"
        cr.refresh_from_db()
        audit_record(
            actor=None,
            action="change.rollback",
            obj=cr,
            account_id=cr.account.account_id,
            summary=summary,
            after={"restored": cr.previous},
        )
    emit(change_event, change=cr, event=DONE, detail={"what": "rollback", "after_failed_apply": failed_apply})
    return cr
