"""After an apply, AWS refused a call of the principal: a follow-up change that adds back exactly the denied
action on the denied resource, through the usual approval.

The follow-up is a change request of its own (`follow_up_of` = the applied change, `add_back` = the one grant it
may add): it names the policy the apply tightened and that, before the apply, allowed the refused call;
its proposed document is the applied one with one statement more. `items_validate` refuses any version of
it that grants more than the current documents plus that one grant; it is approved, applied and rolled
back like any other change.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role, has_role
from core.audit import audit_record
from findings.change_items import ItemKind, items_digest, part_name
from findings.change_requests import ChangeError, items_validate
from findings.models import ChangeRequest, ChangeStatus
from findings.permission_set_changes import PERMISSION_SET_KINDS, permission_set_follow_up
from policy.catalog import default_catalog
from policy.evaluate import PrincipalPermissions
from policy.grants import PrincipalContext
from policy.model import parse_policies


def _allows(cr: ChangeRequest, documents: list[Any], action: str, resource: str) -> bool:
    parsed = parse_policies(documents)
    context = PrincipalContext(cr.principal_arn, cr.principal_name, cr.principal_kind, cr.account.account_id)
    perms = PrincipalPermissions.build(context, parsed, default_catalog())
    if resource:
        return perms.allows(action, resource)
    return perms.allows_somewhere(action, perms.catalog).allowed


def _created_arn(cr: ChangeRequest, item: dict[str, Any]) -> str:
    """The policy of ours this `replace` item created (its part 1, named as `change_items` names it): a
    change that replaced several policies created one for each."""
    name = part_name(item.get("replacement_name") or f"iamreview-{cr.principal_name}-{item['name']}", 1)
    return next(
        (
            s["arn"]
            for s in cr.steps
            if s["kind"] == "create-policy" and not s.get("undone") and s["arn"].rsplit("/", 1)[-1] == name
        ),
        "",
    )


def follow_up_items(cr: ChangeRequest, action: str, resource: str) -> list[dict[str, Any]]:
    """The one item that adds back `action` on `resource` to the policy the change took it from."""
    for item in cr.items:
        if not _allows(cr, [item["original"]], action, resource):
            continue
        if not item["proposed"] or _allows(cr, item["proposed"], action, resource):
            continue
        statement = {"Sid": "AddedBack", "Effect": "Allow", "Action": action, "Resource": resource or "*"}
        if item["kind"] in PERMISSION_SET_KINDS:
            return permission_set_follow_up(cr, item, statement)
        current = item["proposed"][0]
        proposed = copy.deepcopy(current)
        statements = proposed.get("Statement", [])
        proposed["Statement"] = [*(statements if isinstance(statements, list) else [statements]), statement]
        if item["kind"] == ItemKind.INLINE:
            return [
                {
                    "kind": ItemKind.INLINE,
                    "name": item["name"],
                    "arn": "",
                    "original": current,
                    "proposed": [proposed],
                }
            ]
        arn = item["arn"] if item["kind"] == ItemKind.MANAGED else _created_arn(cr, item)
        if not arn:
            break
        name = (
            item["name"] if item["kind"] == ItemKind.MANAGED else item.get("replacement_name") or item["name"]
        )
        return [
            {"kind": ItemKind.MANAGED, "name": name, "arn": arn, "original": current, "proposed": [proposed]}
        ]
    raise ChangeError(
        f"Change #{cr.pk} did not take {action}"
        + (f" on {resource}" if resource else "")
        + " away from a policy it still holds: the refusal has another cause, or the change detached the "
        "policy whole (roll it back instead)."
    )


def change_request_add_back(
    *, actor: AbstractBaseUser, change: ChangeRequest, event: int, reason: str = ""
) -> ChangeRequest:
    """Open the follow-up for the change's `event`-th recorded AccessDenied."""
    if not has_role(actor, Role.REVIEWER):
        raise ChangeError("Opening a change request needs the reviewer role.")
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().select_related("account").get(pk=change.pk)
        if cr.status != ChangeStatus.APPLIED:
            raise ChangeError("Only an applied change can be followed by an add-back.")
        if not 0 <= event < len(cr.watch_events):
            raise ChangeError("That AccessDenied is no longer on the change.")
        denied = cr.watch_events[event]
        action, resource = str(denied["action"]), str(denied.get("resource") or "")
        grant = {"action": action, "resource": resource or "*"}
        existing = cr.follow_ups.exclude(status__in=[ChangeStatus.REJECTED, ChangeStatus.EXPIRED])
        if any(grant in f.add_back for f in existing):
            raise ChangeError(f"A follow-up adding back {action} is already open.")
        items = follow_up_items(cr, action, resource)
        items_validate(items, add_back=[grant])
        follow = ChangeRequest.objects.create(
            account=cr.account,
            principal=cr.principal,
            principal_arn=cr.principal_arn,
            principal_kind=cr.principal_kind,
            principal_name=cr.principal_name,
            requested_by=actor,
            reason=reason.strip() or f"AWS refused {action} after change #{cr.pk}: add it back",
            items=items,
            add_back=[grant],
            follow_up_of=cr,
            required_approvals=settings.IAMREVIEW_REQUIRED_APPROVALS,
            expires_at=timezone.now() + timedelta(days=settings.IAMREVIEW_CHANGE_EXPIRY_DAYS),
        )
        audit_record(
            actor=actor,
            action="change.add_back",
            obj=follow,
            account_id=cr.account.account_id,
            summary=f"Requested adding back {action} on {grant['resource']} to {cr.principal_arn} after change #{cr.pk}",
            after={"items": items, "digest": items_digest(items), "add_back": [grant], "follow_up_of": cr.pk},
        )
    return follow
