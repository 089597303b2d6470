"""Notification tests: a real receiver on loopback, which the product may call only when told it may."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.receiver import Receiver, allow_loopback, receiver


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings: Any) -> None:
    allow_loopback(settings)


@pytest.fixture
def server() -> Iterator[Receiver]:
    with receiver() as state:
        yield state
