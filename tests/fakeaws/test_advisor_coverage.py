"""Access Advisor in fakeaws reports what AWS does: management actions of tracked services, never data events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import fakeaws
from fakeaws.demo import PROD, demo_accounts
from fakeaws.scenario import account_clients, seed_account

ACCOUNT = "444444444444"
DATA_EVENTS = {"GetObject", "PutObject", "ListBucket", "GetItem", "Query", "InvokeFunction", "SendMessage"}


def doc(actions: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}


@pytest.fixture
def iam() -> Iterator[Any]:
    with fakeaws.mock():
        yield account_clients(ACCOUNT)["iam"]


def report(iam: Any, arn: str) -> dict[str, dict[str, Any]]:
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity="ACTION_LEVEL")["JobId"]
    rows = iam.get_service_last_accessed_details(JobId=job, MaxItems=1000)["ServicesLastAccessed"]
    return {r["ServiceNamespace"]: r for r in rows}


def tracked(row: dict[str, Any]) -> dict[str, Any]:
    return {a["ActionName"]: a.get("LastAccessedTime") for a in row.get("TrackedActionsLastAccessed", [])}


def test_data_events_and_passrole_never_appear_but_the_service_does(iam: Any) -> None:
    actions = ["s3:*", "dynamodb:*", "lambda:*", "sqs:*", "iam:PassRole", "iam:GetRole"]
    arns = seed_account(ACCOUNT, {"roles": [{"name": "worker", "inline": {"p": doc(actions)}}]})
    yesterday = datetime.now(tz=UTC) - timedelta(days=1)
    used = {
        "s3": ["GetObject", "PutObject", "ListBucket", "CreateBucket"],
        "dynamodb": ["GetItem", "Query", "DescribeTable"],
        "lambda": ["InvokeFunction", "GetFunction"],
        "sqs": ["SendMessage"],
        "iam": ["PassRole", "GetRole"],
    }
    for service, names in used.items():
        fakeaws.record_usage(arns["worker"], service, yesterday, actions=dict.fromkeys(names, yesterday))
    rows = report(iam, arns["worker"])
    for service in used:
        assert rows[service]["LastAuthenticated"]  # the service's own row shows every use
    s3, dynamodb, lam, iam_row = (tracked(rows[s]) for s in ("s3", "dynamodb", "lambda", "iam"))
    assert s3["CreateBucket"] and dynamodb["DescribeTable"] and lam["GetFunction"] and iam_row["GetRole"]
    everything = {name for row in rows.values() for name in tracked(row)}
    assert not everything & (DATA_EVENTS | {"PassRole"})
    assert "DeleteBucket" in s3 and s3["DeleteBucket"] is None  # a tracked action never used: listed, no time
    assert "TrackedActionsLastAccessed" not in rows["sqs"]  # not tracked per action at all


def test_the_demo_records_usage_access_advisor_can_show(iam: Any) -> None:
    spec = demo_accounts()[PROD]
    arns = seed_account(PROD, spec)
    client = account_clients(PROD)["iam"]
    shown_per_action = 0
    for name, services in spec["usage"].items():
        rows = report(client, arns[name])
        for service, use in services.items():
            assert rows[service].get("LastAuthenticated"), (name, service)
            listed = tracked(rows[service])
            assert not set(listed) & DATA_EVENTS, (name, service)
            shown_per_action += sum(1 for a in use.get("actions", {}) if listed.get(a))
    assert shown_per_action > 0  # some management calls do show at action level
