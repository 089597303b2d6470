"""Notification tests: a real receiver on loopback, which the product may call only when told it may."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.receiver import Receiver, receiver


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings: Any) -> None:
    settings.IAMREVIEW_NOTIFY_ALLOW_HTTP = True
    settings.IAMREVIEW_NOTIFY_ALLOW_PRIVATE_ADDRESSES = True
    settings.IAMREVIEW_NOTIFY_RETRY_SECONDS = 30
    settings.IAMREVIEW_NOTIFY_MAX_ATTEMPTS = 6
    settings.SITE_URL = "https://iam.example.com"


@pytest.fixture
def server() -> Iterator[Receiver]:
    with receiver() as state:
        yield state
