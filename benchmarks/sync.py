"""Sync accounts of 200 and 1,000 principals from a fakeaws server into PostgreSQL.

    .venv/bin/python benchmarks/sync.py [--sizes 200 1000] [--repeat-small 3]

Records wall time, API calls per principal and resident memory after each sync (several accounts in one
process, to show memory does not grow with the number synced) in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--repeat-small", type=int, default=3, help="extra accounts of the first size")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes + [args.sizes[0]] * args.repeat_small

    from tests.processes import FakeAwsServer

    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["FAKEAWS_BENCH_SIZES"] = ",".join(map(str, sizes))
    started = time.perf_counter()
    server = FakeAwsServer(work, scenario="bench")
    seeded = time.perf_counter() - started
    db = "iamreview_bench"
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True
    )
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    os.environ.update(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{db}",
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID="fakeaws",
        AWS_SECRET_ACCESS_KEY="fakeaws",  # noqa: S106 - the local fake AWS accepts any key
        IAMREVIEW_POLL_MS="50",
        DJANGO_SETTINGS_MODULE="iamreview.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import LinkedAccount, SyncRun
    from benchmarks.report import replace_section
    from findings.ingest import sync_run_execute

    rows = []
    try:
        for i in range(len(sizes)):
            account_id = f"{900000000000 + i:012d}"
            account = LinkedAccount.objects.create(
                account_id=account_id,
                name=f"bench-{i}",
                role_arn=f"arn:aws:iam::{account_id}:role/iamreview-read",
            )
            run = SyncRun.objects.create(account=account)
            t = time.perf_counter()
            done = sync_run_execute(run_id=run.pk)
            wall = time.perf_counter() - t
            assert done is not None and done.status == "succeeded", done.error if done else "not claimed"
            principals = done.counts["principals"]
            calls = done.total_api_calls
            constant = sum(
                n
                for k, n in done.api_calls.items()
                if k.split(":")[1]
                in (
                    "AssumeRole",
                    "GetAccountAuthorizationDetails",
                    "GenerateCredentialReport",
                    "GetCredentialReport",
                    "ListAnalyzers",
                )
            )
            rows.append(
                f"| {i + 1} | {principals} | {wall:.1f} s | {calls} | {(calls - constant) / principals:.2f} "
                f"| {done.timings.get('access_advisor', 0):.1f} s | {done.timings.get('store', 0) + done.timings.get('analyze', 0):.1f} s "
                f"| {rss_mib():.0f} MiB |"
            )
            print(rows[-1], flush=True)
    finally:
        server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 15 on localhost; "
            f"command: `.venv/bin/python benchmarks/sync.py --sizes {' '.join(map(str, args.sizes))} --repeat-small {args.repeat_small}`",
            f"(seeding the fakeaws server took {seeded:.0f} s and is not counted). Accounts are synced one after another "
            'in one process; "resident" is the process\'s memory after each sync.',
            "",
            "| # | principals | wall time | API calls | calls per principal (beyond a fixed handful per account) "
            "| Access Advisor | store + analyse | resident after |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Peak resident memory of the whole run: {peak:.0f} MiB.",
        ]
    )
    print(table)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "sync", table)


if __name__ == "__main__":
    main()
