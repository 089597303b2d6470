"""Change events reach the channels that hear them, through the real workflow against fakeaws: a request
awaiting approval (approvers other than the requester, and team channels), an apply and a rollback done,
an apply that failed, and AccessDenied seen by the watch after an apply (once per new denial)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

import fakeaws
from findings import change_requests, watch
from findings.models import ChangeRequest, ChangeStatus
from notify.dispatch import DISPATCH_TASK
from notify.models import Event, EventKind
from notify.tasks import event_dispatch
from tests.changes.flow import apply, approved, not_sent, rollback, suggest
from tests.notify.helpers import make_channel, send_pending
from tests.receiver import Receiver, allow_loopback, receiver
from tests.scenarios import ACCOUNT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback(settings: Any) -> None:
    allow_loopback(settings)


@pytest.fixture
def server() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


def dispatched() -> None:
    """Run the queued dispatches and sends as the worker would."""
    for event in Event.objects.filter(dispatched_at=None).exclude(kind=EventKind.FINDING_NEW):
        event_dispatch.apply(args=[event.pk])
    send_pending()


def heard(server: Receiver) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for request in server.requests:
        body = request.json()
        got.setdefault(request.path, []).append(body["title"] if "title" in body else body["text"])
    server.requests.clear()
    return got


@pytest.fixture
def channels(world: Any, server: Receiver) -> dict[str, Any]:
    return {
        "approver": make_channel(world["approver"], f"{server.url}/approver")[0],
        "requester": make_channel(world["reviewer"], f"{server.url}/requester")[0],
        "viewer": make_channel(world["viewer"], f"{server.url}/viewer", events=[EventKind.CHANGE_AWAITING])[
            0
        ],
        "team": make_channel(world["admin"], f"{server.url}/team", team=True, kind="slack")[0],
    }


def test_a_change_is_followed_from_request_to_rollback(
    world: Any, server: Receiver, channels: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = not_sent(monkeypatch)
    cr = change_requests.change_request_open(
        actor=world["reviewer"], suggestion=suggest("app"), reason="tighten <!here>"
    )
    monkeypatch.undo()
    event = Event.objects.get(kind=EventKind.CHANGE_AWAITING)
    assert queued == [(DISPATCH_TASK, (event.pk,))], "dispatched at once, when the request commits"
    dispatched()
    slack_bodies = [r.json() for r in server.requests if r.path == "/team"]
    got = heard(server)
    # Approvers other than the requester, and the team; a viewer cannot approve.
    assert set(got) == {"/approver", "/team"}
    assert got["/approver"] == [f"Change #{cr.pk} awaits approval: tighten {cr.principal_arn} (prod)"]
    assert "tighten &lt;!here&gt;" in slack_bodies[0]["blocks"][0]["text"]["text"], "escaped for Slack"

    from tests.changes.flow import decide

    decide(cr, world["approver"], comment="ok")
    cr = apply(world, cr)
    assert cr.status == ChangeStatus.APPLIED, cr.error
    dispatched()
    got = heard(server)
    assert set(got) == {"/approver", "/requester", "/team"}
    assert got["/requester"] == [f"Change #{cr.pk} applied on {cr.principal_arn} (prod)"]

    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/1700000000000"
    fakeaws.record_access_denied(ACCOUNT, session_arn, "lambda:DeleteFunction", timezone.now())
    watch.access_denied_watch()
    dispatched()
    got = heard(server)
    assert got["/requester"] == [f"AccessDenied for {cr.principal_arn} (prod) after change #{cr.pk}: 1 new"]
    watch.access_denied_watch()  # the same denial seen again: no second message
    assert not Event.objects.filter(dispatched_at=None).exclude(kind=EventKind.FINDING_NEW).exists()

    cr = rollback(world, cr)
    dispatched()
    got = heard(server)
    assert got["/approver"] == [f"Change #{cr.pk} rolled back on {cr.principal_arn} (prod)"]
    assert {e.kind for e in Event.objects.exclude(kind=EventKind.FINDING_NEW)} == {
        EventKind.CHANGE_AWAITING,
        EventKind.CHANGE_DONE,
        EventKind.ACCESS_DENIED,
    }


def test_an_apply_that_failed_is_told(world: Any, server: Receiver, channels: dict[str, Any]) -> None:
    cr = approved(world, "app")
    Event.objects.all().update(dispatched_at=timezone.now())
    with pytest.MonkeyPatch.context() as mp:
        not_sent(mp)
        change_requests.change_request_queue_apply(actor=world["approver"], change=cr)
    ChangeRequest.objects.filter(pk=cr.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert change_requests.change_requests_reap_stale() == 1
    dispatched()
    got = heard(server)
    assert set(got) == {"/approver", "/requester", "/team"}
    assert got["/approver"] == [f"Change #{cr.pk}: the apply failed on {cr.principal_arn} (prod)"]


def test_a_requester_who_is_also_an_approver_is_not_asked(world: Any, server: Receiver) -> None:
    from django.contrib.auth.models import Group

    world["reviewer"].groups.add(Group.objects.get_or_create(name="approver")[0])
    make_channel(world["reviewer"], f"{server.url}/requester", events=[EventKind.CHANGE_AWAITING])
    make_channel(world["approver"], f"{server.url}/approver", events=[EventKind.CHANGE_AWAITING])
    change_requests.change_request_open(actor=world["reviewer"], suggestion=suggest("app"), reason="tighten")
    dispatched()
    assert set(heard(server)) == {"/approver"}
