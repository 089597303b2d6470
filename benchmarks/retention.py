"""Time of the daily retention prune (findings/retention.py) on a large history, and of a second run.

    .venv/bin/python benchmarks/retention.py [--principals 100000] [--days-of-history 3] [--database iamreview_retbench]

Seeds a dedicated PostgreSQL database with principals (as benchmarks/ui.py does) and, for each, four score
changes a day on `--days-of-history` days older than the retention period plus one young day; old drift
changes, sync runs and unreferenced policy documents. Then runs the prune twice and prints what each run
removed and how long it took.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def seed_history(days: int) -> None:
    from django.db import connection

    from accounts.models import LinkedAccount, SyncRun
    from findings.models import SnapshotChange

    with connection.cursor() as cursor:
        # Four scores a day: `days` days beyond 400 days ago and one young day.
        cursor.execute(
            """
            INSERT INTO findings_scorehistory (principal_id, recorded_at, score)
            SELECT p.id, now() - make_interval(days => d) + make_interval(hours => h), (p.id + h) %% 100
            FROM findings_principal p,
                 (SELECT generate_series(401, 400 + %s) AS d UNION ALL SELECT 3) days,
                 generate_series(0, 3) AS h
            """,
            [days],
        )
        cursor.execute(
            """
            INSERT INTO findings_policydocument (sha256, document, size, created_at)
            SELECT md5(n::text) || md5((n + 1)::text), '{"Version": "2012-10-17", "Statement": []}', 40,
                   now() - interval '500 days'
            FROM generate_series(1, 20000) AS n
            """
        )
    for account in LinkedAccount.objects.all():
        runs = [
            SyncRun(account=account, status="succeeded", counts={"principals": 1}) for _ in range(6 * days)
        ]
        SyncRun.objects.bulk_create(runs)
        SnapshotChange.objects.bulk_create(
            SnapshotChange(account=account, kind="principal_added", principal_arn=f"arn:x:{n}")
            for n in range(2000)
        )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_syncrun SET created_at = now() - interval '450 days'")
        cursor.execute("UPDATE findings_snapshotchange SET created_at = now() - interval '450 days'")
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--principals", type=int, default=100_000)
    parser.add_argument("--days-of-history", type=int, default=3)
    parser.add_argument("--database", default="iamreview_retbench", help="dropped and created again")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    db = args.database
    for sql in (f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    os.environ.update(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{db}", DJANGO_SETTINGS_MODULE="iamreview.settings"
    )
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks.report import replace_section
    from benchmarks.ui import seed
    from findings.models import ScoreHistory
    from findings.retention import retention_prune

    call_command("migrate", verbosity=0)
    seed(args.principals)
    seed_history(args.days_of_history)
    rows = ScoreHistory.objects.count()
    t = time.perf_counter()
    first = retention_prune()
    first_wall = time.perf_counter() - t
    t = time.perf_counter()
    second = retention_prune()
    second_wall = time.perf_counter() - t
    lines = [
        f"Machine: {os.cpu_count()} cores, PostgreSQL 15 on localhost; command: `.venv/bin/python "
        f"benchmarks/retention.py --principals {args.principals} --days-of-history {args.days_of_history}`",
        f"History: {rows:,} score-history rows ({args.principals:,} principals, four scores a day on "
        f"{args.days_of_history} days older than 400 days and one young day), old sync runs, drift changes "
        "and 20,000 unreferenced documents; `IAMREVIEW_RETENTION_BATCH` 2000.",
        "",
        "| run | score history | snapshot changes | sync runs | organisation snapshots | suggestions | documents | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, figures, wall in (("first", first, first_wall), ("second", second, second_wall)):
        d = figures["deleted"]
        lines.append(
            f"| {label} | {d['score_history']:,} | {d['snapshot_changes']:,} | {d['sync_runs']:,} | "
            f"{d['organization_snapshots']:,} | {d['suggestions']:,} | {d['policy_documents']:,} | {wall:.1f} s |"
        )
    steps = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in first["seconds"].items())
    lines += ["", f"Time per table in the first run: {steps}."]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "retention", table)


if __name__ == "__main__":
    main()
