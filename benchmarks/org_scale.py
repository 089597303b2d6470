"""An organisation synced by real Celery workers from the fakeaws server into PostgreSQL, twice.

    .venv/bin/python benchmarks/org_scale.py                      # 20 accounts of 2,000-10,000, one of 50,000
    .venv/bin/python benchmarks/org_scale.py --accounts 20 --min 200 --max 1000 --big 5000   # scaled down

N accounts (sizes evenly spread from --min to --max principals, plus one of --big) are seeded into a fakeaws
server, linked, and synced by --workers Celery workers (one process each, `-P solo`) into a fresh database:
a first sync of every account, then an unchanged re-sync of every account. Printed and written into
docs/benchmarks.md between the `org_scale` markers: wall time of each round, store + analysis time per
principal, the database's growth, the workers' peak resident memory, and the pure engine (authorization
details parsed and analysed in this process, as `manage.py analyze` does) on the same accounts, measured in
the same run while the workers are idle. Suggestions are not built (IAMREVIEW_BUILD_SUGGESTIONS=0): the
figures are the sync's.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = ("digest", "store", "analyze")  # the sync's own work, after its AWS reads
TARGETS = (
    "Targets (issue 20): store and analysis of a first sync within 4x the pure engine on the same accounts; "
    "an unchanged re-sync within 1x; database growth of an unchanged re-sync under 1% of what the first "
    "sync stored."
)


def sizes_of(args: argparse.Namespace) -> list[int]:
    n = args.accounts
    step = (args.max - args.min) / max(n - 1, 1)
    sizes = [round(args.min + step * i) for i in range(n)]
    return sizes + ([args.big] if args.big else [])


def psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def db_sizes(db: str) -> dict[str, int]:
    """The whole database, and the tables a sync writes (rows, indexes, TOAST)."""
    tables = psql(
        db,
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND (c.relname LIKE 'findings\\_%' OR c.relname IN ('accounts_syncrun', 'core_auditevent'))",
    )
    return {"database": int(psql(db, f"SELECT pg_database_size('{db}')")), "tables": int(tables or 0)}


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak(pid: int) -> None:
    """Linux: writing 5 to clear_refs resets the process's peak resident size (VmHWM)."""
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")


def sync_round(
    accounts: list[Any], workers: list[Any], timeout: float
) -> tuple[float, list[Any], list[float]]:
    from accounts.models import SyncRun
    from accounts.sync import sync_run_request

    for proc in workers:
        reset_peak(proc.pid)
    started = time.perf_counter()
    runs = [sync_run_request(account=a, trigger="manual")[0] for a in accounts]
    deadline = time.monotonic() + timeout
    pending = {r.pk for r in runs}
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"runs {sorted(pending)} did not finish in {timeout:.0f} s")
        done = SyncRun.objects.filter(pk__in=pending).exclude(status__in=["queued", "running"])
        pending -= set(done.values_list("pk", flat=True))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    runs = list(SyncRun.objects.filter(pk__in=[r.pk for r in runs]).select_related("account"))
    failed = [r for r in runs if r.status != "succeeded"]
    if failed:
        raise SystemExit(f"{len(failed)} sync(s) failed, e.g. {failed[0].account}: {failed[0].error}")
    return wall, runs, [peak_rss_mib(p.pid) for p in workers]


def engine_seconds(account: Any) -> tuple[float, int]:
    """The pure engine on the account's authorization details as the sync reads them: parse and analyse,
    in this process (no database)."""
    from accounts.aws.client import AwsSession
    from accounts.aws.collect import authorization_details
    from accounts.services import aws_target
    from policy.analyze import AccountAnalysis
    from policy.catalog import default_catalog
    from policy.gaad import load_gaad

    gaad = authorization_details(AwsSession(aws_target(account)).client("iam"))
    catalog = default_catalog()
    started = time.perf_counter()
    details = load_gaad(gaad, account.account_id)
    AccountAnalysis(details, catalog).run()
    return time.perf_counter() - started, len(details.principals)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--min", type=int, default=2000, help="principals of the smallest account")
    parser.add_argument("--max", type=int, default=10000, help="principals of the largest of the N")
    parser.add_argument("--big", type=int, default=50000, help="one more account of this size (0: none)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="iamreview_bench_org")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per round")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if not args.db.startswith("iamreview_bench"):
        parser.error(
            "--db: the benchmark drops and recreates it, so its name must start with iamreview_bench"
        )
    sizes = sizes_of(args)
    command = " ".join(["benchmarks/org_scale.py", *sys.argv[1:]])

    from tests.processes import FakeAwsServer, celery_worker

    work = ROOT / "var" / "bench" / "org"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["FAKEAWS_BENCH_SIZES"] = ",".join(map(str, sizes))
    load_before = os.getloadavg()
    started = time.perf_counter()
    server = FakeAwsServer(work, scenario="bench", start_timeout=args.timeout)
    seeded = time.perf_counter() - started
    print(f"seeded {len(sizes)} accounts, {sum(sizes)} principals, in {seeded:.0f} s", flush=True)
    for sql in (f"DROP DATABASE IF EXISTS {args.db}", f"CREATE DATABASE {args.db}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    queue = f"orgbench-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{args.db}",
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": "fakeaws",
        "AWS_SECRET_ACCESS_KEY": "fakeaws",
        "IAMREVIEW_POLL_MS": "50",
        "IAMREVIEW_ADVISOR_MAX_WAIT": "1800",
        "IAMREVIEW_BUILD_SUGGESTIONS": "0",
        "CELERY_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "iamreview.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import LinkedAccount
    from benchmarks.report import replace_section

    accounts = [
        LinkedAccount.objects.create(
            account_id=f"{900000000000 + i:012d}",
            name=f"org-{i:02d}",
            role_arn=f"arn:aws:iam::{900000000000 + i:012d}:role/iamreview-read",
        )
        for i in range(len(sizes))
    ]
    order = sorted(
        accounts, key=lambda a: -sizes[accounts.index(a)]
    )  # largest first: no straggler at the end
    size_empty = db_sizes(args.db)
    rounds: dict[str, Any] = {}
    try:
        with ExitStack() as stack:
            workers = [
                stack.enter_context(celery_worker(queue, env, work / f"worker-{i}.log"))
                for i in range(args.workers)
            ]
            time.sleep(3)  # the workers connect to the broker
            for name in ("first sync", "unchanged re-sync"):
                wall, runs, peaks = sync_round(order, workers, args.timeout)
                rounds[name] = {"wall": wall, "runs": runs, "peaks": peaks, "size": db_sizes(args.db)}
                print(f"{name}: {wall:.1f} s, worker peaks {peaks}, {rounds[name]['size']}", flush=True)
        engine = {a.account_id: engine_seconds(a) for a in order}
    finally:
        server.stop()
    load_after = os.getloadavg()

    principals = sum(n for _, n in engine.values())
    engine_total = sum(t for t, _ in engine.values())
    lines = [
        f"Machine: {os.cpu_count()} cores shared with other work (load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after), Python {platform.python_version()}, PostgreSQL 15 on localhost; "
        f"command: `.venv/bin/python {command}`",
        f"{len(sizes)} accounts ({min(sizes):,}-{max(sizes):,} principals, {principals:,} in all), seeded in "
        f"{seeded:.0f} s (not counted); {args.workers} Celery workers (`-P solo`), largest account queued "
        "first. Store + analysis is the sync's own `digest`, `store` and `analyze` timings (Access Advisor and the other "
        "AWS reads are in the wall time, not in it); the engine is `load_gaad` + `AccountAnalysis.run()` on "
        "the same authorization details in one process, no database.",
        "",
        "| round | wall time | store + analysis (sum over accounts) | per principal | x engine "
        "| database size after | growth | worker peak memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    previous = size_empty
    first_growth = rounds["first sync"]["size"]["database"] - size_empty["database"]
    for name, r in rounds.items():
        stored = sum(sum(run.timings.get(step, 0) for step in STEPS) for run in r["runs"])
        growth = r["size"]["database"] - previous["database"]
        share = "" if name == "first sync" else f" ({100 * growth / max(first_growth, 1):.2f}% of the first)"
        lines.append(
            f"| {name} | {r['wall']:.0f} s | {stored:.1f} s | {1000 * stored / principals:.2f} ms "
            f"| {stored / engine_total:.2f} | {r['size']['database'] / 2**20:.0f} MiB "
            f"| {growth / 2**20:+.1f} MiB{share} | {', '.join(f'{p:.0f}' for p in r['peaks'])} MiB |"
        )
        previous = r["size"]
    lines.append(
        f"| engine alone | | {engine_total:.1f} s | {1000 * engine_total / principals:.2f} ms | 1.00 | | | |"
    )
    lines += ["", "Per account (store + analysis / engine, seconds):", ""]
    lines += ["| account | principals | first sync | re-sync | engine | first / engine | re-sync / engine |"]
    lines += ["|---|---|---|---|---|---|---|"]
    by_round = {name: {run.account.account_id: run for run in r["runs"]} for name, r in rounds.items()}
    for a in order:
        seconds, count = engine[a.account_id]
        first, again = (
            sum(by_round[name][a.account_id].timings.get(step, 0) for step in STEPS) for name in rounds
        )
        lines.append(
            f"| {a.name} | {count:,} | {first:.2f} | {again:.2f} | {seconds:.2f} | {first / seconds:.1f} "
            f"| {again / seconds:.2f} |"
        )
    lines += ["", TARGETS]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        replace_section(ROOT / "docs" / "benchmarks.md", "org_scale", table)


if __name__ == "__main__":
    main()
