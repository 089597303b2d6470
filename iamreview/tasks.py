"""Operational tasks of the project itself."""

from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="iamreview.tasks.health_ping")
def health_ping(token: str) -> dict[str, str]:
    """Echo a token back with the worker's host name: proves a broker and worker round-trip."""
    return {"token": token, "host": socket.gethostname()}
