"""Fault campaign: syncs and applies through a real worker while fakeaws injects random faults and the
worker is killed at random moments. Checks, after every run, that nothing was left half-done.

    python benchmarks/faults.py --syncs 200 --applies 50          # the recorded run (docs/reliability.md)

Faults: throttling, 5xx, AccessDenied and timeouts at random calls (fakeaws's chaos mode), plus SIGKILL of
the worker at a random moment of a random share of the runs. After each run the campaign proves:

- a sync either stored a complete snapshot (the same principals, documents and usage as AWS holds) or
  stored nothing (the snapshot is byte-for-byte what it was before), and a failed run says why;
- every request, approval, apply, failure and rollback has its audit event;
- AWS never holds a policy that no approved request asked for: after each apply the live documents are
  either the original or exactly the approved proposal, and after rollback the original again; at the end
  the whole account matches the state it started in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def snapshot_fingerprint(account: Any) -> str:
    """Everything a sync stores for an account, exactly (timestamps included)."""
    from findings.models import (
        AccessKey,
        AnalyzerFinding,
        CredentialReportRow,
        InlinePolicy,
        LastAccessed,
        NeverUsed,
        Principal,
    )

    return _digest(
        [
            list(Principal.objects.filter(account=account).order_by("arn").values()),
            list(InlinePolicy.objects.filter(principal__account=account).order_by("pk").values()),
            list(LastAccessed.objects.filter(principal__account=account).order_by("pk").values()),
            list(NeverUsed.objects.filter(principal__account=account).order_by("pk").values()),
            list(AccessKey.objects.filter(principal__account=account).order_by("pk").values()),
            list(CredentialReportRow.objects.filter(account=account).order_by("pk").values()),
            list(AnalyzerFinding.objects.filter(account=account).order_by("pk").values()),
        ]
    )


def snapshot_content(account: Any) -> str:
    """What AWS holds, as stored: principals, their documents, attachments, keys and usage (no sync times)."""
    from findings.models import AccessKey, CredentialReportRow, InlinePolicy, Principal
    from findings.usage_rows import account_usage_rows

    return _digest(
        [
            sorted(Principal.objects.filter(account=account).values_list("arn", "kind", "groups")),
            sorted(
                InlinePolicy.objects.filter(principal__account=account).values_list(
                    "principal__arn", "name", "document__sha256"
                )
            ),
            sorted(  # used rows and never-used lists alike, as every reader sees them
                (pid, r.service, r.action)
                for pid, rows in account_usage_rows(account.pk).items()
                for r in rows
            ),
            sorted(AccessKey.objects.filter(principal__account=account).values_list("key_id", "active")),
            CredentialReportRow.objects.filter(account=account).count(),
        ]
    )


def live_iam(iam: Any) -> str:
    """The account as AWS holds it (policies, documents, attachments), for before/after comparison."""
    pages = iam.get_paginator("get_account_authorization_details").paginate()
    merged: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    for page in pages:
        for key in merged:
            merged[key].extend(page.get(key, []))
    for role in merged["RoleDetailList"]:
        role.pop("RoleLastUsed", None)
    merged["Policies"] = [
        {
            "Arn": p["Arn"],
            "Default": p["DefaultVersionId"],
            "Docs": [v["Document"] for v in p["PolicyVersionList"]],
        }
        for p in merged["Policies"]
        if ":aws:policy/" not in p["Arn"] or p.get("AttachmentCount")
    ]
    return _digest(merged)


CHAOS_TIMEOUT = 3.0  # how long fakeaws hangs a "timed out" call; the client gives up after 2 s


def _active(obj: Any) -> bool:
    obj.refresh_from_db()
    return obj.status in ("queued", "running", "applying")


def classify(error: str) -> str:
    for needle, kind in [
        ("worker stopped", "worker killed (reaped)"),
        ("No worker started", "worker killed before start (reaped)"),
        ("interrupted", "worker killed (redelivered)"),
        ("AccessDenied", "AccessDenied"),
        ("throttling", "throttled past retries"),
        ("internal error", "5xx past retries"),
        ("in time", "timeout past retries"),
        ("Could not reach", "network"),
        ("edited in AWS since", "drift (stopped before any change)"),
    ]:
        if needle in error:
            return kind
    return "other: " + error[:80]


# What the campaign's workers run with: fakeaws credentials, few retries, short timeouts, fast polling,
# and no suggestion building (applies use suggestions built once, in-process).
WORKER_ENV = {
    "AWS_ACCESS_KEY_ID": "fakeaws",
    "AWS_SECRET_ACCESS_KEY": "fakeaws",
    "AWS_MAX_ATTEMPTS": "4",
    "AWS_READ_TIMEOUT": "2",
    "IAMREVIEW_POLL_MS": "50",
    "IAMREVIEW_BUILD_SUGGESTIONS": "false",
}


class Campaign:
    """Drives the runs; `start_worker()` returns a running worker process, `faults(**f)` sets fakeaws faults."""

    def __init__(
        self,
        *,
        account: Any,
        users: dict[str, Any],
        start_worker: Callable[[], Any],
        faults: Callable[..., None],
        iam: Any,
        chaos_rate: float,
        kill_rate: float,
        seed: int,
        log: Callable[[str], None] = print,
        run_timeout: float = 300.0,
    ) -> None:
        self.run_timeout = run_timeout
        self.account, self.users, self.start_worker, self.faults, self.iam = (
            account,
            users,
            start_worker,
            faults,
            iam,
        )
        self.chaos_rate, self.kill_rate = chaos_rate, kill_rate
        self.settle = CHAOS_TIMEOUT + 1.0 if chaos_rate > 0 else 0.0
        self.rng = random.Random(seed)  # nosec B311 - fault timing, not security
        self.seed = seed
        self.log = log
        self.worker = start_worker()
        self.report: dict[str, Any] = {
            "syncs": Counter(),
            "sync_failures": Counter(),
            "applies": Counter(),
            "apply_failures": Counter(),
            "kills": 0,
            "kills_mid_run": 0,
            "violations": [],
        }

    # -- plumbing ----------------------------------------------------------------------------------------

    def chaos(self, on: bool) -> None:
        self.faults(
            chaos_rate=self.chaos_rate if on else 0.0,
            chaos_seed=self.rng.randrange(10**6),
            chaos_timeout_seconds=CHAOS_TIMEOUT,
        )

    def kill_worker_soon(self, max_delay: float, busy: Callable[[], bool]) -> None:
        time.sleep(self.rng.uniform(0.0, max_delay))
        mid_run = busy()
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=20)
        self.report["kills"] += 1
        self.report["kills_mid_run"] += int(mid_run)
        self.worker = self.start_worker()

    def reap_now(self) -> None:
        """After a kill the worker is known dead: reap as if the stale timeout had passed."""
        from datetime import timedelta

        from django.conf import settings
        from django.utils import timezone

        from accounts.sync import sync_runs_reap_stale
        from findings.change_requests import change_requests_reap_stale

        later = timezone.now() + timedelta(
            seconds=max(settings.IAMREVIEW_STALE_SECONDS, settings.IAMREVIEW_QUEUED_MAX_SECONDS) + 1
        )
        sync_runs_reap_stale(now=later)
        change_requests_reap_stale(now=later)

    def violation(self, text: str) -> None:
        self.report["violations"].append(text)
        self.log(f"  VIOLATION: {text}")

    @staticmethod
    def wait(obj: Any, done: Callable[[Any], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            obj.refresh_from_db()
            if done(obj):
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        if self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(timeout=30)

    # -- syncs -------------------------------------------------------------------------------------------

    def run_syncs(self, count: int) -> None:
        from accounts.models import SyncStatus
        from accounts.sync import sync_run_request
        from core.models import AuditEvent

        self.chaos(False)
        baseline = None
        # Runs without faults come first, until one records what a complete snapshot looks like (a cold
        # fakeaws server can time out on the first Access Advisor reports of administrators, hundreds of
        # services: that run succeeds with a warning, and is not taken as the baseline). They are not
        # counted in `count`, so the campaign runs as many syncs under faults however loaded the machine.
        warmups = 0
        n = 0
        while n < count:
            if baseline is None and warmups < 3:
                warmups += 1
                self.chaos(False)
            else:
                n += 1
                self.chaos(True)
            before = snapshot_fingerprint(self.account)
            run, created = sync_run_request(account=self.account, trigger="manual", actor=self.users["admin"])
            if not created:
                self.violation(f"sync {n}: an earlier run was still active ({run.status})")
                self.reap_now()
                continue
            killed = baseline is not None and self.rng.random() < self.kill_rate
            if killed:
                self.kill_worker_soon(max_delay=3.0, busy=partial(_active, run))
                self.reap_now()
            if not self.wait(run, lambda r: not r.is_active, timeout=self.run_timeout):
                self.violation(f"sync {n} (#{run.pk}) never finished: {run.status}/{run.step}")
                self.reap_now()
                run.refresh_from_db()
            self.report["syncs"][run.status] += 1
            if not AuditEvent.objects.filter(action="sync.request", object_id=str(run.pk)).exists():
                self.violation(f"sync {n} (#{run.pk}): no audit event for the request")
            if run.status == SyncStatus.SUCCEEDED:
                content = snapshot_content(self.account)
                if baseline is None:
                    if not run.warnings:
                        baseline = content
                elif content != baseline:
                    self.violation(f"sync {n} (#{run.pk}) succeeded with an incomplete or wrong snapshot")
            else:
                if not run.error:
                    self.violation(f"sync {n} (#{run.pk}) failed without saying why")
                if not AuditEvent.objects.filter(action="sync.fail", object_id=str(run.pk)).exists():
                    self.violation(f"sync {n} (#{run.pk}): its failure is not in the audit log")
                if snapshot_fingerprint(self.account) != before:
                    self.violation(f"sync {n} (#{run.pk}) failed but changed the stored snapshot")
                self.report["sync_failures"][classify(run.error)] += 1
            if n % 10 == 0 or n == count:
                self.log(f"  syncs {n}/{count}: {dict(self.report['syncs'])} kills={self.report['kills']}")
        self.chaos(False)

    # -- applies -----------------------------------------------------------------------------------------

    def _live(self, cr: Any) -> list[Any]:
        from accounts.aws import apply as aws

        docs = []
        for item in cr.items:
            if item["kind"] == "inline":
                docs.append(aws.read_inline(self.iam, cr.principal_kind, cr.principal_name, item["name"]))
            else:
                docs.append(aws.read_managed_default(self.iam, item["arn"])[1])
        attached = aws.attached(self.iam, cr.principal_kind, cr.principal_name)
        return [docs, sorted(attached)]

    def run_applies(self, count: int, suggestions: list[Any]) -> None:
        from core.models import AuditEvent
        from findings import change_requests
        from findings.change_items import items_digest
        from findings.models import Approval, ChangeStatus

        reviewer, approver = self.users["reviewer"], self.users["approver"]
        for n in range(1, count + 1):
            suggestion = suggestions[(n - 1) % len(suggestions)]
            self.chaos(False)
            cr = change_requests.change_request_open(
                actor=reviewer, suggestion=suggestion, reason=f"campaign apply {n}"
            )
            original = self._live(cr)
            cr = change_requests.change_request_decide(
                actor=approver,
                change=cr,
                approve=True,
                comment="ok",
                version=cr.version,
                digest=items_digest(cr.items),
            )
            self.chaos(True)
            change_requests.change_request_queue_apply(actor=approver, change=cr)
            if self.rng.random() < self.kill_rate:
                self.kill_worker_soon(max_delay=1.5, busy=partial(_active, cr))
                self.reap_now()
            if not self.wait(cr, lambda c: c.status != ChangeStatus.APPLYING, timeout=self.run_timeout):
                self.violation(f"apply {n} (#{cr.pk}) never finished: {cr.step}")
                self.reap_now()
                cr.refresh_from_db()
            self.chaos(False)
            # A call whose answer timed out may still land on the server later, as it can on AWS. Let any
            # such write land before judging the result, or it could undo the rollback that follows.
            time.sleep(self.settle)
            self.report["applies"][cr.status] += 1
            if cr.status == ChangeStatus.FAILED:
                self.report["apply_failures"][classify(cr.error)] += 1
                if not cr.error:
                    self.violation(f"apply {n} (#{cr.pk}) failed without saying why")
            live = self._live(cr)
            approvals = Approval.objects.filter(change_request=cr, approve=True).exclude(
                approver_id=cr.requested_by_id
            )
            if live != original and approvals.count() < cr.required_approvals:
                self.violation(f"apply {n} (#{cr.pk}) changed AWS without the approvals it needs")
            if cr.status == ChangeStatus.APPLIED:
                proposed = [item["proposed"][0] if item["proposed"] else None for item in cr.items]
                if [d for d in live[0]] != proposed and all(i["kind"] == "inline" for i in cr.items):
                    self.violation(f"apply {n} (#{cr.pk}) is marked applied but AWS holds something else")
            # A failed apply undoes its own writes; a rollback left undone (a killed worker) is finished here.
            needs_rollback = cr.status in change_requests.ROLLBACK_FROM and any(
                not s.get("undone") for s in cr.steps
            )
            if needs_rollback:
                cr = change_requests.change_request_queue_rollback(
                    actor=approver, change=cr, reason="campaign"
                )
                self.chaos(False)
                if not self.wait(
                    cr, lambda c: c.status != ChangeStatus.ROLLING_BACK, timeout=self.run_timeout
                ):
                    self.violation(f"rollback {n} (#{cr.pk}) never finished: {cr.step}")
                cr.refresh_from_db()
                if cr.status not in (ChangeStatus.ROLLED_BACK, ChangeStatus.FAILED) or any(
                    not s.get("undone") for s in cr.steps
                ):
                    self.violation(f"apply {n} (#{cr.pk}) could not be rolled back: {cr.error}")
                elif self._live(cr) != original:
                    self.violation(f"apply {n} (#{cr.pk}): rollback did not restore the original exactly")
            elif live != original:
                self.violation(f"apply {n} (#{cr.pk}) failed, changed AWS, and left nothing to roll back")
            expected = {"change.request", "change.approve", "change.apply_start"}
            expected |= {"change.apply"} if self.report["applies"] and cr.applied_at else set()
            expected |= {"change.apply_fail"} if cr.error and not cr.applied_at else set()
            expected |= {"change.rollback"} if cr.status == ChangeStatus.ROLLED_BACK or cr.steps else set()
            seen = set(
                AuditEvent.objects.filter(object_id=str(cr.pk), object_type="ChangeRequest").values_list(
                    "action", flat=True
                )
            )
            if not expected <= seen:
                self.violation(f"apply {n} (#{cr.pk}): audit events missing: {sorted(expected - seen)}")
            if n % 10 == 0 or n == count:
                self.log(
                    f"  applies {n}/{count}: {dict(self.report['applies'])} kills={self.report['kills']}"
                )


def role_client(endpoint: str, role_arn: str) -> Any:
    """An IAM client acting as one of the product's roles (fakeaws allows it what the role's policies do)."""
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="campaign")["Credentials"]
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def campaign_account(endpoint: str) -> tuple[Any, Any]:
    """The linked account the campaign syncs, and an IAM client acting as its apply role (to read the
    policies a change touches); `live_iam` reads the whole account with the read role (`role_client`)."""

    from accounts.models import LinkedAccount
    from fakeaws.scenario import READ_ROLE
    from tests.scenarios import ACCOUNT

    account = LinkedAccount.objects.create(
        account_id=ACCOUNT,
        name="prod",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{READ_ROLE}",
        apply_role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-apply",
    )
    return account, role_client(endpoint, account.apply_role_arn)


def suggestions_for(account: Any) -> list[Any]:
    from findings.models import Suggestion
    from findings.suggestions import suggestions_build_for_account

    suggestions_build_for_account(account_id=account.pk)
    return list(
        Suggestion.objects.filter(principal__account=account, stale=False)
        .exclude(items=[])
        .order_by("principal__name")
    )


SECTIONS = (
    ("syncs", "Syncs"),
    ("sync_failures", "Sync failures, by the error users saw"),
    ("applies", "Applies"),
    ("apply_failures", "Apply failures, by the error users saw"),
)


def markdown(report: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    def table(counter: Counter[str]) -> str:
        return (
            "\n".join(f"| {k} | {v} |" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))
            or "| none | 0 |"
        )

    violations = report["violations"]
    return "\n".join(
        [
            f"Command: `python benchmarks/faults.py --syncs {args.syncs} --applies {args.applies} "
            f"--chaos {args.chaos} --kill {args.kill} --seed {args.seed}` ({seconds / 60:.1f} min, 2 cores).",
            "",
            f"Faults injected by fakeaws: {dict(report.get('injected', {}))}; worker SIGKILLs: {report['kills']} "
            f"({report['kills_mid_run']} while a sync or apply was in progress, the rest between runs).",
            "",
            *(
                line
                for key, title in SECTIONS
                for line in (f"| {title} | count |", "|---|---|", table(report[key]), "")
            ),
            f"**Violations: {len(violations)}** (partial snapshots, missing audit events, policies in AWS that no "
            "approved request asked for, rollbacks that did not restore the original, runs that never ended)."
            + ("".join(f"\n- {v}" for v in violations)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--syncs", type=int, default=200)
    parser.add_argument("--applies", type=int, default=50)
    parser.add_argument("--chaos", type=float, default=0.02, help="probability that any AWS call fails")
    parser.add_argument("--kill", type=float, default=0.1, help="share of runs whose worker is SIGKILLed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--write", action="store_true", help="record the result in docs/reliability.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="iamreview-faults-"))
    db_name = "iamreview_faults"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "iamreview.settings",
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{db_name}",
            "REDIS_URL": "redis://127.0.0.1:6379/13",
            "CELERY_QUEUE": "faults",  # every task on the campaign worker's one queue
            **WORKER_ENV,
            "IAMREVIEW_STALE_SECONDS": "30",
            "IAMREVIEW_QUEUED_MAX_SECONDS": "30",
            "FAKEAWS_CHAOS_COUNTS": str(tmp / "fakeaws-chaos.json"),
        }
    )
    import subprocess

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db_name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True)

    import django

    django.setup()
    from tests.conftest import make_user
    from tests.processes import FakeAwsServer, celery_worker

    started = time.monotonic()
    with ExitStack() as stack:
        server = FakeAwsServer(tmp)
        stack.callback(server.stop)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        from django.conf import settings

        settings.AWS_ENDPOINT_URL = server.endpoint
        from accounts.roles import Role

        users = {r: make_user(r, Role[r.upper()]) for r in ("admin", "reviewer", "approver")}
        account, iam = campaign_account(server.endpoint)
        env = {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")}
        queue = "faults"
        workers: list[Any] = []

        def start_worker() -> Any:
            cm = celery_worker(queue, env, tmp / "worker.log")
            proc = stack.enter_context(cm)
            workers.append(proc)
            return proc

        campaign = Campaign(
            account=account,
            users=users,
            start_worker=start_worker,
            faults=server.set_faults,
            iam=iam,
            chaos_rate=args.chaos,
            kill_rate=args.kill,
            seed=args.seed,
        )
        reader = role_client(server.endpoint, account.role_arn)
        before = live_iam(reader)
        print(f"{args.syncs} syncs with chaos {args.chaos} and kill rate {args.kill} ...", flush=True)
        campaign.run_syncs(args.syncs)
        suggestions = suggestions_for(account)
        print(f"{args.applies} applies over {len(suggestions)} suggestions ...", flush=True)
        campaign.run_applies(args.applies, suggestions)
        if live_iam(reader) != before:
            campaign.violation("at the end AWS does not hold what it held at the start")
        counts = tmp / "fakeaws-chaos.json"
        campaign.report["injected"] = json.loads(counts.read_text()) if counts.exists() else {}
        campaign.close()
    text = markdown(campaign.report, args, time.monotonic() - started)
    print(text)
    if args.write:
        from benchmarks.report import replace_section

        replace_section(ROOT / "docs" / "reliability.md", "faults", text)


if __name__ == "__main__":
    main()
