"""The fault campaign of benchmarks/faults.py, small enough for every CI run.

A real worker and the fakeaws server; random throttling, 5xx, AccessDenied and timeouts; the worker
SIGKILLed at random moments. The campaign checks after every run that no snapshot was stored half-way,
no audit entry is missing, and AWS never holds a policy no approved request asked for.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from benchmarks.faults import WORKER_ENV, Campaign, campaign_account, live_iam, role_client, suggestions_for
from tests.processes import FakeAwsServer, celery_worker, tasks_sent_to

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeAwsServer]:
    srv = FakeAwsServer(tmp_path)
    yield srv
    srv.stop()


def test_fault_campaign_leaves_nothing_half_done(
    server: FakeAwsServer,
    users: dict[str, Any],
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "fakeaws", "AWS_SECRET_ACCESS_KEY": "fakeaws"}.items():
        monkeypatch.setenv(name, value)
    settings.AWS_ENDPOINT_URL = server.endpoint
    settings.AWS_MAX_ATTEMPTS = 4
    settings.AWS_READ_TIMEOUT = 2
    settings.IAMREVIEW_STALE_SECONDS = 30
    settings.IAMREVIEW_QUEUED_MAX_SECONDS = 30
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "AWS_ENDPOINT_URL": server.endpoint,
        **WORKER_ENV,
    }
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    account, iam = campaign_account(server.endpoint)
    with ExitStack() as stack:
        stack.enter_context(tasks_sent_to(queue))
        campaign = Campaign(
            account=account,
            users=users,
            start_worker=lambda: stack.enter_context(celery_worker(queue, env, tmp_path / "worker.log")),
            faults=server.set_faults,
            iam=iam,
            chaos_rate=0.03,
            kill_rate=0.3,
            seed=7,
            log=lambda line: None,
            run_timeout=120,
        )
        reader = role_client(server.endpoint, account.role_arn)
        before = live_iam(reader)
        campaign.run_syncs(10)
        campaign.run_applies(4, suggestions_for(account))
        after = live_iam(reader)
        campaign.close()
    report = campaign.report
    assert report["violations"] == [], (
        "\n".join(report["violations"]) + (tmp_path / "worker.log").read_text()[-3000:]
    )
    assert after == before, "every apply was rolled back, so AWS holds exactly what it held at the start"
    assert report["syncs"]["succeeded"] >= 1 and report["syncs"]["failed"] >= 1, report
    assert sum(report["applies"].values()) == 4
    assert report["kills"] >= 1, "the seed makes the campaign kill the worker"
    assert os.environ.get("FAKEAWS_CONTROL_FILE") is None, "the server, not this process, injects faults"
