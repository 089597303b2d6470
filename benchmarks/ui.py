"""Server time of the review pages on a large dataset: 100,000 principals, 1,000,000 last-accessed rows,
and real administrators (AdministratorAccess, Access Advisor rows for every service of the catalog).

    .venv/bin/python benchmarks/ui.py [--principals 100000] [--requests 40] [--database iamreview_uibench]

Seeds a dedicated PostgreSQL database, then times each page through Django's test client (server time, no
network), with its HTML size, and counts its SQL queries at two page sizes. The administrators' account is
stored the way a sync stores one (`findings.ingest.snapshot_ingest` of a generated authorization-details
file plus its Access Advisor answers), so their pages show what a real administrator's would.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "iamreview_uibench"
ADMIN_ACCOUNT = "123456789012"  # the account benchmarks/gen_gaad.py writes


def seed(principals: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import LinkedAccount
    from findings.models import Finding, Principal, SnapshotChange

    rng = random.Random(1)
    accounts = [
        LinkedAccount.objects.create(account_id=f"{700000000000 + i}", name=f"acct-{i}") for i in range(5)
    ]
    now = timezone.now()
    explanation = [{"kind": "admin", "severity": "critical", "points": 70.0, "reason": "Allows every action"}]
    batch = []
    for i in range(principals):
        score = min(100, int(rng.expovariate(1 / 25)))
        batch.append(
            Principal(
                account=accounts[i % 5],
                arn=f"arn:aws:iam::{accounts[i % 5].account_id}:role/r{i:06d}",
                kind="role" if i % 7 else "user",
                name=f"r{i:06d}",
                risk_score=score,
                is_admin=score > 90,
                score_explanation=explanation if score > 60 else [],
                unused_count=rng.randint(0, 40),
                last_used_at=now - timedelta(days=rng.randint(0, 300)),
                analyzed_at=now,
                tags={"team": rng.choice(["data", "web", "ops"])},
            )
        )
        if len(batch) == 5000:
            Principal.objects.bulk_create(batch)
            batch = []
    Principal.objects.bulk_create(batch)
    ids = list(Principal.objects.values_list("id", "account_id", "arn"))
    services = ["s3", "ec2", "iam", "sqs", "sns", "dynamodb", "lambda", "kms", "logs", "sts"]
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(
            "COPY findings_lastaccessed (principal_id, service, service_name, action, last_accessed_at, region, entity, tracked, collected_at) FROM STDIN"
        ) as copy,
    ):
        for pid, _, _ in ids:
            for s in services:
                copy.write_row(
                    (
                        pid,
                        s,
                        s.upper(),
                        "",
                        now - timedelta(days=rng.randint(0, 400)),
                        "us-east-1",
                        "",
                        True,
                        now,
                    )
                )
    findings = []
    for pid, account_id, arn in ids[: principals // 2]:
        findings.append(
            Finding(
                fingerprint=f"{pid:064d}",
                account_id=account_id,
                principal_id=pid,
                principal_arn=arn,
                kind="unused-service",
                severity=(sev := rng.choice(["critical", "high", "medium", "low"])),
                severity_rank=["critical", "high", "medium", "low"].index(sev),
                subject="s3",
                title="s3 granted but not used",
                detail="",
                first_seen=now - timedelta(days=rng.randint(0, 60)),
                last_seen=now,
            )
        )
        if len(findings) == 5000:
            Finding.objects.bulk_create(findings)
            findings = []
    Finding.objects.bulk_create(findings)
    # Drift: a fifth of the principals added since the last sync (the drift page's largest list).
    SnapshotChange.objects.bulk_create(
        (
            SnapshotChange(account_id=account_id, kind="principal_added", principal_arn=arn)
            for _, account_id, arn in ids[: principals // 5]
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _advisor_answer(services: list[str], used_every: int, now: object) -> list[dict[str, object]]:
    """Access Advisor's ServicesLastAccessed for a principal granted every service: one in `used_every`
    used within the last weeks, the rest never; action-level rows for the services AWS tracks by action."""
    from datetime import datetime

    from policy.catalog import default_catalog

    assert isinstance(now, datetime)
    catalog = default_catalog()
    by_service: dict[str, list[str]] = {}
    for action in catalog.all_actions:
        by_service.setdefault(action.split(":", 1)[0], []).append(action.split(":", 1)[1])
    answer: list[dict[str, object]] = []
    for n, service in enumerate(services):
        used = n % used_every == 0
        when = (now - timedelta(days=n % 30 + 1)).isoformat() if used else None
        item: dict[str, object] = {
            "ServiceNamespace": service,
            "ServiceName": service.upper(),
            "LastAuthenticated": when,
            "LastAuthenticatedRegion": "us-east-1" if used else None,
            "LastAuthenticatedEntity": None,
        }
        if service in ("s3", "ec2", "iam", "lambda"):
            item["TrackedActionsLastAccessed"] = [
                {"ActionName": a, "LastAccessedTime": when if i % 3 == 0 else None}
                for i, a in enumerate(sorted(by_service.get(service, []))[:150])
            ]
        answer.append(item)
    return answer


def seed_administrators(roles: int = 200) -> list[int]:
    """One account stored as a sync stores it, whose administrators (AdministratorAccess roles, one added
    for sure) have Access Advisor rows for every service of the catalog; their principal ids."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.aws.collect import Collected
    from accounts.models import LinkedAccount
    from accounts.sync import SyncMeter, sync_run_start_import, sync_run_succeed
    from benchmarks.gen_gaad import generate
    from findings.ingest import snapshot_ingest
    from findings.models import Principal
    from policy.catalog import default_catalog

    gaad = generate(roles)
    admin = dict(gaad["RoleDetailList"][0])
    admin.update(
        RoleName="bench-administrator",
        RoleId="AROABENCHADMINISTRATOR",
        Arn=f"arn:aws:iam::{ADMIN_ACCOUNT}:role/bench-administrator",
        RolePolicyList=[],
        AttachedManagedPolicies=[
            {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        ],
    )
    gaad["RoleDetailList"].append(admin)
    if not any(p["PolicyName"] == "AdministratorAccess" for p in gaad["Policies"]):
        template = dict(gaad["Policies"][0])
        template.update(
            PolicyName="AdministratorAccess",
            DefaultVersionId="v1",
            Arn="arn:aws:iam::aws:policy/AdministratorAccess",
            PolicyVersionList=[
                {
                    "Document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    },
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "CreateDate": "2020-01-01T00:00:00Z",
                }
            ],
        )
        gaad["Policies"].append(template)
    admins = [
        r["Arn"]
        for r in gaad["RoleDetailList"]
        if any(p["PolicyName"] == "AdministratorAccess" for p in r["AttachedManagedPolicies"])
    ]
    now = timezone.now()
    services = sorted({a.split(":", 1)[0] for a in default_catalog().all_actions})
    collected = Collected(
        gaad=gaad,
        last_accessed={arn: _advisor_answer(services, 3, now) for arn in admins},
        collected_at=now,
    )
    account = LinkedAccount.objects.create(account_id=ADMIN_ACCOUNT, name="administrators", enabled=False)
    run = sync_run_start_import(account=account)
    assert run is not None
    meter = SyncMeter()
    with transaction.atomic():
        counts = snapshot_ingest(account=account, collected=collected, run=run, meter=meter)
        sync_run_succeed(run=run, counts=counts, meter=meter)
    return list(
        Principal.objects.filter(account=account, arn__in=admins).order_by("id").values_list("id", flat=True)
    )


def measure(client, url: str, n: int, **headers: str) -> tuple[float, float, int, int]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(url, **headers)
            times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], queries, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--principals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database", default=DB, help="dropped and created again")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    db = args.database
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True
    )
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    os.environ.update(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{db}",
        DJANGO_SETTINGS_MODULE="iamreview.settings",
        ALLOWED_HOSTS="testserver",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.roles import Role
    from benchmarks.report import replace_section

    setup_test_environment()
    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    seed(args.principals)
    admins = seed_administrators()
    seeded = time.perf_counter() - t
    from django.contrib.auth.models import Group, User

    from findings.models import LastAccessed, Principal

    user = User.objects.create_user("bench", password="x" * 16)
    user.groups.add(Group.objects.get(name=Role.VIEWER.group_name))
    client = Client()
    client.force_login(user)
    sample = Principal.objects.filter(risk_score__gte=60).first()
    assert sample is not None
    pages = [
        ("dashboard", "/"),
        ("principals, riskiest first", "/principals/"),
        ("principals, filtered (role, high band, search)", "/principals/?type=role&band=high&q=r01"),
        ("principals, sorted by name, page 200", "/principals/?sort=name&page=200"),
        ("principal page", f"/principals/{sample.pk}/"),
        ("findings, by severity", "/findings/"),
        (f"drift, last 7 days ({args.principals // 5:,} principals added)", "/drift/"),
    ]
    for pk in admins[:2]:
        services = LastAccessed.objects.filter(principal_id=pk, action="").count()
        pages += [
            (f"principal page, administrator ({services} services)", f"/principals/{pk}/"),
            ("its services, page 2 (htmx)", f"/principals/{pk}/?services_page=2"),
            ("its ec2 actions, page 1 (htmx)", f"/principals/{pk}/services/ec2/"),
        ]
    rows = []
    for label, url in pages:
        measure(client, url, 3)  # warm caches (catalog, templates)
        htmx = {"HTTP_HX_REQUEST": "true"} if "(htmx)" in label else {}
        median, p95, queries, size = measure(client, url, args.requests, **htmx)
        rows.append(
            f"| {label} | `{url}` | {median:.0f} ms | {p95:.0f} ms | {queries} | {size / 1024:,.0f} KiB |"
        )
        print(rows[-1], flush=True)
    from findings import views

    views.PAGE_SIZE = 25
    small = measure(client, "/principals/", 5)[2]
    views.PAGE_SIZE = 100
    large = measure(client, "/principals/", 5)[2]
    table = "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 15 on localhost; command: "
            f"`.venv/bin/python benchmarks/ui.py --principals {args.principals} --requests {args.requests}`",
            f"Dataset: {Principal.objects.count():,} principals in 6 accounts (one stored by the ingest, with {len(admins)} administrator{'s' if len(admins) != 1 else ''}), {LastAccessed.objects.count():,} last-accessed rows, "
            f"{args.principals // 2:,} findings (seeded in {seeded:.0f} s). Server time through Django's test client, "
            f"{args.requests} requests per page after 3 warm-up requests.",
            "",
            "| page | URL | median | p95 | SQL queries | HTML |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"SQL queries of the principals list with 25 rows per page: {small}; with 100 rows: {large} (it does not grow with rows shown).",
        ]
    )
    print(table)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "ui", table)


if __name__ == "__main__":
    main()
