"""What fakeaws knows beyond moto's backends: usage history, jobs, analyzers, injected faults."""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Usage:
    service: str
    last_used: datetime
    region: str = "us-east-1"
    entity: str = ""
    actions: dict[str, datetime] = field(default_factory=dict)  # action name -> last used


@dataclass
class Faults:
    """Faults to inject; tests set them and `reset()` clears them."""

    deny_assume: set[str] = field(default_factory=set)  # role ARNs whose AssumeRole is refused
    throttle_next: dict[str, int] = field(default_factory=dict)  # operation -> how many calls to throttle
    server_error_next: dict[str, int] = field(default_factory=dict)  # operation -> how many 500s
    never_complete_jobs: bool = False  # Access Advisor jobs stay IN_PROGRESS
    # Access Analyzer policy generation: IN_PROGRESS for this many GetGeneratedPolicy calls (or seconds)
    generation_polls_before_complete: int = 1
    generation_seconds_before_complete: float = 0.0
    generation_fails_with: str = ""  # a JobErrorCode: the next generation jobs fail with it
    job_polls_before_complete: int = 0
    malformed_credential_report: bool = False
    # Random faults: each call fails with this probability, with one of these kinds, from a seeded RNG.
    chaos_rate: float = 0.0
    chaos_kinds: list[str] = field(default_factory=lambda: list(CHAOS_KINDS))
    chaos_seed: int = 0
    chaos_timeout_seconds: float = 3.0  # server mode: how long a "timeout" call hangs
    _rng: random.Random | None = None

    def chaos(self) -> str | None:
        """The fault to inject into this call, if any."""
        if self.chaos_rate <= 0:
            return None
        if self._rng is None:
            self._rng = random.Random(self.chaos_seed)  # nosec B311 - test fault injection
        if self._rng.random() >= self.chaos_rate:
            return None
        kind = self._rng.choice(self.chaos_kinds)
        CHAOS_COUNTS[kind] = CHAOS_COUNTS.get(kind, 0) + 1
        path = os.environ.get("FAKEAWS_CHAOS_COUNTS")
        if path:  # for a campaign in another process: what was injected so far, over the server's life
            with open(path, "w") as fh:
                json.dump(CHAOS_COUNTS, fh)
        return kind


CHAOS_KINDS = ("throttle", "server_error", "access_denied", "timeout")
CHAOS_COUNTS: dict[str, int] = {}  # what chaos mode injected, by kind, since the process started


@dataclass
class State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    usage: dict[str, dict[str, Usage]] = field(default_factory=dict)  # principal ARN -> service -> usage
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    analyzers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # account -> analyzers
    analyzer_findings: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # analyzer ARN -> findings
    # CloudTrail: account -> the events its trail recorded (calls made, refused calls), oldest first
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    policy_generations: dict[str, dict[str, Any]] = field(default_factory=dict)  # job id -> job
    faults: Faults = field(default_factory=Faults)
    # account -> the root user's credential report row, as seeded (`fakeaws.rootuser`)
    root_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Refuse what an assumed role's policies do not allow (fakeaws.enforce); on unless FAKEAWS_ENFORCE=0.
    enforce: bool = field(default_factory=lambda: _enforce_default())
    refused: list[dict[str, str]] = field(default_factory=list)  # calls refused by enforcement, in order


def _enforce_default() -> bool:
    return os.environ.get("FAKEAWS_ENFORCE", "1") != "0"


STATE = State()


def reset() -> None:
    global STATE
    STATE.usage.clear()
    STATE.jobs.clear()
    STATE.analyzers.clear()
    STATE.analyzer_findings.clear()
    STATE.root_users.clear()
    STATE.events.clear()
    STATE.policy_generations.clear()
    STATE.faults = Faults()
    STATE.enforce = _enforce_default()
    STATE.refused.clear()


_control_mtime: float = 0.0


def faults() -> Faults:
    """The faults in force. In server mode, FAKEAWS_CONTROL_FILE (JSON with Faults' fields) lets another
    process change them while the server runs; it is re-read whenever it changes."""
    global _control_mtime
    path = os.environ.get("FAKEAWS_CONTROL_FILE")
    if path:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = 0.0
        if mtime and mtime != _control_mtime:
            _control_mtime = mtime
            with open(path) as fh:
                data = json.load(fh)
            STATE.faults = Faults(
                deny_assume=set(data.get("deny_assume", [])),
                throttle_next=dict(data.get("throttle_next", {})),
                server_error_next=dict(data.get("server_error_next", {})),
                never_complete_jobs=bool(data.get("never_complete_jobs", False)),
                job_polls_before_complete=int(data.get("job_polls_before_complete", 0)),
                generation_polls_before_complete=int(data.get("generation_polls_before_complete", 1)),
                generation_seconds_before_complete=float(data.get("generation_seconds_before_complete", 0)),
                generation_fails_with=str(data.get("generation_fails_with", "")),
                chaos_rate=float(data.get("chaos_rate", 0.0)),
                chaos_kinds=list(data.get("chaos_kinds", CHAOS_KINDS)),
                chaos_seed=int(data.get("chaos_seed", 0)),
                chaos_timeout_seconds=float(data.get("chaos_timeout_seconds", 3.0)),
            )
    return STATE.faults


def record_usage(
    principal_arn: str,
    service: str,
    last_used: datetime,
    *,
    actions: dict[str, datetime] | None = None,
    region: str = "us-east-1",
) -> None:
    """Say that a principal used a service, and which of its actions, at a time.

    Record what the workload did, data events included (s3:GetObject, dynamodb:GetItem): Access Advisor
    (`fakeaws.advisor`) then reports only what AWS would, the service's last use and, for the services AWS
    tracks per action, their management actions.
    """
    with STATE.lock:
        per = STATE.usage.setdefault(principal_arn, {})
        current = per.get(service)
        if current is None or current.last_used < last_used:
            per[service] = Usage(
                service, last_used, region, principal_arn, dict(current.actions) if current else {}
            )
        for action, when in (actions or {}).items():
            known = per[service].actions.get(action)
            if known is None or known < when:
                per[service].actions[action] = when


def record_event(
    account_id: str,
    principal_arn: str,
    action: str,
    when: datetime,
    *,
    resources: tuple[str, ...] | list[str] = (),
    error: str = "",
    region: str = "us-east-1",
    session: str = "",
) -> None:
    """Say that CloudTrail recorded a call: `principal_arn` is the IAM user or role (a role's calls are
    written as its session, `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`; a session ARN is accepted
    too), `action` is `service:Action`, `resources` the ARNs the event names, `error` its errorCode.
    Whether it is a data event (never returned by LookupEvents) is decided by `fakeaws.cloudtrail`."""
    with STATE.lock:
        STATE.events.setdefault(account_id, []).append(
            {
                "principal": principal_arn,
                "action": action,
                "time": when,
                "resources": list(resources),
                "error": error,
                "region": region,
                "session": session,
            }
        )


def record_access_denied(
    account_id: str, principal_arn: str, action: str, when: datetime, resource: str = ""
) -> None:
    record_event(
        account_id,
        principal_arn,
        action,
        when,
        resources=[resource] if resource else [],
        error="AccessDenied",
    )


def take_fault(table: dict[str, int], operation: str) -> bool:
    """True (and one fewer left) when a fault is queued for this operation or for every one ("*")."""
    with STATE.lock:
        for key in (operation, "*"):
            left = table.get(key, 0)
            if left > 0:
                table[key] = left - 1
                return True
    return False
