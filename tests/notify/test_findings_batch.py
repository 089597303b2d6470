"""New critical and high findings reach channels once a minute, one message per channel per batch, through
the real path: import_gaad -> findings_refresh -> findings_opened signal -> Event -> the beat's batch ->
deliveries -> the receiver on loopback. Who hears which account, and which severity."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import LinkedAccount, Profile
from findings.models import Finding, FindingStatus
from iamreview.celery import app
from notify.dispatch import notifications_dispatch_due
from notify.models import Delivery, Event, EventKind
from tests.notify.helpers import make_channel, send_pending
from tests.receiver import Receiver
from tests.views.conftest import FIXTURE, imported  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def _open(
    account: LinkedAccount | None = None, severities: tuple[str, ...] = ("critical", "high")
) -> set[int]:
    found = Finding.objects.filter(status=FindingStatus.OPEN, severity__in=severities)
    return set((found.filter(account=account) if account else found).values_list("pk", flat=True))


def _ids(request: Any) -> set[int]:
    return {f["id"] for f in request.json()["data"]["findings"]}


def test_the_beat_runs_the_batch_every_minute() -> None:
    entry = app.conf.beat_schedule["dispatch-notifications"]
    assert entry == {"task": "notify.tasks.notifications_dispatch_due", "schedule": 60.0}


def test_new_findings_are_batched_per_channel(users: Any, server: Receiver) -> None:
    mine, _ = make_channel(users["viewer"], f"{server.url}/viewer", events=[EventKind.FINDING_NEW])
    critical, _ = make_channel(
        users["approver"], f"{server.url}/critical", events=[EventKind.FINDING_NEW], min_severity="critical"
    )
    no_role, _ = make_channel(users["nobody"], f"{server.url}/nobody", events=[EventKind.FINDING_NEW])
    other_event, _ = make_channel(users["reviewer"], f"{server.url}/other", events=[EventKind.CHANGE_DONE])
    call_command(
        "import_gaad", str(FIXTURE), "--account", "210987654321", "--name", "prod", stdout=io.StringIO()
    )
    prod = LinkedAccount.objects.get(account_id="210987654321")
    make_channel(
        users["admin"], f"{server.url}/team", events=[EventKind.FINDING_NEW], team=True, accounts=[prod]
    )
    call_command(
        "import_gaad", str(FIXTURE), "--account", "444455556666", "--name", "sandbox", stdout=io.StringIO()
    )
    assert _open(prod) and _open(severities=("critical",)) and _open() != _open(severities=("critical",))
    # Two syncs: two events, and nothing sent before the minute's batch.
    assert Event.objects.filter(kind=EventKind.FINDING_NEW, dispatched_at=None).count() == 2
    assert not Delivery.objects.exists()

    assert notifications_dispatch_due()["queued"] == 3
    send_pending()
    by_path = {r.path: r for r in server.requests}
    assert set(by_path) == {"/viewer", "/critical", "/team"}, "no role or not subscribed: nothing"
    assert _ids(by_path["/viewer"]) == _open()  # both accounts, one message
    assert _ids(by_path["/critical"]) == _open(severities=("critical",))
    assert _ids(by_path["/team"]) == _open(prod)  # the team channel is limited to prod
    body = by_path["/viewer"].json()
    assert body["event"] == "finding_new" and body["data"]["count"] == len(_open())
    assert (
        body["title"].startswith(f"{len(_open())} new findings (")
        and body["link"] == "https://iam.example.com/findings/"
    )
    assert all(f["severity"] in ("critical", "high") for f in body["data"]["findings"])

    # The next minute: nothing new, nothing sent.
    assert notifications_dispatch_due()["queued"] == 0
    # A sync that finds nothing new sends nothing either.
    call_command(
        "import_gaad", str(FIXTURE), "--account", "444455556666", "--name", "sandbox", stdout=io.StringIO()
    )
    assert notifications_dispatch_due()["queued"] == 0
    # A new account's findings: only those, in the next batch.
    before = _open()
    call_command(
        "import_gaad", str(FIXTURE), "--account", "777788889999", "--name", "staging", stdout=io.StringIO()
    )
    server.requests.clear()
    assert notifications_dispatch_due()["queued"] == 2  # the team channel hears prod only
    send_pending()
    assert {r.path for r in server.requests} == {"/viewer", "/critical"}
    assert _ids(next(r for r in server.requests if r.path == "/viewer")) == _open() - before
    assert mine.deliveries.count() == 2 and critical.deliveries.count() == 2
    assert not no_role.deliveries.exists() and not other_event.deliveries.exists()


def test_a_user_limited_to_one_account_never_hears_of_another(
    users: Any,
    server: Receiver,
    imported: dict[str, LinkedAccount],  # noqa: F811
) -> None:
    """Even when the channel names the other account (a crafted POST, a limit set after the channel)."""
    prod, sandbox = imported["prod"], imported["sandbox"]
    Event.objects.all().update(dispatched_at=None)
    Profile.objects.get_or_create(user=users["viewer"])[0].accounts.set([sandbox])
    make_channel(users["viewer"], f"{server.url}/all", events=[EventKind.FINDING_NEW])
    make_channel(users["viewer"], f"{server.url}/prod", events=[EventKind.FINDING_NEW], accounts=[prod])
    notifications_dispatch_due()
    send_pending()
    assert [r.path for r in server.requests] == ["/all"]
    assert _ids(server.requests[0]) == _open(sandbox)
    assert prod.account_id not in server.requests[0].body.decode()


def test_a_finding_resolved_or_suppressed_before_the_batch_is_no_news(
    users: Any,
    server: Receiver,
    imported: dict[str, LinkedAccount],  # noqa: F811
) -> None:
    make_channel(users["viewer"], server.url, events=[EventKind.FINDING_NEW])
    gone = sorted(_open())[:2]
    Finding.objects.filter(pk__in=gone).update(status=FindingStatus.SUPPRESSED)
    notifications_dispatch_due()
    send_pending()
    [request] = server.requests
    assert _ids(request) == _open() and not set(gone) & _ids(request)
