"""`findings.bulk`: COPY writes what Django's `bulk_create` writes (JSON, datetimes, foreign keys, defaults),
skips conflicting rows only when asked, and never lets input reach the statement's text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from psycopg.types.json import Jsonb

from accounts.models import LinkedAccount
from findings.bulk import objects_copy, rows_copy
from findings.models import Finding, LastAccessed, PolicyDocument, Principal, SnapshotChange

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 11, 30, 8, 15, 3, 250000, tzinfo=UTC)
HOSTILE = "x'); DROP TABLE findings_finding; --\t\\N\n\"é"


def _finding(account: LinkedAccount, principal: Principal, fingerprint: str) -> Finding:
    return Finding(
        fingerprint=fingerprint,
        account=account,
        principal=principal,
        principal_arn=principal.arn,
        kind="unused-service",
        severity="medium",
        severity_rank=2,
        subject="s3",
        title=HOSTILE,
        detail="line one\nline two\twith a tab and a backslash \\",
        data={"actions": ["s3:GetObject", HOSTILE], "nested": {"n": 1, "none": None}, "list": [1.5, True]},
        sources=["iamreview", "access-analyzer"],
        first_seen=WHEN,
        last_seen=WHEN,
    )


def _values(finding: Finding) -> dict[str, Any]:
    row = Finding.objects.filter(pk=finding.pk).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "fingerprint")}


def test_objects_copy_writes_every_field_as_bulk_create_does() -> None:
    account = LinkedAccount.objects.create(account_id="111122223333", name="prod")
    principal = Principal.objects.create(account=account, arn="arn:aws:iam::111122223333:role/a", kind="role")
    Finding.objects.bulk_create([_finding(account, principal, "a" * 64)])
    assert objects_copy([_finding(account, principal, "b" * 64)]) == 1
    created = Finding.objects.get(fingerprint="a" * 64)
    copied = Finding.objects.get(fingerprint="b" * 64)
    assert _values(copied) == _values(created)
    assert copied.title == HOSTILE and copied.data["actions"][1] == HOSTILE
    assert copied.first_seen == WHEN
    assert copied.status == "open" and copied.reopened_count == 0  # the model's defaults

    # A model with auto_now_add: its time is set, as bulk_create sets it.
    objects_copy([SnapshotChange(account=account, kind="principal-added", principal_arn=principal.arn)])
    change = SnapshotChange.objects.get()
    assert change.detail == {} and change.created_at is not None


def test_a_conflict_fails_the_copy_unless_asked_to_skip_it() -> None:
    objects_copy([PolicyDocument(sha256="c" * 64, document={"Version": "2012-10-17"}, size=1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        objects_copy([PolicyDocument(sha256="c" * 64, document={"other": True}, size=2)])
    sent = objects_copy(
        [
            PolicyDocument(sha256="c" * 64, document={"other": True}, size=2),
            PolicyDocument(sha256="d" * 64, document={"Statement": []}, size=3),
        ],
        ignore_conflicts=True,
    )
    assert sent == 2
    assert dict(PolicyDocument.objects.values_list("sha256", "size")) == {"c" * 64: 1, "d" * 64: 3}
    assert PolicyDocument.objects.get(sha256="c" * 64).document == {"Version": "2012-10-17"}  # kept
    # ... and again in the same transaction: the temporary table does not linger.
    objects_copy([PolicyDocument(sha256="e" * 64, document={}, size=0)], ignore_conflicts=True)
    assert PolicyDocument.objects.count() == 3


def test_rows_copy_takes_raw_values_and_json() -> None:
    account = LinkedAccount.objects.create(account_id="111122223333", name="prod")
    principal = Principal.objects.create(account=account, arn="arn:aws:iam::111122223333:role/a", kind="role")
    written = rows_copy(
        LastAccessed,
        ("principal_id", "service", "service_name", "action", "last_accessed_at", "region", "entity", "tracked",
         "collected_at"),
        [(principal.pk, "s3", HOSTILE, "", WHEN, "us-east-1", "", True, WHEN),
         (principal.pk, "s3", "", "GetObject", None, "", "", False, WHEN)],
    )  # fmt: skip
    assert written == 2
    rows = sorted(LastAccessed.objects.values_list("service_name", "action", "last_accessed_at", "tracked"))
    assert rows == [("", "GetObject", None, False), (HOSTILE, "", WHEN, True)]
    rows_copy(
        SnapshotChange,
        ("account_id", "kind", "principal_arn", "detail", "created_at"),
        [(account.pk, "policy-changed", principal.arn, Jsonb({"granted": [HOSTILE]}), WHEN)],
    )
    assert SnapshotChange.objects.get().detail == {"granted": [HOSTILE]}
