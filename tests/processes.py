"""Real processes for tests: the fakeaws server and Celery workers, started and stopped by fixtures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeAwsServer:
    def __init__(self, tmp: Path, scenario: str = "small", start_timeout: float = 90) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.control = tmp / "fakeaws-control.json"
        self.control.write_text("{}")
        self.log = tmp / "fakeaws.log"
        env = {**os.environ, "FAKEAWS_CONTROL_FILE": str(self.control)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakeaws.server", "--port", str(self.port), "--scenario", scenario],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + start_timeout  # seeding a large scenario takes minutes
        while "listening" not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fakeaws server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def set_faults(self, **faults: Any) -> None:
        self.control.write_text(json.dumps(faults))
        time.sleep(0.05)
        os.utime(self.control)  # a fresh mtime even within the same second

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def process_stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Ask `proc` to exit (SIGTERM: a Celery worker's warm shutdown), and kill it after `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def tasks_sent_to(queue: str) -> Iterator[None]:
    """This process sends every task to `queue`, as CELERY_QUEUE=queue makes a process do at start-up.

    A worker of `celery_worker(queue, ...)` consumes only that queue; without this, a task queued here would
    follow CELERY_TASK_ROUTES to a queue (sync, apply...) no test worker reads.
    """
    from celery.app.routes import Router, prepare

    from iamreview.celery import app
    from iamreview.queues import task_routes

    previous_queue, previous_router = app.conf.task_default_queue, app.amqp.router
    app.conf.task_default_queue = queue
    app.amqp.router = Router(prepare(task_routes(queue)), app.amqp.queues, create_missing=True, app=app)
    try:
        yield
    finally:
        app.conf.task_default_queue = previous_queue
        app.amqp.router = previous_router


@contextmanager
def celery_worker(queue: str, extra_env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker on the one queue `queue`: with CELERY_QUEUE=queue every task it sends goes there too."""
    env = {**os.environ, **extra_env, "CELERY_QUEUE": queue}
    nice = ["nice", "-n", env["CELERY_WORKER_NICE"]] if env.get("CELERY_WORKER_NICE") else []
    proc = subprocess.Popen(
        [
            *nice,
            sys.executable,
            "-m",
            "celery",
            "-A",
            "iamreview",
            "worker",
            "-Q",
            queue,
            "-P",
            "solo",
            "-n",
            f"{queue}-{uuid.uuid4().hex[:4]}@%h",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
