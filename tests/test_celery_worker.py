"""A real worker round-trip through the real Redis broker (no eager mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from iamreview.celery import app
from iamreview.tasks import health_ping
from tests.processes import process_stop

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker
def test_health_ping_round_trip_through_a_real_worker() -> None:
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "tests use the real Redis broker"
    assert not app.conf.task_always_eager
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "iamreview",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "-P",
            "solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{queue}@%h",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        token = uuid.uuid4().hex
        result = health_ping.apply_async(args=[token], queue=queue)
        reply = result.get(timeout=60)
        assert reply["token"] == token
        assert reply["host"]
    finally:
        process_stop(worker)
