"""Syncs run by a real Celery worker (Redis broker) against the fakeaws server; a worker killed mid-sync."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.sync import sync_run_request, sync_runs_reap_stale
from core.jobs import stale_after
from findings.models import Principal
from tests.processes import FakeAwsServer, celery_worker, tasks_sent_to
from tests.scenarios import ACCOUNT

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAwsServer]:
    srv = FakeAwsServer(tmp_path_factory.mktemp("fakeaws"))
    yield srv
    srv.stop()


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"sync-{uuid.uuid4().hex[:8]}"
    with tasks_sent_to(name):
        yield name


def worker_env(server: FakeAwsServer) -> dict[str, str]:
    db = connection.settings_dict
    return {
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": "fakeaws",
        "AWS_SECRET_ACCESS_KEY": "fakeaws",
        "IAMREVIEW_POLL_MS": "50",
        "IAMREVIEW_ADVISOR_MAX_WAIT": "600",
    }


def wait_for(run: SyncRun, predicate, timeout: float = 120) -> SyncRun:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if predicate(run):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run.pk} stuck at {run.status}/{run.step}: {run.error}")


def test_sync_now_through_a_real_worker(server: FakeAwsServer, queue: str, tmp_path: Path) -> None:
    account = LinkedAccount.objects.create(
        account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
    )
    with celery_worker(queue, worker_env(server), tmp_path / "worker.log"):
        run, created = sync_run_request(account=account, trigger="manual")
        assert created
        run = wait_for(run, lambda r: not r.is_active)
    assert run.status == SyncStatus.SUCCEEDED, run.error + (tmp_path / "worker.log").read_text()[-3000:]
    assert run.progress == 100 and run.api_calls["sts:AssumeRole"] == 1
    assert Principal.objects.filter(account=account, name="old-admin", is_admin=True).exists()


def test_worker_killed_mid_sync_keeps_the_previous_snapshot(
    server: FakeAwsServer, queue: str, tmp_path: Path
) -> None:
    account = LinkedAccount.objects.create(
        account_id=ACCOUNT, name="prod", role_arn=f"arn:aws:iam::{ACCOUNT}:role/iamreview-read"
    )
    env = worker_env(server)
    with celery_worker(queue, env, tmp_path / "worker-a.log") as worker:
        first, _ = sync_run_request(account=account, trigger="manual")
        first = wait_for(first, lambda r: not r.is_active)
        assert first.status == SyncStatus.SUCCEEDED
        snapshot = set(Principal.objects.filter(account=account).values_list("arn", "risk_score"))

        server.set_faults(never_complete_jobs=True)
        second, _ = sync_run_request(account=account, trigger="manual")
        wait_for(second, lambda r: r.step.startswith("Access Advisor"))
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    second.refresh_from_db()
    assert second.status == SyncStatus.RUNNING  # nobody finished it
    assert set(Principal.objects.filter(account=account).values_list("arn", "risk_score")) == snapshot
    assert second.heartbeat_at is not None
    assert sync_runs_reap_stale(now=second.heartbeat_at + stale_after() * 2) == 1
    second.refresh_from_db()
    assert second.status == SyncStatus.FAILED and "previous snapshot is still current" in second.error

    server.set_faults()
    with celery_worker(queue, env, tmp_path / "worker-b.log"):
        third, created = sync_run_request(account=account, trigger="manual")
        assert created
        third = wait_for(third, lambda r: not r.is_active)
    assert third.status == SyncStatus.SUCCEEDED, third.error
