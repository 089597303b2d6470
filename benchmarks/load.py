"""Load: gunicorn and a real worker on PostgreSQL with 100,000 principals; 50 users browse and triage
(Locust on localhost, bounded in time) while syncs run against fakeaws.

    .venv/bin/pip install -c requirements.lock -e ".[bench]"
    .venv/bin/python benchmarks/load.py [--principals 100000] [--users 50] [--seconds 120] [--write]

Prints throughput, p50/p95/p99 latency and errors per request type, and records them in
docs/reliability.md with --write. Target: no errors, p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "iamreview_bench_load"
PASSWORD = "load-test-password-1"  # noqa: S105 - throwaway users in a throwaway database


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--principals", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--think", type=float, nargs=2, default=[2.0, 8.0], help="seconds between a user's clicks"
    )
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="iamreview-load-"))
    port = 8765
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "iamreview.settings",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": "redis://127.0.0.1:6379/12",
        "SECRET_KEY": "load-test-secret-key-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "AWS_ACCESS_KEY_ID": "fakeaws",
        "AWS_SECRET_ACCESS_KEY": "fakeaws",
        "IAMREVIEW_POLL_MS": "50",
        "LOG_LEVEL": "WARNING",
        "CELERY_WORKER_NICE": "10",
        "CELERY_QUEUE": "celery",  # this process, gunicorn and the one worker: every task on one queue
    }
    os.environ.update(env)
    from benchmarks.report import fresh_database

    fresh_database(DB)
    subprocess.run(["redis-cli", "-n", "12", "flushdb"], check=True, capture_output=True)

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from accounts.models import LinkedAccount, SyncRun
    from accounts.roles import Role
    from accounts.sync import sync_run_request
    from benchmarks.report import replace_section
    from benchmarks.ui import seed
    from fakeaws.scenario import READ_ROLE
    from findings.models import Finding, Principal
    from tests.processes import FakeAwsServer, celery_worker, free_port
    from tests.scenarios import ACCOUNT

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(args.principals)
    print(f"seeded {args.principals:,} principals in {time.perf_counter() - started:.0f} s", flush=True)
    hashed = make_password(PASSWORD)
    groups = {r: Group.objects.get(name=r.group_name) for r in (Role.VIEWER, Role.REVIEWER)}
    for n in range(args.users):
        user = User.objects.create(username=f"load{n:03d}", password=hashed)
        user.groups.add(groups[Role.REVIEWER if n % 2 else Role.VIEWER])

    server = FakeAwsServer(tmp)
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        account = LinkedAccount.objects.create(
            account_id=ACCOUNT, name="synced-during-load", role_arn=f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}"
        )
        worker_env = {"AWS_ENDPOINT_URL": server.endpoint}
        worker_cm = celery_worker("celery", {**env, **worker_env}, tmp / "worker.log")
        worker_cm.__enter__()
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "iamreview.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(args.gunicorn_workers),
                "--threads",
                "2",
                "--keep-alive",
                "75",  # as the Dockerfile: above the client's idle time, so no connection is closed under it
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env={**env, **worker_env},
            stdout=(tmp / "gunicorn.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(gunicorn)
        deadline = time.monotonic() + 30
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError((tmp / "gunicorn.log").read_text()[-2000:]) from None
                time.sleep(0.3)

        stop = threading.Event()
        syncs: list[str] = []

        def keep_syncing() -> None:
            """One sync after another for the whole run, through the real worker."""
            while not stop.is_set():
                run, _ = sync_run_request(account=account, trigger="manual")
                while not stop.is_set():
                    run.refresh_from_db()
                    if not run.is_active:
                        syncs.append(run.status)
                        break
                    time.sleep(0.5)

        syncer = threading.Thread(target=keep_syncing, daemon=True)
        syncer.start()
        first_principal = Principal.objects.order_by("pk").values_list("pk", flat=True).first()
        first_finding = Finding.objects.order_by("pk").values_list("pk", flat=True).first()
        locust_env = {
            **env,
            "LOAD_PRINCIPALS": str(args.principals),
            "LOAD_FIRST_PRINCIPAL_ID": str(first_principal),
            "LOAD_FIRST_FINDING_ID": str(first_finding),
            "LOAD_USERS": str(args.users),
            "LOAD_PASSWORD": PASSWORD,
            "LOAD_THINK_MIN": str(args.think[0]),
            "LOAD_THINK_MAX": str(args.think[1]),
        }
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "locust"),
                "-f",
                str(ROOT / "benchmarks" / "locustfile.py"),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                "2",  # logins (PBKDF2, slow on purpose) spread over the ramp
                "--reset-stats",  # measure from when every user is logged in
                "-t",
                f"{args.seconds}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(tmp / "locust"),
                "--only-summary",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=locust_env,
            check=False,
            timeout=args.seconds + 120,
        )
        elapsed = time.perf_counter() - t0
        stop.set()
        syncer.join(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        if "worker_cm" in locals():
            worker_cm.__exit__(None, None, None)
        server.stop()

    rows = list(csv.DictReader((tmp / "locust_stats.csv").open()))
    errors = 0
    if (tmp / "gunicorn.log").exists():
        errors = sum(1 for line in (tmp / "gunicorn.log").read_text().splitlines() if '" 5' in line)
    table = [
        "| request | requests | failures | req/s | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "**all (including login)**"
        table.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.1f} | "
            f"{row['50%']} ms | {row['95%']} ms | {row['99%']} ms |"
        )
    browsing = [r for r in rows if not r["Name"].startswith("login") and r["Name"] != "Aggregated"]
    worst = max(browsing, key=lambda r: float(r["95%"]))
    aggregated = next(r for r in rows if r["Name"] == "Aggregated")
    runs = {s: syncs.count(s) for s in set(syncs)}
    text = "\n".join(
        [
            f"Command: `.venv/bin/python benchmarks/load.py --principals {args.principals} --users {args.users} "
            f"--seconds {args.seconds} --think {args.think[0]:g} {args.think[1]:g}`; {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 15, "
            f"gunicorn {args.gunicorn_workers} workers x 2 threads, one Celery worker, Locust on the same machine.",
            "",
            f"{args.users} users ({args.users // 2} reviewers, {args.users - args.users // 2} viewers) log in and browse "
            f"for {elapsed:.0f} s with {args.think[0]:g} to {args.think[1]:g} s of think time, while the worker syncs an account against fakeaws "
            f"back to back (syncs finished during the run: {runs}, {SyncRun.objects.count()} in all).",
            "",
            *table,
            "",
            f"Throughput {float(aggregated['Requests/s']):.1f} requests/s; {aggregated['Failure Count']} failed "
            f"requests; {errors} server errors in gunicorn's log. Slowest request type at p95: {worst['Name']} "
            f"({worst['95%']} ms). Users log in during the ramp (2 a second: login runs PBKDF2, slow on "
            "purpose); the figures count from when all are logged in. The worker runs at nice 10, so pages "
            "come before background syncs when they share cores.",
        ]
    )
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "reliability.md", "load", text)


if __name__ == "__main__":
    main()
