"""Incremental ingest: an unchanged re-import writes nothing, a one-document change rewrites only the
principals it affects (the role changed and those who can assume it), and the findings equal a full
analysis of the changed file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import LinkedAccount, SyncRun
from findings.models import Finding, Principal

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gaad" / "small-account.json"
ACCOUNT = "111122223333"
pytestmark = pytest.mark.django_db
WRITE = re.compile(r'(INSERT INTO|UPDATE|DELETE FROM) "findings_')


def _policy(actions: list[str] | str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }


def _account_file() -> dict[str, Any]:
    """The small fixture, plus a role `hub` the account trusts, a user `carol` who may assume only it, and
    bystander roles that nothing connects to the hub."""
    data = json.loads(FIXTURE.read_text())
    root_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    service_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    data["RoleDetailList"].append(
        {
            "RoleName": "hub",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/hub",
            "AssumeRolePolicyDocument": root_trust,
            "RolePolicyList": [{"PolicyName": "work", "PolicyDocument": _policy(["s3:GetObject"])}],
            "AttachedManagedPolicies": [],
        }
    )
    for i in range(4):
        data["RoleDetailList"].append(
            {
                "RoleName": f"worker-{i}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/worker-{i}",
                "AssumeRolePolicyDocument": service_trust,
                "RolePolicyList": [
                    {
                        "PolicyName": "data",
                        "PolicyDocument": _policy(["s3:GetObject"], f"arn:aws:s3:::b{i}/*"),
                    }
                ],
                "AttachedManagedPolicies": [],
            }
        )
    data["UserDetailList"].append(
        {
            "UserName": "carol",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/carol",
            "GroupList": [],
            "UserPolicyList": [
                {
                    "PolicyName": "hop",
                    "PolicyDocument": _policy("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/hub"),
                }
            ],
            "AttachedManagedPolicies": [],
        }
    )
    return data


def _import(tmp_path: Path, data: dict[str, Any], name: str, indent: int | None = None) -> SyncRun:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data, indent=indent))
    call_command("import_gaad", str(path), "--account", ACCOUNT)
    return SyncRun.objects.filter(account__account_id=ACCOUNT).order_by("-id").first()  # type: ignore[return-value]


def _row_versions(table: str) -> dict[int, str]:
    """Each row's xmin: the (sub)transaction that last wrote it. Every import runs in its own savepoint."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, xmin::text FROM {table}")  # noqa: S608 - our own table names
        return dict(cur.fetchall())


def _state() -> tuple[dict[str, Any], set[tuple[Any, ...]]]:
    principals = {
        p.arn: (
            p.risk_score,
            p.is_admin,
            p.reaches_admin,
            p.admin_path,
            p.escalation_paths,
            p.score_explanation,
            p.documents_hash,
        )
        for p in Principal.objects.filter(account__account_id=ACCOUNT)
    }
    findings = set(
        Finding.objects.filter(account__account_id=ACCOUNT, status="open").values_list(
            "fingerprint", "principal_arn", "kind", "severity", "title", "detail"
        )
    )
    return principals, findings


def test_unchanged_reimport_writes_no_principal_finding_or_document_row(tmp_path: Path) -> None:
    data = _account_file()
    _import(tmp_path, data, "first")
    before = _state()
    with CaptureQueriesContext(connection) as queries:
        run = _import(tmp_path, data, "again")
    writes = [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
    assert writes == []
    assert any(q["sql"].startswith('UPDATE "accounts_syncrun"') for q in queries.captured_queries)
    assert run.status == "succeeded" and run.counts["unchanged"] is True
    assert run.counts["principals"] == len(before[0]) and run.counts["findings_created"] == 0
    assert _state() == before
    # Other bytes, the same content (indented, keys in another order): read, found unchanged, not written.
    reordered = {key: data[key] for key in reversed(list(data))}
    with CaptureQueriesContext(connection) as queries:
        run = _import(tmp_path, reordered, "reformatted", indent=2)
    assert run.counts["unchanged"] is True
    assert [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])] == []


def test_a_new_linked_account_is_an_input_so_the_same_file_is_analysed_again(tmp_path: Path) -> None:
    data = _account_file()
    _import(tmp_path, data, "first")
    LinkedAccount.objects.create(account_id="444455556666", name="other")  # trusting it needs no ExternalId
    run = _import(tmp_path, data, "again")
    assert run.counts["unchanged"] is False and run.counts["analyzed"] > 0


def test_one_document_change_rewrites_the_role_and_who_can_assume_it_only(tmp_path: Path) -> None:
    data = _account_file()
    _import(tmp_path, data, "first")
    principals_before = _row_versions("findings_principal")
    ids = dict(Principal.objects.filter(account__account_id=ACCOUNT).values_list("arn", "id"))
    carol_before = Principal.objects.get(name="carol")
    assert not carol_before.reaches_admin

    changed = copy.deepcopy(data)
    hub = next(r for r in changed["RoleDetailList"] if r["RoleName"] == "hub")
    hub["RolePolicyList"][0]["PolicyDocument"] = _policy("*")  # the hub becomes an administrator
    run = _import(tmp_path, changed, "changed")
    assert run.counts["unchanged"] is False and run.counts["changed"] == 1

    principals_after = _row_versions("findings_principal")
    rewritten = {arn for arn, pk in ids.items() if principals_after[pk] != principals_before[pk]}
    hub_arn, carol_arn = f"arn:aws:iam::{ACCOUNT}:role/hub", f"arn:aws:iam::{ACCOUNT}:user/carol"
    # The changed role, and carol, whose path to an administrator now runs through it. bob (sts:AssumeRole
    # on *) already reached one through role/admin; the bystanders and the rest are not written.
    assert {hub_arn, carol_arn} <= rewritten
    assert not any("worker-" in arn for arn in rewritten)
    assert rewritten <= {hub_arn, carol_arn, f"arn:aws:iam::{ACCOUNT}:user/bob"}
    carol = Principal.objects.get(name="carol")
    assert carol.reaches_admin and carol.admin_path["hops"][-1]["to"] == hub_arn

    # The same findings and results as a full analysis of the changed file into an empty database.
    incremental = _state()
    LinkedAccount.objects.filter(account_id=ACCOUNT).delete()
    _import(tmp_path, changed, "fresh")
    full = _state()
    assert incremental[0] == full[0]
    assert {f[1:] for f in incremental[1]} == {f[1:] for f in full[1]}


def test_a_role_used_again_today_is_written_alone(tmp_path: Path) -> None:
    """iamreview's own read role is used by every sync: its last use moves, and only its row is written."""
    data = _account_file()
    today = timezone.now().date().isoformat()
    hub = next(r for r in data["RoleDetailList"] if r["RoleName"] == "hub")
    hub["RoleLastUsed"] = {"LastUsedDate": f"{today}T00:00:01Z", "Region": "us-east-1"}
    _import(tmp_path, data, "first")
    before = _row_versions("findings_principal")
    hub["RoleLastUsed"] = {"LastUsedDate": f"{today}T00:00:02Z", "Region": "eu-west-1"}
    with CaptureQueriesContext(connection) as queries:
        run = _import(tmp_path, data, "again")
    assert run.counts["unchanged"] is True and run.counts["last_used_moved"] == 1
    after = _row_versions("findings_principal")
    hub_row = Principal.objects.get(name="hub")
    assert {pk for pk in before if before[pk] != after[pk]} == {hub_row.pk}
    assert hub_row.last_used_region == "eu-west-1" and hub_row.last_used_at.second == 2
    assert [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])] == [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "findings_principal"')
    ]


def test_a_first_import_sends_as_many_statements_for_300_roles_as_for_100(tmp_path: Path) -> None:
    """No statement per principal anywhere in the ingest (store, analysis, findings): a field left out of a
    narrowed load (`QuerySet.only`) is read back one principal at a time, which this counts."""
    from benchmarks.gen_gaad import generate

    def statements(roles: int, account: str) -> int:
        path = tmp_path / f"gaad-{roles}.json"
        path.write_text(json.dumps(generate(roles)).replace("123456789012", account))
        with CaptureQueriesContext(connection) as queries:
            call_command("import_gaad", str(path), "--account", account)
        return len(queries)

    small, large = statements(100, "111111111111"), statements(300, "222222222222")
    assert large == small, (small, large)
