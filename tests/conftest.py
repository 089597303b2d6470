"""Shared fixtures: one user per role, an outsider with no role, and a guard that we run on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from hypothesis import settings as hypothesis_settings

from accounts.roles import ROLE_GROUPS, Role
from accounts.signals import grant_admin_group_all_permissions

PASSWORD = "correct horse battery staple"

# Property tests explore new examples on every local run; CI replays a fixed sequence of them, so that a
# merge is judged on the code, not on the draw (a failure found locally is kept as a named test).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup: None, django_db_blocker: object) -> None:
    if connection.vendor != "postgresql":
        pytest.exit(
            "The suite runs on PostgreSQL only: run `make test`, or set DATABASE_URL to a PostgreSQL URL.",
            returncode=2,
        )


def make_user(username: str, role: Role | None) -> object:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    if role is not None:
        # get_or_create: a transactional test earlier on this worker flushed the groups the data migration
        # made, and the admin group's permissions with them: give them back as post_migrate does.
        group, created = Group.objects.get_or_create(name=role.group_name)
        if created:
            grant_admin_group_all_permissions()
        user.groups.add(group)
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    # PBKDF2's deliberate slowness costs seconds per test user; what is tested here is not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _figures_uncached(settings: object) -> None:
    # Tests read their own writes at once; tests/views/test_figures_cache.py covers the cache itself.
    settings.IAMREVIEW_FIGURES_CACHE_SECONDS = 0  # type: ignore[attr-defined]


_previous_test: list[str] = []


@pytest.fixture(autouse=True)
def _tasks_not_left_patched(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that leaves a Celery task's `delay` patched silently breaks later tests in its process.

    Checked when the next test starts, once every fixture of the previous one (monkeypatch included)
    has been torn down; the message names the test that leaked.
    """
    from iamreview.celery import app

    leaked = sorted(
        f"{name}.{attr}"
        for name, task in app.tasks.items()
        for attr in ("delay", "apply_async")
        if attr in vars(task)
    )
    for item in leaked:
        name, attr = item.rsplit(".", 1)
        delattr(app.tasks[name], attr)
    culprit = _previous_test[-1] if _previous_test else "an earlier test"
    _previous_test[:] = [request.node.nodeid]
    assert not leaked, f"{culprit} left {leaked} patched"
    yield


@pytest.fixture
def users(db: None, _fast_password_hashing: None) -> dict[str, object]:
    """viewer, reviewer, approver, admin, and `nobody` (logged in, no role)."""
    result = {r.group_name: make_user(r.group_name, r) for r in ROLE_GROUPS}
    result["nobody"] = make_user("nobody", None)
    return result


@pytest.fixture
def client_as(users: dict[str, object]):  # type: ignore[no-untyped-def]
    def _client(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return _client


# The longest tests (a minute or so each on 2 cores) start first: the workers then finish together
# instead of one of them running a long test alone at the end. Order only; every test still runs.
LONGEST_FIRST = (
    "tests/independent/test_demo_tighten_z3.py",
    "tests/sync/test_fault_campaign.py",
    "tests/browser/test_layout.py",
    "tests/browser/test_demo_tour.py",
    "tests/views/test_hostile_queries.py",
    "tests/organization/test_demo_organization.py",
    "tests/changes/test_suggestions_keep_used_actions.py",
    "tests/browser/test_evidence_to_add_back.py",
    "tests/browser/test_change_flow.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
