"""Store and analysis of one sync against the pure engine, on the same collected account, in one process.

    .venv/bin/python benchmarks/ingest.py                         # a 2,000-principal fakeaws account
    .venv/bin/python benchmarks/ingest.py --principals 500 --repeat 3 --no-write

A bench account (benchmarks/scenarios.py: managed policies, Access Advisor use) is seeded into a fakeaws
server and collected once, as a live sync collects it (`accounts.sync.sync_collect`). The same collected data
is then, --repeat times: analysed by the engine alone (`load_gaad` + `AccountAnalysis.run()`, as
`manage.py analyze` does), and ingested as a first sync into a fresh database (`findings.ingest.
snapshot_ingest`: the snapshot, the Access Advisor rows, the analysis and the findings, in one transaction,
committed). A second ingest of the same account with one document changed measures a changed re-sync. The
best of the repeats is reported, and written into docs/benchmarks.md between the `ingest` markers.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCOUNT = "900000000000"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--principals", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="iamreview_bench_ingest")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if not args.db.startswith("iamreview_bench"):
        parser.error(
            "--db: the benchmark drops and recreates it, so its name must start with iamreview_bench"
        )

    from benchmarks.report import fresh_database
    from tests.processes import FakeAwsServer

    work = ROOT / "var" / "bench" / "ingest"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["FAKEAWS_BENCH_SIZES"] = str(args.principals)
    server = FakeAwsServer(work, scenario="bench", start_timeout=3600)
    fresh_database(args.db)
    os.environ.update(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{args.db}",
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID="fakeaws",
        AWS_SECRET_ACCESS_KEY="fakeaws",  # noqa: S106 - the local fake AWS accepts any key
        IAMREVIEW_POLL_MS="50",
        IAMREVIEW_BUILD_SUGGESTIONS="0",
        DJANGO_SETTINGS_MODULE="iamreview.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction

    from accounts.models import LinkedAccount, SyncRun
    from accounts.sync import SyncMeter, sync_collect, sync_run_succeed
    from benchmarks.report import replace_section
    from findings.ingest import snapshot_ingest
    from policy.analyze import AccountAnalysis
    from policy.catalog import default_catalog
    from policy.gaad import load_gaad

    def link() -> LinkedAccount:
        call_command("migrate", verbosity=0)
        return LinkedAccount.objects.create(
            account_id=ACCOUNT, name="bench", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
        )

    try:
        account = link()
        collected = sync_collect(run=SyncRun.objects.create(account=account), meter=SyncMeter())
    finally:
        server.stop()
    catalog = default_catalog()
    rows = sum(  # services and their tracked actions, as AWS reports them
        len(services) + sum(len(s.get("TrackedActionsLastAccessed") or ()) for s in services)
        for services in (collected.last_accessed or {}).values()
    )

    def ingest(account: LinkedAccount, data: Any) -> tuple[float, dict[str, Any]]:
        run = SyncRun.objects.create(account=account, status="running")
        meter = SyncMeter()
        started = time.perf_counter()
        with transaction.atomic():
            counts = snapshot_ingest(account=account, collected=data, run=run, meter=meter)
            sync_run_succeed(run=run, counts=counts, meter=meter)
        return time.perf_counter() - started, counts

    engine, first, changed = [], [], []
    counts: dict[str, Any] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        AccountAnalysis(load_gaad(collected.gaad, ACCOUNT), catalog).run()
        engine.append(time.perf_counter() - started)
        connections.close_all()
        fresh_database(args.db)
        account = link()
        seconds, counts = ingest(account, collected)
        first.append(seconds)
        moved = copy.copy(collected)
        moved.gaad = copy.deepcopy(collected.gaad)
        role = moved.gaad["RoleDetailList"][0]
        role["RolePolicyList"] = [
            {
                "PolicyName": "bench-change",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
                },
            }
        ]
        changed.append(ingest(account, moved)[0])
    best_engine, best_first, best_changed = min(engine), min(first), min(changed)
    load = os.getloadavg()
    body = "\n".join(
        [
            f"Machine: {os.cpu_count()} cores (load average {load[0]:.1f} after), Python "
            f"{platform.python_version()}, PostgreSQL 15 on localhost; command: "
            f"`.venv/bin/python benchmarks/ingest.py --principals {args.principals} --repeat {args.repeat}`. "
            f"One fakeaws account: {counts.get('principals', 0):,} principals, {rows:,} Access Advisor "
            f"entries reported (services and tracked actions), {counts.get('findings_created', 0):,} findings; best of {args.repeat}.",
            "",
            "| step | seconds | per principal | x engine |",
            "|---|---|---|---|",
            f"| engine alone (`load_gaad` + `AccountAnalysis.run()`) | {best_engine:.2f} | "
            f"{best_engine / max(counts.get('principals', 1), 1) * 1000:.2f} ms | 1.00 |",
            f"| first sync: store + analysis + findings, committed | {best_first:.2f} | "
            f"{best_first / max(counts.get('principals', 1), 1) * 1000:.2f} ms | {best_first / best_engine:.1f} |",
            f"| re-sync, one inline policy added | {best_changed:.2f} | "
            f"{best_changed / max(counts.get('principals', 1), 1) * 1000:.2f} ms | {best_changed / best_engine:.1f} |",
        ]
    )
    print(body)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "ingest", body)


if __name__ == "__main__":
    main()
