"""Steps of the change workflow as the pages and the worker take them, for the change tests."""

from __future__ import annotations

from typing import Any

import pytest

from fakeaws.scenario import account_clients
from findings import change_apply, change_requests, suggestions
from findings.change_items import items_digest
from findings.models import ChangeRequest, ChangeStatus, Principal
from tests.scenarios import ACCOUNT


def suggest(name: str) -> Any:
    principal = Principal.objects.get(name=name)
    analyzer = account_clients(ACCOUNT)["accessanalyzer"]
    suggestion = suggestions.suggestion_build(principal=principal, analyzer=analyzer)
    assert suggestion is not None
    return suggestion


def decide(cr: ChangeRequest, user: Any, approve: bool = True, comment: str = "") -> ChangeRequest:
    """A decision on the version the user sees now (what the page's form carries)."""
    cr.refresh_from_db()
    return change_requests.change_request_decide(
        actor=user,
        change=cr,
        approve=approve,
        comment=comment,
        version=cr.version,
        digest=items_digest(cr.items),
    )


def approved(world: Any, name: str) -> ChangeRequest:
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest(name), reason="quarterly review"
    )
    return decide(cr, world["approver"], comment="ok")


def not_sent(mp: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Tasks queued by the services, kept here instead of reaching the broker."""
    queued: list[tuple[str, tuple[Any, ...]]] = []
    mp.setattr("core.jobs.enqueue", lambda name, *args: queued.append((name, args)))
    return queued


def change_tasks(queued: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, tuple[Any, ...]]]:
    """The change workflow's own tasks among those queued (notifications are tested in tests/notify)."""
    return [(name, args) for name, args in queued if not name.startswith("notify.")]


def apply(world: Any, cr: ChangeRequest) -> ChangeRequest:
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    return change_apply.change_request_apply(change_id=cr.pk)


def rollback(world: Any, cr: ChangeRequest, reason: str = "AccessDenied seen") -> ChangeRequest:
    """Queued as the page does, then run as the worker does."""
    with pytest.MonkeyPatch.context() as mp:
        queued = not_sent(mp)
        cr = change_requests.change_request_queue_rollback(actor=world["approver"], change=cr, reason=reason)
    assert cr.status == ChangeStatus.ROLLING_BACK
    assert change_tasks(queued) == [(change_requests.ROLLBACK_TASK, (cr.pk,))]
    return change_apply.change_request_rollback(change_id=cr.pk)


def live_inline(world: Any, role: str, policy: str) -> Any:
    return world["iam"].get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
