"""Unused permissions at the edges: the window boundary, young principals, untracked services, action level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from findings.detect import unused_for_principal
from findings.facts import usage_from_rows
from findings.models import LastAccessed, Principal

NOW = datetime(2026, 11, 1, tzinfo=UTC)
COLLECTED = NOW - timedelta(minutes=5)


def principal(created_days: int = 400) -> Principal:
    return Principal(
        arn="arn:aws:iam::1:role/r", kind="role", name="r", aws_created_at=NOW - timedelta(days=created_days)
    )


def row(service: str, days: float | None, action: str = "", tracked: bool = True) -> LastAccessed:
    return LastAccessed(
        service=service,
        action=action,
        tracked=tracked,
        collected_at=COLLECTED,
        last_accessed_at=None if days is None else NOW - timedelta(days=days),
    )


def run(rows: list[LastAccessed], allowed: set[str], created_days: int = 400):  # type: ignore[no-untyped-def]
    usage = usage_from_rows(
        principal=principal(created_days), rows=rows, window_days=90, now=NOW, last_collected=COLLECTED
    )
    return unused_for_principal(allowed=frozenset(allowed), usage=usage, action_name=lambda a: a)


@pytest.mark.parametrize(
    ("days", "unused"),
    [(89.99, False), (90, False), (90.01, True), (None, True)],
    ids=["inside", "exactly-90-days", "just-outside", "never-used"],
)
def test_service_window_boundary(days: float | None, unused: bool) -> None:
    state = run([row("sqs", days)], {"sqs:sendmessage"})
    assert ("sqs" in state.unused_services) is unused


def test_principal_younger_than_the_window_has_nothing_unused() -> None:
    state = run([row("sqs", None)], {"sqs:sendmessage"}, created_days=30)
    assert state.status == "too-young" and state.unused_count == 0


def test_window_boundary_for_the_principals_age() -> None:
    assert run([row("sqs", None)], {"sqs:sendmessage"}, created_days=89).status == "too-young"
    assert run([row("sqs", None)], {"sqs:sendmessage"}, created_days=91).status == "analyzed"


def test_service_without_tracking_data_is_not_unused() -> None:
    state = run([row("s3", 1)], {"s3:getobject", "glacier:uploadarchive"})
    assert state.not_tracked == ["glacier"]
    assert "glacier" not in state.unused_services
    state = run([row("sqs", None, tracked=False)], {"sqs:sendmessage"})
    assert state.not_tracked == ["sqs"] and not state.unused_services


def test_no_data_at_all_is_not_unused() -> None:
    state = run([], {"s3:getobject"})
    assert state.status == "no-data" and state.unused_count == 0


def test_data_older_than_the_last_collection_is_stale_not_unused() -> None:
    old = row("s3", None)
    old.collected_at = COLLECTED - timedelta(days=2)
    usage = usage_from_rows(
        principal=principal(), rows=[old], window_days=90, now=NOW, last_collected=COLLECTED
    )
    state = unused_for_principal(allowed=frozenset({"s3:getobject"}), usage=usage, action_name=lambda a: a)
    assert state.status == "stale" and state.unused_count == 0


def test_action_level_where_tracked_service_level_elsewhere() -> None:
    rows = [
        row("s3", 2),
        row("s3", 2, action="getobject"),
        row("s3", 200, action="deleteobject"),
        row("s3", None, action="putobject"),
        row("sqs", 3),  # service-level only: every granted sqs action counts as used
    ]
    allowed = {
        "s3:getobject",
        "s3:deleteobject",
        "s3:putobject",
        "s3:listbucket",
        "sqs:sendmessage",
        "sqs:deletequeue",
    }
    state = run(rows, allowed)
    assert state.unused_actions == {"s3": ["s3:deleteobject", "s3:putobject"]}
    assert "sqs" not in state.unused_actions and not state.unused_services  # listbucket untracked: covered
