"""Writing to the audit log: the one function every service calls for a state change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from core.models import AuditEvent


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: Any,
    summary: str,
    account_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Record one state change of `obj`. The AWS account it concerns is the object's own (a row with an
    `account`, or a linked account itself) unless `account_id` says otherwise."""
    user = actor if actor is not None and actor.is_authenticated else None
    if account_id is None:
        account_id = account_of(obj)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "system",
        action=action,
        object_type=type(obj).__name__,
        object_id=str(getattr(obj, "pk", obj)),
        account_id=account_id,
        summary=summary[:500],
        before=before,
        after=after,
    )


def account_of(obj: Any) -> str:
    """The 12-digit AWS account an object belongs to, or "" when it belongs to none."""
    account = getattr(obj, "account", None)
    if isinstance(getattr(account, "account_id", None), str):
        return str(account.account_id)
    own = getattr(obj, "account_id", None)  # a linked account; other rows hold an integer key here
    return own if isinstance(own, str) else ""
