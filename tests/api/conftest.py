"""API clients per role (a real bearer token each) and the view tests' data: two imported accounts, a
suggestion and a pending change request from the reviewer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.tokens import token_create
from tests.views.conftest import imported, pending_change, suggestion  # noqa: F401


@pytest.fixture
def token_for(users: dict[str, Any]) -> Any:
    def _token(name: str) -> str:
        user = users[name]
        return token_create(actor=user, user=user, name=f"test {name}")[1]

    return _token


@pytest.fixture
def api_as(token_for: Any) -> Any:
    """A client sending `Authorization: Bearer …` for the user `name` (no session)."""

    def _client(name: str) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(name)}")

    return _client
