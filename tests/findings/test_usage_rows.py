"""Access Advisor's rows through the ingest (findings/usage_rows.py, findings/bulk.py): a principal's rows are
rewritten only when its report changed, the time it was last reported moves either way, a principal left
out of a sync's report goes stale, and the analysis reads what the sync collected without reading it back."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.aws.collect import Collected
from accounts.models import LinkedAccount, SyncRun
from accounts.sync import SyncMeter, sync_run_succeed
from findings.facts import principal_usage
from findings.ingest import snapshot_ingest
from findings.models import Finding, LastAccessed, Principal
from findings.usage_rows import (
    account_usage_rows,
    principal_usage_rows,
    principals_usage_rows,
    usage_rows_read_once,
    usage_rows_remember,
)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
ACCOUNT = "111122223333"
CI = f"arn:aws:iam::{ACCOUNT}:role/ci"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
pytestmark = pytest.mark.django_db
READ = re.compile(r'SELECT [^;]*FROM "findings_lastaccessed"')  # a plain query or a server-side cursor's


def _gaad(action: str = "s3:GetObject") -> dict[str, Any]:
    data = json.loads(FIXTURE.read_text())
    for role in data["RoleDetailList"]:
        role["CreateDate"] = "2024-01-01T00:00:00Z"
    data["UserDetailList"][1]["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] = action
    return data


NOW = datetime.now(UTC).replace(microsecond=0)


def _report(days_ago: int) -> list[dict[str, Any]]:
    used = (NOW - timedelta(days=days_ago)).isoformat()
    return [
        {"ServiceNamespace": "s3", "ServiceName": "Amazon S3", "LastAuthenticated": used,
         "LastAuthenticatedRegion": "us-east-1", "LastAuthenticatedEntity": CI,
         "TrackedActionsLastAccessed": [{"ActionName": "GetObject", "LastAccessedTime": used}]},
        {"ServiceNamespace": "ec2", "ServiceName": "Amazon EC2"},
        {"ServiceNamespace": "iam", "ServiceName": "AWS Identity and Access Management"},
    ]  # fmt: skip


def _sync(account: LinkedAccount, collected: Collected) -> dict[str, Any]:
    # As a sync: started, then read each principal's usage (`collected_at`), then stored it all.
    run = SyncRun.objects.create(
        account=account, status="running", started_at=collected.collected_at - timedelta(minutes=2)
    )
    meter = SyncMeter()
    with transaction.atomic():
        counts = snapshot_ingest(account=account, collected=collected, run=run, meter=meter)
        assert sync_run_succeed(run=run, counts=counts, meter=meter)
    return counts


def _versions(arn: str, table: str = "findings_lastaccessed") -> dict[int, str]:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT t.id, t.xmin::text FROM {table} t "  # noqa: S608 - our own table names
            "JOIN findings_principal p ON p.id = t.principal_id WHERE p.arn = %s",
            [arn],
        )
        return dict(cur.fetchall())


@pytest.fixture
def account() -> LinkedAccount:
    return LinkedAccount.objects.create(account_id=ACCOUNT, name="prod")


def test_an_unchanged_report_keeps_its_rows_and_a_changed_one_is_rewritten(account: LinkedAccount) -> None:
    first = datetime.now(UTC) - timedelta(hours=2)
    counts = _sync(
        account,
        Collected(gaad=_gaad(), last_accessed={CI: _report(3), ADMIN: _report(5)}, collected_at=first),
    )
    # Each: s3 and s3:GetObject used (two rows), ec2 and iam never used (one list).
    assert counts["last_accessed_rows"] == 8 and counts["last_accessed_written"] == 6
    ci_rows, admin_rows = _versions(CI), _versions(ADMIN)
    assert len(ci_rows) == len(admin_rows) == 2
    ci_never = _versions(CI, "findings_neverused")

    # The next sync: a document moved (so the snapshot is stored again), ci reports the same, admin used
    # S3 again since.
    second = datetime.now(UTC)
    counts = _sync(
        account,
        Collected(gaad=_gaad("s3:*"), last_accessed={CI: _report(3), ADMIN: _report(1)}, collected_at=second),
    )
    assert counts["last_accessed_rows"] == 8 and counts["last_accessed_written"] == 3
    assert _versions(CI) == ci_rows  # not one of ci's rows was written again
    assert _versions(CI, "findings_neverused") == ci_never
    assert not set(_versions(ADMIN)) & set(admin_rows)  # admin's were replaced
    ci, admin = Principal.objects.get(arn=CI), Principal.objects.get(arn=ADMIN)
    assert ci.usage_collected_at == admin.usage_collected_at == second
    assert set(LastAccessed.objects.filter(principal=ci).values_list("collected_at", flat=True)) == {first}
    # Kept rows are not stale: the principal was reported by the latest sync.
    assert principal_usage(ci).status == "analyzed"
    ci_usage = principal_usage(ci)
    assert ci_usage.service_last_used("s3") is not None
    # The never-used services come back as rows from their list: tracked, never used.
    assert ci_usage.service_tracked("ec2") and ci_usage.service_last_used("ec2") is None
    assert "ec2" in ci_usage.services and "ec2" not in ci_usage.usage.used_services
    admin_s3 = principal_usage(admin).service_last_used("s3")
    assert admin_s3 is not None and admin_s3 > timezone.now() - timedelta(days=2)


def test_a_principal_left_out_of_the_report_keeps_its_rows_and_goes_stale(account: LinkedAccount) -> None:
    _sync(
        account,
        Collected(
            gaad=_gaad(),
            last_accessed={CI: _report(3), ADMIN: _report(5)},
            collected_at=datetime.now(UTC) - timedelta(hours=2),
        ),
    )
    kept = _versions(ADMIN)
    # Admin's Access Advisor job failed this time: it is not in the report.
    _sync(account, Collected(gaad=_gaad("s3:*"), last_accessed={CI: _report(3)}))
    assert _versions(ADMIN) == kept
    assert principal_usage(Principal.objects.get(arn=ADMIN)).status == "stale"
    assert principal_usage(Principal.objects.get(arn=CI)).status == "analyzed"


def test_the_analysis_reads_the_collected_rows_from_memory_not_back_from_the_database(
    account: LinkedAccount,
) -> None:
    data = _gaad()
    everyone = {
        p["Arn"]: _report(3)
        for p in data["RoleDetailList"] + data["UserDetailList"] + data["GroupDetailList"]
    }
    with CaptureQueriesContext(connection) as queries:
        _sync(account, Collected(gaad=_gaad(), last_accessed=everyone))
    reads = [q["sql"] for q in queries if READ.search(q["sql"])]
    assert reads == [], reads
    # ... and the analysis did read them: ec2 and iam, granted to the admin role and never used, are
    # unused findings.
    unused = Finding.objects.filter(principal_arn=ADMIN, kind="unused-service")
    assert {f.subject for f in unused} >= {"ec2", "iam"} or unused.filter(subject="*").exists()
    # An import (no Access Advisor read) reads the stored rows, once.
    with CaptureQueriesContext(connection) as queries:
        _sync(account, Collected(gaad=_gaad("s3:*")))
    reads = [q["sql"] for q in queries if READ.search(q["sql"])]
    assert len(reads) == 1, reads


def test_a_long_store_does_not_make_the_usage_it_just_collected_stale(account: LinkedAccount) -> None:
    """The unused findings compare a principal's usage with the collection that brought it, not with the
    clock at the end of the ingest: a large account may take minutes to store."""
    collected = Collected(
        gaad=_gaad(),
        last_accessed={CI: _report(3), ADMIN: _report(5)},
        collected_at=datetime.now(UTC) - timedelta(minutes=20),
    )
    _sync(account, collected)
    unused = set(
        Finding.objects.filter(principal_arn=ADMIN, kind="unused-service").values_list("subject", flat=True)
    )
    assert unused & {"ec2", "iam", "*"}, unused
    # ... and neither do the principal page and the suggestions, after the run finished 20 minutes later.
    assert principal_usage(Principal.objects.get(arn=ADMIN)).status == "analyzed"


def test_an_unchanged_resync_leaves_the_usage_analysed(account: LinkedAccount) -> None:
    """An unchanged re-sync stores nothing, not even when each principal was reported; its reports were the
    previous sync's, so its own later start must not make them stale."""
    first = datetime.now(UTC) - timedelta(hours=3)
    report = {CI: _report(3), ADMIN: _report(5)}
    _sync(account, Collected(gaad=_gaad(), last_accessed=report, collected_at=first))
    again = _sync(account, Collected(gaad=_gaad(), last_accessed=report, collected_at=datetime.now(UTC)))
    assert again["unchanged"] is True
    assert principal_usage(Principal.objects.get(arn=CI)).status == "analyzed"
    # A changed sync that leaves admin out (its Access Advisor job failed) still makes admin stale.
    _sync(account, Collected(gaad=_gaad("s3:*"), last_accessed={CI: _report(3)}))
    assert principal_usage(Principal.objects.get(arn=ADMIN)).status == "stale"


def test_each_reader_gives_used_rows_and_never_used_lists_together_in_one_query(
    account: LinkedAccount,
) -> None:
    _sync(account, Collected(gaad=_gaad(), last_accessed={CI: _report(3), ADMIN: _report(5)}))
    ci = Principal.objects.get(arn=CI).pk
    with CaptureQueriesContext(connection) as queries:
        whole, one, several = (
            account_usage_rows(account.pk),
            principal_usage_rows(ci),
            principals_usage_rows([ci]),
        )
    assert len(queries) == 3
    assert whole[ci] == one == several[ci]
    assert sorted((r.service, r.action, r.last_accessed_at is None) for r in one) == [
        ("ec2", "", True),  # from the never-used list
        ("iam", "", True),
        ("s3", "", False),  # used: rows
        ("s3", "GetObject", False),
    ]


def test_rows_remembered_after_the_whole_account_was_read_are_not_doubled(account: LinkedAccount) -> None:
    _sync(account, Collected(gaad=_gaad(), last_accessed={CI: _report(3), ADMIN: _report(5)}))
    ci = Principal.objects.get(arn=CI).pk
    everyone = set(Principal.objects.filter(account=account).values_list("pk", flat=True))
    with usage_rows_read_once():
        before = {pid: list(rows) for pid, rows in account_usage_rows(account.pk).items()}
        usage_rows_remember(account.pk, {ci: before[ci]}, principals=everyone)
        assert account_usage_rows(account.pk) == before


def test_a_groups_usage_reads_its_members_in_queries_that_do_not_grow_with_them(
    account: LinkedAccount,
) -> None:
    """A group's (or a permission set's) usage reads every member's rows, collection time and review
    window at once: the same number of queries for 2 members as for 8 (one per member before)."""
    from findings.facts import group_usage
    from findings.window_models import PrincipalWindow

    _sync(account, Collected(gaad=_gaad(), last_accessed={CI: _report(3), ADMIN: _report(5)}))
    group = Principal.objects.create(
        account=account, arn=f"arn:aws:iam::{ACCOUNT}:group/wide", kind="group", name="wide"
    )

    def members(count: int) -> int:
        for n in range(count):
            user = Principal.objects.create(
                account=account, arn=f"arn:aws:iam::{ACCOUNT}:user/m{count}-{n}", kind="user",
                name=f"m{count}-{n}", groups=["wide"],
            )  # fmt: skip
            if n == 0:
                PrincipalWindow.objects.create(principal=user, unused_days=30, reason="short-lived")
        with CaptureQueriesContext(connection) as queries:
            usage = group_usage(group)
        assert usage.status == "no-data"  # members created by hand: nothing reported for them
        return len(queries)

    assert members(2) == members(6)  # 2 members, then 8
