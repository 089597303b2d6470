"""Sessions and clients: assume the linked role with its ExternalId, adaptive retries, every call counted."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

SESSION_SECONDS = 900  # the shortest session STS allows: a sync re-assumes when it needs longer


class AwsAccessError(Exception):
    """AWS refused or failed; the message says what to fix, in words."""


@dataclass
class CallCounter:
    """API calls made, by service and operation; shared by every client of one sync."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model is None:
            return
        name = f"{model.service_model.service_name}:{model.name}"
        with self.lock:
            self.counts[name] += 1

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return dict(sorted(self.counts.items()))

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


@dataclass(frozen=True)
class AwsTarget:
    """Where and how to reach one account, as plain values."""

    account_id: str
    role_arn: str = ""
    external_id: str = ""
    region: str = "us-east-1"
    endpoint_url: str = ""
    max_attempts: int = 8
    read_timeout: int = 60


_loader: list[Any] = []  # botocore's data loader, shared by every session this process makes
_loader_lock = threading.Lock()


def boto3_session(**kwargs: Any) -> boto3.session.Session:
    """A new boto3 session whose botocore data loader is shared with the process's other sessions.

    A loader reads and parses botocore's service models and endpoint data once and keeps them; a session
    of its own would do it again for every sync and every assumed role. What is shared is read-only data:
    credentials, events and clients stay per session.
    """
    core = botocore.session.get_session()
    with _loader_lock:
        if _loader:
            core.register_component("data_loader", _loader[0])
        else:
            _loader.append(core.get_component("data_loader"))
        session = boto3.session.Session(botocore_session=core, **kwargs)
        # Each boto3 session adds boto3's own data folder to the loader's search path: once is enough.
        paths = _loader[0].search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


def _config(target: AwsTarget, pool: int = 10) -> Config:
    return Config(
        region_name=target.region,
        retries={"mode": "adaptive", "max_attempts": target.max_attempts},
        max_pool_connections=pool,
        connect_timeout=10,
        read_timeout=target.read_timeout,
    )


def explain(exc: Exception, doing: str) -> str:
    """A sentence a person can act on, from a botocore error."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"AWS refused {doing} (AccessDenied): {message}"
        if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"):
            return f"AWS kept throttling {doing} past every retry; the next sync will try again."
        if code in ("ServiceUnavailable", "InternalFailure", "InternalError") or code.startswith("5"):
            return f"AWS had an internal error ({code}) on {doing} past every retry; the next sync will try again."
        return f"AWS answered {code} to {doing}: {message}"
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return f"AWS did not answer {doing} in time, past every retry ({exc}); the next sync will try again."
    if isinstance(exc, BotoCoreError):
        return f"Could not reach AWS for {doing}: {exc}"
    return f"{doing} failed: {exc}"


class AwsSession:
    """A boto3 session for one account (assumed role when one is set), with counted, retrying clients."""

    def __init__(self, target: AwsTarget, counter: CallCounter | None = None) -> None:
        self.target = target
        self.counter = counter or CallCounter()
        base = boto3_session(region_name=target.region)
        base.events.register("before-call.*.*", self.counter)
        if target.role_arn:
            sts = base.client("sts", config=_config(target), endpoint_url=target.endpoint_url or None)
            try:
                creds = sts.assume_role(
                    RoleArn=target.role_arn,
                    RoleSessionName="iamreview-sync",
                    ExternalId=target.external_id,
                    DurationSeconds=SESSION_SECONDS,
                )["Credentials"]
            except (ClientError, BotoCoreError) as exc:
                raise AwsAccessError(
                    explain(exc, f"assuming {target.role_arn}")
                    + " Check that the role exists, that its trust policy names our principal and requires "
                    "exactly this ExternalId, and that our principal may call sts:AssumeRole on it."
                ) from exc
            self.session = boto3_session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=target.region,
            )
            self.session.events.register("before-call.*.*", self.counter)
        else:
            self.session = base

    def client(self, service: str, *, pool: int = 10) -> Any:
        return self.session.client(
            service, config=_config(self.target, pool), endpoint_url=self.target.endpoint_url or None
        )
