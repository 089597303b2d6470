"""Every task has a queue, every queue has a worker: the routes (iamreview/queues.py) against the registered
tasks, the settings, and each place the project starts a worker (docker-compose.yml, scripts/demo.sh, the
README's commands, tests/processes.py)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from iamreview.celery import app
from iamreview.queues import DEFAULT_QUEUE, TASKS_BY_QUEUE, queue_names, task_routes
from tests.processes import process_stop

ROOT = Path(__file__).resolve().parent.parent
SYNC = "findings.tasks.sync_run_execute"
# What a person waits for, or what guards an applied change: never behind a backlog of syncs.
INTERACTIVE = (
    "findings.tasks.change_request_apply",
    "findings.tasks.change_request_rollback",
    "findings.tasks.change_requests_reap_stale",
    "findings.tasks.stages_promote_due",
    "findings.tasks.access_denied_watch",
    "accounts.tasks.account_check_run",
)


def registered_tasks() -> set[str]:
    """The project's tasks as the worker registers them (autodiscovered), Celery's own left out."""
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def env_single_queue() -> str:
    return os.environ.get("CELERY_QUEUE", "").strip()


def test_every_registered_task_has_an_explicit_route() -> None:
    tasks = registered_tasks()
    routes = task_routes()
    assert SYNC in tasks and "findings.tasks.change_request_apply" in tasks
    assert not tasks - set(routes), (
        f"tasks without a queue in iamreview/queues.py: {sorted(tasks - set(routes))}"
    )
    assert not set(routes) - tasks, f"routes of no registered task: {sorted(set(routes) - tasks)}"
    listed = [task for names in TASKS_BY_QUEUE.values() for task in names]
    assert len(listed) == len(set(listed)), "a task is listed under two queues"


@pytest.mark.parametrize("single", ["", "one-queue"], ids=["partitioned", "CELERY_QUEUE"])
def test_every_route_names_a_queue_the_workers_consume(single: str) -> None:
    queues = queue_names(single)
    assert {route["queue"] for route in task_routes(single).values()} <= set(queues)
    if single:
        assert queues == [single] and {r["queue"] for r in task_routes(single).values()} == {single}
    else:
        assert set(queues) == {"sync", "analysis", "apply", DEFAULT_QUEUE}
        assert all(TASKS_BY_QUEUE[q] for q in queues), "a queue no task is routed to"


def test_the_settings_route_each_task_and_list_every_queue() -> None:
    single = env_single_queue()
    assert task_routes(single) == settings.CELERY_TASK_ROUTES
    worker_queues = {q.name for q in settings.CELERY_TASK_QUEUES}
    assert worker_queues == set(queue_names(single))
    assert {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()} <= worker_queues
    assert settings.CELERY_TASK_DEFAULT_QUEUE in worker_queues
    # A worker started without -Q consumes every queue of CELERY_TASK_QUEUES.
    assert set(app.amqp.Queues(app.conf.task_queues).consume_from) == worker_queues
    # What Celery's router does with a task sent by name (core.jobs.enqueue, beat).
    router = app.amqp.Router()
    for name in registered_tasks():
        assert router.route({}, name)["queue"].name == task_routes(single)[name]["queue"], name
    for entry in app.conf.beat_schedule.values():
        assert "queue" not in entry.get("options", {}), f"{entry['task']}: the routes decide its queue"


def test_applies_and_rollbacks_are_never_on_the_sync_queue() -> None:
    routes = task_routes()
    sync_queue = routes[SYNC]["queue"]
    assert TASKS_BY_QUEUE[sync_queue] == (SYNC,), "the sync queue holds syncs only"
    for name in INTERACTIVE:
        assert routes[name]["queue"] == "apply", name
    assert sync_queue != "apply"


def worker_queues_of(command: list[str]) -> set[str]:
    """The queues a `celery ... worker` command line consumes: its -Q list, or every queue without one."""
    for flag in ("-Q", "--queues"):
        if flag in command:
            return set(command[command.index(flag) + 1].split(","))
    joined = next((c for c in command if c.startswith("--queues=")), None)
    return set(joined.split("=", 1)[1].split(",")) if joined else set(queue_names())


def worker_commands(text: str) -> list[list[str]]:
    commands = []
    for line in text.splitlines():
        if re.search(r"celery -A iamreview worker\b", line):
            words = shlex.split(line.split(" #", 1)[0].split(">", 1)[0])
            commands.append(words)
    return commands


def test_docker_compose_workers_consume_every_queue() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "CELERY_QUEUE" not in compose["x-app"]["environment"], "the compose workers' -Q name the queues"
    consumed: set[str] = set()
    workers = {
        name: service["command"]
        for name, service in compose["services"].items()
        if service.get("command", [])[:4] == ["celery", "-A", "iamreview", "worker"]
    }
    assert {"worker", "worker-sync", "worker-analysis"} <= set(workers)
    for name, command in workers.items():
        queues = worker_queues_of(command)
        assert queues <= set(queue_names()), f"{name} reads a queue no task goes to: {queues}"
        consumed |= queues
    assert consumed == set(queue_names()), f"no compose worker reads {set(queue_names()) - consumed}"
    assert "sync" not in worker_queues_of(workers["worker"]), "applies must not wait behind syncs"


def test_the_demo_worker_consumes_every_queue() -> None:
    commands = worker_commands((ROOT / "scripts" / "demo.sh").read_text())
    assert len(commands) == 1
    assert worker_queues_of(commands[0]) == set(queue_names())


def test_each_readme_worker_block_consumes_every_queue() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    per_block = [worker_commands(block) for block in blocks]
    per_block = [commands for commands in per_block if commands]
    assert len(per_block) >= 2, "the README shows one worker for all queues and one per queue"
    for commands in per_block:
        consumed = set().union(*(worker_queues_of(c) for c in commands))
        assert consumed == set(queue_names()), commands


def test_the_test_worker_consumes_the_one_queue_it_routes_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/processes.celery_worker: CELERY_QUEUE=q puts every task on q, and the worker reads q."""
    from tests import processes

    started: list[tuple[list[str], dict[str, str]]] = []

    class NotStarted:
        pid = 0

        def __init__(self, args: list[str], env: dict[str, str], **_: Any) -> None:
            started.append((args, env))

        def poll(self) -> int:
            return 0

    monkeypatch.setattr(processes.subprocess, "Popen", NotStarted)
    with processes.celery_worker("tq-1", {}, tmp_path / "worker.log"):
        pass
    ((args, env),) = started
    assert env["CELERY_QUEUE"] == "tq-1"
    assert worker_queues_of(args) == set(queue_names("tq-1")) == {"tq-1"}


def test_tasks_sent_to_routes_every_task_to_the_test_queue() -> None:
    from tests.processes import tasks_sent_to

    with tasks_sent_to("tq-2"):
        for name in (SYNC, "findings.tasks.change_request_apply", "notify.tasks.delivery_send"):
            assert app.amqp.router.route({}, name)["queue"].name == "tq-2"
    assert app.amqp.router.route({}, SYNC)["queue"].name == task_routes(env_single_queue())[SYNC]["queue"]


@pytest.mark.worker
def test_a_worker_started_as_the_demo_starts_it_runs_a_task_from_each_queue(tmp_path: Path) -> None:
    """`celery -A iamreview worker` without -Q (scripts/demo.sh), on its own filesystem broker (the demo's
    fallback transport) so that it cannot take tasks other tests left in the shared Redis queues."""
    import subprocess
    import sys
    import uuid

    from celery import Celery

    broker = tmp_path / "broker"
    (broker / "processed").mkdir(parents=True)
    (tmp_path / "results").mkdir()
    env = {**os.environ, "CELERY_BROKER_URL": "filesystem://", "IAMREVIEW_VAR_DIR": str(tmp_path)}
    for name in ("CELERY_QUEUE", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    sender = Celery(
        "routes-test",
        # Not the current app: the project's shared tasks (health_ping, …) must keep sending through the
        # project's broker in the tests that run after this one in the same process.
        set_as_current=False,
        broker="filesystem://",
        backend=f"file://{tmp_path / 'results'}",
        broker_transport_options={
            "data_folder_in": str(broker),
            "data_folder_out": str(broker),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
        },
    )
    command = [sys.executable, "-m", "celery", "-A", "iamreview", "worker", "-l", "WARNING", "-c", "1"]
    quick = ["-P", "solo", "--without-heartbeat", "--without-mingle", "--without-gossip"]
    worker = subprocess.Popen(
        [*command, *quick, "-n", f"routes-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        sent = {q: sender.send_task("iamreview.tasks.health_ping", args=[q], queue=q) for q in queue_names()}
        for queue, result in sent.items():
            reply = result.get(timeout=60, interval=0.1)
            assert reply["token"] == queue, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        process_stop(worker)
